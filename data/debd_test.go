package data

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// smallDEBD holds two small DEBD subsets and their SHA256SUMS.txt
// (testdata/README.md at the repository root).
const smallDEBD = "../testdata/debd"

func TestReadDEBD(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   string
		n, d int
		x    []uint8
	}{
		{"plain", "0,1,1\n1,0,0\n", 2, 3, []uint8{0, 1, 1, 1, 0, 0}},
		{"no final newline", "1,0\n0,1", 2, 2, []uint8{1, 0, 0, 1}},
		{"crlf and spaces", "1, 0\r\n 0 ,1\r\n", 2, 2, []uint8{1, 0, 0, 1}},
		{"blank lines", "\n1\n\n0\n\n", 2, 1, []uint8{1, 0}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, err := ReadDEBD(strings.NewReader(tc.in))
			require.NoError(t, err)
			assert.Equal(t, tc.n, d.N, "N")
			assert.Equal(t, tc.d, d.D, "D")
			assert.Equal(t, tc.x, d.X, "X")
			assert.Equal(t, 2, d.Values, "values")
			assert.Equal(t, []int{tc.d}, d.Shape, "shape")
		})
	}
}

func TestReadDEBDErrors(t *testing.T) {
	for _, tc := range []struct {
		name, in, want string
	}{
		{"empty", "", "no rows"},
		{"only blank", "\n\r\n", "no rows"},
		{"value 2", "0,1\n1,2\n", `line 2, column 2: value "2" is not 0 or 1`},
		{"float", "0.5,1\n", `line 1, column 1: value "0.5" is not 0 or 1`},
		{"nan", "NaN,1\n", `value "NaN" is not 0 or 1`},
		{"empty field", "0,,1\n", `line 1, column 2: value "" is not 0 or 1`},
		{"ragged short", "0,1,1\n1,0\n", "line 2: 2 values, want 3 like the first row (ragged row)"},
		{"ragged long", "0\n1\n1,0\n", "line 3: 2 values, want 1"},
		{"long value clipped", "0," + strings.Repeat("x", 100), `"xxxxxxxxxxxxxxxxxxxx..."`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ReadDEBD(strings.NewReader(tc.in))
			assert.ErrorContains(t, err, tc.want)
		})
	}
}

// writeDEBD writes NAME.{train,valid,test}.data with the given contents to dir.
func writeDEBD(t *testing.T, dir, name string, train, valid, test string) {
	t.Helper()
	for split, s := range map[string]string{"train": train, "valid": valid, "test": test} {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name+"."+split+".data"), []byte(s), 0o644))
	}
}

func TestDEBD(t *testing.T) {
	// The DEBD layout (dir/NAME/NAME.train.data) and a flat one.
	nested := t.TempDir()
	require.NoError(t, os.Mkdir(filepath.Join(nested, "toy"), 0o755))
	writeDEBD(t, filepath.Join(nested, "toy"), "toy", "0,1\n1,1\n1,0\n", "0,0\n", "1,1\n0,1\n")
	flat := t.TempDir()
	writeDEBD(t, flat, "toy", "0,1\n1,1\n1,0\n", "0,0\n", "1,1\n0,1\n")
	for _, dir := range []string{nested, flat} {
		s, err := DEBD(dir, "toy", Options{ValidFraction: 0.5})
		require.NoError(t, err)
		// The official valid file is kept, not split off the train file.
		assert.Equal(t, [3]int{3, 1, 2}, [3]int{s.Train.N, s.Valid.N, s.Test.N}, "%s: train/valid/test sizes", dir)
		assert.Equal(t, uint8(0), s.Test.Row(1)[0], "%s: first value of test row 1", dir)
		assert.Equal(t, "toy", s.Train.Name, "%s: name", dir)
	}
}

