package optim

import (
	"runtime"
	"sync"
)

// minChunk is the smallest slice worth a goroutine of its own: below it the
// start-up cost outweighs the update.
const minChunk = 1 << 16

// chunks calls fn over [0, n) split into up to GOMAXPROCS contiguous parts,
// concurrently. The updates are elementwise, so the result is bit-identical
// to one sequential call whatever the split.
func chunks(n int, fn func(lo, hi int)) {
	w := min(runtime.GOMAXPROCS(0), n/minChunk)
	if w <= 1 {
		fn(0, n)
		return
	}
	var wg sync.WaitGroup
	size := (n + w - 1) / w
	for lo := size; lo < n; lo += size {
		wg.Add(1)
		go func(lo int) {
			defer wg.Done()
			fn(lo, min(lo+size, n))
		}(lo)
	}
	fn(0, size)
	wg.Wait()
}
