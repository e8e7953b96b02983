package data_test

import (
	"fmt"
	"log"
	"math/rand/v2"
	"strings"

	"github.com/tenpc/tenpc/data"
)

// A DEBD-style CSV is read into a binary dataset, split with a fixed seed and
// served in shuffled mini-batches; every sample appears once per epoch.
func Example() {
	csv := strings.Repeat("0,1,1\n1,0,1\n1,1,0\n0,0,0\n1,1,1\n", 4) // 20 rows
	d, err := data.ReadDEBD(strings.NewReader(csv))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("N=%d D=%d values=%d shape=%v\n", d.N, d.D, d.Values, d.Shape)

	train, valid := data.Split(d, 0.25, 42)
	fmt.Printf("train=%d valid=%d\n", train.N, valid.N)

	rng := rand.New(rand.NewPCG(1, 2))
	for epoch := range 2 {
		seen := 0
		var sizes []int
		for b := range train.Batches(4, rng) {
			seen += b.N
			sizes = append(sizes, b.N)
		}
		fmt.Printf("epoch %d: batch sizes %v, %d samples\n", epoch, sizes, seen)
	}
	// Output:
	// N=20 D=3 values=2 shape=[3]
	// train=15 valid=5
	// epoch 0: batch sizes [4 4 4 3], 15 samples
	// epoch 1: batch sizes [4 4 4 3], 15 samples
}

// Batches without a generator come in order; Index says which samples a
// batch holds.
func ExampleDataset_Batches() {
	d := &data.Dataset{Name: "toy", Shape: []int{2}, Values: 4, N: 5, D: 2,
		X: []uint8{0, 1, 1, 2, 2, 3, 3, 0, 1, 1}}
	for b := range d.Batches(2, nil) {
		fmt.Println(b.Index, b.X)
	}
	// Output:
	// [0 1] [0 1 1 2]
	// [2 3] [2 3 3 0]
	// [4] [1 1]
}

// Threshold binarization maps intensities of 128 and above to 1.
func ExampleDataset_BinarizeThreshold() {
	d := &data.Dataset{Name: "px", Shape: []int{1, 2, 2}, Values: 256, N: 1, D: 4,
		X: []uint8{0, 127, 128, 255}}
	b := d.BinarizeThreshold(data.DefaultThreshold)
	fmt.Println(b.X, b.Values)
	// Output: [0 0 1 1] 2
}

// The paper protocol for MNIST: a seeded 5% validation split of the official
// training set. (Not run: it needs the module cache filled by make setup.)
func ExampleMNIST() {
	s, err := data.MNIST(data.Options{ValidFraction: data.PaperValidFraction, Seed: data.PaperSeed})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(s.Train.N, s.Valid.N, s.Test.N, s.Train.Shape)
}
