package experiments

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"strconv"
	"strings"

	"github.com/tenpc/tenpc/circuit"
	"github.com/tenpc/tenpc/nn"
	"github.com/tenpc/tenpc/regiongraph"
)

// A model file is one nn state file (atomic, checksummed; see nn.SaveState)
// holding the circuit's parameters under their module names and this
// metadata:
//
//	format          "tenpc-model"
//	format_version  ModelVersion
//	kind            "model" (a trained model) or "checkpoint" (a training
//	                run's last epoch, with the optimizer's arrays and the
//	                run's progress besides)
//	arch            Arch as JSON: the region graph and the circuit options,
//	                enough to rebuild the circuit
//	info            ModelInfo as JSON: the data it was trained on, the
//	                training configuration and history, test results
const (
	modelFormat = "tenpc-model"
	// ModelVersion is the model file format version this build reads and
	// writes.
	ModelVersion = 1
)

// Arch is a circuit's architecture: what circuit.Build needs to rebuild it.
type Arch struct {
	RegionGraph json.RawMessage `json:"region_graph"`
	Layer       string          `json:"layer"`
	Units       int             `json:"units"`
	InputUnits  int             `json:"input_units"`
	Rank        int             `json:"rank"`
	Classes     int             `json:"classes"`
	Input       string          `json:"input"`
	Values      int             `json:"values"`
	Param       string          `json:"param"`
	Init        string          `json:"init"`
	LearnMixing bool            `json:"learn_mixing"`
	// MonoUnits is the K of a squared circuit's monotonic factor
	// (circuit.Options.MonoUnits; 0: none).
	MonoUnits int    `json:"mono_units,omitempty"`
	DType     string `json:"dtype"`
	// Columns are the input families of a circuit with mixed inputs
	// (circuit.Options.Columns); Input and Values do not apply then.
	Columns []ArchColumn `json:"columns,omitempty"`
}

// ArchColumn is one variable's input family in a model file.
type ArchColumn struct {
	Kind   string `json:"kind"`
	Values int    `json:"values,omitempty"`
}

// archOf describes c built over g.
func archOf(g *regiongraph.Graph, c *circuit.Circuit) (Arch, error) {
	raw, err := rgJSON(g)
	if err != nil {
		return Arch{}, err
	}
	// Compact, as encoding/json writes a RawMessage, so that an Arch read
	// back from a file compares equal to a fresh one.
	var rg bytes.Buffer
	if err := json.Compact(&rg, raw); err != nil {
		return Arch{}, err
	}
	o := c.Options()
	a := Arch{
		RegionGraph: rg.Bytes(), Layer: o.Layer.String(), Units: o.Units, InputUnits: o.InputUnits,
		Rank: o.Rank, Classes: o.Classes, Input: o.Input.String(), Values: o.Values,
		Param: o.Param.String(), Init: o.Init.String(), LearnMixing: o.LearnMixing, DType: o.DType.String(),
		MonoUnits: o.MonoUnits,
	}
	for _, col := range o.Columns {
		a.Columns = append(a.Columns, ArchColumn{Kind: col.Kind.String(), Values: col.Values})
	}
	return a, nil
}

// Equal reports whether a and b describe the same circuit.
func (a Arch) Equal(b Arch) bool {
	return a.Describe() == b.Describe() && bytes.Equal(a.RegionGraph, b.RegionGraph)
}

// Describe is a one-line summary without the region graph.
func (a Arch) Describe() string {
	inputs := fmt.Sprintf("%s inputs over %d values", a.Input, a.Values)
	if a.Columns != nil {
		cols := make([]string, len(a.Columns))
		for i, c := range a.Columns {
			cols[i] = c.Kind
			if c.Kind != circuit.Gaussian.String() {
				cols[i] += fmt.Sprintf("(%d)", c.Values)
			}
		}
		inputs = "mixed inputs " + strings.Join(cols, ",")
	}
	s := fmt.Sprintf("%s K=%d (input K=%d) %s, %s weights, %d root units, %s", a.Layer, a.Units, a.InputUnits, inputs, a.Param, a.Classes, a.DType)
	if a.Layer == circuit.CPR.String() {
		s += fmt.Sprintf(", rank %d", a.Rank)
	}
	if a.LearnMixing {
		s += ", learnt mixing"
	}
	if a.MonoUnits > 0 {
		s += fmt.Sprintf(", times a monotonic circuit of K=%d", a.MonoUnits)
	}
	return s
}

// build rebuilds the circuit a describes (with fresh parameters), refusing
// one of more than maxParams parameters (0: circuit's default limit).
func (a Arch) build(maxParams int64) (*regiongraph.Graph, *circuit.Circuit, error) {
	g, err := regiongraph.ReadJSON(bytes.NewReader(a.RegionGraph))
	if err != nil {
		return nil, nil, fmt.Errorf("region graph: %w", err)
	}
	var o circuit.Options
	if o.Layer, err = circuit.ParseLayer(a.Layer); err != nil {
		return nil, nil, err
	}
	if o.Input, err = circuit.ParseInput(a.Input); err != nil {
		return nil, nil, err
	}
	if o.Param, err = circuit.ParseParam(a.Param); err != nil {
		return nil, nil, err
	}
	if o.Init, err = circuit.ParseInit(a.Init); err != nil {
		return nil, nil, err
	}
	if o.DType, err = nn.ParseDType(a.DType); err != nil {
		return nil, nil, err
	}
	o.Units, o.InputUnits, o.Rank, o.Classes, o.Values, o.LearnMixing = a.Units, a.InputUnits, a.Rank, a.Classes, a.Values, a.LearnMixing
	o.MonoUnits = a.MonoUnits
	for i, c := range a.Columns {
		k, err := circuit.ParseInput(c.Kind)
		if err != nil {
			return nil, nil, fmt.Errorf("columns[%d]: %w", i, err)
		}
		o.Columns = append(o.Columns, circuit.Column{Kind: k, Values: c.Values})
	}
	o.MaxParams = maxParams
	c, err := circuit.Build(g, o)
	if err != nil {
		return nil, nil, err
	}
	return g, c, nil
}

