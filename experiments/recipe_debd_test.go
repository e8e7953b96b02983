package experiments

import (
	"bytes"
	"context"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The shipped table holds issue 17's numbers: RAT-SPN (Peharz et al.
// 2019) and HCLT as reported by Selvam et al. (2023); no EiNet values.
func TestPublishedDEBD(t *testing.T) {
	pub, err := PublishedDEBD()
	require.NoError(t, err)
	want := map[string][2]float64{"nltcs": {-6.01, -5.99}, "plants": {-13.44, -14.26}, "jester": {-52.97, -52.46}, "dna": {-97.23, -79.05}, "bbc": {-252.14, -251.04}}
	require.Len(t, pub, len(want))
	for set, w := range want {
		assert.Equal(t, w[0], pub[set].RATSPN, set)
		assert.Equal(t, w[1], pub[set].HCLT, set)
		assert.True(t, math.IsNaN(pub[set].EiNet), set)
	}
	for _, bad := range []string{"", "set,ratspn\nnltcs,1\n", "set,ratspn,hclt,einet\nnltcs,x,1,\n", "set,ratspn,hclt,einet\nnltcs,1,1,\nnltcs,2,2,\n", "set,ratspn,hclt,einet\nnltcs,1,1\n"} {
		_, err := readPublishedDEBD(strings.NewReader(bad))
		assert.Error(t, err, "%q", bad)
	}
}

// The quick recipe trains every candidate on every set in the folder and
// reports each set's best on validation beside its Chow-Liu tree; the small
// test sets have no published results.
func TestDEBDQuick(t *testing.T) {
	var out bytes.Buffer
	o := RecipeOptions{Out: t.TempDir(), Quick: true, DataDir: filepath.Join("..", "testdata", "debd"), Log: quietLogger(), Stdout: &out}
	require.NoError(t, runDEBD(context.Background(), o))
	recs := readCSVFile(t, filepath.Join(o.Out, "results.csv"))
	require.Equal(t, debdHeader, recs[0])
	require.Len(t, recs, 3, out.String())
	for i, set := range []string{"nltcs-small", "plants-small"} {
		r := recs[i+1]
		assert.Equal(t, set, r[0])
		assert.Contains(t, []string{"k32-b256", "k32-b1024"}, r[4], "chosen")
		clt, err := strconv.ParseFloat(r[7], 64)
		require.NoError(t, err, "Chow-Liu test LL of %s", set)
		assert.Less(t, clt, 0.0)
		assert.Empty(t, r[9], "a published value for %s", set)
	}
	runs := readCSVFile(t, filepath.Join(o.Out, "runs.csv"))
	require.Len(t, runs, 1+2*len(debdCandidates))
	num := func(s string) float64 {
		v, err := strconv.ParseFloat(s, 64)
		require.NoError(t, err)
		return v
	}
	for _, r := range runs[1:] {
		// The chosen candidate has the set's best validation LL.
		for _, s := range recs[1:] {
			if s[0] == r[0] {
				assert.LessOrEqual(t, num(r[5]), num(s[6]), "%s/%s beats the chosen candidate on validation", r[0], r[1])
			}
		}
	}
	md, err := os.ReadFile(filepath.Join(o.Out, "results.md"))
	require.NoError(t, err)
	assert.Contains(t, string(md), "| nltcs-small | 16 |")

	// -only keeps a set, and a pattern that matches none is an input error.
	o.Only = []string{"nltcs*/*"}
	out.Reset()
	require.NoError(t, runDEBD(context.Background(), o))
	assert.NotContains(t, out.String(), "plants-small: test LL")
	o.Only = []string{"bbc/*"}
	assert.True(t, IsInputError(runDEBD(context.Background(), o)))
	o.Only, o.DataDir = nil, ""
	assert.True(t, IsInputError(runDEBD(context.Background(), o)))
}
