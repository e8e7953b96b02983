package circuit

import (
	"cmp"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/tenpc/tenpc/circuit/kernel"
	"github.com/tenpc/tenpc/regiongraph"
)

// Loc says where a region's (or partition's) K units live: fold Fold of
// layer Layer, layer 0 being the input layer and layer i > 0 Plan.Layers[i-1].
type Loc struct{ Layer, Fold int }

// LayerKind tells a folded inner layer's job.
type LayerKind int

const (
	// SumProduct layers compute one partition per fold (CP, CP-R, CP-S,
	// CP-XS or Tucker, as Options.Layer says).
	SumProduct LayerKind = iota
	// Mixing layers compute one region per fold: a weighted sum, unit by
	// unit, of the outputs of the region's partitions.
	Mixing
)

func (k LayerKind) String() string {
	if k == Mixing {
		return "mixing"
	}
	return "sum-product"
}

// Plan is a folded circuit's structure: which partitions and regions share a
// layer, and where each layer gathers its inputs. It is plain data, computed
// once from the region graph, independent of Gorgonia.
//
// Partitions of equal height (1 + the largest height of their inputs; leaves
// have height 0), equal arity, equal input width and equal output width
// (only partitions of a root region differ: they have Options.Classes units)
// fold into one sum-product layer. A region with more than one partition gets
// a mixing fold at its height; regions mixing equally many partitions fold
// together. Layers run in order of height, sum-product before mixing.
type Plan struct {
	NumVars int
	// Leaves are the region ids of the input layer's folds, in fold order;
	// LeafOff/LeafVars list each leaf's variables (CSR).
	Leaves            []int
	LeafOff, LeafVars []int32
	// Slots gives, for each entry of LeafVars, the row of the input
	// parameters it uses; NumSlots is the number of rows. When every
	// variable is in one leaf a slot is the variable itself (NumSlots =
	// NumVars); when a variable is in several leaves (random trees with
	// repetitions), each (leaf, variable) pair has its own row, its
	// position in LeafVars.
	Slots    []int32
	NumSlots int
	Layers   []LayerPlan
	// RegionLoc is where each region's output lives (indexed by region id).
	RegionLoc []Loc
	// Root is the root region id; its units are at RegionLoc[Root].
	Root int
	// InputUnits, Units and Classes are the widths of input, inner and root
	// regions.
	InputUnits, Units, Classes int

	// graph is the region graph folded (binarized for binary layers).
	graph *regiongraph.Graph
}

// LayerPlan is one folded inner layer.
type LayerPlan struct {
	Kind   LayerKind
	Height int
	// Arity is the number of inputs of every fold (partition inputs for
	// sum-product, partitions mixed for Mixing).
	Arity int
	// Kin and Kout are the input and output widths (equal for Mixing).
	Kin, Kout int
	// Sources are the layers (Loc.Layer numbering) the layer reads, in the
	// order of its op's inputs; Refs[f*Arity+a] gives fold f's a-th input
	// as (index into Sources, fold).
	Sources []int
	Refs    []kernel.Ref
	// Partitions holds the partition of each fold (sum-product layers);
	// Regions the region each fold computes (the partition's output region
	// for sum-product layers).
	Partitions []int
	Regions    []int
}

// F is the number of folds.
func (l *LayerPlan) F() int { return len(l.Regions) }

