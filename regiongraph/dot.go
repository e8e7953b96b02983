package regiongraph

import (
	"bufio"
	"fmt"
	"io"
	"strings"
)

// WriteDOT writes g in Graphviz's DOT language: regions are boxes labelled
// with their id and scope (runs of consecutive variables shortened to a..b),
// partitions are points, and edges run from input regions to partitions to
// output regions, so roots are drawn at the top with rankdir=BT.
func (g *Graph) WriteDOT(w io.Writer) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintln(bw, "digraph regiongraph {")
	fmt.Fprintln(bw, "  rankdir=BT;")
	fmt.Fprintln(bw, `  node [shape=box, style=filled, fillcolor="#607d8b", fontcolor=white];`)
	for r, rg := range g.Regions {
		fmt.Fprintf(bw, "  r%d [label=\"%d: %s\"];\n", r, r, scopeLabel(rg.Scope))
	}
	for p, pt := range g.Partitions {
		fmt.Fprintf(bw, "  p%d [shape=point, width=0.15, fillcolor=\"#ffbd2a\", color=\"#ffbd2a\"];\n", p)
		for _, in := range pt.Inputs {
			fmt.Fprintf(bw, "  r%d -> p%d;\n", in, p)
		}
		fmt.Fprintf(bw, "  p%d -> r%d;\n", p, pt.Output)
	}
	fmt.Fprintln(bw, "}")
	return bw.Flush()
}

// scopeLabel writes a sorted scope as {0..3,7,9..10}.
func scopeLabel(s []int) string {
	var b strings.Builder
	b.WriteByte('{')
	for i := 0; i < len(s); {
		j := i
		for j+1 < len(s) && s[j+1] == s[j]+1 {
			j++
		}
		if i > 0 {
			b.WriteByte(',')
		}
		if j > i {
			fmt.Fprintf(&b, "%d..%d", s[i], s[j])
		} else {
			fmt.Fprintf(&b, "%d", s[i])
		}
		i = j + 1
	}
	b.WriteByte('}')
	return b.String()
}
