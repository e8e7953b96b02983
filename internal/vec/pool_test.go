package vec

import (
	"sync"
	"sync/atomic"
	"testing"
)

// shareOut is a Run body that marks the indices [0, n) it takes from next.
func shareOut(n int, next *atomic.Int64, seen []int32) func(int) {
	return func(int) {
		for i := int(next.Add(1)) - 1; i < n; i = int(next.Add(1)) - 1 {
			atomic.AddInt32(&seen[i], 1)
		}
	}
}

// Every index is taken exactly once, whether the pool's helpers join or are
// busy with other callers' loops (several callers at once, nested loops),
// and worker numbers are distinct within a loop.
func TestRunSharesOutOnce(t *testing.T) {
	const n = 5000
	var wg sync.WaitGroup
	for caller := range 4 {
		wg.Go(func() {
			for round := range 50 {
				w := 1 + (caller+round)%4
				seen := make([]int32, n)
				var next atomic.Int64
				var ids sync.Map
				k := Run(w, func(worker int) {
					if _, dup := ids.LoadOrStore(worker, true); dup {
						t.Errorf("worker number %d twice in one loop", worker)
					}
					shareOut(n, &next, seen)(worker)
				})
				if k < 1 || k > w {
					t.Errorf("Run(%d) reported %d participants", w, k)
				}
				for i, c := range seen {
					if c != 1 {
						t.Fatalf("w=%d: index %d taken %d times", w, i, c)
					}
				}
			}
		})
	}
	wg.Wait()

	// A loop inside a loop's body finishes too (its helpers may all be busy).
	seen := make([]int32, 64*n)
	var outer atomic.Int64
	Run(3, func(int) {
		for j := int(outer.Add(1)) - 1; j < 64; j = int(outer.Add(1)) - 1 {
			var next atomic.Int64
			Run(3, shareOut(n, &next, seen[j*n:(j+1)*n]))
		}
	})
	for i, c := range seen {
		if c != 1 {
			t.Fatalf("nested: index %d taken %d times", i, c)
		}
	}
}
