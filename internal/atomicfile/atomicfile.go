// Package atomicfile writes every file tenpc writes (models, checkpoints,
// run files, region graphs, plots) the same way, through
// github.com/google/renameio/v2:
//
//   - the data goes to a temporary file beside the target (named "." + the
//     target's name + random digits, see IsTemp), which is synced and then
//     renamed over the target, so a reader or a process killed at any
//     moment sees the old file or the new one, whole, never a mix;
//   - an error before the rename leaves the old file untouched and removes
//     the temporary file (a killed process leaves it: IsTemp finds it);
//   - after the rename the directory is synced, so the rename survives a
//     power cut (best effort: renameio does not do this step);
//   - the file's mode is Perm less the umask, as os.WriteFile(path, b, Perm)
//     would create it.
package atomicfile

import (
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/google/renameio/v2"
)

// Perm is the mode of every file tenpc writes, before the umask.
const Perm os.FileMode = 0o644

// Write creates or replaces path with what write writes (unbuffered: wrap
// the writer in a bufio.Writer for many small writes). The error is
// write's, or the file system's.
func Write(path string, write func(w io.Writer) error) error {
	dir := filepath.Dir(path)
	f, err := renameio.NewPendingFile(path, renameio.WithTempDir(dir), renameio.WithPermissions(Perm))
	if err != nil {
		return err
	}
	// Removes the temporary file unless it was renamed; an error here
	// changes nothing for the caller, whose error already says what failed.
	defer func() { _ = f.Cleanup() }()
	if err := write(f); err != nil {
		return err
	}
	if err := f.CloseAtomicallyReplace(); err != nil {
		return err
	}
	// Persist the rename. Best effort: the new file is in place and whole
	// whatever happens here, and some file systems refuse to sync a
	// directory.
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		_ = d.Close()
	}
	return nil
}

// WriteFile creates or replaces path with b (see Write).
func WriteFile(path string, b []byte) error {
	return Write(path, func(w io.Writer) error {
		_, err := w.Write(b)
		return err
	})
}

// IsTemp reports whether name (a base name) is a temporary file that Write
// creates for target (a base name): one a process killed in the middle of
// Write leaves behind.
func IsTemp(name, target string) bool {
	digits, ok := strings.CutPrefix(name, "."+target)
	return ok && digits != "" && strings.Trim(digits, "0123456789") == ""
}
