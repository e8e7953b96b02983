package experiments

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/tenpc/tenpc/circuit"
)

// checkMemory refuses, as an *InputError with the estimate, a batch-b
// program of c (training or evaluation) whose memory estimate
// (circuit.MemoryEstimate) exceeds limit bytes; limit 0 leaves the check
// to circuit.Compile (the memory the system reports available).
func checkMemory(c *circuit.Circuit, b int, train bool, limit int64, what string) error {
	if limit <= 0 {
		return nil
	}
	kind := "evaluation"
	if train {
		kind = "training"
	}
	if need := c.MemoryEstimate(b, train); need > limit {
		return inputErrorf("%s: a batch-%d %s program needs about %s (parameters and activations), more than -max-memory %s; use a smaller batch, fewer units or a smaller region graph",
			what, b, kind, FormatBytes(need), FormatBytes(limit))
	}
	return nil
}

// byteUnits are the suffixes ParseBytes takes, powers of 1024.
var byteUnits = []struct {
	suffix string
	size   int64
}{{"T", 1 << 40}, {"G", 1 << 30}, {"M", 1 << 20}, {"K", 1 << 10}, {"B", 1}}

// ParseBytes parses a size such as 512M, 2G, 1.5G, 64K or 1000 (bytes):
// a non-negative number and an optional unit K, M, G or T (powers of 1024;
// "KB", "KiB", "MB", "MiB", … mean the same), case-insensitive.
func ParseBytes(s string) (int64, error) {
	t := strings.ToUpper(strings.TrimSpace(s))
	t = strings.TrimSuffix(strings.TrimSuffix(t, "IB"), "B")
	mult := int64(1)
	for _, u := range byteUnits {
		if u.suffix != "B" && strings.HasSuffix(t, u.suffix) {
			t, mult = strings.TrimSuffix(t, u.suffix), u.size
			break
		}
	}
	v, err := strconv.ParseFloat(strings.TrimSpace(t), 64)
	if err != nil || t == "" || math.IsNaN(v) || math.IsInf(v, 0) || v < 0 || v*float64(mult) >= math.MaxInt64 {
		return 0, fmt.Errorf("%q is not a size (want bytes with an optional unit: 512M, 2G)", s)
	}
	return int64(v * float64(mult)), nil
}

// FormatBytes writes n bytes with the largest unit that keeps the number
// at least 1: "1.50 GiB", "312.4 MiB", "900 B".
func FormatBytes(n int64) string {
	for _, u := range byteUnits[:4] {
		if n >= u.size {
			v := float64(n) / float64(u.size)
			if v < 10 {
				return fmt.Sprintf("%.2f %siB", v, u.suffix)
			}
			return fmt.Sprintf("%.1f %siB", v, u.suffix)
		}
	}
	return fmt.Sprintf("%d B", n)
}