func TestDEBDErrors(t *testing.T) {
	ragged := t.TempDir()
	writeDEBD(t, ragged, "toy", "0,1\n", "0,1,1\n", "0,1\n")
	bad := t.TempDir()
	writeDEBD(t, bad, "toy", "0,1\n", "0,1\n", "0,3\n")
	empty := t.TempDir()
	for _, tc := range []struct {
		name string
		dir  string
		opt  Options
		want string
	}{
		{"missing", empty, Options{}, filepath.Join(empty, "toy.train.data") + " not found"},
		{"width", ragged, Options{}, filepath.Join(ragged, "toy.valid.data") + " has 3 variables, the train file 2"},
		{"value", bad, Options{}, "read " + filepath.Join(bad, "toy.test.data") + `: line 1, column 2: value "3" is not 0 or 1`},
		{"binarize", bad, Options{Binarize: Threshold}, "binarization threshold asked for data that are already binary"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := DEBD(tc.dir, "toy", tc.opt)
			assert.ErrorContains(t, err, tc.want)
		})
	}
}

// TestDEBDSmall reads the subsets shipped in testdata, checked against
// their SHA256SUMS.txt and their sizes.
func TestDEBDSmall(t *testing.T) {
	checkDEBD(t, smallDEBD, map[string][4]int{
		"nltcs-small":  {800, 150, 150, 16},
		"plants-small": {600, 100, 100, 69},
	})
}

// TestDEBDFull checks a full copy of five DEBD benchmarks, when
// TENPC_DEBD_DIR names its folder (DIR/NAME/NAME.*.data and a
// SHA256SUMS.txt naming debd/NAME/NAME.*.data), against the published sizes.
func TestDEBDFull(t *testing.T) {
	dir := os.Getenv("TENPC_DEBD_DIR")
	if dir == "" {
		t.Skip("TENPC_DEBD_DIR is not set")
	}
	// Sizes (train/valid/test samples, variables) from Lowd & Davis (2010)
	// and Haaren & Davis (2012), as tabulated in the DEBD repository.
	want := map[string][4]int{
		"nltcs":  {16181, 2157, 3236, 16},
		"plants": {17412, 2321, 3482, 69},
		"jester": {9000, 1000, 4116, 100},
		"dna":    {1600, 400, 1186, 180},
		"bbc":    {1670, 225, 330, 1058},
	}
	checkDEBD(t, dir, want)
}

// checkDEBD checks every file that dir/SHA256SUMS.txt lists against its
// sum, and the sets of want against their (train, valid, test, D) sizes.
func checkDEBD(t *testing.T, dir string, want map[string][4]int) {
	t.Helper()
	sums, err := os.ReadFile(filepath.Join(dir, "SHA256SUMS.txt"))
	require.NoError(t, err)
	checked := 0
	sc := bufio.NewScanner(bytes.NewReader(sums))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 2 {
			continue
		}
		path := filepath.Join(dir, strings.TrimPrefix(f[len(f)-1], "debd/"))
		fh, err := os.Open(path)
		require.NoError(t, err)
		h := sha256.New()
		_, err = io.Copy(h, fh)
		if cerr := fh.Close(); err == nil {
			err = cerr
		}
		require.NoError(t, err, "read %s", path)
		assert.Equal(t, f[0], hex.EncodeToString(h.Sum(nil)), "%s: SHA-256 (want the one SHA256SUMS.txt gives)", path)
		checked++
	}
	require.NoError(t, sc.Err())
	assert.Equal(t, 3*len(want), checked, "sums checked")
	for name, w := range want {
		s, err := DEBD(dir, name, Options{})
		require.NoError(t, err)
		assert.Equal(t, w, [4]int{s.Train.N, s.Valid.N, s.Test.N, s.Train.D}, "%s: (train, valid, test, D)", name)
		for _, d := range []*Dataset{s.Train, s.Valid, s.Test} {
			assert.NoError(t, d.validate())
		}
	}
}

// FuzzReadDEBD checks that ReadDEBD never panics and that what it accepts is
// a well-formed binary dataset.
func FuzzReadDEBD(f *testing.F) {
	f.Add([]byte("0,1,1\n1,0,0\n"))
	f.Add([]byte("1, 0\r\n 0 ,1\r\n"))
	f.Add([]byte("0,1\n1\n"))
	f.Add([]byte("0,2\n"))
	f.Add([]byte("\n\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		d, err := ReadDEBD(bytes.NewReader(in))
		if err != nil {
			if d != nil {
				t.Errorf("non-nil dataset with error %v", err)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("multi-line error %q", err)
			}
			return
		}
		if d.N < 1 || d.D < 1 {
			t.Errorf("accepted N=%d D=%d", d.N, d.D)
		}
		if err := d.validate(); err != nil {
			t.Error(err)
		}
	})
}
