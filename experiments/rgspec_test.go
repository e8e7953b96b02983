package experiments

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/tenpc/tenpc/data"
	"github.com/tenpc/tenpc/regiongraph"
)

// randomDataset is n seeded samples of the given shape with values in
// [0, values).
func randomDataset(name string, shape []int, values, n int) *data.Dataset {
	d := 1
	for _, s := range shape {
		d *= s
	}
	rng := rand.New(rand.NewPCG(9, uint64(d)))
	x := make([]uint8, n*d)
	for i := range x {
		x[i] = uint8(rng.IntN(values))
	}
	return &data.Dataset{Name: name, Shape: shape, Values: values, N: n, D: d, X: x}
}

// TestRGSpecBuilds builds every name of the vocabulary on image data
// (1×4×6) and tabular data (6 variables) and compares the graph with the
// regiongraph builder the name stands for, called directly with the
// parameters the name spells out; image graphs on tabular data must fail.
func TestRGSpecBuilds(t *testing.T) {
	const seed = 7
	img := randomDataset("img", []int{1, 4, 6}, 4, 30)
	tab := randomDataset("tab", []int{6}, 2, 30)
	imgShape := regiongraph.Shape{C: 1, H: 4, W: 6}
	clTree := func(ds *data.Dataset) (*regiongraph.Graph, error) {
		rows := make([][]int, ds.N)
		for i := range rows {
			rows[i] = make([]int, ds.D)
			for j, v := range ds.Row(i) {
				rows[i][j] = int(v)
			}
		}
		return regiongraph.ChowLiuTree(rows, -1, ds.Values)
	}
	for _, tc := range []struct {
		name  string
		image bool // needs image data
		want  func(ds *data.Dataset) (*regiongraph.Graph, error)
	}{
		{"qg", true, func(*data.Dataset) (*regiongraph.Graph, error) { return regiongraph.QuadGraph(imgShape) }},
		{"qt2", true, func(*data.Dataset) (*regiongraph.Graph, error) { return regiongraph.QuadTree(imgShape, 2) }},
		{"qt4", true, func(*data.Dataset) (*regiongraph.Graph, error) { return regiongraph.QuadTree(imgShape, 4) }},
		{"pd", true, func(*data.Dataset) (*regiongraph.Graph, error) {
			return regiongraph.PoonDomingos(imgShape, []float64{4}, -1)
		}},
		{"pd:2", true, func(*data.Dataset) (*regiongraph.Graph, error) {
			return regiongraph.PoonDomingos(imgShape, []float64{2}, -1)
		}},
		{"pd:2x3:1", true, func(*data.Dataset) (*regiongraph.Graph, error) {
			return regiongraph.PoonDomingos(imgShape, []float64{2, 3}, 1)
		}},
		{"rbt", false, func(ds *data.Dataset) (*regiongraph.Graph, error) {
			return regiongraph.RandomBinaryTree(ds.D, -1, 1, seed)
		}},
		{"rbt:3", false, func(ds *data.Dataset) (*regiongraph.Graph, error) {
			return regiongraph.RandomBinaryTree(ds.D, -1, 3, seed)
		}},
		{"rbt:3:2", false, func(ds *data.Dataset) (*regiongraph.Graph, error) {
			return regiongraph.RandomBinaryTree(ds.D, 2, 3, seed)
		}},
		{"linear", false, func(ds *data.Dataset) (*regiongraph.Graph, error) {
			return regiongraph.LinearTree(ds.D, 1, false, seed)
		}},
		{"linear:2:shuffle", false, func(ds *data.Dataset) (*regiongraph.Graph, error) {
			return regiongraph.LinearTree(ds.D, 2, true, seed)
		}},
		{"ff", false, func(ds *data.Dataset) (*regiongraph.Graph, error) { return regiongraph.FullyFactorized(ds.D, 1) }},
		{"ff:3", false, func(ds *data.Dataset) (*regiongraph.Graph, error) { return regiongraph.FullyFactorized(ds.D, 3) }},
		{"cl", false, clTree},
	} {
		for _, ds := range []*data.Dataset{img, tab} {
			got, err := BuildRegionGraph(tc.name, ds, seed)
			if tc.image && ds == tab {
				if !IsInputError(err) || !strings.Contains(err.Error(), "needs image data") {
					t.Errorf("%s on tabular data: error %v, want an input error saying it needs image data", tc.name, err)
				}
				continue
			}
			if err != nil {
				t.Errorf("%s on %s: %v", tc.name, ds.Name, err)
				continue
			}
			want, err := tc.want(ds)
			if err != nil {
				t.Fatalf("%s on %s: reference builder: %v", tc.name, ds.Name, err)
			}
			gj, err := rgJSON(got)
			if err != nil {
				t.Fatal(err)
			}
			wj, err := rgJSON(want)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(gj, wj) {
				t.Errorf("%s on %s: %d regions, %d partitions; want the builder's %d, %d",
					tc.name, ds.Name, len(got.Regions), len(got.Partitions), len(want.Regions), len(want.Partitions))
			}
		}
	}
}

