package experiments

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// Off a terminal (a log file, a pipe, a buffer, io.Discard in tests) no
// bar is drawn, and a nil bar's methods do nothing.
func TestProgressBarOffTerminal(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "log"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	for name, out := range map[string]io.Writer{"file": f, "pipe": w, "buffer": &bytes.Buffer{}, "discard": io.Discard, "nil": nil} {
		if bar := newProgressBar(out, "epoch 1/1", 3); bar != nil {
			t.Errorf("%s: a progress bar was made", name)
		}
	}
	var bar *progressBar
	bar.update(1, 2, 10)
	bar.finish()
	if st, err := f.Stat(); err != nil || st.Size() != 0 {
		t.Errorf("the log file got %v bytes (%v)", st.Size(), err)
	}
}

// The bar shows the batches done, batches per second and the running mean
// NLL (weighted by batch size), and redraws at most every 100 ms except for
// the last batch.
func TestProgressBarLine(t *testing.T) {
	var out bytes.Buffer
	bar := &progressBar{w: &out, label: "epoch 2/5", total: 4, start: time.Now().Add(-2 * time.Second), width: 8}
	bar.update(1, 2.0, 10) // drawn: nothing drawn before
	bar.update(2, 1.0, 30) // throttled
	bar.update(4, 1.0, 10) // drawn: the last batch
	bar.finish()
	lines := strings.Split(out.String(), "\r")
	if len(lines) != 3 || lines[0] != "" {
		t.Fatalf("output %q, want two redraws", out.String())
	}
	first := regexp.MustCompile(`^epoch 2/5 \[==      \] 1/4  0\.5 batch/s  nll 2\.00 $`)
	last := regexp.MustCompile(`^epoch 2/5 \[========\] 4/4  [12]\.\d batch/s  nll 1\.20 \n$`)
	if !first.MatchString(lines[1]) || !last.MatchString(lines[2]) {
		t.Errorf("lines %q and %q", lines[1], lines[2])
	}
}
