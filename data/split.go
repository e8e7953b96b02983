package data

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
)

// The paper protocol for MNIST and Fashion-MNIST: validation is a random 5%
// of the official training set drawn with seed 42; test is the official test
// set.
const (
	PaperValidFraction = 0.05
	PaperSeed          = 42
)

// Splits holds the three parts of a dataset. Valid has N = 0 (never nil)
// when no validation set was asked for.
type Splits struct {
	Train, Valid, Test *Dataset
}

// splitStream is the PCG stream used by Split, so that the split and the
// stochastic binarization drawn from the same seed are independent.
const (
	splitStream    = 0x73706c6974 // "split"
	binarizeStream = 0x62696e     // "bin"
)

// Split holds out round(validFraction*N) samples of d, chosen uniformly at
// random with a generator seeded by seed, as valid; the rest are train. Both
// keep d's sample order. The same d, fraction and seed give the same split.
// It panics if validFraction is not in [0, 1).
func Split(d *Dataset, validFraction float64, seed uint64) (train, valid *Dataset) {
	if !(validFraction >= 0 && validFraction < 1) {
		panic(fmt.Sprintf("data: validation fraction %v not in [0, 1)", validFraction))
	}
	nValid := int(math.Round(validFraction * float64(d.N)))
	rng := rand.New(rand.NewPCG(seed, splitStream))
	perm := rng.Perm(d.N)
	validIdx, trainIdx := perm[:nValid], perm[nValid:]
	slices.Sort(validIdx)
	slices.Sort(trainIdx)
	return d.Subset(trainIdx), d.Subset(validIdx)
}

// checkFraction is Split's precondition as an error, for option structs.
func checkFraction(what string, f float64) error {
	if !(f >= 0 && f < 1) {
		return fmt.Errorf("%s: validation fraction %v not in [0, 1)", what, f)
	}
	return nil
}
