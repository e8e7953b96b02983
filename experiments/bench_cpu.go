package experiments

import (
	"context"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// peakRSSMB is the process's largest resident set size (ru_maxrss, KiB on
// Linux) in MB (10^6 bytes), or 0 where unavailable.
func peakRSSMB() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return float64(ru.Maxrss) * 1024 / 1e6
}

// waitQuiet waits, up to maxWait, until the CPU time other processes use
// over a 2 s window is below cores, or ctx is done.
func waitQuiet(ctx context.Context, maxWait time.Duration, cores float64) {
	if maxWait <= 0 {
		return
	}
	deadline := time.Now().Add(maxWait)
	for {
		c0, s0, t0 := busyCPU(), selfCPU(), time.Now()
		select {
		case <-ctx.Done():
			return
		case <-time.After(2 * time.Second):
		}
		c1, s1 := busyCPU(), selfCPU()
		if c0 < 0 || c1 < 0 {
			return
		}
		if others := ((c1 - c0) - (s1 - s0)) / time.Since(t0).Seconds(); others < cores || time.Now().After(deadline) {
			return
		}
	}
}

// selfCPU is this process's user+system CPU time in seconds.
func selfCPU() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

// busyCPU is the machine's busy CPU time in seconds from /proc/stat (user,
// nice, system, irq, softirq, as the peer harness counts them), or -1.
func busyCPU() float64 {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return -1
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 8 || f[0] != "cpu" {
		return -1
	}
	total := 0.0
	for _, i := range []int{1, 2, 3, 6, 7} {
		v, err := strconv.ParseFloat(f[i], 64)
		if err != nil {
			return -1
		}
		total += v
	}
	return total / 100 // USER_HZ is 100 on Linux
}
