package nn

import (
	"fmt"

	"gorgonia.org/tensor"
)

// DType is the element type of a tensor: Float32 for training, Float64 for
// tests and gradient checks.
type DType int

const (
	Float32 DType = iota
	Float64
	// Uint8 is for data inputs (category indices), never for parameters.
	Uint8
	// Int is for integer data inputs (class labels), never for parameters.
	Int
)

func (d DType) String() string {
	switch d {
	case Float32:
		return "float32"
	case Float64:
		return "float64"
	case Uint8:
		return "uint8"
	case Int:
		return "int"
	}
	return fmt.Sprintf("DType(%d)", int(d))
}

// ParseDType parses "float32" or "float64".
func ParseDType(s string) (DType, error) {
	switch s {
	case "float32", "f32":
		return Float32, nil
	case "float64", "f64":
		return Float64, nil
	}
	return 0, fmt.Errorf("unknown dtype %q (want float32 or float64)", s)
}

// Size is the number of bytes of one element.
func (d DType) Size() int {
	switch d {
	case Float64:
		return 8
	case Uint8:
		return 1
	case Int:
		return 8
	}
	return 4
}

func (d DType) tensorType() tensor.Dtype {
	switch d {
	case Float64:
		return tensor.Float64
	case Uint8:
		return tensor.Uint8
	case Int:
		return tensor.Int
	}
	return tensor.Float32
}
