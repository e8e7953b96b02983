package experiments

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The shipped compression table decodes into the cells the issue quotes.
func TestPaperCompressionShipped(t *testing.T) {
	rows, err := PaperCompression()
	require.NoError(t, err)
	require.Len(t, rows, 98)
	find := func(dataset, rg string, k int, mode CompressionMode, rank int) float64 {
		t.Helper()
		var got []float64
		for _, r := range rows {
			if r.Dataset == dataset && r.RG == rg && r.K == k && r.Mode == mode && r.Rank == rank {
				got = append(got, r.TestBPD)
			}
		}
		require.Len(t, got, 1, "%s %s K=%d %v rank %d", dataset, rg, k, mode, rank)
		return got[0]
	}
	for _, tc := range []struct {
		dataset string
		mode    CompressionMode
		rank    int
		want    float64
	}{
		{"mnist", CompressionTucker, 0, 1.2229},
		{"mnist", CompressionCompressed, 32, 1.2864},
		{"mnist", CompressionFineTuned, 32, 1.2104},
		{"mnist", CompressionFineTuned, 8, 1.2644},
		{"mnist", CompressionScratch, 8, 1.3209},
		{"fashion-mnist", CompressionTucker, 0, 3.4130},
		{"fashion-mnist", CompressionFineTuned, 32, 3.3538},
	} {
		assert.InDelta(t, tc.want, find(tc.dataset, "qg", 32, tc.mode, tc.rank), 5e-5, "%s %v rank %d", tc.dataset, tc.mode, tc.rank)
	}
	// Every cell the recipe reports has the paper's value, for both datasets.
	for _, ds := range []string{"mnist", "fashion-mnist"} {
		for _, r := range CompressionRanks {
			for _, mode := range []CompressionMode{CompressionCompressed, CompressionFineTuned, CompressionScratch} {
				find(ds, "qg", 32, mode, r)
			}
		}
	}
	assert.Equal(t, "out/compressed/mnist/QG_32/tucker.mdl", rows[50].Path)
	assert.Equal(t, CompressionRow{Path: rows[50].Path, Dataset: "mnist", RG: "qg", K: 32, Mode: CompressionTucker,
		TrainBPD: 1.137650284913152, ValidBPD: 1.2624090530415222, TestBPD: 1.222855513828228}, rows[50])
}

func TestReadPaperCompression(t *testing.T) {
	const head = "path,train_bpd,valid_bpd,test_bpd\n"
	rows, err := readPaperCompression(strings.NewReader(head +
		"out/compressed/celeba/PD_64/from_scratch/rank_16.mdl,1,2,3\n" +
		"out/compressed/fashion_mnist/QG_8/rank_4finetuned.mdl,4,5,6\n" +
		"out/compressed/mnist/QG_8/rank_2.mdl,7,8,9\n"))
	require.NoError(t, err)
	assert.Equal(t, []CompressionRow{
		{Path: "out/compressed/celeba/PD_64/from_scratch/rank_16.mdl", Dataset: "celeba", RG: "pd", K: 64, Mode: CompressionScratch, Rank: 16, TrainBPD: 1, ValidBPD: 2, TestBPD: 3},
		{Path: "out/compressed/fashion_mnist/QG_8/rank_4finetuned.mdl", Dataset: "fashion-mnist", RG: "qg", K: 8, Mode: CompressionFineTuned, Rank: 4, TrainBPD: 4, ValidBPD: 5, TestBPD: 6},
		{Path: "out/compressed/mnist/QG_8/rank_2.mdl", Dataset: "mnist", RG: "qg", K: 8, Mode: CompressionCompressed, Rank: 2, TrainBPD: 7, ValidBPD: 8, TestBPD: 9},
	}, rows)
	for _, bad := range []string{
		"",
		head,
		"path,train_bpd,valid_bpd\nout/compressed/mnist/QG_8/rank_2.mdl,1,2\n",
		head + "out/compressed/mnist/QG_8/rank_2.mdl,1,2,x\n",
		head + "out/compressed/cifar/QG_8/rank_2.mdl,1,2,3\n",
		head + "out/compressed/mnist/XX_8/rank_2.mdl,1,2,3\n",
		head + "out/compressed/mnist/QG_8/rank_0.mdl,1,2,3\n",
		head + "out/compressed/mnist/QG_0/tucker.mdl,1,2,3\n",
		head + "out/compressed/mnist/QG_8/cp.mdl,1,2,3\n",
		head + "out/compressed/mnist/QG_8/rank_2.mdl,1,2\n",
	} {
		_, err := readPaperCompression(strings.NewReader(bad))
		assert.Error(t, err, "%q", bad)
	}
}

