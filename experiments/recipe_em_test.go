package experiments

import (
	"bytes"
	"context"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestTimeTo(t *testing.T) {
	h := []EpochMetrics{{ValidBPD: 2, Seconds: 10}, {ValidBPD: 1.5, Seconds: 10}, {ValidBPD: 1.6, Seconds: 10}, {ValidBPD: 1.2, Seconds: 10}}
	assert.Equal(t, 20.0, timeTo(h, 1.5))
	assert.Equal(t, 40.0, timeTo(h, 1.3))
	assert.True(t, math.IsNaN(timeTo(h, 1)))
}

// The quick recipe trains Adam and EM on MNIST and on the small DEBD sets
// and reports each run's time to the thresholds.
func TestEMAdamQuick(t *testing.T) {
	var out bytes.Buffer
	o := RecipeOptions{Out: t.TempDir(), Quick: true, DataDir: filepath.Join("..", "testdata", "debd"),
		Only: []string{"mnist/*", "nltcs-small/*"}, Log: quietLogger(), Stdout: &out}
	require.NoError(t, runEMAdam(context.Background(), o))
	recs := readCSVFile(t, filepath.Join(o.Out, "results.csv"))
	require.Len(t, recs, 1+2+3, out.String())
	var names []string
	reached := map[string]bool{}
	for _, r := range recs[1:] {
		names = append(names, r[0])
		ds, _, _ := strings.Cut(r[0], "/")
		reached[ds] = reached[ds] || r[len(r)-1] != ""
	}
	assert.Equal(t, map[string]bool{"mnist": true, "nltcs-small": true}, reached, "the best run of a dataset reaches its own best")
	assert.Equal(t, []string{"mnist/adam", "mnist/em", "nltcs-small/adam", "nltcs-small/em", "nltcs-small/em-full"}, names)
	for _, f := range []string{"mnist-time.png", "nltcs-small-time.png"} {
		_, err := os.Stat(filepath.Join(o.Out, f))
		assert.NoError(t, err, f)
	}
}
