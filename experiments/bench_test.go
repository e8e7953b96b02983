package experiments

import (
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tenpc/tenpc/circuit"
)

// TestBenchPresets checks the preset lists against the configurations the
// peer matrix (bench/peers-matrix.txt) names.
func TestBenchPresets(t *testing.T) {
	presets := map[string][]BenchConfig{}
	for _, name := range BenchPresetNames {
		cfgs, err := BenchPreset(name, 5, 1)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range cfgs {
			if c.Steps != 5 || c.Warmup != 1 {
				t.Errorf("preset %s: %+v does not time 5 steps after 1", name, c)
			}
		}
		presets[name] = cfgs
	}
	has := func(p, rg, layer string, k, b int, mode string) bool {
		for _, c := range presets[p] {
			if c.RG.String() == rg && c.Layer.String() == layer && c.Units == k && c.BatchSize == b && c.Mode.String() == mode {
				return true
			}
		}
		return false
	}
	for _, c := range []struct {
		rg    string
		k, b  int
		layer string
		mode  string
	}{
		{"qg", 32, 256, "cp", "train"}, {"qg", 32, 100, "cp", "train"}, {"qg", 32, 100, "cp", "eval"},
		{"qg", 10, 100, "cp", "train"}, {"qt4", 32, 100, "cp", "train"}, {"qt2", 32, 100, "cp", "train"},
		{"rbt", 32, 100, "cp", "train"}, {"pd", 32, 100, "cp", "train"}, {"qt2", 32, 100, "tucker", "train"},
		{"pd:7", 10, 100, "tucker", "train"}, {"pd:7", 32, 100, "tucker", "train"},
	} {
		if !has("peers", c.rg, c.layer, c.k, c.b, c.mode) {
			t.Errorf("preset peers lacks %v", c)
		}
	}
	if n := len(presets["scaling"]); n != 5*3+3 {
		t.Errorf("preset scaling has %d configurations, want 18", n)
	}
	if !has("scaling", "qg", "cp", 128, 1024, "train") || !has("scaling", "qt2", "tucker", 8, 100, "train") {
		t.Error("preset scaling lacks its corners")
	}
	if _, err := BenchPreset("nope", 5, 1); !IsInputError(err) || !strings.Contains(err.Error(), "peers or scaling") {
		t.Errorf("unknown preset: error %v", err)
	}
}

// TestBenchGrid checks the order and count of a grid's combinations and
// that a bad value fails.
func TestBenchGrid(t *testing.T) {
	qg, pd := RGSpec{Kind: RGQuadGraph}, RGSpec{Kind: RGPoonDomingos}
	g := BenchGrid{RGs: []RGSpec{qg, pd}, Layers: []circuit.Layer{circuit.CP, circuit.Tucker}, Units: []int{4, 8},
		BatchSizes: []int{16}, Modes: []BenchMode{BenchTrain, BenchEval}, Steps: 2}
	cfgs, err := g.Configs()
	if err != nil {
		t.Fatal(err)
	}
	if len(cfgs) != 2*2*2*1*2 {
		t.Fatalf("%d configurations, want 16", len(cfgs))
	}
	first, last := cfgs[0], cfgs[len(cfgs)-1]
	if first.RG != qg || first.Layer != circuit.CP || first.Units != 4 || first.Mode != BenchTrain ||
		last.RG != pd || last.Layer != circuit.Tucker || last.Units != 8 || last.Mode != BenchEval {
		t.Errorf("first %+v, last %+v: not ordered by rg, layer, K, batch, mode", first, last)
	}
	if cfgs[1].Mode != BenchEval || cfgs[2].Units != 8 {
		t.Errorf("mode should vary fastest, then batch and K: %+v, %+v", cfgs[1], cfgs[2])
	}
	for _, bad := range []BenchGrid{
		{RGs: []RGSpec{qg}, Layers: []circuit.Layer{circuit.CP}, Units: []int{0}, BatchSizes: []int{1}, Modes: []BenchMode{BenchTrain}, Steps: 1},
		{RGs: []RGSpec{qg}, Layers: []circuit.Layer{circuit.CP}, Units: []int{1}, BatchSizes: []int{1}, Modes: []BenchMode{BenchTrain}, Steps: 0},
		{RGs: []RGSpec{qg}, Layers: []circuit.Layer{circuit.CP}, Units: []int{1}, BatchSizes: []int{1}, Modes: []BenchMode{7}, Steps: 1},
		{RGs: []RGSpec{qg}, Units: []int{1}, BatchSizes: []int{1}, Modes: []BenchMode{BenchTrain}, Steps: 1},
	} {
		if _, err := bad.Configs(); !IsInputError(err) {
			t.Errorf("%+v: error %v, want an input error", bad, err)
		}
	}
}

