package vec

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// The parallel loops of the kernels (Chunks here, ParallelFor in package
// kernel) run on a pool of helper goroutines that outlive them. A goroutine
// started per loop has to wake a sleeping thread first: on a virtual
// machine that took 64 µs on average in a QG-CP training step (4.4 ms of one
// core per step over 69 loops, timed with a temporary instrumented build),
// as long as a small layer's whole work. A
// helper instead keeps polling for the next loop for a while (spinWait)
// before it sleeps, and loops follow each other closely during a step.

// spinWait is how long an idle helper polls for work before it sleeps. In
// a QG-CP K=32 B=256 training step 84% of the gaps between loops were under
// 50 µs and 91% under 100 µs (the same instrumented build). Polling competes with the program's other
// goroutines for the processors: with 500 µs the circuit package's tests
// (many small programs in parallel) took 28–29 s instead of 20–21.
const spinWait = 100 * time.Microsecond

type helper struct {
	busy atomic.Bool         // claimed by a caller (set by the caller, cleared by the helper)
	job  atomic.Pointer[job] // the claimed loop, nil once taken
	wake chan struct{}       // a token after job is set, for a sleeping helper
	id   int                 // its worker number in every loop: 1, 2, …
}

type job struct {
	body func(worker int)
	left atomic.Int32 // helpers still running body
	done chan struct{}
}

var (
	poolMu  sync.Mutex
	helpers atomic.Pointer[[]*helper] // grows, never shrinks
)

// Run calls body(0) on the calling goroutine and body(1), …, body(k) on up
// to w−1 pool helpers concurrently, and returns once all have returned.
// Helpers busy with another caller's loop are not waited for, so k may be
// less than w−1 (0 in a nested call): body must share its work out
// dynamically (each participant taking what is left) for any k to finish
// it. Run reports k+1, the number of participants.
func Run(w int, body func(worker int)) int {
	if w <= 1 {
		body(0)
		return 1
	}
	hs := pool(w - 1)
	j := &job{body: body}
	var claimed [MaxChunks]*helper
	k := 0
	for _, h := range hs {
		if k == w-1 || k == len(claimed) {
			break
		}
		if h.busy.CompareAndSwap(false, true) {
			claimed[k] = h
			k++
		}
	}
	if k == 0 {
		body(0)
		return 1
	}
	j.left.Store(int32(k))
	j.done = make(chan struct{})
	for _, h := range claimed[:k] {
		h.job.Store(j)
		select {
		case h.wake <- struct{}{}:
		default:
		}
	}
	body(0)
	// The helpers usually finish within a few µs of the caller.
	for spin := 0; j.left.Load() > 0; spin++ {
		if spin == 100 {
			<-j.done
			break
		}
		runtime.Gosched()
	}
	return k + 1
}

// pool returns at least n helpers, starting any that are missing.
func pool(n int) []*helper {
	if hs := helpers.Load(); hs != nil && len(*hs) >= n {
		return *hs
	}
	poolMu.Lock()
	defer poolMu.Unlock()
	var hs []*helper
	if p := helpers.Load(); p != nil {
		hs = *p
	}
	for len(hs) < n {
		h := &helper{wake: make(chan struct{}, 1), id: len(hs) + 1}
		hs = append(hs, h)
		go h.loop()
	}
	helpers.Store(&hs)
	return hs
}

func (h *helper) loop() {
	for {
		j := h.next()
		j.body(h.id)
		h.busy.Store(false)
		if j.left.Add(-1) == 0 {
			close(j.done)
		}
	}
}

// next waits for a job: polling (and yielding the processor) for spinWait,
// then asleep until a caller's wake token.
func (h *helper) next() *job {
	start := time.Now()
	for spin := 0; ; spin++ {
		if j := h.job.Swap(nil); j != nil {
			return j
		}
		if spin%64 == 63 && time.Since(start) > spinWait {
			break
		}
		runtime.Gosched()
	}
	for {
		<-h.wake
		if j := h.job.Swap(nil); j != nil {
			return j
		}
	}
}
