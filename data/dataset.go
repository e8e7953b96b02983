package data

import (
	"fmt"
	"iter"
	"math/rand/v2"
)

// Dataset is N samples of D discrete variables stored row-major in X:
// variable j of sample i is X[i*D+j] and takes a value in [0, Values).
//
// Shape gives the variables' layout: (C, H, W) for images, with variable
// c*H*W + h*W + w, and (D) otherwise; the product of Shape is D.
// Labels, when not nil, holds one class label per sample.
type Dataset struct {
	Name   string
	Shape  []int
	Values int
	N, D   int
	X      []uint8
	Labels []int
}

// Row returns sample i as a slice of X of length D (not a copy).
// It panics if i is out of range.
func (d *Dataset) Row(i int) []uint8 {
	if i < 0 || i >= d.N {
		panic(fmt.Sprintf("data: row %d out of range [0, %d) in %s", i, d.N, d.Name))
	}
	return d.X[i*d.D : (i+1)*d.D : (i+1)*d.D]
}

// Subset returns a new dataset holding copies of the samples idx, in that
// order (an index may repeat). It panics if an index is out of range.
func (d *Dataset) Subset(idx []int) *Dataset {
	s := d.emptyLike(len(idx))
	for k, i := range idx {
		copy(s.X[k*d.D:(k+1)*d.D], d.Row(i))
		if d.Labels != nil {
			s.Labels[k] = d.Labels[i]
		}
	}
	return s
}

// Limit returns the first n samples of d, sharing d's storage. A negative n
// or one of at least N returns all samples (still a new *Dataset header).
func (d *Dataset) Limit(n int) *Dataset {
	if n < 0 || n > d.N {
		n = d.N
	}
	s := *d
	s.Shape = append([]int(nil), d.Shape...)
	s.N = n
	s.X = d.X[: n*d.D : n*d.D]
	if d.Labels != nil {
		s.Labels = d.Labels[:n:n]
	}
	return &s
}

// emptyLike returns a zeroed dataset with n samples and d's name, shape,
// values and (if d has them) labels.
func (d *Dataset) emptyLike(n int) *Dataset {
	s := &Dataset{
		Name:   d.Name,
		Shape:  append([]int(nil), d.Shape...),
		Values: d.Values,
		N:      n,
		D:      d.D,
		X:      make([]uint8, n*d.D),
	}
	if d.Labels != nil {
		s.Labels = make([]int, n)
	}
	return s
}

// validate checks the invariants documented on Dataset.
func (d *Dataset) validate() error {
	prod := 1
	for _, s := range d.Shape {
		prod *= s
	}
	switch {
	case d.N < 0 || d.D < 0:
		return fmt.Errorf("dataset %s: negative size N=%d D=%d", d.Name, d.N, d.D)
	case prod != d.D:
		return fmt.Errorf("dataset %s: shape %v has %d variables, D=%d", d.Name, d.Shape, prod, d.D)
	case len(d.X) != d.N*d.D:
		return fmt.Errorf("dataset %s: len(X)=%d, want N*D=%d", d.Name, len(d.X), d.N*d.D)
	case d.Labels != nil && len(d.Labels) != d.N:
		return fmt.Errorf("dataset %s: %d labels for %d samples", d.Name, len(d.Labels), d.N)
	}
	for i, v := range d.X {
		if int(v) >= d.Values {
			return fmt.Errorf("dataset %s: sample %d variable %d has value %d, want < %d", d.Name, i/d.D, i%d.D, v, d.Values)
		}
	}
	return nil
}

// Batch is a mini-batch of N samples of D variables, row-major in X.
// Index holds the samples' positions in the dataset and Labels their labels
// (nil when the dataset has none).
type Batch struct {
	X      []uint8
	N, D   int
	Index  []int
	Labels []int
}

// Batches returns an iterator over the samples of d in batches of size
// samples; the last batch holds the remainder (N < size) when size does not
// divide d.N. Every sample is in exactly one batch. With rng nil the samples
// come in order; otherwise each call to the iterator draws a fresh
// permutation from rng, so ranging over Batches once per epoch reshuffles
// every epoch.
//
// The yielded Batch's slices are reused by the next batch: copy them to keep
// them. Batches panics if size < 1.
func (d *Dataset) Batches(size int, rng *rand.Rand) iter.Seq[Batch] {
	if size < 1 {
		panic(fmt.Sprintf("data: batch size %d < 1", size))
	}
	return func(yield func(Batch) bool) {
		order := make([]int, d.N)
		for i := range order {
			order[i] = i
		}
		if rng != nil {
			rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		}
		x := make([]uint8, min(size, d.N)*d.D)
		var labels []int
		if d.Labels != nil {
			labels = make([]int, min(size, d.N))
		}
		for start := 0; start < d.N; start += size {
			idx := order[start:min(start+size, d.N)]
			b := Batch{X: x[:len(idx)*d.D], N: len(idx), D: d.D, Index: idx}
			for k, i := range idx {
				copy(b.X[k*d.D:(k+1)*d.D], d.Row(i))
			}
			if labels != nil {
				b.Labels = labels[:len(idx)]
				for k, i := range idx {
					b.Labels[k] = d.Labels[i]
				}
			}
			if !yield(b) {
				return
			}
		}
	}
}