// TestParseRGSpecBad checks that bad names and parameters are input
// errors of one line that list the valid names.
func TestParseRGSpecBad(t *testing.T) {
	for _, tc := range []struct{ spec, want string }{
		{"", `unknown region graph ""`},
		{"hex", `unknown region graph "hex"`},
		{"QG", `unknown region graph "QG"`},
		{"qg:1", "qg takes no parameters"},
		{"cl:3", "cl takes no parameters"},
		{"pd:", `patch side "" is not a number`},
		{"pd:0", `patch side "0" is not a number ≥ 1`},
		{"pd:4x", `patch side "" is not a number`},
		{"pd:4x2x1", "want D or ROWSxCOLS"},
		{"pd:NaN", `patch side "NaN"`},
		{"pd:Inf", `patch side "Inf"`},
		{"pd:4:0", `depth "0" is not an integer ≥ 1`},
		{"pd:4:x", `depth "x"`},
		{"pd:1:2:3", "pd takes at most 2 parameters, got 3"},
		{"rbt:", `repetitions "" is not an integer ≥ 1`},
		{"rbt:0", `repetitions "0"`},
		{"rbt:-1", `repetitions "-1"`},
		{"rbt:1.5", `repetitions "1.5"`},
		{"rbt:1:0", `depth "0"`},
		{"rbt:1:2:3", "rbt takes at most 2 parameters"},
		{"linear:2:random", `the second parameter of linear is shuffle, not "random"`},
		{"ff:1:2", "ff takes at most 1 parameters"},
	} {
		_, err := ParseRGSpec(tc.spec)
		if !IsInputError(err) {
			t.Errorf("%q: error %v, want an *InputError", tc.spec, err)
			continue
		}
		msg := err.Error()
		if !strings.Contains(msg, tc.want) || !strings.Contains(msg, "(want "+RGNames+")") || strings.Contains(msg, "\n") {
			t.Errorf("%q: error %q, want one line with %q and the list of names", tc.spec, msg, tc.want)
		}
	}
}

// TestRGSpecBuildErrors checks the failures that depend on the data: a
// depth deeper than the variables allow, a patch larger than the image, cl
// without samples, a file over other variables.
func TestRGSpecBuildErrors(t *testing.T) {
	img := randomDataset("img", []int{1, 4, 4}, 4, 10)
	noSamples := &data.Dataset{Name: "layout", Shape: []int{6}, D: 6}
	for _, tc := range []struct {
		spec string
		ds   *data.Dataset
		want string
	}{
		{"rbt:1:5", img, "depth 5 is larger than ⌈log2 16⌉ = 4"},
		{"pd:5", img, "delta 5 is larger than the image"},
		{"cl", noSamples, "cl is learnt from samples; layout has none"},
		{"testdata/none.json", img, "region graph"},
	} {
		_, err := BuildRegionGraph(tc.spec, tc.ds, 1)
		if !IsInputError(err) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s on %s: error %v, want an input error containing %q", tc.spec, tc.ds.Name, err, tc.want)
		}
	}
}

