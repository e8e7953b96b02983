//go:build unix

package atomicfile

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// A written file has the mode os.WriteFile(path, b, Perm) gives it: Perm
// less the umask, whatever the mode of the file it replaces.
func TestWriteMode(t *testing.T) {
	for _, umask := range []int{0o022, 0o027, 0o077} {
		old := syscall.Umask(umask)
		dir := t.TempDir()
		ref := filepath.Join(dir, "ref")
		if err := os.WriteFile(ref, nil, Perm); err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, "f")
		if err := os.WriteFile(path, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		err := WriteFile(path, []byte("x"))
		syscall.Umask(old)
		if err != nil {
			t.Fatal(err)
		}
		want, got := mode(t, ref), mode(t, path)
		if want != Perm&^os.FileMode(umask) || got != want {
			t.Errorf("umask %#o: mode %v, os.WriteFile gives %v", umask, got, want)
		}
	}
}

func mode(t *testing.T, path string) os.FileMode {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return st.Mode()
}
