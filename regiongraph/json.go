package regiongraph

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"

	"github.com/tenpc/tenpc/internal/atomicfile"
)

// The JSON schema is cirkit's (RegionGraph.dump / RegionGraph.load):
//
//	{"regions": {"0": {"scope": [0, 1]}, "1": {"scope": [0]}, ...},
//	 "roots": ["0"],
//	 "graph": [{"output": 0, "inputs": [1, 2]}, ...]}
//
// Region ids are strings in "regions" and "roots" and integers in "graph".

type jsonRegion struct {
	Scope []int `json:"scope"`
}

type jsonPartition struct {
	Output *jsonID  `json:"output"`
	Inputs []jsonID `json:"inputs"`
}

type jsonGraph struct {
	Regions map[string]jsonRegion `json:"regions"`
	Roots   []jsonID              `json:"roots"`
	Graph   []jsonPartition       `json:"graph"`
}

// jsonID is a region id written as an integer or a string of one; cirkit
// writes strings in "roots" and integers in "graph" and accepts both.
type jsonID int

func (id *jsonID) UnmarshalJSON(b []byte) error {
	s := string(b)
	if len(b) > 0 && b[0] == '"' {
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
	}
	v, err := strconv.Atoi(s)
	if err != nil {
		return fmt.Errorf("region id %s is not an integer", b)
	}
	*id = jsonID(v)
	return nil
}

// maxVar bounds the variable indices ReadJSON accepts.
const maxVar = 1<<31 - 2

// ReadJSON reads a region graph in cirkit's JSON schema and validates it.
// Region ids may be any distinct integers; they are renumbered 0..n-1 in
// increasing order (files written by WriteJSON or cirkit already use
// 0..n-1). Scopes are sorted; NumVars is one more than the largest variable.
// Unknown fields are ignored. Any violation of the invariants is an error.
func ReadJSON(r io.Reader) (*Graph, error) {
	var jg jsonGraph
	dec := json.NewDecoder(r)
	if err := dec.Decode(&jg); err != nil {
		return nil, fmt.Errorf("regiongraph: read JSON: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("regiongraph: read JSON: data after the graph object")
	}
	if jg.Regions == nil {
		return nil, errors.New(`regiongraph: read JSON: no "regions"`)
	}
	type keyed struct {
		file int
		key  string
	}
	keys := make([]keyed, 0, len(jg.Regions))
	for k := range jg.Regions {
		v, err := strconv.Atoi(k)
		if err != nil {
			return nil, fmt.Errorf("regiongraph: read JSON: region id %q is not an integer", k)
		}
		keys = append(keys, keyed{v, k})
	}
	slices.SortFunc(keys, func(a, b keyed) int { return a.file - b.file })
	ids := make(map[int]int, len(keys)) // file id -> region id
	g := &Graph{Regions: make([]Region, len(keys))}
	for i, k := range keys {
		if _, dup := ids[k.file]; dup {
			return nil, fmt.Errorf("regiongraph: read JSON: region id %d appears twice", k.file)
		}
		ids[k.file] = i
		scope := slices.Clone(jg.Regions[k.key].Scope)
		slices.Sort(scope)
		for _, v := range scope {
			if v < 0 || v > maxVar {
				return nil, fmt.Errorf("regiongraph: read JSON: region %d: variable %d out of range", k.file, v)
			}
			g.NumVars = max(g.NumVars, v+1)
		}
		g.Regions[i].Scope = scope
	}
	lookup := func(what string, id jsonID) (int, error) {
		r, ok := ids[int(id)]
		if !ok {
			return 0, fmt.Errorf("regiongraph: read JSON: %s region %d does not exist", what, id)
		}
		return r, nil
	}
	for _, id := range jg.Roots {
		r, err := lookup("root", id)
		if err != nil {
			return nil, err
		}
		g.Roots = append(g.Roots, r)
	}
	for p, jp := range jg.Graph {
		if jp.Output == nil {
			return nil, fmt.Errorf("regiongraph: read JSON: partition %d has no output", p)
		}
		out, err := lookup("output", *jp.Output)
		if err != nil {
			return nil, err
		}
		pt := Partition{Output: out, Inputs: make([]int, len(jp.Inputs))}
		for i, id := range jp.Inputs {
			if pt.Inputs[i], err = lookup("input", id); err != nil {
				return nil, err
			}
		}
		g.Partitions = append(g.Partitions, pt)
		g.Regions[out].Partitions = append(g.Regions[out].Partitions, p)
	}
	if err := g.Validate(); err != nil {
		return nil, err
	}
	return g, nil
}

// WriteJSON writes g in cirkit's JSON schema, one region and one partition
// per line, region ids in order.
func (g *Graph) WriteJSON(w io.Writer) error {
	bw := bufio.NewWriter(w)
	var b []byte
	b = append(b, "{\n  \"regions\": {"...)
	for r, rg := range g.Regions {
		if r > 0 {
			b = append(b, ',')
		}
		b = append(b, "\n    \""...)
		b = strconv.AppendInt(b, int64(r), 10)
		b = append(b, "\": {\"scope\": "...)
		b = appendInts(b, rg.Scope)
		b = append(b, '}')
		if len(b) > 1<<16 {
			if _, err := bw.Write(b); err != nil {
				return err
			}
			b = b[:0]
		}
	}
	b = append(b, "\n  },\n  \"roots\": ["...)
	for i, r := range g.Roots {
		if i > 0 {
			b = append(b, ", "...)
		}
		b = strconv.AppendQuote(b, strconv.Itoa(r))
	}
	b = append(b, "],\n  \"graph\": ["...)
	for p, pt := range g.Partitions {
		if p > 0 {
			b = append(b, ',')
		}
		b = append(b, "\n    {\"output\": "...)
		b = strconv.AppendInt(b, int64(pt.Output), 10)
		b = append(b, ", \"inputs\": "...)
		b = appendInts(b, pt.Inputs)
		b = append(b, '}')
		if len(b) > 1<<16 {
			if _, err := bw.Write(b); err != nil {
				return err
			}
			b = b[:0]
		}
	}
	b = append(b, "\n  ]\n}\n"...)
	if _, err := bw.Write(b); err != nil {
		return err
	}
	return bw.Flush()
}

func appendInts(b []byte, s []int) []byte {
	b = append(b, '[')
	for i, v := range s {
		if i > 0 {
			b = append(b, ", "...)
		}
		b = strconv.AppendInt(b, int64(v), 10)
	}
	return append(b, ']')
}

// Load reads a region graph from a JSON file (see ReadJSON).
func Load(path string) (*Graph, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	g, err := ReadJSON(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return g, nil
}

// Save writes g as JSON to path atomically (see internal/atomicfile): a
// reader never sees a half-written file, and a failed write leaves the old
// file as it was.
func (g *Graph) Save(path string) error {
	if err := atomicfile.Write(path, g.WriteJSON); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