// TestRGSpecString checks the canonical names: defaults are left out, and
// each parses back to the same spec.
func TestRGSpecString(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"qg", "qg"}, {"qt4", "qt4"}, {"pd", "pd"}, {"pd:4", "pd"}, {"pd:4x4", "pd"}, {"pd:4.0", "pd"},
		{"pd:7", "pd:7"}, {"pd:2.5", "pd:2.5"}, {"pd:4x2", "pd:4x2"}, {"pd:4:3", "pd:4:3"},
		{"rbt", "rbt"}, {"rbt:1", "rbt"}, {"rbt:3", "rbt:3"}, {"rbt:1:4", "rbt:1:4"},
		{"linear:1", "linear"}, {"linear:1:shuffle", "linear:1:shuffle"}, {"ff:2", "ff:2"},
		{"cl", "cl"}, {"runs/G.JSON", "runs/G.JSON"},
	} {
		s, err := ParseRGSpec(tc.in)
		if err != nil {
			t.Errorf("%q: %v", tc.in, err)
			continue
		}
		if got := s.String(); got != tc.want {
			t.Errorf("%q: String() = %q, want %q", tc.in, got, tc.want)
		}
		if back, err := ParseRGSpec(s.String()); err != nil || back != s {
			t.Errorf("%q: %q parses back to %+v (%v), want %+v", tc.in, s.String(), back, err, s)
		}
	}
	// The zero value of every parameter is its default.
	for _, tc := range []struct {
		s    RGSpec
		want string
	}{
		{RGSpec{Kind: RGPoonDomingos}, "pd"}, {RGSpec{Kind: RGRandomBinaryTree}, "rbt"}, {RGSpec{Kind: RGFullyFactorized}, "ff"},
	} {
		if got := tc.s.String(); got != tc.want {
			t.Errorf("%+v: String() = %q, want %q", tc.s, got, tc.want)
		}
	}
}

// FuzzParseRGSpec checks that whatever parses has a canonical name of one
// line that parses back to the same spec.
func FuzzParseRGSpec(f *testing.F) {
	for _, s := range []string{"qg", "qt2", "qt4", "pd", "pd:3", "pd:4x2:3", "pd:1e1", "rbt", "rbt:3:2",
		"linear:2:shuffle", "ff:4", "cl", "g.json", "pd:0x1p3", "rbt:+3", "rbt:03"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		s, err := ParseRGSpec(in)
		if err != nil {
			if !IsInputError(err) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("%q: error %v is not a one-line input error", in, err)
			}
			return
		}
		name := s.String()
		back, err := ParseRGSpec(name)
		if err != nil || back != s {
			t.Fatalf("%q: canonical name %q parses to %+v (%v), want %+v", in, name, back, err, s)
		}
	})
}

func ExampleParseRGSpec() {
	for _, name := range []string{"pd:4", "rbt:3", "pd:4x2:3", "linear:1:shuffle"} {
		s, err := ParseRGSpec(name)
		if err != nil {
			fmt.Println(err)
			continue
		}
		fmt.Printf("%-16s %-18v delta %v, depth %d, repetitions %d -> %s\n", name, s.Kind, s.Delta, s.Depth, s.Repetitions, s)
	}
	_, err := ParseRGSpec("rbt:0")
	fmt.Println(err)
	// Output:
	// pd:4             pd                 delta [4 4], depth 0, repetitions 0 -> pd
	// rbt:3            rbt                delta [0 0], depth 0, repetitions 3 -> rbt:3
	// pd:4x2:3         pd                 delta [4 2], depth 3, repetitions 0 -> pd:4x2:3
	// linear:1:shuffle linear             delta [0 0], depth 0, repetitions 1 -> linear:1:shuffle
	// region graph "rbt:0": repetitions "0" is not an integer ≥ 1 (want qg, qt2, qt4, pd[:D[:DEPTH]], rbt[:R[:DEPTH]], linear[:R[:shuffle]], ff[:R], cl or FILE.json)
}
