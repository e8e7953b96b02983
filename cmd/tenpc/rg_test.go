package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/tenpc/tenpc/experiments"
	"github.com/tenpc/tenpc/regiongraph"
)

func runRGTest(t *testing.T, args ...string) (status int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	status = run(append([]string{"rg"}, args...), &out, &errb)
	return status, out.String(), errb.String()
}

func TestRGBuildInfoDot(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		args                []string
		regions, partitions int
	}{
		// Counts derived in regiongraph's TestImageBuilderCounts.
		{[]string{"-type", "qg", "-shape", "1,28,28"}, 2085, 1560},
		{[]string{"-type", "qt2", "-shape", "1,5,7"}, 69, 34},
		{[]string{"-type", "qt4", "-shape", "3,4,4"}, 21, 5},
		{[]string{"-type", "pd", "-shape", "1,28,28"}, 784, 3136},
		{[]string{"-type", "pd:4", "-shape", "1,28,28"}, 784, 3136},
		{[]string{"-type", "pd:4x2", "-shape", "1,8,8"}, 30, 40},
		{[]string{"-type", "rbt:3:4", "-vars", "16", "-seed", "5"}, 91, 45},
		{[]string{"-type", "rbt:3", "-shape", "1,4,4", "-seed", "5"}, 91, 45},
		{[]string{"-type", "linear:1:shuffle", "-shape", "1,2,3"}, 11, 5},
		{[]string{"-type", "ff:2", "-vars", "5"}, 11, 2},
		{[]string{"-type", "ff", "-shape", "1,2,2"}, 5, 1},
	} {
		path := filepath.Join(dir, strings.Join(tc.args, "_")+".json")
		status, stdout, stderr := runRGTest(t, append([]string{"build", "-o", path}, tc.args...)...)
		if status != 0 {
			t.Fatalf("build %v: status %d, stderr %q", tc.args, status, stderr)
		}
		if !strings.HasPrefix(stdout, "wrote "+path) {
			t.Errorf("build %v: stdout %q", tc.args, stdout)
		}
		g, err := regiongraph.Load(path)
		if err != nil {
			t.Fatal(err)
		}
		if len(g.Regions) != tc.regions || len(g.Partitions) != tc.partitions {
			t.Errorf("build %v: %d regions, %d partitions; want %d, %d", tc.args, len(g.Regions), len(g.Partitions), tc.regions, tc.partitions)
		}
	}

	// Without -o the JSON goes to standard output.
	status, stdout, _ := runRGTest(t, "build", "-type", "ff", "-vars", "2")
	if status != 0 || !strings.Contains(stdout, `"roots": ["0"]`) {
		t.Errorf("build to stdout: status %d, output %q", status, stdout)
	}

	qg := filepath.Join(dir, "qg.json")
	if status, _, stderr := runRGTest(t, "build", "-type", "qg", "-shape", "1,5,7", "-o", qg); status != 0 {
		t.Fatalf("build: %s", stderr)
	}
	status, stdout, stderr := runRGTest(t, "info", qg)
	if status != 0 {
		t.Fatalf("info: status %d, %s", status, stderr)
	}
	for _, want := range []string{
		"regions:                  87", "partitions:               61", "leaf regions:             35",
		"mixing regions:           9", "smooth:                   true", "decomposable:             true",
		"structured-decomposable:  false",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("info output lacks %q:\n%s", want, stdout)
		}
	}

	dot := filepath.Join(dir, "qg.dot")
	if status, _, stderr := runRGTest(t, "dot", qg, "-o", dot); status != 0 {
		t.Fatalf("dot: status %d, %s", status, stderr)
	}
	b, err := os.ReadFile(dot)
	if err != nil {
		t.Fatal(err)
	}
	if s := string(b); !strings.HasPrefix(s, "digraph") || strings.Count(s, "shape=point") != 61 {
		t.Errorf("dot file: want a digraph with 61 partition points, got %d", strings.Count(s, "shape=point"))
	}
}

