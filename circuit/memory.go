package circuit

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// MemoryEstimate is the memory, in bytes, a program of batch size b would
// hold: parameters (with their gradients and two Adam moments when
// training), every layer's output buffer (and gradient buffer when
// training) for the data pass, the kernels' caches (the projections CP and
// CP-R keep for their backward, Tucker's outputs), and the input layer's
// per-step table. It errs on the high side by a few percent and leaves out
// Gorgonia's small per-step values.
func (c *Circuit) MemoryEstimate(b int, train bool) int64 {
	p, o := c.plan, &c.opts
	elem := int64(o.DType.Size())
	params := int64(inputParamCount(p, o))
	for i := range p.Layers {
		params += int64(layerParamCount(&p.Layers[i], o))
	}
	perParam := int64(2) // the value and the reparameterized copy
	if train {
		perParam += 4 // gradient, reparameterization gradient, Adam's m and v
	}
	total := params * perParam * elem
	acts := int64(len(p.Leaves)) * int64(b) * int64(p.InputUnits+1)
	caches := int64(0)
	for i := range p.Layers {
		l := &p.Layers[i]
		f, bb := int64(l.F()), int64(b)
		acts += f * bb * int64(l.Kout+1)
		if l.Kind == Mixing {
			continue
		}
		switch o.Layer {
		case CPR:
			caches += f * bb * int64(o.Rank) * int64(l.Arity+1)
		case Tucker:
			caches += f * bb * int64(l.Kout)
		default:
			caches += f * bb * int64(l.Arity) * int64(l.Kout)
		}
	}
	if train {
		acts *= 2
	}
	table := int64(p.NumSlots) * int64(o.Values+1) * int64(p.InputUnits)
	return total + (acts+caches+table)*elem
}

// checkMemory refuses a program whose estimate exceeds limit (Options.
// MaxMemory, or the memory the system reports available when that is 0).
func (c *Circuit) checkMemory(b int, train bool) error {
	need := c.MemoryEstimate(b, train)
	limit, source := c.opts.MaxMemory, "Options.MaxMemory"
	if limit == 0 {
		avail, ok := availableMemory()
		if !ok {
			return nil
		}
		limit, source = avail, "available memory"
	}
	if need > limit {
		return fmt.Errorf("circuit: a batch-%d %s program needs about %.2f GiB, more than the %.2f GiB of %s; use a smaller batch, fewer units or a smaller region graph",
			b, map[bool]string{true: "training", false: "evaluation"}[train], gib(need), gib(limit), source)
	}
	return nil
}

func gib(n int64) float64 { return float64(n) / (1 << 30) }

// availableMemory reads MemAvailable from /proc/meminfo (Linux).
func availableMemory() (int64, bool) {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 0, false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) >= 2 && fields[0] == "MemAvailable:" {
			kb, err := strconv.ParseInt(fields[1], 10, 64)
			if err != nil {
				return 0, false
			}
			return kb * 1024, true
		}
	}
	return 0, false
}
