package experiments

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

// isTerminal reports whether w is a character device (a terminal), so a
// progress bar redrawn with carriage returns reads well there.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// progressBar draws one epoch's progress on a terminal: batches done,
// batches per second and the running mean NLL, redrawn at most every
// 100 ms. A nil *progressBar draws nothing.
type progressBar struct {
	w      io.Writer
	label  string
	total  int
	start  time.Time
	drawn  time.Time
	width  int
	sumNLL float64
	n      int
}

func newProgressBar(w io.Writer, label string, total int) *progressBar {
	if w == nil || !isTerminal(w) {
		return nil
	}
	return &progressBar{w: w, label: label, total: total, start: time.Now(), width: 30}
}

// update records batch done (1-based) with mean NLL nll over size samples.
func (p *progressBar) update(done int, nll float64, size int) {
	if p == nil {
		return
	}
	p.sumNLL += nll * float64(size)
	p.n += size
	now := time.Now()
	if done < p.total && now.Sub(p.drawn) < 100*time.Millisecond {
		return
	}
	p.drawn = now
	fill := p.width * done / max(p.total, 1)
	rate := float64(done) / max(now.Sub(p.start).Seconds(), 1e-9)
	fmt.Fprintf(p.w, "\r%s [%s%s] %d/%d  %.1f batch/s  nll %.2f ", p.label,
		strings.Repeat("=", fill), strings.Repeat(" ", p.width-fill), done, p.total, rate, p.sumNLL/float64(max(p.n, 1)))
}

// finish ends the bar's line.
func (p *progressBar) finish() {
	if p == nil {
		return
	}
	fmt.Fprintln(p.w)
}
