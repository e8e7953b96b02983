package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// compress turns a Tucker model (over QT-4, which Tucker binarizes) into
// a CP-R model that eval, sample, complete, info and finetune take.
func TestCompressCommand(t *testing.T) {
	dir := t.TempDir()
	mustRun(t, "train", "-rg", "qt4", "-layer", "tucker", "-k", "4", "-limit", "200", "-epochs", "1", "-out", filepath.Join(dir, "tucker"))
	tucker := filepath.Join(dir, "tucker", "model.tenpc")
	out := filepath.Join(dir, "cpr.tenpc")
	got := mustRun(t, "compress", "-model", tucker, "-rank", "3", "-o", out, "-limit", "200")
	for _, want := range []string{"→ rank 3", "rel. error", "parameters:", "test before: LL", "test after:  LL", "model: " + out, "cp-r K=4", "rank 3"} {
		assert.Contains(t, got, want)
	}
	assert.FileExists(t, out)

	assert.Contains(t, mustRun(t, "info", "-model", out), "cp-r K=4")
	assert.Contains(t, mustRun(t, "eval", "-model", out, "-limit", "200"), "test: 200 samples")
	mustRun(t, "sample", "-model", out, "-n", "4", "-o", filepath.Join(dir, "s.png"))
	mustRun(t, "complete", "-model", out, "-n", "2", "-mask", "left", "-o", filepath.Join(dir, "c.png"))

	// Fine-tuning takes the architecture from the file (no -rg, -layer,
	// -k or -rank), and flags that agree with it are accepted.
	ft := mustRun(t, "finetune", "-init", out, "-limit", "200", "-epochs", "1", "-out", filepath.Join(dir, "ft"))
	assert.Contains(t, ft, "test: LL")
	mustRun(t, "train", "-init", out, "-layer", "cp-r", "-rank", "3", "-k", "4", "-limit", "200", "-epochs", "1", "-out", filepath.Join(dir, "ft2"))
	// ... and its run resumes from its checkpoint with more epochs.
	mustRun(t, "train", "-resume", "-rg", "qt4", "-layer", "cp-r", "-rank", "3", "-k", "4", "-limit", "200", "-epochs", "2", "-out", filepath.Join(dir, "ft2"))

	// -force replaces the output.
	mustRun(t, "compress", "-model", tucker, "-rank", "2", "-o", out, "-force", "-no-eval")
	assert.Contains(t, mustRun(t, "info", "-model", out), "rank 2")
}

func TestRecipeCompressionQuick(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "compression")
	out := mustRun(t, "recipe", "run", "compression", "-quick", "-out", dir)
	assert.Contains(t, out, "mnist rank 16: test bpd compressed")
	recs := readCSV(t, filepath.Join(dir, "results.csv"))
	require.Len(t, recs, 1+1+3*3, "header, Tucker, 3 ranks × (compressed, fine-tuned, from scratch)")
	assert.Equal(t, []string{"path", "train_bpd", "valid_bpd", "test_bpd"}, recs[0][:4])
	col := map[string]int{}
	for i, h := range recs[0] {
		col[h] = i
	}
	byPath := map[string][]string{}
	for _, r := range recs[1:] {
		byPath[r[0]] = r
		require.FileExists(t, filepath.Join(dir, filepath.FromSlash(r[0])))
	}
	// The largest rank trains first; the results list the ranks in order.
	assert.Less(t, strings.Index(out, "mnist rank 16:"), strings.Index(out, "mnist rank 1:"), "training order")
	var ranks []string
	for _, r := range recs[2:] {
		ranks = append(ranks, r[col["rank"]])
	}
	assert.Equal(t, []string{"1", "1", "1", "4", "4", "4", "16", "16", "16"}, ranks, "rows by rank")
	tucker, exact := byPath["mnist/QG_4/tucker/model.tenpc"], byPath["mnist/QG_4/rank_16/model.tenpc"]
	require.NotNil(t, tucker)
	require.NotNil(t, exact)
	assert.Equal(t, "tucker", tucker[col["mode"]])
	assert.Equal(t, "compressed", exact[col["mode"]])
	// Rank 16 = K² is exact: the compressed model is the Tucker model.
	assert.Equal(t, tucker[col["test_bpd"]], exact[col["test_bpd"]])
	for _, p := range []string{"mnist/QG_4/rank_1finetuned/model.tenpc", "mnist/QG_4/from_scratch/rank_4/model.tenpc"} {
		assert.NotNil(t, byPath[p], p)
	}
	md, err := os.ReadFile(filepath.Join(dir, "results.md"))
	require.NoError(t, err)
	assert.Contains(t, string(md), "| rank | compressed | paper | fine-tuned | paper | from scratch | paper |")
	for _, row := range []string{"\n| 1 | ", "\n| 4 | ", "\n| 16 | "} {
		assert.Contains(t, string(md), row)
	}
	assert.FileExists(t, filepath.Join(dir, "compression_mnist.png"))

	// A second run finds every model and retrains nothing.
	ck := filepath.Join(dir, "mnist", "QG_4", "rank_4finetuned", "checkpoint.tenpc")
	st, err := os.Stat(ck)
	require.NoError(t, err)
	again := mustRun(t, "recipe", "run", "compression", "-quick", "-out", dir)
	st2, err := os.Stat(ck)
	require.NoError(t, err)
	assert.Equal(t, st.ModTime(), st2.ModTime())
	assert.Equal(t, out, again)
}