func TestRGBadInput(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(bad, []byte(`{"regions": {"0": {"scope": [0, 1]}, "1": {"scope": [0]}, "2": {"scope": [0]}}, "roots": ["0"], "graph": [{"output": 0, "inputs": [1, 2]}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{}, "missing subcommand"},
		{[]string{"draw"}, `unknown subcommand "draw"`},
		{[]string{"build", "-shape", "1,4,4"}, "missing -type: want qg, qt2"},
		{[]string{"build", "-type", "hex", "-shape", "1,4,4"}, `unknown region graph "hex" (want qg, qt2`},
		{[]string{"build", "-type", "qg:2", "-shape", "1,4,4"}, "qg takes no parameters (want qg, qt2"},
		{[]string{"build", "-type", "qg"}, "region graph qg needs -shape C,H,W"},
		{[]string{"build", "-type", "qg", "-vars", "16"}, "region graph qg needs -shape C,H,W, not -vars"},
		{[]string{"build", "-type", "qg", "-shape", "1,0,28"}, "shape 1x0x28 has a dimension that is not positive"},
		{[]string{"build", "-type", "qt2", "-shape", "1,-4,4"}, "not positive"},
		{[]string{"build", "-type", "qg", "-shape", "28,28"}, "want C,H,W (3 values)"},
		{[]string{"build", "-type", "qg", "-shape", "1,x,2"}, `"x" is not an integer`},
		{[]string{"build", "-type", "ff", "-shape", "1,2,2", "-vars", "4"}, "give one of -shape, -vars and -dataset"},
		{[]string{"build", "-type", "pd:0", "-shape", "1,28,28"}, `patch side "0" is not a number ≥ 1`},
		{[]string{"build", "-type", "pd:-3", "-shape", "1,28,28"}, `patch side "-3" is not a number ≥ 1`},
		{[]string{"build", "-type", "pd:29", "-shape", "1,28,28"}, "delta 29 is larger than the image"},
		{[]string{"build", "-type", "pd:four", "-shape", "1,28,28"}, `patch side "four" is not a number ≥ 1`},
		{[]string{"build", "-type", "pd", "-shape", "1,28,28", "-delta", "4"}, "flag provided but not defined: -delta"},
		{[]string{"build", "-type", "rbt:1:5", "-vars", "16"}, "depth 5 is larger than ⌈log2 16⌉ = 4"},
		{[]string{"build", "-type", "rbt:1:11", "-shape", "1,28,28"}, "depth 11 is larger than ⌈log2 784⌉ = 10"},
		{[]string{"build", "-type", "rbt:0", "-vars", "16"}, `repetitions "0" is not an integer ≥ 1`},
		{[]string{"build", "-type", "linear"}, "needs -vars N, -shape C,H,W or -dataset"},
		{[]string{"build", "-type", "linear:2:random", "-vars", "4"}, `the second parameter of linear is shuffle, not "random"`},
		{[]string{"build", "-type", "cl"}, "cl is learnt from data: give -dataset"},
		{[]string{"build", "-type", "cl", "-vars", "4"}, "cl is learnt from samples"},
		{[]string{"build", "-type", "ff", "-vars", "-2"}, "-vars -2 is negative"},
		{[]string{"build", "-type", "ff:0", "-vars", "3"}, `repetitions "0" is not an integer ≥ 1`},
		{[]string{"build", "-type", "ff", "-vars", "3", "extra"}, `unexpected argument "extra"`},
		{[]string{"build", "-type", "ff", "-dataset", "debd:" + filepath.Join(dir, "nope", "x")}, "not found"},
		{[]string{"build", "-nosuchflag"}, "flag provided but not defined"},
		{[]string{"info"}, "needs one region graph file"},
		{[]string{"info", filepath.Join(dir, "missing.json")}, "no such file"},
		{[]string{"info", bad}, "overlapping scopes"},
		{[]string{"info", bad, bad}, "unexpected argument"},
		{[]string{"dot", bad, "-o", filepath.Join(dir, "x.dot")}, "overlapping scopes"},
	} {
		status, stdout, stderr := runRGTest(t, tc.args...)
		if status != 2 {
			t.Errorf("rg %v: status %d, want 2 (stdout %q, stderr %q)", tc.args, status, stdout, stderr)
			continue
		}
		if !strings.Contains(stderr, tc.want) {
			t.Errorf("rg %v: stderr %q, want it to contain %q", tc.args, stderr, tc.want)
		}
		if n := strings.Count(stderr, "\n"); n != 1 {
			t.Errorf("rg %v: stderr has %d lines, want 1: %q", tc.args, n, stderr)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "x.dot")); err == nil {
		t.Error("dot wrote a file for an invalid graph")
	}
}

func TestRGHelp(t *testing.T) {
	status, stdout, _ := runRGTest(t, "-h")
	if status != 0 || !strings.Contains(stdout, "tenpc rg build") {
		t.Errorf("rg -h: status %d, output %q", status, stdout)
	}
}

// rg info -plan lists the folded layers and the closed-form parameter total:
// QT4 over 8×8 with K=32 and 256 values has 64·32·256 input parameters and
// CP layers of 16·4·32·32, 4·4·32·32 and 1·4·1·32 (the root has one unit).
func TestRGInfoPlan(t *testing.T) {
	dir := t.TempDir()
	g := dir + "/g.json"
	var out, errOut bytes.Buffer
	if st := run([]string{"rg", "build", "-type", "qt4", "-shape", "1,8,8", "-o", g}, &out, &errOut); st != 0 {
		t.Fatalf("build: status %d: %s", st, errOut.String())
	}
	out.Reset()
	if st := run([]string{"rg", "info", "-plan", "-layer", "cp", "-k", "32", g}, &out, &errOut); st != 0 {
		t.Fatalf("info -plan: status %d: %s", st, errOut.String())
	}
	want := 64*32*256 + 16*4*32*32 + 4*4*32*32 + 4*32
	if !strings.Contains(out.String(), fmt.Sprintf("total parameters: %d", want)) {
		t.Errorf("plan output lacks the total %d:\n%s", want, out.String())
	}
	// Tucker folds the binarized graph, as Build does: QT-2's layers over
	// 8×8 (32, 16, 8, 4, 2 and 1 binary folds of K·K² weights).
	out.Reset()
	if st := run([]string{"rg", "info", "-plan", "-layer", "tucker", "-k", "4", g}, &out, &errOut); st != 0 {
		t.Fatalf("info -plan tucker: status %d: %s", st, errOut.String())
	}
	want = 64*4*256 + (32+16+8+4+2)*4*4*4 + 1*4*4
	if !strings.Contains(out.String(), fmt.Sprintf("total parameters: %d", want)) {
		t.Errorf("tucker plan output lacks the total %d:\n%s", want, out.String())
	}
	errOut.Reset()
	if st := run([]string{"rg", "info", "-plan", "-layer", "bogus", g}, &out, &errOut); st != 2 || !strings.Contains(errOut.String(), "unknown layer") {
		t.Errorf("bad -layer: status %d, stderr %q", st, errOut.String())
	}
}

// writeTinyDEBD writes a DEBD set NAME of d binary variables (n seeded rows
// per split) into dir and returns its dataset spec.
func writeTinyDEBD(t *testing.T, dir, name string, d, n int) string {
	t.Helper()
	rng := rand.New(rand.NewPCG(3, uint64(d)))
	for _, split := range []string{"train", "valid", "test"} {
		var b strings.Builder
		for range n {
			for j := range d {
				if j > 0 {
					b.WriteByte(',')
				}
				b.WriteString(strconv.Itoa(rng.IntN(2)))
			}
			b.WriteByte('\n')
		}
		if err := os.WriteFile(filepath.Join(dir, name+"."+split+".data"), []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return "debd:" + filepath.Join(dir, name)
}

// TestTrainRGVocabulary trains one epoch with region graphs named in the
// shared vocabulary, on MNIST images and on a tiny tabular set, and checks
// that the model holds exactly the graph `tenpc rg build` builds from the
// same name and data (train and rg build share the builder and the seed).
func TestTrainRGVocabulary(t *testing.T) {
	if testing.Short() {
		t.Skip("trains six small circuits")
	}
	base := t.TempDir()
	debd := writeTinyDEBD(t, base, "tiny", 8, 40)
	for _, tc := range []struct {
		rg      string
		dataset string
		layout  []string // rg build's flags for the same variables
	}{
		{"ff", "mnist", []string{"-shape", "1,28,28"}},
		{"rbt:3", "mnist", []string{"-dataset", "mnist", "-limit", "200"}},
		{"ff:2", debd, []string{"-vars", "8"}},
		{"rbt:3:2", debd, []string{"-dataset", debd}},
		{"linear:2:shuffle", debd, []string{"-vars", "8"}},
		{"cl", debd, []string{"-dataset", debd}},
	} {
		out := filepath.Join(base, strings.ReplaceAll(tc.rg, ":", "_")+"-"+filepath.Base(tc.dataset))
		mustRun(t, "train", "-dataset", tc.dataset, "-limit", "200", "-rg", tc.rg, "-k", "2", "-epochs", "1", "-batch-size", "100", "-out", out)
		res := readResult(t, out)
		if res.Epochs != 1 || math.IsNaN(res.Test.LL) || res.Test.LL >= 0 {
			t.Errorf("%s on %s: %d epochs, test LL %v", tc.rg, tc.dataset, res.Epochs, res.Test.LL)
		}
		m, err := experiments.LoadModel(res.Model)
		if err != nil {
			t.Fatal(err)
		}
		built := mustRun(t, append([]string{"rg", "build", "-type", tc.rg}, tc.layout...)...)
		var want bytes.Buffer
		if err := json.Compact(&want, []byte(built)); err != nil {
			t.Fatalf("rg build -type %s: %v", tc.rg, err)
		}
		if !bytes.Equal(m.Arch.RegionGraph, want.Bytes()) {
			t.Errorf("%s on %s: the model's region graph is not the one rg build %v builds", tc.rg, tc.dataset, tc.layout)
		}
	}
}
