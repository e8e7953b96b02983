package vec

import (
	"runtime"
	"sync/atomic"
)

// MinChunk is the smallest range Chunks gives a goroutine of its own: below
// it the start-up cost outweighs an element-wise pass.
const MinChunk = 1 << 16

// MaxChunks bounds the number of chunks Chunks makes.
const MaxChunks = 64

// Chunks calls fn(c, lo, hi) over [0, n) split into contiguous ranges
// c = 0, 1, … of equal size (the last may be shorter), one per worker up to
// GOMAXPROCS (and MaxChunks), concurrently on the pool (see Run); n below
// 2·MinChunk is one call fn(0, 0, n). For element-wise passes (clears,
// adds, optimizer updates) the result does not depend on the split.
func Chunks(n int, fn func(c, lo, hi int)) {
	w := min(runtime.GOMAXPROCS(0), n/MinChunk, MaxChunks)
	if w <= 1 {
		fn(0, 0, n)
		return
	}
	size := (n + w - 1) / w
	nc := (n + size - 1) / size
	var next atomic.Int64
	Run(w, func(int) {
		for c := int(next.Add(1)) - 1; c < nc; c = int(next.Add(1)) - 1 {
			lo := c * size
			fn(c, lo, min(lo+size, n))
		}
	})
}
