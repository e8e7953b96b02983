package experiments

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"slices"
)

// PeerResult is the part of a peer harness line (bench/peers: one JSON
// object per configuration from the cirkit and Einsum Networks scripts)
// that WriteBenchComparison reads.
type PeerResult struct {
	Impl        string  `json:"impl"`
	Structure   string  `json:"structure"`
	Layer       string  `json:"layer"`
	K           int     `json:"K"`
	Batch       int     `json:"batch"`
	Family      string  `json:"family"`
	Mode        string  `json:"mode"`
	PDPieces    []int   `json:"pd_pieces"`
	Status      string  `json:"status"`
	MsMedian    float64 `json:"ms_median"`
	PeakRSSMB   float64 `json:"peak_rss_mb"`
	OthersCores float64 `json:"others_cores"`
}

// cirkitRGs names cirkit's region graphs in tenpc's vocabulary.
var cirkitRGs = map[string]string{"quad-graph": "qg", "quad-tree-2": "qt2", "quad-tree-4": "qt4",
	"random-binary-tree": "rbt", "poon-domingos": "pd"}

// key maps a peer line to the tenpc configuration it compares with: (rg,
// layer, mode) in tenpc's names, or ok = false when tenpc has none.
func (p PeerResult) key() (rg, layer, mode string, ok bool) {
	if p.Family != "" && p.Family != "categorical" {
		return "", "", "", false // tenpc's rows use categorical(256) leaves
	}
	switch p.Mode {
	case "sgd":
		mode = BenchTrain.String()
	case "eval":
		mode = BenchEval.String()
	default:
		return "", "", "", false // EM: tenpc times Adam steps
	}
	switch p.Impl {
	case "cirkit":
		rg, layer = cirkitRGs[p.Structure], p.Layer
	case "EinsumNetworks":
		// pd_pieces [4] is a 7-pixel delta; its einsum layer is Tucker.
		if p.Structure == "pd" && slices.Equal(p.PDPieces, []int{4}) {
			rg, layer = "pd:7", "tucker"
		}
	}
	return rg, layer, mode, rg != ""
}

// ReadBenchResults reads a file of `tenpc bench -json` lines.
func ReadBenchResults(path string) ([]BenchResult, error) {
	rs, err := readJSONLines[BenchResult](path)
	for i := range rs {
		// Results written before the region-graph names were unified call
		// Poon-Domingos with 7-pixel cells pd7.
		if rs[i].RG == "pd7" {
			rs[i].RG = "pd:7"
		}
	}
	return rs, err
}

// ReadPeerResults reads a file of peer harness lines.
func ReadPeerResults(path string) ([]PeerResult, error) { return readJSONLines[PeerResult](path) }

// readJSONLines reads one JSON value per non-empty line; a malformed line
// is an *InputError naming it.
func readJSONLines[T any](path string) (out []T, err error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, &InputError{err}
	}
	if err != nil {
		return nil, err
	}
	defer func() {
		if cerr := f.Close(); err == nil && cerr != nil {
			err = cerr
		}
	}()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for n := 1; sc.Scan(); n++ {
		if len(sc.Bytes()) == 0 {
			continue
		}
		var v T
		if err := json.Unmarshal(sc.Bytes(), &v); err != nil {
			return nil, inputErrorf("%s:%d: %v", path, n, err)
		}
		out = append(out, v)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return out, nil
}

// WriteBenchComparison writes one markdown table of tenpc's results next to
// the peers' for the same configuration, with the ratios peer/tenpc of the
// median step time (how many times faster tenpc is) and of peak RSS.
func WriteBenchComparison(w io.Writer, ours []BenchResult, peers []PeerResult) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintln(bw, "| rg | layer | K | B | mode | tenpc ms | peer | peer ms | peer/tenpc time | tenpc RSS MB | peer RSS MB | peer/tenpc RSS | others cores (tenpc, peer) |")
	fmt.Fprintln(bw, "|---|---|---|---|---|---|---|---|---|---|---|---|---|")
	for _, o := range ours {
		if o.Error != "" {
			fmt.Fprintf(bw, "| %s | %s | %d | %d | %s | error: %s | | | | | | | |\n", o.RG, o.Layer, o.K, o.BatchSize, o.Mode, o.Error)
			continue
		}
		matched := false
		for _, p := range peers {
			rg, layer, mode, ok := p.key()
			if !ok || rg != o.RG || layer != o.Layer || mode != o.Mode || p.K != o.K || p.Batch != o.BatchSize {
				continue
			}
			matched = true
			if p.Status != "ok" {
				fmt.Fprintf(bw, "| %s | %s | %d | %d | %s | %.1f | %s | %s | | %.0f | | | %.2f |\n",
					o.RG, o.Layer, o.K, o.BatchSize, o.Mode, o.MsMedian, p.Impl, p.Status, o.PeakRSSMB, o.OthersCores)
				continue
			}
			fmt.Fprintf(bw, "| %s | %s | %d | %d | %s | %.1f | %s | %.1f | %.1f× | %.0f | %.0f | %.2f | %.2f, %.2f |\n",
				o.RG, o.Layer, o.K, o.BatchSize, o.Mode, o.MsMedian, p.Impl, p.MsMedian, p.MsMedian/o.MsMedian,
				o.PeakRSSMB, p.PeakRSSMB, p.PeakRSSMB/o.PeakRSSMB, o.OthersCores, p.OthersCores)
		}
		if !matched {
			fmt.Fprintf(bw, "| %s | %s | %d | %d | %s | %.1f | (no peer row) | | | %.0f | | | %.2f |\n",
				o.RG, o.Layer, o.K, o.BatchSize, o.Mode, o.MsMedian, o.PeakRSSMB, o.OthersCores)
		}
	}
	return bw.Flush()
}
