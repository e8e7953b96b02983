package atomicfile

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
)

func readDir(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

func TestWriteReplaces(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "f.json")
	for _, s := range []string{"first", "second, longer", "3"} {
		if err := WriteFile(path, []byte(s)); err != nil {
			t.Fatal(err)
		}
		if b, err := os.ReadFile(path); err != nil || string(b) != s {
			t.Errorf("after writing %q the file holds %q (%v)", s, b, err)
		}
	}
	if names := readDir(t, dir); len(names) != 1 {
		t.Errorf("files left in the directory: %v, want only f.json", names)
	}
}

// A failed write leaves the old file as it was and no temporary file; the
// temporary file is beside the target, and IsTemp recognizes it.
func TestWriteFailureKeepsOldFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "checkpoint.tenpc")
	if err := WriteFile(path, []byte("old")); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	var tmp string
	err := Write(path, func(w io.Writer) error {
		if _, err := io.WriteString(w, "half of the new"); err != nil {
			return err
		}
		tmp = w.(interface{ Name() string }).Name()
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Write returned %v, want the writer's error", err)
	}
	if filepath.Dir(tmp) != dir || !IsTemp(filepath.Base(tmp), "checkpoint.tenpc") {
		t.Errorf("temporary file %s: not in %s or not recognized by IsTemp", tmp, dir)
	}
	if b, err := os.ReadFile(path); err != nil || string(b) != "old" {
		t.Errorf("after a failed write the file holds %q (%v), want \"old\"", b, err)
	}
	if names := readDir(t, dir); len(names) != 1 {
		t.Errorf("files left in the directory: %v, want only checkpoint.tenpc", names)
	}
	if err := WriteFile(filepath.Join(dir, "no", "such", "dir"), nil); err == nil {
		t.Error("a write into a missing directory succeeded")
	}
}

func TestIsTemp(t *testing.T) {
	for _, tc := range []struct {
		name, target string
		want         bool
	}{
		{".model.tenpc8674665223082153551", "model.tenpc", true},
		{".model.tenpc0", "model.tenpc", true},
		{"model.tenpc", "model.tenpc", false},
		{".model.tenpc", "model.tenpc", false},
		{".model.tenpc.tmp123", "model.tenpc", false},
		{".model.tenpc123", "checkpoint.tenpc", false},
		{".model.tenpc-12", "model.tenpc", false},
	} {
		if got := IsTemp(tc.name, tc.target); got != tc.want {
			t.Errorf("IsTemp(%q, %q) = %v, want %v", tc.name, tc.target, got, tc.want)
		}
	}
}

func ExampleWriteFile() {
	dir, err := os.MkdirTemp("", "atomicfile-example-")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "result.json")
	if err := WriteFile(path, []byte(`{"ll": -80.5}`)); err != nil {
		fmt.Println(err)
		return
	}
	b, err := os.ReadFile(path)
	fmt.Println(string(b), err)
	// Output: {"ll": -80.5} <nil>
}