// TestBenchSuiteValidate checks that bad suites fail before anything runs:
// cl (no data to learn from), a depth the image does not allow, a profile
// of several configurations.
func TestBenchSuiteValidate(t *testing.T) {
	ok := BenchConfig{RG: RGSpec{Kind: RGQuadTree4}, Units: 2, BatchSize: 4, Steps: 1}
	cl, deep := ok, ok
	cl.RG = RGSpec{Kind: RGChowLiu}
	deep.RG = RGSpec{Kind: RGRandomBinaryTree, Depth: 11}
	ran := false
	emit := func(BenchResult) error { ran = true; return nil }
	for _, tc := range []struct {
		s    BenchSuite
		want string
	}{
		{BenchSuite{}, "no configurations"},
		{BenchSuite{Configs: []BenchConfig{ok, cl}}, "cl is learnt from samples"},
		{BenchSuite{Configs: []BenchConfig{ok, deep}}, "depth 11 is larger than ⌈log2 784⌉ = 10"},
		{BenchSuite{Configs: []BenchConfig{ok, ok}, CPUProfile: filepath.Join(t.TempDir(), "cpu.prof")}, "a CPU profile needs a single configuration"},
	} {
		err := tc.s.Run(context.Background(), emit)
		if !IsInputError(err) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("error %v, want an input error containing %q", err, tc.want)
		}
	}
	if ran {
		t.Error("a configuration ran although the suite was invalid")
	}
}

// TestBenchSuiteChild runs configurations in child processes (a shell
// standing in for `tenpc bench -in-process`): the JSON line among other
// output is the result; a child that fails gives a result whose Error
// holds its exit status and standard error, and the suite goes on.
func TestBenchSuiteChild(t *testing.T) {
	if _, err := exec.LookPath("sh"); err != nil {
		t.Skip("no sh")
	}
	c := BenchConfig{RG: RGSpec{Kind: RGQuadTree4}, Layer: circuit.CP, Units: 2, BatchSize: 4, Steps: 1}
	fail := c
	fail.Units = 3
	s := BenchSuite{Configs: []BenchConfig{c, fail}, Child: func(c BenchConfig) []string {
		if c.Units == 3 {
			return []string{"sh", "-c", "echo 'out of memory' >&2; exit 1"}
		}
		return []string{"sh", "-c", `echo '# header'; echo '{"rg":"qt4","layer":"cp","k":2,"batch_size":4,"mode":"train","ms_median":1.5}'`}
	}}
	var got []BenchResult
	if err := s.Run(context.Background(), func(r BenchResult) error { got = append(got, r); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("%d results, want 2", len(got))
	}
	if got[0].MsMedian != 1.5 || got[0].RG != "qt4" || got[0].Error != "" {
		t.Errorf("child result %+v", got[0])
	}
	if got[1].K != 3 || got[1].RG != "qt4" || !strings.Contains(got[1].Error, "exit status 1: out of memory") {
		t.Errorf("failed child: result %+v, want K=3 and the child's status and stderr", got[1])
	}
}
