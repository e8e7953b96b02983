package vec

import (
	"runtime"
	"sync"
)

// MinChunk is the smallest range Chunks gives a goroutine of its own: below
// it the start-up cost outweighs an element-wise pass.
const MinChunk = 1 << 16

// MaxChunks bounds the number of chunks Chunks makes.
const MaxChunks = 64

// Chunks calls fn(c, lo, hi) over [0, n) split into contiguous ranges
// c = 0, 1, … of equal size (the last may be shorter), one per goroutine up
// to GOMAXPROCS (and MaxChunks), concurrently; n below 2·MinChunk is one
// call fn(0, 0, n). For element-wise passes (clears, adds, optimizer
// updates) the result does not depend on the split.
func Chunks(n int, fn func(c, lo, hi int)) {
	w := min(runtime.GOMAXPROCS(0), n/MinChunk, MaxChunks)
	if w <= 1 {
		fn(0, 0, n)
		return
	}
	size := (n + w - 1) / w
	var wg sync.WaitGroup
	for lo := size; lo < n; lo += size {
		wg.Go(func() { fn(lo/size, lo, min(lo+size, n)) })
	}
	fn(0, 0, size)
	wg.Wait()
}
