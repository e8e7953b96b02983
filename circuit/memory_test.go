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
