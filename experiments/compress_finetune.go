package experiments

import (
	"strconv"

	"github.com/tenpc/tenpc/circuit"
)

// ArchSettings are the TrainConfig settings that fix a circuit's
// architecture, by the names `tenpc train` gives their flags (and
// config.json its keys): a model file given as Init determines them.
var ArchSettings = []string{"rg", "layer", "k", "rank", "mono-k", "input", "param", "scale"}

// emFromSoftmax reports whether a run asking for param with optimizer opt
// may start from a model whose weights are model: EM (exp weights) from a
// softmax model, whose logits EM normalizes per sum unit into the same
// distribution.
func emFromSoftmax(model, param circuit.Param, opt Optimizer) bool {
	return model == circuit.Softmax && param == circuit.Exp && opt == EM
}

// ArchFromInit sets c's architecture settings (ArchSettings: RG, Layer,
// Units, Rank, MonoUnits, Input, Param, Scale) to those of the model file c.Init, so
// that a run can start from any model, a compressed one included, without
// restating its architecture. A setting named in explicit (by its flag
// name) was chosen by the user and must agree with the model: one that
// contradicts it is an *InputError naming the flag, its value and the
// model's. A model that records no training configuration (and so no
// region-graph name or scale) needs those two given explicitly.
func (c *TrainConfig) ArchFromInit(explicit map[string]bool) error {
	if c.Init == "" {
		return nil
	}
	m, err := LoadModel(c.Init)
	if err != nil {
		return err
	}
	model := TrainConfig{Units: m.Arch.Units, MonoUnits: m.Arch.MonoUnits}
	if model.Layer, err = circuit.ParseLayer(m.Arch.Layer); err != nil {
		return inputErrorf("-init %s: %v", c.Init, err)
	}
	if model.Layer == circuit.CPR {
		model.Rank = m.Arch.Rank
	}
	if model.Input, err = circuit.ParseInput(m.Arch.Input); err != nil {
		return inputErrorf("-init %s: %v", c.Init, err)
	}
	if model.Param, err = circuit.ParseParam(m.Arch.Param); err != nil {
		return inputErrorf("-init %s: %v", c.Init, err)
	}
	known := map[string]bool{"layer": true, "k": true, "rank": true, "mono-k": true, "input": true, "param": true}
	if tc := m.Info.Config; tc != nil {
		model.RG, model.Scale = tc.RG, tc.Scale
		known["rg"], known["scale"] = true, true
	}

	// The settings' values as text, the user's (t == c) and the model's, for
	// the comparison and the message.
	value := func(t *TrainConfig, setting string) string {
		switch setting {
		case "rg":
			if spec, err := ParseRGSpec(t.RG); err == nil {
				return spec.String()
			}
			return t.RG
		case "layer":
			return t.Layer.String()
		case "k":
			return strconv.Itoa(t.Units)
		case "mono-k":
			return strconv.Itoa(t.MonoUnits)
		case "rank":
			// Rank 0 is K for cp-r layers; other layers have none.
			switch {
			case t.Rank > 0:
				return strconv.Itoa(t.Rank)
			case model.Layer != circuit.CPR:
				return "none"
			case t == c && explicit["k"]:
				return strconv.Itoa(c.Units)
			}
			return strconv.Itoa(model.Units)
		case "input":
			return t.Input.String()
		case "param":
			return t.Param.String()
		case "scale":
			return t.Scale.String()
		}
		panic("experiments: unknown architecture setting " + setting)
	}
	for _, s := range ArchSettings {
		switch {
		case !explicit[s] && !known[s]:
			return inputErrorf("-init %s: the model records no %s; pass -%s", c.Init, s, s)
		case s == "param" && emFromSoftmax(model.Param, c.Param, c.Optimizer):
			// EM reads the softmax logits as exp weights, which it
			// normalizes per sum unit: the same distribution.
		case explicit[s] && known[s] && value(c, s) != value(&model, s):
			shown := value(c, s)
			if s == "rank" && c.Rank == 0 && model.Layer == circuit.CPR {
				shown = "0 (K = " + shown + ")"
			}
			return inputErrorf("-init %s: -%s %s contradicts the model, whose %s is %s (leave -%s out to take the model's)",
				c.Init, s, shown, s, value(&model, s), s)
		}
	}
	for _, s := range ArchSettings {
		if explicit[s] || !known[s] {
			continue
		}
		switch s {
		case "rg":
			c.RG = model.RG
		case "layer":
			c.Layer = model.Layer
		case "k":
			c.Units = model.Units
		case "mono-k":
			c.MonoUnits = model.MonoUnits
		case "rank":
			c.Rank = model.Rank
		case "input":
			c.Input = model.Input
		case "param":
			c.Param = model.Param
		case "scale":
			c.Scale = model.Scale
		}
	}
	if explicit["rank"] && model.Layer == circuit.CPR {
		c.Rank = model.Rank // the same rank, -rank 0 being K
	}
	return nil
}
