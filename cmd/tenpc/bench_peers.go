package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
)

// peerResult is the part of a peer harness line (../shared/peer,
// bench_cirkit.py / bench_einet.py) that the comparison reads.
type peerResult struct {
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

// peerKey maps a peer line to the tenpc configuration it compares with:
// (rg, layer, mode), or ok = false when tenpc has no comparable one.
func peerKey(p peerResult) (rg, layer, mode string, ok bool) {
	if p.Family != "" && p.Family != "categorical" {
		return "", "", "", false // tenpc's rows use categorical(256) leaves
	}
	switch p.Mode {
	case "sgd":
		mode = "train"
	case "eval":
		mode = "eval"
	default:
		return "", "", "", false // EM: tenpc times Adam steps
	}
	switch p.Impl {
	case "cirkit":
		rg = map[string]string{"quad-graph": "qg", "quad-tree-2": "qt2", "quad-tree-4": "qt4",
			"random-binary-tree": "rbt", "poon-domingos": "pd"}[p.Structure]
		layer = p.Layer
	case "EinsumNetworks":
		// pd_pieces [4] is a 7-pixel delta; its einsum layer is Tucker.
		if p.Structure == "pd" && slices.Equal(p.PDPieces, []int{4}) {
			rg, layer = "pd7", "tucker"
		}
	}
	return rg, layer, mode, rg != ""
}

func readJSONLines[T any](path string) ([]T, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []T
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for n := 1; sc.Scan(); n++ {
		if len(sc.Bytes()) == 0 {
			continue
		}
		var v T
		if err := json.Unmarshal(sc.Bytes(), &v); err != nil {
			return nil, badInput("%s:%d: %v", path, n, err)
		}
		out = append(out, v)
	}
	return out, sc.Err()
}

// benchCompare prints one markdown table of tenpc's results next to the
// peers' for the same configuration, with the ratio peer/tenpc of the
// median step time (how many times faster tenpc is) and of peak RSS.
func benchCompare(w io.Writer, tenpcPath, peersPath string) error {
	ours, err := readJSONLines[benchResult](tenpcPath)
	if err != nil {
		return err
	}
	peers, err := readJSONLines[peerResult](peersPath)
	if err != nil {
		return err
	}
	fmt.Fprintln(w, "| rg | layer | K | B | mode | tenpc ms | peer | peer ms | peer/tenpc time | tenpc RSS MB | peer RSS MB | peer/tenpc RSS | others cores (tenpc, peer) |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|---|---|---|---|---|")
	for _, o := range ours {
		if o.Error != "" {
			fmt.Fprintf(w, "| %s | %s | %d | %d | %s | error: %s | | | | | | | |\n", o.RG, o.Layer, o.K, o.BatchSize, o.Mode, o.Error)
			continue
		}
		matched := false
		for _, p := range peers {
			rg, layer, mode, ok := peerKey(p)
			if !ok || rg != o.RG || layer != o.Layer || mode != o.Mode || p.K != o.K || p.Batch != o.BatchSize {
				continue
			}
			matched = true
			if p.Status != "ok" {
				fmt.Fprintf(w, "| %s | %s | %d | %d | %s | %.1f | %s | %s | | %.0f | | | %.2f |\n",
					o.RG, o.Layer, o.K, o.BatchSize, o.Mode, o.MsMedian, p.Impl, p.Status, o.PeakRSSMB, o.OthersCores)
				continue
			}
			fmt.Fprintf(w, "| %s | %s | %d | %d | %s | %.1f | %s | %.1f | %.1f× | %.0f | %.0f | %.2f | %.2f, %.2f |\n",
				o.RG, o.Layer, o.K, o.BatchSize, o.Mode, o.MsMedian, p.Impl, p.MsMedian, p.MsMedian/o.MsMedian,
				o.PeakRSSMB, p.PeakRSSMB, p.PeakRSSMB/o.PeakRSSMB, o.OthersCores, p.OthersCores)
		}
		if !matched {
			fmt.Fprintf(w, "| %s | %s | %d | %d | %s | %.1f | (no peer row) | | | %.0f | | | %.2f |\n",
				o.RG, o.Layer, o.K, o.BatchSize, o.Mode, o.MsMedian, o.PeakRSSMB, o.OthersCores)
		}
	}
	return nil
}
