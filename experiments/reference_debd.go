package experiments

import (
	_ "embed"
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
)

// debdPublishedCSV is reference/debd/published.csv: published test
// log-likelihoods on DEBD sets (reference/debd/README.md names the
// sources).
//
//go:embed reference/debd/published.csv
var debdPublishedCSV string

// PublishedLL is a DEBD set's published test log-likelihoods (mean nats per
// sample); NaN where the table has no value.
type PublishedLL struct {
	RATSPN, HCLT, EiNet float64
}

// PublishedDEBD returns the published results per set name.
func PublishedDEBD() (map[string]PublishedLL, error) {
	return readPublishedDEBD(strings.NewReader(debdPublishedCSV))
}

// readPublishedDEBD reads a table with the columns set, ratspn, hclt and
// einet (a blank cell is NaN).
func readPublishedDEBD(r io.Reader) (map[string]PublishedLL, error) {
	recs, err := csv.NewReader(r).ReadAll()
	if err != nil {
		return nil, fmt.Errorf("published DEBD results: %w", err)
	}
	want := []string{"set", "ratspn", "hclt", "einet"}
	if len(recs) == 0 || strings.Join(recs[0], ",") != strings.Join(want, ",") {
		return nil, fmt.Errorf("published DEBD results: the header is not %s", strings.Join(want, ","))
	}
	out := map[string]PublishedLL{}
	for i, rec := range recs[1:] {
		var v [3]float64
		for j := range v {
			v[j] = math.NaN()
			if s := rec[j+1]; s != "" {
				if v[j], err = strconv.ParseFloat(s, 64); err != nil {
					return nil, fmt.Errorf("published DEBD results: row %d, %s: %v", i+2, want[j+1], err)
				}
			}
		}
		if _, dup := out[rec[0]]; dup || rec[0] == "" {
			return nil, fmt.Errorf("published DEBD results: row %d: set %q is empty or repeated", i+2, rec[0])
		}
		out[rec[0]] = PublishedLL{RATSPN: v[0], HCLT: v[1], EiNet: v[2]}
	}
	return out, nil
}
