package atomicfile

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func readDir(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
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
		require.NoError(t, WriteFile(path, []byte(s)))
		b, err := os.ReadFile(path)
		require.NoError(t, err)
		assert.Equal(t, s, string(b), "the file after writing %q", s)
	}
	assert.Equal(t, []string{"f.json"}, readDir(t, dir), "files left in the directory")
}

// A failed write leaves the old file as it was and no temporary file; the
// temporary file is beside the target, and IsTemp recognizes it.
func TestWriteFailureKeepsOldFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "checkpoint.tenpc")
	require.NoError(t, WriteFile(path, []byte("old")))
	boom := errors.New("boom")
	var tmp string
	err := Write(path, func(w io.Writer) error {
		if _, err := io.WriteString(w, "half of the new"); err != nil {
			return err
		}
		tmp = w.(interface{ Name() string }).Name()
		return boom
	})
	require.ErrorIs(t, err, boom, "Write returns the writer's error")
	assert.Equal(t, dir, filepath.Dir(tmp), "directory of the temporary file %s", tmp)
	assert.True(t, IsTemp(filepath.Base(tmp), "checkpoint.tenpc"), "IsTemp does not recognize the temporary file %s", tmp)
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, "old", string(b), "the file after a failed write")
	assert.Equal(t, []string{"checkpoint.tenpc"}, readDir(t, dir), "files left in the directory")
	assert.Error(t, WriteFile(filepath.Join(dir, "no", "such", "dir"), nil), "a write into a missing directory")
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
		assert.Equal(t, tc.want, IsTemp(tc.name, tc.target), "IsTemp(%q, %q)", tc.name, tc.target)
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