// NewPlan folds rg. rg must be valid, smooth and decomposable, with one root.
func NewPlan(rg *regiongraph.Graph, inputUnits, units, classes int) (*Plan, error) {
	if err := rg.Validate(); err != nil {
		return nil, err
	}
	if !rg.IsSmooth() {
		return nil, fmt.Errorf("circuit: region graph is not smooth")
	}
	if !rg.IsDecomposable() {
		return nil, fmt.Errorf("circuit: region graph is not decomposable")
	}
	if len(rg.Roots) != 1 {
		return nil, fmt.Errorf("circuit: region graph has %d roots, want 1", len(rg.Roots))
	}
	if inputUnits < 1 || units < 1 || classes < 1 {
		return nil, fmt.Errorf("circuit: units must be positive (input %d, inner %d, classes %d)", inputUnits, units, classes)
	}
	p := &Plan{
		graph:      rg,
		NumVars:    rg.NumVars,
		Root:       rg.Roots[0],
		InputUnits: inputUnits,
		Units:      units,
		Classes:    classes,
		RegionLoc:  make([]Loc, len(rg.Regions)),
	}
	for i := range p.RegionLoc {
		p.RegionLoc[i] = Loc{-1, -1}
	}
	// Input layer: leaves in region-id order.
	p.LeafOff = []int32{0}
	for r := range rg.Regions {
		if !rg.IsLeaf(r) {
			continue
		}
		p.RegionLoc[r] = Loc{0, len(p.Leaves)}
		p.Leaves = append(p.Leaves, r)
		for _, v := range rg.Regions[r].Scope {
			p.LeafVars = append(p.LeafVars, int32(v))
		}
		p.LeafOff = append(p.LeafOff, int32(len(p.LeafVars)))
	}
	p.Slots = make([]int32, len(p.LeafVars))
	if len(p.LeafVars) == p.NumVars {
		copy(p.Slots, p.LeafVars)
		p.NumSlots = p.NumVars
	} else {
		for i := range p.Slots {
			p.Slots[i] = int32(i)
		}
		p.NumSlots = len(p.LeafVars)
	}
	if p.RegionLoc[p.Root].Layer == 0 {
		return nil, fmt.Errorf("circuit: the root region is a leaf")
	}
	width := func(r int) int {
		switch {
		case r == p.Root:
			return classes
		case rg.IsLeaf(r):
			return inputUnits
		}
		return units
	}
	rh, ph := rg.RegionHeights(), rg.PartitionHeights()
	partLoc := make([]Loc, len(rg.Partitions))
	maxH := slices.Max(rh)
	for h := 1; h <= maxH; h++ {
		// Sum-product layers of height h, grouped by (arity, Kin, Kout).
		type spKey struct{ arity, kin, kout int }
		groups := map[spKey][]int{}
		for q, part := range rg.Partitions {
			if ph[q] != h {
				continue
			}
			kin := width(part.Inputs[0])
			for _, in := range part.Inputs[1:] {
				if width(in) != kin {
					return nil, fmt.Errorf("circuit: partition %d mixes inputs of %d and %d units (a leaf and an inner region with -input-units ≠ -units); use equal unit counts", q, kin, width(in))
				}
			}
			k := spKey{len(part.Inputs), kin, width(part.Output)}
			groups[k] = append(groups[k], q)
		}
		for _, k := range sortedKeys(groups, func(a, b spKey) int {
			return cmp.Or(cmp.Compare(a.arity, b.arity), cmp.Compare(a.kin, b.kin), cmp.Compare(a.kout, b.kout))
		}) {
			l := LayerPlan{Kind: SumProduct, Height: h, Arity: k.arity, Kin: k.kin, Kout: k.kout}
			var ins []Loc
			for _, q := range groups[k] {
				part := rg.Partitions[q]
				l.Partitions = append(l.Partitions, q)
				l.Regions = append(l.Regions, part.Output)
				for _, in := range part.Inputs {
					ins = append(ins, p.RegionLoc[in])
				}
			}
			l.Sources, l.Refs = gather(ins)
			layer := len(p.Layers) + 1
			for f, q := range l.Partitions {
				partLoc[q] = Loc{layer, f}
				if r := rg.Partitions[q].Output; len(rg.Regions[r].Partitions) == 1 {
					p.RegionLoc[r] = Loc{layer, f}
				}
			}
			p.Layers = append(p.Layers, l)
		}
		// Mixing layers for regions of height h with several partitions.
		type mixKey struct{ arity, k int }
		mix := map[mixKey][]int{}
		for r, reg := range rg.Regions {
			if rh[r] == h && len(reg.Partitions) > 1 {
				k := mixKey{len(reg.Partitions), width(r)}
				mix[k] = append(mix[k], r)
			}
		}
		for _, k := range sortedKeys(mix, func(a, b mixKey) int {
			return cmp.Or(cmp.Compare(a.arity, b.arity), cmp.Compare(a.k, b.k))
		}) {
			l := LayerPlan{Kind: Mixing, Height: h, Arity: k.arity, Kin: k.k, Kout: k.k}
			var ins []Loc
			for _, r := range mix[k] {
				l.Regions = append(l.Regions, r)
				for _, q := range rg.Regions[r].Partitions {
					ins = append(ins, partLoc[q])
				}
			}
			l.Sources, l.Refs = gather(ins)
			layer := len(p.Layers) + 1
			for f, r := range l.Regions {
				p.RegionLoc[r] = Loc{layer, f}
			}
			p.Layers = append(p.Layers, l)
		}
	}
	for r, loc := range p.RegionLoc {
		if loc.Layer < 0 {
			return nil, fmt.Errorf("circuit: region %d was not placed in any layer", r)
		}
	}
	return p, nil
}

func sortedKeys[K comparable, V any](m map[K]V, less func(a, b K) int) []K {
	keys := make([]K, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, less)
	return keys
}

// gather turns input locations into the distinct source layers (sorted) and
// refs indexing them.
func gather(ins []Loc) ([]int, []kernel.Ref) {
	var sources []int
	for _, in := range ins {
		if !slices.Contains(sources, in.Layer) {
			sources = append(sources, in.Layer)
		}
	}
	slices.Sort(sources)
	refs := make([]kernel.Ref, len(ins))
	for i, in := range ins {
		refs[i] = kernel.Ref{Src: int32(slices.Index(sources, in.Layer)), Fold: int32(in.Fold)}
	}
	return sources, refs
}

// LayerWidth returns the fold count and unit width of layer i (0 = input).
func (p *Plan) LayerWidth(i int) (folds, units int) {
	if i == 0 {
		return len(p.Leaves), p.InputUnits
	}
	l := &p.Layers[i-1]
	return l.F(), l.Kout
}

// Write prints the plan, one line per folded layer, with the parameter
// count each layer has under opt.
func (p *Plan) Write(w io.Writer, opt *Options) error {
	o := opt.withDefaults()
	opt = &o
	def, _ := layerDef(o.Layer)
	var b strings.Builder
	fmt.Fprintf(&b, "layer  kind         height  folds  arity  kin  kout  sources     params\n")
	fmt.Fprintf(&b, "%5d  %-11s  %6d  %5d  %5s  %3s  %4d  %-10s  %d\n", 0, "input", 0, len(p.Leaves), "-", "-", p.InputUnits, "-", inputParamCount(p, opt))
	total, known := inputParamCount(p, opt), true
	for i := range p.Layers {
		l := &p.Layers[i]
		n, ok := layerParamCount(l, opt, def)
		total += n
		count := fmt.Sprint(n)
		if !ok {
			count, known = "?", false
		}
		fmt.Fprintf(&b, "%5d  %-11s  %6d  %5d  %5d  %3d  %4d  %-10s  %s\n", i+1, l.Kind, l.Height, l.F(), l.Arity, l.Kin, l.Kout, fmt.Sprint(l.Sources), count)
	}
	if known {
		fmt.Fprintf(&b, "total parameters: %d\n", total)
	} else {
		fmt.Fprintf(&b, "total parameters: unknown (%v layers count theirs when built)\n", o.Layer)
	}
	_, err := io.WriteString(w, b.String())
	return err
}
