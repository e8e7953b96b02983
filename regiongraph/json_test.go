package regiongraph

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// cirkitQT2x2 is the file cirkit's RegionGraph.dump writes (json.dump with
// indent=4) for QuadTree((1, 2, 2), num_patch_splits=2): regions numbered
// in creation order (the four pixels, then top row, bottom row, whole),
// roots as strings, partition ends as integers.
const cirkitQT2x2 = `{
    "regions": {
        "0": {"scope": [0]},
        "1": {"scope": [1]},
        "2": {"scope": [2]},
        "3": {"scope": [3]},
        "4": {"scope": [0, 1]},
        "5": {"scope": [2, 3]},
        "6": {"scope": [0, 1, 2, 3]}
    },
    "roots": ["6"],
    "graph": [
        {"output": 4, "inputs": [0, 1]},
        {"output": 5, "inputs": [2, 3]},
        {"output": 6, "inputs": [4, 5]}
    ]
}`

func TestReadCirkitFile(t *testing.T) {
	got, err := ReadJSON(strings.NewReader(cirkitQT2x2))
	require.NoError(t, err)
	want, err := QuadTree(Shape{1, 2, 2}, 2)
	require.NoError(t, err)
	assert.True(t, equalGraphs(got, want), "cirkit's QT file read as %+v, want QuadTree's %+v", got, want)
}

func TestJSONRoundTrip(t *testing.T) {
	builds := map[string]func() (*Graph, error){
		"qt2":    func() (*Graph, error) { return QuadTree(Shape{1, 5, 7}, 2) },
		"qt4":    func() (*Graph, error) { return QuadTree(Shape{3, 4, 4}, 4) },
		"qg":     func() (*Graph, error) { return QuadGraph(Shape{1, 28, 28}) },
		"pd":     func() (*Graph, error) { return PoonDomingos(Shape{1, 8, 8}, []float64{2}, -1) },
		"rbt":    func() (*Graph, error) { return RandomBinaryTree(20, -1, 3, 4) },
		"linear": func() (*Graph, error) { return LinearTree(7, 2, true, 1) },
		"ff":     func() (*Graph, error) { return FullyFactorized(4, 2) },
		"hclt":   func() (*Graph, error) { return FromTree([]int{2, 2, -1, 1, 1, 0}) },
		"small":  func() (*Graph, error) { return smallGraph(), nil },
	}
	for name, build := range builds {
		t.Run(name, func(t *testing.T) {
			g, err := build()
			require.NoError(t, err)
			var buf bytes.Buffer
			require.NoError(t, g.WriteJSON(&buf))
			first := buf.String()
			h, err := ReadJSON(&buf)
			require.NoError(t, err, "ReadJSON of WriteJSON output")
			require.True(t, equalGraphs(g, h), "round trip changed the graph")
			buf.Reset()
			require.NoError(t, h.WriteJSON(&buf))
			assert.Equal(t, first, buf.String(), "writing the read graph gave different bytes")
		})
	}
}

func TestReadJSONLenient(t *testing.T) {
	// cirkit writes scopes in set order and reads "roots", "inputs" and
	// "output" through int(); ids need not be 0..n-1; unknown fields pass.
	const in = `{"regions": {"10": {"scope": [3, 1, 2, 0], "extra": 1},
		"20": {"scope": [1, 0]}, "30": {"scope": [3, 2]},
		"21": {"scope": [0]}, "22": {"scope": [1]}, "31": {"scope": [2]}, "32": {"scope": [3]}},
		"roots": [10],
		"graph": [{"output": "10", "inputs": ["20", 30]},
			{"output": 20, "inputs": [21, 22]}, {"output": 30, "inputs": [31, 32]}],
		"metadata": {}}`
	g, err := ReadJSON(strings.NewReader(in))
	require.NoError(t, err)
	// Sorted ids 10 20 21 22 30 31 32 become 0..6.
	want := &Graph{NumVars: 4, Roots: []int{0},
		Regions: []Region{
			{Scope: []int{0, 1, 2, 3}, Partitions: []int{0}},
			{Scope: []int{0, 1}, Partitions: []int{1}},
			{Scope: []int{0}}, {Scope: []int{1}},
			{Scope: []int{2, 3}, Partitions: []int{2}},
			{Scope: []int{2}}, {Scope: []int{3}},
		},
		Partitions: []Partition{{0, []int{1, 4}}, {1, []int{2, 3}}, {4, []int{5, 6}}},
	}
	assert.True(t, equalGraphs(g, want), "read %+v, want %+v", g, want)
}

