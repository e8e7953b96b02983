package data

import (
	"fmt"
	"math/rand/v2"
)

// Binarization says how a loader turns pixel intensities into binary
// variables. The zero value keeps the raw values.
type Binarization int

const (
	// Raw keeps the values as stored (256 values for images).
	Raw Binarization = iota
	// Threshold maps a value v to 1 if v >= 128 (v/255 > 0.5), else 0.
	Threshold
	// Stochastic draws each variable as 1 with probability v/255, with a
	// generator seeded by Options.Seed (the dynamic binarization of
	// Salakhutdinov & Murray, drawn once at load time).
	Stochastic
)

// String returns the name used in configs and flags.
func (b Binarization) String() string {
	switch b {
	case Raw:
		return "raw"
	case Threshold:
		return "threshold"
	case Stochastic:
		return "stochastic"
	}
	return fmt.Sprintf("Binarization(%d)", int(b))
}

// DefaultThreshold is the threshold used by the Threshold binarization: half
// of the 0..255 intensity range.
const DefaultThreshold = 128

// BinarizeThreshold returns a copy of d with every value v replaced by 1 if
// v >= t and 0 otherwise, and Values = 2.
func (d *Dataset) BinarizeThreshold(t uint8) *Dataset {
	b := d.emptyLike(d.N)
	copy(b.Labels, d.Labels)
	b.Values = 2
	for i, v := range d.X {
		if v >= t {
			b.X[i] = 1
		}
	}
	return b
}

// BinarizeStochastic returns a copy of d with every value v replaced by a
// draw from Bernoulli(v / (Values-1)) using rng, and Values = 2. The draws
// are made in the order of X, so the same rng state gives the same result.
// It panics if d.Values < 2.
func (d *Dataset) BinarizeStochastic(rng *rand.Rand) *Dataset {
	if d.Values < 2 {
		panic(fmt.Sprintf("data: cannot binarize %s with %d values", d.Name, d.Values))
	}
	b := d.emptyLike(d.N)
	copy(b.Labels, d.Labels)
	b.Values = 2
	top := float64(d.Values - 1)
	for i, v := range d.X {
		if rng.Float64()*top < float64(v) {
			b.X[i] = 1
		}
	}
	return b
}

// binarize applies the binarization m to every part of s; the stochastic
// draws use one generator seeded by seed, over Train, Valid and Test in turn.
func (s Splits) binarize(m Binarization, seed uint64) (Splits, error) {
	switch m {
	case Raw:
		return s, nil
	case Threshold:
		return Splits{
			Train: s.Train.BinarizeThreshold(DefaultThreshold),
			Valid: s.Valid.BinarizeThreshold(DefaultThreshold),
			Test:  s.Test.BinarizeThreshold(DefaultThreshold),
		}, nil
	case Stochastic:
		rng := rand.New(rand.NewPCG(seed, binarizeStream))
		return Splits{
			Train: s.Train.BinarizeStochastic(rng),
			Valid: s.Valid.BinarizeStochastic(rng),
			Test:  s.Test.BinarizeStochastic(rng),
		}, nil
	}
	return Splits{}, fmt.Errorf("unknown binarization %v", m)
}
