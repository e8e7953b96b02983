package main

import (
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"testing"
)

func runBenchTest(t *testing.T, args ...string) (status int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	status = run(append([]string{"bench"}, args...), &out, &errb)
	return status, out.String(), errb.String()
}

func TestBenchBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"-mode", "fit"},
		{"-rg", "hex"},
		{"-rg", "rbt:0"},
		{"-rg", "rbt:1:11"}, // deeper than ⌈log2 784⌉ = 10
		{"-rg", "cl"},       // learnt from data; bench has none
		{"-rg", ","},
		{"-layer", "dense"},
		{"-k", "0"},
		{"-k", "a"},
		{"-batch-size", "-3"},
		{"-steps", "0"},
		{"-warmup", "-1"},
		{"-preset", "nope"},
		{"-k", "8,16", "-cpuprofile", "x.prof"},
		{"extra"},
	} {
		status, _, stderr := runBenchTest(t, args...)
		if status != 2 || !strings.HasPrefix(stderr, "tenpc bench: ") || strings.Count(stderr, "\n") != 1 {
			t.Errorf("%v: status %d, stderr %q; want 2 and a one-line message", args, status, stderr)
		}
	}
}

// TestBenchJSON runs two tiny configurations in process and checks every
// field of the JSON lines against the configuration and each other.
func TestBenchJSON(t *testing.T) {
	if testing.Short() {
		t.Skip("builds two 28×28 circuits")
	}
	status, stdout, stderr := runBenchTest(t, "-json", "-in-process", "-rg", "qt4", "-layer", "cp",
		"-k", "2", "-batch-size", "4", "-mode", "train,eval", "-steps", "3", "-warmup", "1")
	if status != 0 {
		t.Fatalf("status %d, stderr %q", status, stderr)
	}
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	if len(lines) != 2 {
		t.Fatalf("got %d lines, want 2:\n%s", len(lines), stdout)
	}
	for i, mode := range []string{"train", "eval"} {
		var r map[string]any
		if err := json.Unmarshal([]byte(lines[i]), &r); err != nil {
			t.Fatalf("line %d: %v", i, err)
		}
		for _, f := range []string{"rg", "layer", "k", "batch_size", "mode", "ms_median", "ms_min", "ms_max",
			"samples_per_s", "peak_rss_mb", "alloc_bytes_per_step", "blas"} {
			if _, ok := r[f]; !ok {
				t.Errorf("line %d lacks field %q", i, f)
			}
		}
		if r["rg"] != "qt4" || r["layer"] != "cp" || r["k"] != 2.0 || r["batch_size"] != 4.0 || r["mode"] != mode {
			t.Errorf("line %d: configuration %v, want qt4 cp K=2 B=4 %s", i, r, mode)
		}
		lo, med, hi := r["ms_min"].(float64), r["ms_median"].(float64), r["ms_max"].(float64)
		if !(0 < lo && lo <= med && med <= hi) {
			t.Errorf("line %d: min %g, median %g, max %g out of order", i, lo, med, hi)
		}
		if sps := r["samples_per_s"].(float64); benchAbs(sps*med/1e3-4) > 1e-6 {
			t.Errorf("line %d: %g samples/s at %g ms for 4 samples", i, sps, med)
		}
		if r["peak_rss_mb"].(float64) <= 0 || r["blas"] == "" || r["error"] != nil {
			t.Errorf("line %d: rss %v, blas %v, error %v", i, r["peak_rss_mb"], r["blas"], r["error"])
		}
		// K=2 over 784 pixels: 784·2·256 input parameters plus the inner layers'.
		if p := r["params"].(float64); p < 784*2*256 {
			t.Errorf("line %d: %g parameters, want at least %d", i, p, 784*2*256)
		}
	}
}

func benchAbs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}

