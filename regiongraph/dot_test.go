package regiongraph

import (
	"bytes"
	"strings"
	"testing"
)

func TestScopeLabel(t *testing.T) {
	for _, tc := range []struct {
		scope []int
		want  string
	}{
		{[]int{5}, "{5}"},
		{[]int{0, 1, 2, 3}, "{0..3}"},
		{[]int{0, 1, 3, 7, 8, 9, 11}, "{0..1,3,7..9,11}"},
	} {
		if got := scopeLabel(tc.scope); got != tc.want {
			t.Errorf("scopeLabel(%v) = %q, want %q", tc.scope, got, tc.want)
		}
	}
}

func TestWriteDOT(t *testing.T) {
	g, _ := QuadTree(Shape{1, 2, 2}, 4)
	var buf bytes.Buffer
	if err := g.WriteDOT(&buf); err != nil {
		t.Fatal(err)
	}
	s := buf.String()
	for _, want := range []string{
		"digraph regiongraph {", `r4 [label="4: {0..3}"];`,
		"r0 -> p0;", "r1 -> p0;", "r2 -> p0;", "r3 -> p0;", "p0 -> r4;",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("DOT lacks %q:\n%s", want, s)
		}
	}
	if !strings.HasSuffix(s, "}\n") {
		t.Error("DOT does not end with }")
	}
}

func TestHeightsAndDepthsOfTrees(t *testing.T) {
	// In QT2 on 8x8 every leaf is 6 binary merges below the root (3 levels
	// of 2x2 blocks, 2 partitions each), so heights and depths mirror.
	g, _ := QuadTree(Shape{1, 8, 8}, 2)
	h, d := g.RegionHeights(), g.RegionDepths()
	for r := range g.Regions {
		if h[r]+d[r] != 6 {
			t.Fatalf("region %d: height %d + depth %d != 6", r, h[r], d[r])
		}
	}
	pd, ph := g.PartitionDepths(), g.PartitionHeights()
	for p, pt := range g.Partitions {
		if pd[p] != d[pt.Output] || ph[p] != h[pt.Output] {
			t.Fatalf("partition %d: depth %d height %d, output's %d %d", p, pd[p], ph[p], d[pt.Output], h[pt.Output])
		}
	}
}