// cancelOnMessage cancels a context the n-th time msg is logged.
type cancelOnMessage struct {
	msg    string
	n      int
	cancel context.CancelFunc
}

func (h *cancelOnMessage) Levels() []logrus.Level { return []logrus.Level{logrus.InfoLevel} }
func (h *cancelOnMessage) Fire(e *logrus.Entry) error {
	if e.Message == h.msg {
		if h.n--; h.n == 0 {
			h.cancel()
		}
	}
	return nil
}

// runCompressionCut runs the quick compression recipe into out and cancels
// it as its second compression ends: the Tucker model and rank 16 finish.
func runCompressionCut(t *testing.T, out string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	log := quietLogger()
	log.AddHook(&cancelOnMessage{msg: "compressed", n: 2, cancel: cancel})
	o := RecipeOptions{Out: out, Quick: true, Log: log, Stdout: io.Discard}
	require.ErrorIs(t, runCompression(ctx, o), context.Canceled)
}

// A recipe cut short (here after its largest rank, as the second
// compression starts) has written what it finished: the Tucker model and
// rank 16 in results.csv, results.md and the plot, the other ranks marked
// as not run.
func TestRecipeCompressionReportsWhenCut(t *testing.T) {
	o := RecipeOptions{Out: t.TempDir()}
	runCompressionCut(t, o.Out)

	md, err := os.ReadFile(filepath.Join(o.Out, "results.md"))
	require.NoError(t, err)
	assert.Contains(t, string(md), "Tucker: ")
	assert.Regexp(t, `\n\| 16 \| [0-9]\.[0-9]{4} \| [^|]+ \| [0-9]\.[0-9]{4} \| [^|]+ \| [0-9]\.[0-9]{4} \| `, string(md))
	for _, r := range []string{"1", "4"} {
		assert.Regexp(t, `\n\| `+r+` \| not run yet \| [^|]+ \| not run yet \| [^|]+ \| not run yet \| [^|]+ \|\n`, string(md))
	}
	csv, err := os.ReadFile(filepath.Join(o.Out, "results.csv"))
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSpace(string(csv)), "\n")
	require.Len(t, lines, 1+1+3, "header, Tucker, rank 16 × (compressed, fine-tuned, from scratch)")
	assert.Contains(t, lines[1], ",tucker,")
	assert.FileExists(t, filepath.Join(o.Out, "compression_mnist.png"))
}

// When the Tucker model changes after a rank was fine-tuned (a run with a
// larger Tucker budget goes on), the recipe compresses it again and
// fine-tunes that rank again from the new compressed model; the run from
// scratch, which does not depend on it, is kept.
func TestRecipeCompressionRefinesAfterTuckerChanges(t *testing.T) {
	out := t.TempDir()
	runCompressionCut(t, out)
	tuckers, err := filepath.Glob(filepath.Join(out, "mnist", "*", "tucker", ModelFile))
	require.NoError(t, err)
	require.Len(t, tuckers, 1)
	dir := filepath.Dir(filepath.Dir(tuckers[0]))
	mtime := func(path string) time.Time {
		st, err := os.Stat(path)
		require.NoError(t, err)
		return st.ModTime()
	}
	ft := filepath.Join(dir, "rank_16finetuned", ConfigFile)
	scratch := filepath.Join(dir, "from_scratch", "rank_16", ConfigFile)
	ftBefore, scratchBefore := mtime(ft), mtime(scratch)

	now := time.Now()
	require.NoError(t, os.Chtimes(tuckers[0], now, now))
	runCompressionCut(t, out)
	comp := filepath.Join(dir, "rank_16", ModelFile)
	assert.True(t, mtime(comp).After(now), "rank 16 was not compressed again")
	assert.True(t, mtime(ft).After(mtime(comp)), "rank 16's fine-tuning did not start again from the new compressed model")
	assert.True(t, mtime(ft).After(ftBefore))
	assert.Equal(t, scratchBefore, mtime(scratch), "the run from scratch was retrained")
}
