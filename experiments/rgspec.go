package experiments

import (
	"fmt"
	"strconv"
	"strings"
)

// RGNames is the one-line summary of the region-graph names, for flag
// help and error messages; RGVocabulary explains them.
const RGNames = "qg, qt2, qt4, pd[:D[:DEPTH]], rbt[:R[:DEPTH]], linear[:R[:shuffle]], ff[:R], cl or FILE.json"

// RGVocabulary documents the region-graph names that `tenpc train -rg`,
// `tenpc rg build -type`, `tenpc bench -rg` and TrainConfig.RG accept
// (ParseRGSpec parses them). Image graphs need data of shape (C, H, W); the
// others take the variables in their order. R and DEPTH are integers ≥ 1.
const RGVocabulary = `region graphs (image graphs need C,H,W-shaped data; the others work on any):
  qg                    quad graph (image)
  qt2, qt4              quad tree with 2 or 4 splits per 2x2 block (image)
  pd[:D[:DEPTH]]        Poon-Domingos with patches of D pixels (default 4) or
                        ROWSxCOLS (pd:4x2); rectangles first reached deeper
                        than DEPTH stay leaves (default: no limit) (image)
  rbt[:R[:DEPTH]]       R random binary trees under the root (default 1),
                        DEPTH levels deep (default ⌈log2 D⌉); the seed draws
                        the splits
  linear[:R[:shuffle]]  R linear trees peeling off one variable at a time
                        (default 1); shuffle: a random variable order per tree
  ff[:R]                fully factorized: R partitions of the root into single
                        variables (default 1)
  cl                    Chow-Liu tree learnt from the training samples
  FILE.json             a region graph file (tenpc rg build writes them)
`

// RGKind is a family of region graphs.
type RGKind int

const (
	// RGQuadGraph is regiongraph.QuadGraph ("qg").
	RGQuadGraph RGKind = iota
	// RGQuadTree2 is regiongraph.QuadTree with 2 splits ("qt2").
	RGQuadTree2
	// RGQuadTree4 is regiongraph.QuadTree with 4 splits ("qt4").
	RGQuadTree4
	// RGPoonDomingos is regiongraph.PoonDomingos ("pd").
	RGPoonDomingos
	// RGRandomBinaryTree is regiongraph.RandomBinaryTree ("rbt").
	RGRandomBinaryTree
	// RGLinear is regiongraph.LinearTree ("linear").
	RGLinear
	// RGFullyFactorized is regiongraph.FullyFactorized ("ff").
	RGFullyFactorized
	// RGChowLiu is regiongraph.ChowLiuTree learnt from data ("cl").
	RGChowLiu
	// RGFile is a region-graph JSON file ("FILE.json").
	RGFile
)

var rgKindNames = []string{"qg", "qt2", "qt4", "pd", "rbt", "linear", "ff", "cl"}

func (k RGKind) String() string {
	switch {
	case k == RGFile:
		return "FILE.json"
	case k >= 0 && int(k) < len(rgKindNames):
		return rgKindNames[k]
	}
	return fmt.Sprintf("RGKind(%d)", int(k))
}

// NeedsImage reports whether graphs of kind k need image-shaped data.
func (k RGKind) NeedsImage() bool { return k <= RGPoonDomingos }

// RGSpec is a parsed region-graph name (see RGVocabulary). ParseRGSpec
// fills in every default; a zero parameter also means its default, so
// RGSpec{Kind: RGRandomBinaryTree} builds what "rbt" names.
type RGSpec struct {
	Kind RGKind
	// Delta is the Poon-Domingos patch (rows, columns); zero means
	// (4, 4), the split of the reference grid for 28×28 images.
	Delta [2]float64
	// Depth bounds pd (rectangles first reached deeper stay leaves) and
	// sets rbt's tree depth; 0 means no bound (pd) or ⌈log2 D⌉ (rbt).
	Depth int
	// Repetitions of rbt, linear and ff under the root (0 means 1).
	Repetitions int
	// Shuffle gives each linear tree a random variable order.
	Shuffle bool
	// Path is the file of an RGFile spec.
	Path string
}