// TestBenchCompare joins tenpc results with peer lines: the cirkit line of
// the same configuration matches (ratio 814.4/81.44 = 10.0×), an EM line
// and a binomial line do not, Einsum Networks' categorical PD line matches
// pd:7 (named pd7 in results written before the names were unified), and
// a configuration without a peer says so.
func TestBenchCompare(t *testing.T) {
	dir := t.TempDir()
	ours := dir + "/tenpc.jsonl"
	peers := dir + "/peers.jsonl"
	write := func(path, s string) {
		if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(ours, `{"rg":"qg","layer":"cp","k":32,"batch_size":256,"mode":"train","ms_median":81.44,"peak_rss_mb":500}
{"rg":"qt4","layer":"cp","k":32,"batch_size":100,"mode":"eval","ms_median":10,"peak_rss_mb":100}
{"rg":"pd7","layer":"tucker","k":32,"batch_size":100,"mode":"train","ms_median":100,"peak_rss_mb":300}
`)
	write(peers, `{"impl":"cirkit","structure":"quad-graph","layer":"cp","K":32,"batch":256,"family":"categorical","mode":"sgd","status":"ok","ms_median":814.4,"peak_rss_mb":1000}
{"impl":"cirkit","structure":"quad-graph","layer":"cp","K":32,"batch":256,"family":"binomial","mode":"sgd","status":"ok","ms_median":1,"peak_rss_mb":1}
{"impl":"EinsumNetworks","structure":"pd","pd_pieces":[4],"K":32,"batch":256,"family":"categorical","mode":"em","status":"ok","ms_median":1,"peak_rss_mb":1}
{"impl":"EinsumNetworks","structure":"pd","pd_pieces":[4],"K":32,"batch":100,"family":"categorical","mode":"sgd","status":"ok","ms_median":1000,"peak_rss_mb":600}
`)
	status, stdout, stderr := runBenchTest(t, "-compare", ours, "-peers", peers)
	if status != 0 {
		t.Fatalf("status %d, stderr %q", status, stderr)
	}
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	if len(lines) != 5 {
		t.Fatalf("want header, rule and 3 rows, got:\n%s", stdout)
	}
	if !strings.Contains(lines[2], "| cirkit | 814.4 | 10.0× |") || !strings.Contains(lines[2], "| 500 | 1000 | 2.00 |") {
		t.Errorf("qg row %q lacks the cirkit ratio 10.0× and RSS 2.00", lines[2])
	}
	if !strings.Contains(lines[3], "(no peer row)") {
		t.Errorf("qt4 row %q should have no peer", lines[3])
	}
	if want := "| pd:7 | tucker | 32 | 100 | train | 100.0 | EinsumNetworks | 1000.0 | 10.0× | 300 | 600 | 2.00 |"; !strings.HasPrefix(lines[4], want) {
		t.Errorf("pd7 row %q, want it to start with %q", lines[4], want)
	}
	if status, _, _ := runBenchTest(t, "-compare", ours); status != 2 {
		t.Errorf("-compare without -peers: status %d, want 2", status)
	}
}

// -engine graph times the graph engine next to the fused one: a row per
// engine, the graph row with its ratio to the fused row.
func TestBenchGraphEngine(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a 28×28 circuit twice")
	}
	status, stdout, stderr := runBenchTest(t, "-in-process", "-rg", "qt4", "-layer", "cp",
		"-k", "2", "-batch-size", "4", "-steps", "2", "-warmup", "0", "-engine", "graph")
	if status != 0 {
		t.Fatalf("status %d, stderr %q", status, stderr)
	}
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	if len(lines) != 5 || !strings.Contains(lines[1], "| engine |") || !strings.Contains(lines[1], "× fused") {
		t.Fatalf("want a header with engine and × fused columns and two rows:\n%s", stdout)
	}
	if !strings.Contains(lines[3], "| fused |") || !strings.HasSuffix(lines[3], " 1.0× |") ||
		!strings.Contains(lines[4], "| graph |") || !strings.HasSuffix(lines[4], "× |") {
		t.Errorf("rows:\n%s\n%s", lines[3], lines[4])
	}
	// In a child process (-json) only the engine asked for runs.
	status, stdout, stderr = runBenchTest(t, "-json", "-in-process", "-rg", "qt4", "-k", "2", "-batch-size", "4",
		"-steps", "1", "-warmup", "0", "-engine", "graph")
	if status != 0 || strings.Count(stdout, "\n") != 1 || !strings.Contains(stdout, `"engine":"graph"`) {
		t.Errorf("-json -engine graph: status %d, stderr %q, output %q; want one graph line", status, stderr, stdout)
	}
	if status, _, stderr := runBenchTest(t, "-engine", "gpu"); status != 2 || !strings.Contains(stderr, "-engine") {
		t.Errorf("-engine gpu: status %d, stderr %q", status, stderr)
	}
}
