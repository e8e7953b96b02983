package data

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
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
			if err != nil {
				t.Fatal(err)
			}
			if d.N != tc.n || d.D != tc.d || !slices.Equal(d.X, tc.x) || d.Values != 2 || !slices.Equal(d.Shape, []int{tc.d}) {
				t.Errorf("got N=%d D=%d X=%v values %d shape %v, want N=%d D=%d X=%v values 2", d.N, d.D, d.X, d.Values, d.Shape, tc.n, tc.d, tc.x)
			}
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
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("ReadDEBD error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

// writeDEBD writes NAME.{train,valid,test}.data with the given contents to dir.
func writeDEBD(t *testing.T, dir, name string, train, valid, test string) {
	t.Helper()
	for split, s := range map[string]string{"train": train, "valid": valid, "test": test} {
		if err := os.WriteFile(filepath.Join(dir, name+"."+split+".data"), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestDEBD(t *testing.T) {
	// The DEBD layout (dir/NAME/NAME.train.data) and a flat one.
	nested := t.TempDir()
	if err := os.Mkdir(filepath.Join(nested, "toy"), 0o755); err != nil {
		t.Fatal(err)
	}
	writeDEBD(t, filepath.Join(nested, "toy"), "toy", "0,1\n1,1\n1,0\n", "0,0\n", "1,1\n0,1\n")
	flat := t.TempDir()
	writeDEBD(t, flat, "toy", "0,1\n1,1\n1,0\n", "0,0\n", "1,1\n0,1\n")
	for _, dir := range []string{nested, flat} {
		s, err := DEBD(dir, "toy", Options{ValidFraction: 0.5})
		if err != nil {
			t.Fatal(err)
		}
		if s.Train.N != 3 || s.Valid.N != 1 || s.Test.N != 2 || s.Test.Row(1)[0] != 0 || s.Train.Name != "toy" {
			t.Errorf("%s: sizes %d/%d/%d name %q, want 3/1/2 toy (official valid file kept)", dir, s.Train.N, s.Valid.N, s.Test.N, s.Train.Name)
		}
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
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("DEBD error %v, want one containing %q", err, tc.want)
			}
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
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	sc := bufio.NewScanner(bytes.NewReader(sums))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 2 {
			continue
		}
		path := filepath.Join(dir, strings.TrimPrefix(f[len(f)-1], "debd/"))
		fh, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		h := sha256.New()
		_, err = io.Copy(h, fh)
		if cerr := fh.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			t.Fatal(err)
		}
		if got := hex.EncodeToString(h.Sum(nil)); got != f[0] {
			t.Errorf("%s: SHA-256 %s, SHA256SUMS.txt says %s", path, got, f[0])
		}
		checked++
	}
	if checked != 3*len(want) {
		t.Errorf("checked %d sums, want %d", checked, 3*len(want))
	}
	for name, w := range want {
		s, err := DEBD(dir, name, Options{})
		if err != nil {
			t.Fatal(err)
		}
		got := [4]int{s.Train.N, s.Valid.N, s.Test.N, s.Train.D}
		if got != w {
			t.Errorf("%s: (train, valid, test, D) = %v, want %v", name, got, w)
		}
		for _, d := range []*Dataset{s.Train, s.Valid, s.Test} {
			if err := d.validate(); err != nil {
				t.Error(err)
			}
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
