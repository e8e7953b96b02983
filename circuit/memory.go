package circuit

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/tenpc/tenpc/nn"
)

// MemoryEstimate is the memory, in bytes, a program of batch size b would
// hold on the circuit's engine: parameters (with their gradients and two
// Adam moments when training), every layer's output buffer (and gradient
// buffer when training) for the data pass, the fused kernels' caches (the
// projections CP and CP-R keep for their backward, Tucker's outputs), and
// the input layer's per-step table. For a fused layer it errs on the high
// side by a few percent and leaves out Gorgonia's small per-step values;
// for a layer on the graph engine it counts its nn ops' intermediates
// roughly (a few copies of its gathered input and of its output before the
// sum over inputs). A squared circuit adds its monotonic factor's data
// pass and its partition function's pass on the square (batch 1); its
// evaluation with missing variables, which runs on the square, is
// estimated and checked when it is first needed (MaskedMemoryEstimate).
func (c *Circuit) MemoryEstimate(b int, train bool) int64 {
	elem := int64(c.opts.DType.Size())
	perParam := int64(2) // the value and the reparameterized copy
	if train {
		perParam += 4 // gradient, reparameterization gradient, Adam's m and v
	}
	total := int64(nn.ParamCount(c))*perParam*elem + c.passMemory(b, train, c.engine())
	if c.Mono != nil {
		total += c.Mono.passMemory(b, train, Graph)
	}
	if c.squared() {
		if sq, err := c.square(); err == nil {
			total += sq.passMemory(1, train, Graph)
		}
	}
	return total
}

// MaskedMemoryEstimate is the memory, in bytes, of a squared circuit's
// batch-b evaluation with missing variables: a data pass and a partition
// function's pass on the square c·c (m·c·c with a monotonic factor), whose
// regions hold K² units (K_m·K²), besides the parameters. For another
// circuit it is MemoryEstimate(b, false).
func (c *Circuit) MaskedMemoryEstimate(b int) int64 {
	if !c.squared() {
		return c.MemoryEstimate(b, false)
	}
	sq, err := c.square()
	if err != nil {
		return c.MemoryEstimate(b, false)
	}
	params := int64(nn.ParamCount(c)) * 2 * int64(c.opts.DType.Size())
	return params + sq.passMemory(b, false, Graph) + sq.passMemory(1, false, Graph)
}

// passMemory is MemoryEstimate's data-pass part on engine: activations,
// caches and the input table, in bytes.
func (c *Circuit) passMemory(b int, train bool, engine Engine) int64 {
	p, o := c.plan, &c.opts
	elem := int64(o.DType.Size())
	bb := int64(b)
	acts := int64(len(p.Leaves)) * bb * int64(p.InputUnits+1)
	table := int64(p.NumSlots) * int64(o.Values+1) * int64(p.InputUnits)
	if engine == Graph {
		// Per-slot log-probabilities, the mask and their products.
		acts += 4 * int64(p.NumSlots) * bb * int64(p.InputUnits)
		table *= 3
	}
	caches, gathers := int64(0), int64(0)
	// Copies of a graph layer's gathered input and of its output per
	// input: in signed log-space the signs, their gather and the signed
	// shift add to both.
	inCopies, outCopies := int64(3), int64(3)
	if c.signed() {
		inCopies, outCopies = 12, 10
	}
	for i := range p.Layers {
		l := &p.Layers[i]
		f, a := int64(l.F()), int64(l.Arity)
		acts += f * bb * int64(l.Kout+1)
		fl, fused := c.Layers[i].(fusedLayer)
		if engine == Graph || !fused {
			// Gathered input, its shift and exponential; the contraction,
			// its log and shift-back, per input.
			caches += inCopies*f*a*bb*int64(l.Kin) + outCopies*f*a*bb*int64(l.Kout)
			// The backward of each gather from a source holds a gradient
			// of the whole source.
			for _, src := range l.Sources {
				if src == 0 {
					gathers += int64(len(p.Leaves)) * bb * int64(p.InputUnits)
				} else {
					gathers += int64(p.Layers[src-1].F()) * bb * int64(p.Layers[src-1].Kout)
				}
			}
			if _, ok := c.Layers[i].(*TuckerLayer); ok {
				caches += 3 * f * bb * int64(l.Kin) * int64(l.Kin)
			}
			continue
		}
		switch ks := fl.fusedKernel(); ks.kind {
		case kernelMixing:
		case kernelCPR:
			caches += f * bb * int64(ks.rank) * (a + 1)
		case kernelTucker:
			caches += f * bb * int64(l.Kout)
		default:
			caches += f * bb * a * int64(l.Kout)
		}
	}
	if train {
		acts *= 2
		if engine == Graph {
			caches *= 2
		}
		caches += gathers
	}
	return (acts + caches + table) * elem
}

// checkMemory refuses a program whose estimate exceeds limit (Options.
// MaxMemory, or the memory the system reports available when that is 0).
func (c *Circuit) checkMemory(b int, train bool) error {
	what := map[bool]string{true: "training", false: "evaluation"}[train]
	return c.checkNeed(c.MemoryEstimate(b, train), fmt.Sprintf("a batch-%d %s program", b, what))
}

// checkNeed refuses need bytes for what when they exceed the limit
// (Options.MaxMemory, or the memory available).
func (c *Circuit) checkNeed(need int64, what string) error {
	limit, source := c.opts.MaxMemory, "Options.MaxMemory"
	if limit == 0 {
		avail, ok := availableMemory()
		if !ok {
			return nil
		}
		limit, source = avail, "available memory"
	}
	if need > limit {
		return fmt.Errorf("circuit: %s needs about %.2f GiB, more than the %.2f GiB of %s; use a smaller batch, fewer units or a smaller region graph",
			what, gib(need), gib(limit), source)
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
