package experiments

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenpc/tenpc/circuit"
)

func TestTrainConfigJSONRoundTrip(t *testing.T) {
	cfg := DefaultTrainConfig()
	cfg.Layer, cfg.Input, cfg.Param, cfg.Optimizer = circuit.CPR, circuit.Binomial, circuit.Softmax, SGD
	cfg.Rank, cfg.TimeBudget, cfg.Out, cfg.Limit = 7, 90*time.Second, "x", 12
	cfg.LRDecay, cfg.LRPatience, cfg.Soften = 0.5, 3, 0.999
	cfg.Resume = true // not part of the JSON: how to treat the directory
	b, err := json.Marshal(cfg)
	require.NoError(t, err)
	for _, want := range []string{`"layer":"cp-r"`, `"input":"binomial"`, `"param":"softmax"`, `"optimizer":"sgd"`, `"time_budget":"1m30s"`, `"lr_decay":0.5`, `"lr_patience":3`, `"soften":0.999`} {
		assert.Contains(t, string(b), want, "JSON")
	}
	var back TrainConfig
	require.NoError(t, json.Unmarshal(b, &back))
	cfg.Resume = false
	assert.Equal(t, cfg, back, "round trip")
	assert.Error(t, json.Unmarshal([]byte(`{"layer":"cp","input":"categorical","param":"clamp","optimizer":"lbfgs"}`), &back),
		"an unknown optimizer name was accepted")
}

func TestSameRun(t *testing.T) {
	a := DefaultTrainConfig()
	b := a
	b.Epochs, b.TimeBudget, b.Resume, b.Out = 500, time.Hour, true, "elsewhere"
	assert.Empty(t, a.sameRun(b), "epochs, budget, resume and out may change on resume")
	b.Units = 32
	assert.Contains(t, a.sameRun(b), "k is 16 here, 32 in the run", "sameRun")
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		edit func(*TrainConfig)
		want string // "" = valid
	}{
		{func(c *TrainConfig) {}, ""},
		{func(c *TrainConfig) { c.Units = 0 }, "K (units)"},
		{func(c *TrainConfig) { c.Rank = 4 }, "cp-r"},
		{func(c *TrainConfig) { c.Layer, c.Rank = circuit.CPR, 4 }, ""},
		{func(c *TrainConfig) { c.Optimizer, c.LR = EM, 0.05 }, ""},
		{func(c *TrainConfig) { c.Optimizer, c.LR = EM, 1.5 }, "step size in (0, 1]"},
		{func(c *TrainConfig) { c.LR = 0 }, "learning rate"},
		{func(c *TrainConfig) { c.LRDecay, c.LRPatience = 0.5, 2 }, ""},
		{func(c *TrainConfig) { c.LRDecay, c.LRPatience = 1, 2 }, "-lr-decay must be in [0, 1)"},
		{func(c *TrainConfig) { c.LRDecay = 0.5 }, "-lr-patience ≥ 1"},
		{func(c *TrainConfig) { c.Optimizer, c.LR, c.LRDecay, c.LRPatience = EM, 0.5, 0.5, 2 }, "-em-decay"},
		{func(c *TrainConfig) { c.Soften = 0.99 }, ""},
		{func(c *TrainConfig) { c.Soften = 1.2 }, "-soften 1.2"},
		{func(c *TrainConfig) { c.Soften = -0.5 }, "-soften -0.5"},
		{func(c *TrainConfig) { c.ValidFraction = 1 }, "validation fraction"},
		{func(c *TrainConfig) { c.Resume, c.Force = true, true }, "contradict"},
		{func(c *TrainConfig) { c.Resume, c.Init = true, "m" }, "contradict"},
		{func(c *TrainConfig) { c.Dataset = "svhn" }, `"svhn"`},
		{func(c *TrainConfig) { c.Out = "" }, "output directory"},
	} {
		c := DefaultTrainConfig()
		c.Out = "o"
		tc.edit(&c)
		err := c.Validate()
		if tc.want == "" {
			assert.NoError(t, err, "%+v", c)
			continue
		}
		assert.ErrorContains(t, err, tc.want, "%+v", c)
		assert.True(t, IsInputError(err), "%+v: error %v is not an input error", c, err)
	}
}

func TestParseDatasetSpec(t *testing.T) {
	for _, tc := range []struct {
		in   string
		kind DatasetKind
		path string
		ok   bool
	}{
		{"mnist", MNIST, "", true},
		{"fashion-mnist", FashionMNIST, "", true},
		{"debd:/a/b/nltcs/", DEBD, "/a/b/nltcs", true},
		{"images:celeba", Images, "celeba", true},
		{"debd:", 0, "", false},
		{"images:", 0, "", false},
		{"MNIST", 0, "", false},
	} {
		s, err := ParseDatasetSpec(tc.in)
		if !tc.ok {
			assert.Error(t, err, "ParseDatasetSpec(%q) = %+v", tc.in, s)
			continue
		}
		if assert.NoError(t, err, "ParseDatasetSpec(%q)", tc.in) {
			assert.Equal(t, tc.kind, s.Kind, "ParseDatasetSpec(%q) kind", tc.in)
			assert.Equal(t, tc.path, s.Path, "ParseDatasetSpec(%q) path", tc.in)
			assert.Equal(t, strings.TrimSuffix(tc.in, "/"), s.String(), "ParseDatasetSpec(%q) String", tc.in)
		}
	}
}

func TestEpochRandIsPerEpoch(t *testing.T) {
	a := epochRand(42, 3).Uint64()
	assert.Equal(t, a, epochRand(42, 3).Uint64(), "seed 42 epoch 3, twice")
	assert.NotEqual(t, a, epochRand(42, 4).Uint64(), "seed 42, epochs 3 and 4")
	assert.NotEqual(t, a, epochRand(43, 3).Uint64(), "epoch 3, seeds 42 and 43")
}
