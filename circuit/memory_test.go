package circuit

import (
	"runtime"
	"strings"
	"testing"

	"github.com/tenpc/tenpc/regiongraph"
)

// A program over the memory limit is refused before it allocates, with the
// estimate in the message.
func TestCompileRefusesOverMemory(t *testing.T) {
	rg, err := regiongraph.QuadGraph(regiongraph.Shape{C: 1, H: 28, W: 28})
	if err != nil {
		t.Fatal(err)
	}
	c, err := Build(rg, Options{Units: 8, MaxMemory: 64 << 20})
	if err != nil {
		t.Fatal(err)
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err = c.Compile(4096, true)
	runtime.ReadMemStats(&after)
	if err == nil || !strings.Contains(err.Error(), "GiB") || !strings.Contains(err.Error(), "MaxMemory") {
		t.Fatalf("err = %v, want a refusal naming the estimate and the limit", err)
	}
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 16<<20 {
		t.Errorf("the refused compile allocated %d MB", grew>>20)
	}
	if _, err := c.Compile(8, false); err != nil {
		t.Errorf("a small evaluation program was refused: %v", err)
	}
}

// The estimate covers what compiling and running a program allocates, and
// is not wildly above it.
func TestMemoryEstimateCoversAllocation(t *testing.T) {
	rg, err := regiongraph.QuadGraph(regiongraph.Shape{C: 1, H: 12, W: 12})
	if err != nil {
		t.Fatal(err)
	}
	c, err := Build(rg, Options{Units: 8})
	if err != nil {
		t.Fatal(err)
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	prog, err := c.Compile(64, true)
	if err != nil {
		t.Fatal(err)
	}
	x := make([]uint8, 64*144)
	if _, err := prog.Step(x); err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&after)
	used := int64(after.TotalAlloc - before.TotalAlloc)
	if est := c.MemoryEstimate(64, true); est < used || est > 3*used {
		t.Errorf("estimate %d bytes, the program allocated %d: want the estimate to cover it within 3×", est, used)
	}
}

// A squared circuit's evaluation with missing variables runs on its square
// (K² units a region): its estimate covers what it allocates, and a limit
// that the complete-data program fits under refuses it with one error
// before it allocates.
func TestSquaredMaskedMemory(t *testing.T) {
	rg, err := regiongraph.QuadTree(regiongraph.Shape{C: 1, H: 12, W: 12}, 4)
	if err != nil {
		t.Fatal(err)
	}
	o := Options{Units: 8, Values: 4, Param: Real}
	c, err := Build(rg, o)
	if err != nil {
		t.Fatal(err)
	}
	const b = 64
	plain, masked := c.MemoryEstimate(b, false), c.MaskedMemoryEstimate(b)
	if masked < 4*plain {
		t.Fatalf("masked estimate %d bytes, complete %d: want the square's K² units to show", masked, plain)
	}
	x, miss, ll := make([]uint8, b*144), make([]bool, b*144), make([]float64, b)
	for i := range miss {
		miss[i] = i%3 == 0
	}
	prog, err := c.Compile(b, false)
	if err != nil {
		t.Fatal(err)
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	if err := prog.LogLikelihood(x, miss, ll); err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&after)
	if used := int64(after.TotalAlloc - before.TotalAlloc); masked < used || masked > 3*used {
		t.Errorf("masked estimate %d bytes (complete %d), compiling and running the evaluation with missing variables allocated %d: want it to cover them within 3×", masked, plain, used)
	}

	o.MaxMemory = (plain + masked) / 2
	c, err = Build(rg, o)
	if err != nil {
		t.Fatal(err)
	}
	prog, err = c.Compile(b, false)
	if err != nil {
		t.Fatalf("the complete-data program, %d bytes under a limit of %d, was refused: %v", plain, o.MaxMemory, err)
	}
	if err := prog.LogLikelihood(x, nil, ll); err != nil {
		t.Fatal(err)
	}
	runtime.GC()
	runtime.ReadMemStats(&before)
	err = prog.LogLikelihood(x, miss, ll)
	runtime.ReadMemStats(&after)
	if err == nil || !strings.Contains(err.Error(), "missing variables") || !strings.Contains(err.Error(), "MaxMemory") || strings.Contains(err.Error(), "\n") {
		t.Fatalf("err = %v, want one line naming the evaluation with missing variables and the limit", err)
	}
	if grew := after.TotalAlloc - before.TotalAlloc; int64(grew) > masked/8 {
		t.Errorf("the refused evaluation allocated %d bytes", grew)
	}
}
