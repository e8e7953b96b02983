package experiments

import (
	"strings"

	"github.com/tenpc/tenpc/circuit"
)

// ParseLayer parses a sum-product layer name: a built-in one ("cp",
// "cp-r", "cp-s", "cp-xs" or "tucker") or one registered with
// circuit.RegisterLayer by a package the program imports, so that commands
// need not import circuit.
func ParseLayer(s string) (circuit.Layer, error) { return circuit.ParseLayer(s) }

// LayerNames lists the registered layer names, comma-separated, for help
// texts.
func LayerNames() string {
	var names []string
	for _, l := range circuit.LayerNames() {
		names = append(names, string(l))
	}
	return strings.Join(names, ", ")
}

// Engine is how compiled programs compute a circuit's layers (see
// circuit.Engine), named here so that commands need not import circuit.
type Engine = circuit.Engine

// The engines.
const (
	FusedEngine = circuit.Fused
	GraphEngine = circuit.Graph
)

// ParseEngine parses an engine name ("fused" or "graph").
func ParseEngine(s string) (Engine, error) { return circuit.ParseEngine(s) }

// ParseInput parses an input distribution name ("categorical",
// "bernoulli", "binomial" or "gaussian").
func ParseInput(s string) (circuit.InputKind, error) { return circuit.ParseInput(s) }

// ParseParam parses a weight parameterization name ("clamp", "softmax",
// "exp" or "real").
func ParseParam(s string) (circuit.Param, error) { return circuit.ParseParam(s) }

// ParseInit parses a weight initializer name ("uniform", "normal" or
// "dirichlet").
func ParseInit(s string) (circuit.Init, error) { return circuit.ParseInit(s) }
