package experiments

import "github.com/tenpc/tenpc/circuit"

// ParseLayer parses a sum-product layer name ("cp", "cp-r", "cp-s", "cp-xs"
// or "tucker"), so that commands need not import circuit.
func ParseLayer(s string) (circuit.Layer, error) { return circuit.ParseLayer(s) }

// ParseInput parses an input distribution name ("categorical",
// "bernoulli", "binomial" or "gaussian").
func ParseInput(s string) (circuit.InputKind, error) { return circuit.ParseInput(s) }

// ParseParam parses a weight parameterization name ("clamp", "softmax" or
// "exp").
func ParseParam(s string) (circuit.Param, error) { return circuit.ParseParam(s) }
