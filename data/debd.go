package data

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// maxDEBDLine bounds one CSV row: 2 bytes per variable, so about 8 million
// variables (the widest DEBD set, ad, has 1,556).
const maxDEBDLine = 16 << 20

// ReadDEBD reads binary data in the DEBD layout: one sample per line, its
// variables as comma-separated 0 or 1 (no header). Empty lines are skipped;
// a trailing carriage return and spaces around values are allowed. It
// returns a dataset with Shape (D) and Values 2, and an error naming the line
// for a value other than 0/1, a row whose length differs from the first one,
// or input without rows.
func ReadDEBD(r io.Reader) (*Dataset, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), maxDEBDLine)
	d := &Dataset{Values: 2}
	line := 0
	for sc.Scan() {
		line++
		row := bytes.TrimRight(sc.Bytes(), "\r")
		if len(bytes.TrimSpace(row)) == 0 {
			continue
		}
		cols := 0
		for field := range bytes.SplitSeq(row, []byte(",")) {
			cols++
			switch string(bytes.TrimSpace(field)) {
			case "0":
				d.X = append(d.X, 0)
			case "1":
				d.X = append(d.X, 1)
			default:
				return nil, fmt.Errorf("line %d, column %d: value %q is not 0 or 1", line, cols, clip(field))
			}
		}
		if d.N == 0 {
			d.D = cols
		} else if cols != d.D {
			return nil, fmt.Errorf("line %d: %d values, want %d like the first row (ragged row)", line, cols, d.D)
		}
		d.N++
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, fmt.Errorf("line %d: longer than %d bytes", line+1, maxDEBDLine)
		}
		return nil, err
	}
	if d.N == 0 {
		return nil, errors.New("no rows")
	}
	d.Shape = []int{d.D}
	return d, nil
}

// clip shortens a field for an error message.
func clip(b []byte) string {
	const n = 20
	if len(b) > n {
		return string(b[:n]) + "..."
	}
	return string(b)
}

// ReadDEBDFile reads the DEBD file at path; errors name the file. The
// dataset's Name is the file name.
func ReadDEBDFile(path string) (d *Dataset, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer func() {
		if cerr := f.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("close %s: %w", path, cerr)
		}
	}()
	d, err = ReadDEBD(f)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	d.Name = filepath.Base(path)
	return d, nil
}

// DEBD loads the binary density-estimation benchmark name (nltcs, plants,
// ...) from dir: the files NAME.train.data, NAME.valid.data and
// NAME.test.data in dir/NAME or, failing that, in dir itself. The three
// files must have the same number of variables. The official validation
// file is used, so opt.ValidFraction and opt.Seed are ignored, and only the
// Raw binarization is accepted.
func DEBD(dir, name string, opt Options) (Splits, error) {
	if opt.Binarize != Raw {
		return Splits{}, fmt.Errorf("debd %s: binarization %v asked for data that are already binary", name, opt.Binarize)
	}
	base := filepath.Join(dir, name)
	if _, err := os.Stat(filepath.Join(base, name+".train.data")); errors.Is(err, fs.ErrNotExist) {
		base = dir
	}
	var parts [3]*Dataset
	for i, split := range []string{"train", "valid", "test"} {
		path := filepath.Join(base, name+"."+split+".data")
		if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
			return Splits{}, fmt.Errorf("debd %s: %s not found (want %s.{train,valid,test}.data in %s or %s; the sets are in the DEBD repository, github.com/arranger1044/DEBD)", name, path, name, filepath.Join(dir, name), dir)
		}
		d, err := ReadDEBDFile(path)
		if err != nil {
			return Splits{}, fmt.Errorf("debd %s: %w", name, err)
		}
		if i > 0 && d.D != parts[0].D {
			return Splits{}, fmt.Errorf("debd %s: %s has %d variables, the train file %d", name, path, d.D, parts[0].D)
		}
		d.Name = name
		parts[i] = d
	}
	return Splits{Train: parts[0], Valid: parts[1], Test: parts[2]}, nil
}
