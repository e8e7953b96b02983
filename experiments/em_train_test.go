package experiments

import (
	"context"
	"encoding/json"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenpc/tenpc/circuit"
)

// emDEBDConfig is EM on the small nltcs set with Bernoulli inputs and an
// HCLT (cl, CP-R, K = 4).
func emDEBDConfig(t *testing.T) TrainConfig {
	cfg := DefaultTrainConfig()
	cfg.Dataset = "debd:" + filepath.Join("..", "testdata", "debd", "nltcs-small")
	cfg.RG, cfg.Layer, cfg.Units, cfg.Input = "cl", circuit.CPR, 4, circuit.Bernoulli
	cfg.Optimizer, cfg.BatchSize, cfg.Patience = EM, 100, 0
	cfg.Out = filepath.Join(t.TempDir(), "run")
	return cfg
}

// Full-batch EM takes one M-step an epoch; the epoch's training NLL is that
// of the parameters before it (they do not move during the epoch), so with
// step size 1 and no smoothing it never rises.
func TestTrainEMFullBatch(t *testing.T) {
	cfg := emDEBDConfig(t)
	cfg.LR, cfg.FullBatch, cfg.Epochs = 1, true, 6
	res, err := Train(context.Background(), cfg, quietLogger())
	require.NoError(t, err)
	for i, m := range res.History {
		assert.Equal(t, i+1, m.Steps, "M-steps after epoch %d", m.Epoch)
		if i > 0 {
			assert.LessOrEqual(t, m.TrainNLL, res.History[i-1].TrainNLL*(1+1e-6), "epoch %d", m.Epoch)
		}
	}
	assert.Less(t, res.History[5].TrainNLL, res.History[0].TrainNLL-0.5, "EM learnt nothing")
}

// Online EM with smoothing and a decaying step size trains, resumes from
// its checkpoint as if never interrupted, and its settings are part of the
// run's configuration.
func TestTrainEMOnlineSmoothedResumes(t *testing.T) {
	cfg := emDEBDConfig(t)
	cfg.LR, cfg.PseudoCount, cfg.EMDecay, cfg.Epochs = 0.5, 0.1, 0.7, 3
	full, err := Train(context.Background(), cfg, quietLogger())
	require.NoError(t, err)
	assert.Less(t, full.History[2].ValidNLL, full.History[0].ValidNLL)

	split := cfg
	split.Out, split.Epochs = filepath.Join(t.TempDir(), "split"), 1
	_, err = Train(context.Background(), split, quietLogger())
	require.NoError(t, err)
	split.Epochs, split.Resume = 3, true
	got, err := Train(context.Background(), split, quietLogger())
	require.NoError(t, err)
	assert.Equal(t, full.Test.LL, got.Test.LL)

	other := split
	other.PseudoCount = 0.2
	_, err = Train(context.Background(), other, quietLogger())
	assert.ErrorContains(t, err, "pseudo_count")

	b, err := json.Marshal(cfg)
	require.NoError(t, err)
	var back TrainConfig
	require.NoError(t, json.Unmarshal(b, &back))
	assert.Equal(t, cfg, back)
}

func TestEMConfigValidate(t *testing.T) {
	for _, edit := range []func(*TrainConfig){
		func(c *TrainConfig) { c.PseudoCount = 1 },
		func(c *TrainConfig) { c.FullBatch = true },
		func(c *TrainConfig) { c.EMDecay = 0.5 },
		func(c *TrainConfig) { c.Optimizer, c.PseudoCount = EM, -1 },
		func(c *TrainConfig) { c.Optimizer, c.EMDecay = EM, -0.5 },
	} {
		cfg := DefaultTrainConfig()
		cfg.Out = "x"
		edit(&cfg)
		assert.True(t, IsInputError(cfg.Validate()), "%+v", cfg)
	}
	cfg := DefaultTrainConfig()
	cfg.Out, cfg.Optimizer, cfg.LR, cfg.PseudoCount, cfg.FullBatch, cfg.EMDecay = "x", EM, 1, 0.5, true, 0.6
	require.NoError(t, cfg.Validate())
	ec := emConfig(cfg, 1000)
	assert.Equal(t, circuit.EMConfig{StepSize: 1, PseudoCount: 0.5, Batches: 4, Schedule: circuit.EMDecay{Base: 1, Kappa: 0.6, Every: 1}}, ec)
	cfg.FullBatch = false
	assert.Equal(t, circuit.EMDecay{Base: 1, Kappa: 0.6, Every: 4}, emConfig(cfg, 1000).Schedule)
}

// EM may start from a model trained with softmax weights (-init, -param
// exp): it reads the logits as exp weights and normalizes them per sum
// unit, the same distribution, so full-batch EM's first epoch reports the
// model's own training NLL. Other optimizers keep the parameterization.
func TestTrainEMFromSoftmax(t *testing.T) {
	adam := emDEBDConfig(t)
	adam.Input, adam.Param, adam.Optimizer, adam.LR, adam.Epochs = circuit.Categorical, circuit.Softmax, Adam, 0.05, 3
	res, err := Train(context.Background(), adam, quietLogger())
	require.NoError(t, err)
	ev, err := Evaluate(EvalConfig{Model: res.Model, Split: "train"})
	require.NoError(t, err)

	cfg := DefaultTrainConfig()
	cfg.Dataset, cfg.Init, cfg.Param, cfg.Optimizer = adam.Dataset, res.Model, circuit.Exp, EM
	cfg.LR, cfg.FullBatch, cfg.BatchSize, cfg.Epochs = 1, true, 800, 2
	cfg.Out = filepath.Join(t.TempDir(), "em")
	require.NoError(t, cfg.ArchFromInit(map[string]bool{"param": true}))
	assert.Equal(t, circuit.Exp, cfg.Param)
	em, err := Train(context.Background(), cfg, quietLogger())
	require.NoError(t, err)
	assert.InDelta(t, -ev.LL, em.History[0].TrainNLL, 1e-4*-ev.LL, "EM's first epoch starts from the softmax model")
	assert.Less(t, em.History[1].TrainNLL, em.History[0].TrainNLL, "EM's M-step")

	other := cfg
	other.Optimizer, other.LR, other.FullBatch = Adam, 0.01, false
	err = other.ArchFromInit(map[string]bool{"param": true})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "-param exp contradicts the model, whose param is softmax")
}
