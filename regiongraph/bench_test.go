package regiongraph

import "testing"

func benchmarkBuild(b *testing.B, build func() (*Graph, error)) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := build(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPoonDomingos28 builds PD(1x28x28, delta 4).
func BenchmarkPoonDomingos28(b *testing.B) {
	benchmarkBuild(b, func() (*Graph, error) { return PoonDomingos(Shape{1, 28, 28}, []float64{4}, -1) })
}

// BenchmarkQuadGraph64 builds QG(3x64x64).
func BenchmarkQuadGraph64(b *testing.B) {
	benchmarkBuild(b, func() (*Graph, error) { return QuadGraph(Shape{3, 64, 64}) })
}

func BenchmarkValidateQuadGraph64(b *testing.B) {
	g, _ := QuadGraph(Shape{3, 64, 64})
	b.ReportAllocs()
	for b.Loop() {
		if err := g.Validate(); err != nil {
			b.Fatal(err)
		}
	}
}