// ParseRGSpec parses a region-graph name (see RGVocabulary). A bad name or
// parameter is an *InputError that lists the valid names.
func ParseRGSpec(s string) (RGSpec, error) {
	if strings.HasSuffix(strings.ToLower(s), ".json") {
		return RGSpec{Kind: RGFile, Path: s}, nil
	}
	name, params, _ := strings.Cut(s, ":")
	var args []string
	if params != "" || strings.Contains(s, ":") {
		args = strings.Split(params, ":")
	}
	bad := func(format string, a ...any) error {
		return inputErrorf("region graph %q: %s (want %s)", s, fmt.Sprintf(format, a...), RGNames)
	}
	kind := -1
	for i, n := range rgKindNames {
		if name == n {
			kind = i
		}
	}
	if kind < 0 {
		return RGSpec{}, inputErrorf("unknown region graph %q (want %s)", s, RGNames)
	}
	spec := RGSpec{Kind: RGKind(kind)}
	maxArgs := map[RGKind]int{RGPoonDomingos: 2, RGRandomBinaryTree: 2, RGLinear: 2, RGFullyFactorized: 1}[spec.Kind]
	if len(args) > maxArgs {
		if maxArgs == 0 {
			return RGSpec{}, bad("%s takes no parameters", name)
		}
		return RGSpec{}, bad("%s takes at most %d parameters, got %d", name, maxArgs, len(args))
	}
	positive := func(what, v string) (int, error) {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return 0, bad("%s %q is not an integer ≥ 1", what, v)
		}
		return n, nil
	}
	var err error
	switch spec.Kind {
	case RGPoonDomingos:
		spec.Delta = spec.delta()
		if len(args) > 0 {
			if spec.Delta, err = parseDelta(args[0]); err != nil {
				return RGSpec{}, bad("%v", err)
			}
		}
		if len(args) > 1 {
			if spec.Depth, err = positive("depth", args[1]); err != nil {
				return RGSpec{}, err
			}
		}
	case RGRandomBinaryTree, RGLinear, RGFullyFactorized:
		spec.Repetitions = 1
		if len(args) > 0 {
			if spec.Repetitions, err = positive("repetitions", args[0]); err != nil {
				return RGSpec{}, err
			}
		}
		if len(args) > 1 && spec.Kind == RGRandomBinaryTree {
			if spec.Depth, err = positive("depth", args[1]); err != nil {
				return RGSpec{}, err
			}
		}
		if len(args) > 1 && spec.Kind == RGLinear {
			if args[1] != "shuffle" {
				return RGSpec{}, bad("the second parameter of linear is shuffle, not %q", args[1])
			}
			spec.Shuffle = true
		}
	}
	return spec, nil
}

// parseDelta parses a patch side "D" or "ROWSxCOLS", each a number ≥ 1.
func parseDelta(s string) ([2]float64, error) {
	parts := strings.Split(s, "x")
	if len(parts) > 2 {
		return [2]float64{}, fmt.Errorf("patch %q: want D or ROWSxCOLS", s)
	}
	var d [2]float64
	for i, p := range parts {
		v, err := strconv.ParseFloat(p, 64)
		if err != nil || !(v >= 1) || v > 1<<30 {
			return [2]float64{}, fmt.Errorf("patch side %q is not a number ≥ 1", p)
		}
		d[i] = v
	}
	if len(parts) == 1 {
		d[1] = d[0]
	}
	return d, nil
}

// delta returns s's Poon-Domingos patch with the default filled in.
func (s RGSpec) delta() [2]float64 {
	if s.Delta == [2]float64{} {
		return [2]float64{pdDelta, pdDelta}
	}
	return s.Delta
}

// String returns the canonical name of s, which ParseRGSpec parses back to
// s (parameters at their defaults are left out).
func (s RGSpec) String() string {
	if s.Kind == RGFile {
		return s.Path
	}
	name := s.Kind.String()
	var args []string
	switch s.Kind {
	case RGPoonDomingos:
		d := s.delta()
		patch := strconv.FormatFloat(d[0], 'g', -1, 64)
		if d[1] != d[0] {
			patch += "x" + strconv.FormatFloat(d[1], 'g', -1, 64)
		}
		if patch != strconv.Itoa(pdDelta) || s.Depth > 0 {
			args = append(args, patch)
		}
		if s.Depth > 0 {
			args = append(args, strconv.Itoa(s.Depth))
		}
	case RGRandomBinaryTree, RGLinear, RGFullyFactorized:
		reps := max(s.Repetitions, 1)
		extra := ""
		switch {
		case s.Kind == RGRandomBinaryTree && s.Depth > 0:
			extra = strconv.Itoa(s.Depth)
		case s.Kind == RGLinear && s.Shuffle:
			extra = "shuffle"
		}
		if reps != 1 || extra != "" {
			args = append(args, strconv.Itoa(reps))
		}
		if extra != "" {
			args = append(args, extra)
		}
	}
	if len(args) == 0 {
		return name
	}
	return name + ":" + strings.Join(args, ":")
}