// ModelInfo is what a model file records besides its architecture.
type ModelInfo struct {
	// Dataset, Shape, Values and NumVars describe the training data.
	Dataset string `json:"dataset"`
	Shape   []int  `json:"shape"`
	Values  int    `json:"values"`
	NumVars int    `json:"num_vars"`
	// BatchSize is the batch size evaluation runs with (the training one).
	BatchSize int `json:"batch_size"`
	// Config is the training run's configuration.
	Config *TrainConfig `json:"config,omitempty"`
	// History has one entry per completed epoch.
	History []EpochMetrics `json:"history,omitempty"`
	// BestEpoch is the epoch these parameters come from (0: not trained).
	BestEpoch int `json:"best_epoch"`
	// Test is the test-set result of the final model, once computed.
	Test *SplitResult `json:"test,omitempty"`
	// Scale maps the data's values to a Gaussian circuit's inputs (nil: the
	// raw values).
	Scale *Scaling `json:"scale,omitempty"`
	// Table describes the columns of a model trained on a table (a csv:
	// dataset) and how its continuous columns were standardized.
	Table *TableInfo `json:"table,omitempty"`
}

// Model is a circuit loaded from (or about to be written to) a model file.
type Model struct {
	Circuit *circuit.Circuit
	RG      *regiongraph.Graph
	Arch    Arch
	Info    ModelInfo
	// Kind is "model" or "checkpoint".
	Kind string
	// state is the file's content (checkpoints keep optimizer arrays and
	// progress in it).
	state *nn.State
}

// meta encodes m's metadata.
func (m *Model) meta() (map[string]string, error) {
	arch, err := json.Marshal(m.Arch)
	if err != nil {
		return nil, err
	}
	info, err := json.Marshal(m.Info)
	if err != nil {
		return nil, err
	}
	return map[string]string{
		"format":         modelFormat,
		"format_version": strconv.Itoa(ModelVersion),
		"kind":           m.Kind,
		"arch":           string(arch),
		"info":           string(info),
	}, nil
}

// Save writes m to path atomically as a model file (kind "model").
func (m *Model) Save(path string) error {
	m.Kind = "model"
	meta, err := m.meta()
	if err != nil {
		return fmt.Errorf("save model %s: %w", path, err)
	}
	if err := nn.SaveModule(path, m.Circuit, meta); err != nil {
		return fmt.Errorf("save model %s: %w", path, err)
	}
	return nil
}

// LoadModel reads a model file (or a training checkpoint) and rebuilds its
// circuit. A file that is missing, is not a tenpc model, has another format
// version, or whose parameters do not fit its architecture is an
// *InputError naming the file and the problem.
func LoadModel(path string) (*Model, error) {
	st, err := nn.LoadState(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, inputErrorf("model %s: no such file", path)
		}
		var pe *fs.PathError
		if errors.As(err, &pe) && !errors.Is(err, nn.ErrStateFormat) {
			return nil, fmt.Errorf("model %s: %w", path, err)
		}
		return nil, inputErrorf("model %s: %v", path, err)
	}
	return modelFromState(path, st)
}

// modelFromState checks the metadata of st, read from the model file path,
// rebuilds its circuit and loads the parameters, as LoadModel describes.
func modelFromState(path string, st *nn.State) (*Model, error) {
	if f := st.Meta["format"]; f != modelFormat {
		return nil, inputErrorf("model %s: not a tenpc model file (format %q, want %q)", path, f, modelFormat)
	}
	if v := st.Meta["format_version"]; v != strconv.Itoa(ModelVersion) {
		return nil, inputErrorf("model %s: format version %s, this tenpc reads version %d", path, v, ModelVersion)
	}
	m := &Model{Kind: st.Meta["kind"], state: st}
	if err := json.Unmarshal([]byte(st.Meta["arch"]), &m.Arch); err != nil {
		return nil, inputErrorf("model %s: bad architecture record: %v", path, err)
	}
	if err := json.Unmarshal([]byte(st.Meta["info"]), &m.Info); err != nil {
		return nil, inputErrorf("model %s: bad info record: %v", path, err)
	}
	// The file holds every parameter, so a circuit of more parameters than
	// its arrays have elements cannot fit it: refuse it before allocating
	// (a corrupt architecture record must not allocate gigabytes).
	elems := int64(1)
	for i := range st.Arrays {
		elems += int64(st.Arrays[i].Len())
	}
	var err error
	if m.RG, m.Circuit, err = m.Arch.build(elems); err != nil {
		return nil, inputErrorf("model %s: cannot rebuild its circuit (%s): %v", path, m.Arch.Describe(), err)
	}
	if err := nn.LoadModuleState(m.Circuit, st); err != nil {
		return nil, inputErrorf("model %s: parameters do not fit its architecture (%s): %v", path, m.Arch.Describe(), err)
	}
	if sc := m.Info.Scale; sc != nil {
		if err := sc.check(m.Circuit.Plan().NumVars); err != nil {
			return nil, inputErrorf("model %s: %v", path, err)
		}
	}
	// A NaN or infinite parameter would make every query NaN, and a run
	// resumed from it fail at its first step.
	for _, p := range m.Circuit.Params() {
		for i, v := range p.Value() {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return nil, inputErrorf("model %s: parameter %s is not finite (element %d is %v)", path, p.Name, i, v)
			}
		}
	}
	return m, nil
}
