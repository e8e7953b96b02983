package vec

import (
	"runtime"
	"testing"
)

// Chunks covers [0, n) exactly once, in chunks numbered by their position,
// for sizes around the chunk threshold and several GOMAXPROCS values.
func TestChunksCoverOnce(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	for _, procs := range []int{1, 2, 3, 8} {
		runtime.GOMAXPROCS(procs)
		for _, n := range []int{0, 1, MinChunk - 1, MinChunk, 2*MinChunk + 7, 9*MinChunk + 1} {
			seen := make([]int32, n)
			var mu chan struct{} = make(chan struct{}, 1)
			var size int
			Chunks(n, func(c, lo, hi int) {
				mu <- struct{}{}
				if c == 0 {
					size = hi - lo
				}
				for i := lo; i < hi; i++ {
					seen[i]++
				}
				<-mu
			})
			for i, c := range seen {
				if c != 1 {
					t.Fatalf("procs %d, n %d: element %d visited %d times", procs, n, i, c)
				}
			}
			Chunks(n, func(c, lo, hi int) {
				if lo != c*size {
					t.Errorf("procs %d, n %d: chunk %d starts at %d, want %d", procs, n, c, lo, c*size)
				}
			})
		}
	}
}
