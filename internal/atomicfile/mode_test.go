//go:build unix

package atomicfile

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A written file has the mode os.WriteFile(path, b, Perm) gives it: Perm
// less the umask, whatever the mode of the file it replaces.
func TestWriteMode(t *testing.T) {
	for _, umask := range []int{0o022, 0o027, 0o077} {
		old := syscall.Umask(umask)
		dir := t.TempDir()
		ref := filepath.Join(dir, "ref")
		require.NoError(t, os.WriteFile(ref, nil, Perm))
		path := filepath.Join(dir, "f")
		require.NoError(t, os.WriteFile(path, nil, 0o600))
		err := WriteFile(path, []byte("x"))
		syscall.Umask(old)
		require.NoError(t, err)
		want := mode(t, ref)
		assert.Equal(t, Perm&^os.FileMode(umask), want, "umask %#o: mode os.WriteFile gives", umask)
		assert.Equal(t, want, mode(t, path), "umask %#o: mode, want the one os.WriteFile gives", umask)
	}
}

func mode(t *testing.T, path string) os.FileMode {
	t.Helper()
	st, err := os.Stat(path)
	require.NoError(t, err)
	return st.Mode()
}
