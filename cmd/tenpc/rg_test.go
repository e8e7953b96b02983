package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

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
		{[]string{"-type", "pd", "-shape", "1,28,28", "-delta", "4"}, 784, 3136},
		{[]string{"-type", "pd", "-shape", "1,8,8", "-delta", "4,2"}, 30, 40},
		{[]string{"-type", "rbt", "-vars", "16", "-depth", "4", "-repetitions", "3", "-seed", "5"}, 91, 45},
		{[]string{"-type", "linear", "-shape", "1,2,3", "-randomize"}, 11, 5},
		{[]string{"-type", "ff", "-vars", "5", "-repetitions", "2"}, 11, 2},
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
		{[]string{"build", "-shape", "1,4,4"}, "missing -type"},
		{[]string{"build", "-type", "hex", "-shape", "1,4,4"}, `unknown -type "hex"`},
		{[]string{"build", "-type", "qg"}, "-type qg needs -shape C,H,W"},
		{[]string{"build", "-type", "qg", "-shape", "1,0,28"}, "shape 1x0x28 has a dimension that is not positive"},
		{[]string{"build", "-type", "qt2", "-shape", "1,-4,4"}, "not positive"},
		{[]string{"build", "-type", "qg", "-shape", "28,28"}, "want C,H,W (3 values)"},
		{[]string{"build", "-type", "qg", "-shape", "1,x,2"}, `"x" is not an integer`},
		{[]string{"build", "-type", "pd", "-shape", "1,28,28"}, "-type pd needs -delta"},
		{[]string{"build", "-type", "pd", "-shape", "1,28,28", "-delta", "0"}, "delta 0 must be at least 1"},
		{[]string{"build", "-type", "pd", "-shape", "1,28,28", "-delta", "-3"}, "delta -3 must be at least 1"},
		{[]string{"build", "-type", "pd", "-shape", "1,28,28", "-delta", "29"}, "delta 29 is larger than the image"},
		{[]string{"build", "-type", "pd", "-shape", "1,28,28", "-delta", "four"}, `"four" is not a number`},
		{[]string{"build", "-type", "rbt", "-vars", "16", "-depth", "5"}, "depth 5 is larger than ⌈log2 16⌉ = 4"},
		{[]string{"build", "-type", "rbt", "-shape", "1,28,28", "-depth", "11"}, "depth 11 is larger than ⌈log2 784⌉ = 10"},
		{[]string{"build", "-type", "linear"}, "needs -vars N or -shape C,H,W"},
		{[]string{"build", "-type", "ff", "-vars", "-2"}, "-vars -2 is negative"},
		{[]string{"build", "-type", "ff", "-vars", "3", "-repetitions", "0"}, "repetitions 0 is not positive"},
		{[]string{"build", "-type", "ff", "-vars", "3", "extra"}, `unexpected argument "extra"`},
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
	errOut.Reset()
	if st := run([]string{"rg", "info", "-plan", "-layer", "bogus", g}, &out, &errOut); st != 2 || !strings.Contains(errOut.String(), "unknown layer") {
		t.Errorf("bad -layer: status %d, stderr %q", st, errOut.String())
	}
}