func TestReadJSONErrors(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"not json", `{"regions": `, "unexpected EOF"},
		{"trailing", `{"regions": {"0": {"scope": [0]}}, "roots": ["0"], "graph": []} {}`, "data after"},
		{"no regions", `{"roots": ["0"], "graph": []}`, `no "regions"`},
		{"bad region id", `{"regions": {"a": {"scope": [0]}}, "roots": ["a"], "graph": []}`, `region id "a" is not an integer`},
		{"duplicate id", `{"regions": {"1": {"scope": [0]}, "01": {"scope": [0]}}, "roots": ["1"], "graph": []}`, "region id 1 appears twice"},
		{"negative var", `{"regions": {"0": {"scope": [-1]}}, "roots": ["0"], "graph": []}`, "variable -1 out of range"},
		{"missing root", `{"regions": {"0": {"scope": [0]}}, "roots": ["4"], "graph": []}`, "root region 4 does not exist"},
		{"missing input", `{"regions": {"0": {"scope": [0, 1]}, "1": {"scope": [0]}}, "roots": ["0"], "graph": [{"output": 0, "inputs": [1, 2]}]}`, "input region 2 does not exist"},
		{"no output", `{"regions": {"0": {"scope": [0]}}, "roots": ["0"], "graph": [{"inputs": [0, 0]}]}`, "partition 0 has no output"},
		{"float id", `{"regions": {"0": {"scope": [0]}}, "roots": [0.5], "graph": []}`, "region id 0.5 is not an integer"},
		{"no roots", `{"regions": {"0": {"scope": [0]}}, "roots": [], "graph": []}`, "no roots"},
		{"empty scope", `{"regions": {"0": {"scope": []}}, "roots": ["0"], "graph": []}`, "region 0: empty scope"},
		{"duplicate var", `{"regions": {"0": {"scope": [1, 1]}}, "roots": ["0"], "graph": []}`, "not strictly increasing"},
		{"overlap", `{"regions": {"0": {"scope": [0, 1]}, "1": {"scope": [0, 1]}, "2": {"scope": [1]}}, "roots": ["0"], "graph": [{"output": 0, "inputs": [1, 2]}]}`, "overlapping scopes"},
		{"not covering", `{"regions": {"0": {"scope": [0, 1, 2]}, "1": {"scope": [0]}, "2": {"scope": [1]}}, "roots": ["0"], "graph": [{"output": 0, "inputs": [1, 2]}]}`, "do not cover variable 2"},
		{"unary", `{"regions": {"0": {"scope": [0]}, "1": {"scope": [0]}}, "roots": ["0"], "graph": [{"output": 0, "inputs": [1]}]}`, "has 1 input regions"},
		{"self loop", `{"regions": {"0": {"scope": [0, 1, 2]}, "1": {"scope": [0, 1]}, "2": {"scope": [2]}, "3": {"scope": [0]}}, "roots": ["0"], "graph": [{"output": 0, "inputs": [1, 2]}, {"output": 1, "inputs": [1, 3]}]}`, "region 1: lies on a cycle"},
		{"unreachable", `{"regions": {"0": {"scope": [0]}, "1": {"scope": [1]}}, "roots": ["0"], "graph": []}`, "region 1: unreachable"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g, err := ReadJSON(strings.NewReader(tc.in))
			assert.ErrorContains(t, err, tc.want, "ReadJSON returned %+v", g)
		})
	}
}

func TestSaveLoad(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "g.json")
	g, err := QuadGraph(Shape{1, 5, 7})
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(path, []byte("old"), 0o644))
	require.NoError(t, g.Save(path))
	h, err := Load(path)
	require.NoError(t, err)
	assert.True(t, equalGraphs(g, h), "Load(Save(g)) != g")
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Len(t, entries, 1, "files Save left in the directory")
	_, err = Load(filepath.Join(dir, "missing.json"))
	assert.ErrorIs(t, err, os.ErrNotExist, "Load of a missing file")
	assert.Error(t, g.Save(filepath.Join(dir, "no", "such", "dir.json")), "Save into a missing directory")
}

func FuzzReadJSON(f *testing.F) {
	f.Add([]byte(cirkitQT2x2))
	f.Add([]byte(`{"regions": {"0": {"scope": [0]}}, "roots": ["0"], "graph": []}`))
	f.Add([]byte(`{"regions": {"0": {"scope": [0, 1]}, "1": {"scope": [0]}, "2": {"scope": [1]}}, "roots": [0], "graph": [{"output": 0, "inputs": [1, 2]}, {"output": 0, "inputs": [2, 1]}]}`))
	f.Add([]byte(`{"regions": {"0": {"scope": [0, 1]}, "1": {"scope": [1]}}, "roots": ["1"], "graph": [{"output": 0, "inputs": [0, 1]}]}`))
	var buf bytes.Buffer
	g, _ := PoonDomingos(Shape{1, 4, 4}, []float64{2}, -1)
	if err := g.WriteJSON(&buf); err != nil {
		f.Fatal(err)
	}
	f.Add(buf.Bytes())
	f.Fuzz(func(t *testing.T, data []byte) {
		g, err := ReadJSON(bytes.NewReader(data))
		if err != nil {
			if g != nil {
				t.Fatal("non-nil graph with an error")
			}
			return
		}
		if err := g.Validate(); err != nil {
			t.Fatalf("ReadJSON accepted an invalid graph: %v", err)
		}
		if !g.IsSmooth() || !g.IsDecomposable() {
			t.Fatal("ReadJSON accepted a graph that is not smooth and decomposable")
		}
		var out bytes.Buffer
		if err := g.WriteJSON(&out); err != nil {
			t.Fatal(err)
		}
		h, err := ReadJSON(&out)
		if err != nil {
			t.Fatalf("re-reading WriteJSON output: %v", err)
		}
		if !equalGraphs(g, h) {
			t.Fatal("round trip changed an accepted graph")
		}
	})
}
