package experiments

import (
	"fmt"
	"math"

	"github.com/tenpc/tenpc/circuit"
	"github.com/tenpc/tenpc/data"
)

// Scale is how the raw values of a dataset (integers in [0, Values)) are
// mapped to the real inputs of a Gaussian circuit.
type Scale int

const (
	// ScaleNone feeds the raw values (0…255 for images).
	ScaleNone Scale = iota
	// ScaleUnit divides by Values − 1, into [0, 1].
	ScaleUnit
	// ScaleStandard scales into [0, 1], then standardizes with the training
	// set's mean and standard deviation per channel (one channel for
	// tabular data), like torchvision's ToTensor + Normalize.
	ScaleStandard
)

var scales = enum[Scale]{"scale", []string{"none", "unit", "standard"}}

func (s Scale) String() string { return scales.name(s) }

// ParseScale parses "none", "unit" or "standard".
func ParseScale(s string) (Scale, error) { return scales.parse(s) }

// DefaultScale is the scale the CLI uses for input family in when none is
// asked for: ScaleStandard for Gaussian inputs, ScaleNone otherwise.
func DefaultScale(in circuit.InputKind) Scale {
	if in == circuit.Gaussian {
		return ScaleStandard
	}
	return ScaleNone
}

// Scaling is a fitted Scale, recorded in the model file so that evaluation,
// sampling and completion map values the way training did: a value x of
// channel c becomes z = (x/Div − Mean[c]) / Std[c]. Each channel is a
// contiguous block of PerChannel variables (CHW order).
type Scaling struct {
	Kind       string    `json:"kind"`
	Div        float64   `json:"div"`
	Mean       []float64 `json:"mean"`
	Std        []float64 `json:"std"`
	PerChannel int       `json:"per_channel"`
}

// fitScaling fits s on the training set ds; ScaleNone gives nil.
func fitScaling(s Scale, ds *data.Dataset) (*Scaling, error) {
	if s == ScaleNone {
		return nil, nil
	}
	channels := 1
	if len(ds.Shape) == 3 {
		channels = ds.Shape[0]
	}
	sc := &Scaling{Kind: s.String(), Div: float64(max(ds.Values-1, 1)), PerChannel: ds.D / channels,
		Mean: make([]float64, channels), Std: make([]float64, channels)}
	for c := range channels {
		sc.Std[c] = 1
		if s != ScaleStandard {
			continue
		}
		var sum, ss float64
		for i := range ds.N {
			for _, v := range ds.Row(i)[c*sc.PerChannel : (c+1)*sc.PerChannel] {
				z := float64(v) / sc.Div
				sum += z
				ss += z * z
			}
		}
		n := float64(ds.N * sc.PerChannel)
		mean := sum / n
		std := math.Sqrt(max(ss/n-mean*mean, 0))
		if !(std > 0) {
			return nil, inputErrorf("-scale standard: channel %d of %s is constant in the training set (standard deviation 0); use -scale unit", c, ds.Name)
		}
		sc.Mean[c], sc.Std[c] = mean, std
	}
	return sc, nil
}

// check reports whether sc fits data of d variables.
func (sc *Scaling) check(d int) error {
	if sc.PerChannel < 1 || len(sc.Mean) != len(sc.Std) || len(sc.Mean)*sc.PerChannel != d || !(sc.Div > 0) {
		return fmt.Errorf("scaling %+v does not fit %d variables", *sc, d)
	}
	for _, s := range sc.Std {
		if !(s > 0) {
			return fmt.Errorf("scaling has a standard deviation %v", s)
		}
	}
	return nil
}

// forward maps rows of raw values x (d per row) to z.
func (sc *Scaling) forward(x []uint8, z []float32) {
	d := len(sc.Mean) * sc.PerChannel
	for i, v := range x {
		c := (i % d) / sc.PerChannel
		z[i] = float32((float64(v)/sc.Div - sc.Mean[c]) / sc.Std[c])
	}
}

// forward64 is forward into float64.
func (sc *Scaling) forward64(x []uint8) []float64 {
	d := len(sc.Mean) * sc.PerChannel
	z := make([]float64, len(x))
	for i, v := range x {
		c := (i % d) / sc.PerChannel
		z[i] = (float64(v)/sc.Div - sc.Mean[c]) / sc.Std[c]
	}
	return z
}

// inverse maps z back to the raw values' scale (reals, not rounded).
func (sc *Scaling) inverse(z []float64) []float64 {
	d := len(sc.Mean) * sc.PerChannel
	x := make([]float64, len(z))
	for i, v := range z {
		c := (i % d) / sc.PerChannel
		x[i] = (v*sc.Std[c] + sc.Mean[c]) * sc.Div
	}
	return x
}

// logJacobian is log |dz/dx| summed over one row's variables: the term that
// turns a density of z into a density of the raw values, so that
// likelihoods and bpd stay in the raw data's units whatever the scaling.
func (sc *Scaling) logJacobian() float64 {
	if sc == nil {
		return 0
	}
	var s float64
	for _, std := range sc.Std {
		s -= float64(sc.PerChannel) * math.Log(sc.Div*std)
	}
	return s
}
