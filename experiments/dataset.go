package experiments

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/tenpc/tenpc/data"
)

// DatasetKind is the family of a dataset spec.
type DatasetKind int

const (
	MNIST DatasetKind = iota
	FashionMNIST
	DEBD
	Images
	// CSV is a table of mixed types described by a JSON file (TableDesc).
	CSV
)

// DatasetSpec is a parsed dataset name: "mnist", "fashion-mnist",
// "debd:DIR/NAME", "images:DIR" or "csv:DESC.json".
type DatasetSpec struct {
	Kind DatasetKind
	// Path is DIR/NAME for DEBD, the folder for Images, the table's
	// description for CSV, "" otherwise.
	Path string
}

func (s DatasetSpec) String() string {
	switch s.Kind {
	case MNIST:
		return "mnist"
	case FashionMNIST:
		return "fashion-mnist"
	case DEBD:
		return "debd:" + s.Path
	case CSV:
		return "csv:" + s.Path
	}
	return "images:" + s.Path
}

// IsImage reports whether the dataset holds images (so that sample grids
// and completions make sense).
func (s DatasetSpec) IsImage() bool { return s.Kind != DEBD && s.Kind != CSV }

// ParseDatasetSpec parses a dataset name; a bad one is an *InputError.
func ParseDatasetSpec(s string) (DatasetSpec, error) {
	switch {
	case s == "mnist":
		return DatasetSpec{Kind: MNIST}, nil
	case s == "fashion-mnist":
		return DatasetSpec{Kind: FashionMNIST}, nil
	case strings.HasPrefix(s, "debd:"):
		p := strings.TrimPrefix(s, "debd:")
		if p == "" {
			return DatasetSpec{}, inputErrorf("dataset %q: want debd:DIR/NAME, e.g. debd:DEBD/datasets/nltcs", s)
		}
		return DatasetSpec{Kind: DEBD, Path: filepath.Clean(p)}, nil
	case strings.HasPrefix(s, "images:"):
		p := strings.TrimPrefix(s, "images:")
		if p == "" {
			return DatasetSpec{}, inputErrorf("dataset %q: want images:DIR", s)
		}
		return DatasetSpec{Kind: Images, Path: filepath.Clean(p)}, nil
	case strings.HasPrefix(s, "csv:"):
		p := strings.TrimPrefix(s, "csv:")
		if p == "" {
			return DatasetSpec{}, inputErrorf("dataset %q: want csv:DESC.json, a table's description (see TableDesc)", s)
		}
		return DatasetSpec{Kind: CSV, Path: filepath.Clean(p)}, nil
	}
	return DatasetSpec{}, inputErrorf("unknown dataset %q (want mnist, fashion-mnist, debd:DIR/NAME, images:DIR or csv:DESC.json)", s)
}

// imageTestFraction is the share of an image folder held out as the test
// set (image folders ship no split).
const imageTestFraction = 0.1

// LoadData loads the dataset of cfg with its split protocol and limit. Any
// failure (a dataset that is not there, a corrupt file) is an *InputError
// naming the dataset; package data's messages say how to get it.
func LoadData(cfg *TrainConfig) (data.Splits, error) {
	spec, err := ParseDatasetSpec(cfg.Dataset)
	if err != nil {
		return data.Splits{}, err
	}
	opt := data.Options{ValidFraction: cfg.ValidFraction, Seed: cfg.SplitSeed, Dir: cfg.DataDir}
	var sp data.Splits
	switch spec.Kind {
	case CSV:
		return data.Splits{}, inputErrorf("dataset %s is a table of mixed types, which train and eval read themselves; this command takes datasets of categories", spec)
	case MNIST:
		sp, err = data.MNIST(opt)
	case FashionMNIST:
		sp, err = data.FashionMNIST(opt)
	case DEBD:
		sp, err = data.DEBD(filepath.Dir(spec.Path), filepath.Base(spec.Path), data.Options{})
	case Images:
		if _, serr := os.Stat(spec.Path); serr != nil {
			return data.Splits{}, inputErrorf("dataset %s: %v (want a folder of PNG or JPEG images)", spec, serr)
		}
		var all *data.Dataset
		all, err = data.ImageFolder(spec.Path, data.ImageOptions{})
		if err == nil {
			if all.N < 3 {
				return data.Splits{}, inputErrorf("dataset %s: %d images, need at least 3", spec, all.N)
			}
			rest, test := data.Split(all, imageTestFraction, cfg.SplitSeed)
			train, valid := data.Split(rest, cfg.ValidFraction, cfg.SplitSeed+1)
			sp = data.Splits{Train: train, Valid: valid, Test: test}
		}
	}
	if err != nil {
		return data.Splits{}, &InputError{fmt.Errorf("dataset %s: %w", spec, err)}
	}
	if cfg.Limit > 0 {
		sp = data.Splits{Train: sp.Train.Limit(cfg.Limit), Valid: sp.Valid.Limit(cfg.Limit), Test: sp.Test.Limit(cfg.Limit)}
	}
	if sp.Train.N == 0 {
		return data.Splits{}, inputErrorf("dataset %s: the training set is empty", spec)
	}
	return sp, nil
}

// split returns the named part of sp: "train", "valid" or "test".
func split(sp data.Splits, name string) (*data.Dataset, error) {
	switch name {
	case "train":
		return sp.Train, nil
	case "valid":
		return sp.Valid, nil
	case "test":
		return sp.Test, nil
	}
	return nil, inputErrorf("unknown split %q (want train, valid or test)", name)
}
