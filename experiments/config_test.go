package experiments

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/tenpc/tenpc/circuit"
)

func TestTrainConfigJSONRoundTrip(t *testing.T) {
	cfg := DefaultTrainConfig()
	cfg.Layer, cfg.Input, cfg.Param, cfg.Optimizer = circuit.CPR, circuit.Binomial, circuit.Softmax, SGD
	cfg.Rank, cfg.TimeBudget, cfg.Out, cfg.Limit = 7, 90*time.Second, "x", 12
	cfg.Resume = true // not part of the JSON: how to treat the directory
	b, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"layer":"cp-r"`, `"input":"binomial"`, `"param":"softmax"`, `"optimizer":"sgd"`, `"time_budget":"1m30s"`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("JSON %s lacks %s", b, want)
		}
	}
	var back TrainConfig
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	cfg.Resume = false
	if back != cfg {
		t.Errorf("round trip:\n got %+v\nwant %+v", back, cfg)
	}
	if err := json.Unmarshal([]byte(`{"layer":"cp","input":"categorical","param":"clamp","optimizer":"lbfgs"}`), &back); err == nil {
		t.Error("an unknown optimizer name was accepted")
	}
}

func TestSameRun(t *testing.T) {
	a := DefaultTrainConfig()
	b := a
	b.Epochs, b.TimeBudget, b.Resume, b.Out = 500, time.Hour, true, "elsewhere"
	if d := a.sameRun(b); d != "" {
		t.Errorf("epochs, budget, resume and out may change on resume; got %q", d)
	}
	b.Units = 32
	if d := a.sameRun(b); !strings.Contains(d, "k is 16 here, 32 in the run") {
		t.Errorf("sameRun = %q", d)
	}
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
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%+v: %v", c, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want) || !IsInputError(err)):
			t.Errorf("%+v: error %v, want an input error containing %q", c, err, tc.want)
		}
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
		if (err == nil) != tc.ok || tc.ok && (s.Kind != tc.kind || s.Path != tc.path || s.String() != strings.TrimSuffix(tc.in, "/")) {
			t.Errorf("ParseDatasetSpec(%q) = %+v, %v", tc.in, s, err)
		}
	}
}

func TestEpochRandIsPerEpoch(t *testing.T) {
	a, b, c := epochRand(42, 3).Uint64(), epochRand(42, 3).Uint64(), epochRand(42, 4).Uint64()
	if a != b || a == c || a == epochRand(43, 3).Uint64() {
		t.Errorf("epoch generators: (42,3) %x %x, (42,4) %x", a, b, c)
	}
}
