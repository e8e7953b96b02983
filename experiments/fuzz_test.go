package experiments

import (
	"encoding/json"
	"math"
	"strings"
	"testing"

	"github.com/tenpc/tenpc/circuit"
	"github.com/tenpc/tenpc/nn"
	"github.com/tenpc/tenpc/optim"
	"github.com/tenpc/tenpc/regiongraph"
)

// smallModelState is the content of a model file (checkpoint true: a
// checkpoint, with Adam's arrays and a progress record) of a 2×2-pixel
// QG-CP circuit with K = 2 over 4 values.
func smallModelState(tb testing.TB, checkpoint bool) *nn.State {
	tb.Helper()
	rg, err := regiongraph.QuadGraph(regiongraph.Shape{C: 1, H: 2, W: 2})
	if err != nil {
		tb.Fatal(err)
	}
	c, err := circuit.Build(rg, circuit.Options{Units: 2, Values: 4, Seed: 1})
	if err != nil {
		tb.Fatal(err)
	}
	arch, err := archOf(rg, c)
	if err != nil {
		tb.Fatal(err)
	}
	cfg := DefaultTrainConfig()
	cfg.Out = "run"
	m := &Model{Circuit: c, RG: rg, Arch: arch, Kind: "model", Info: ModelInfo{
		Dataset: "mnist", Shape: []int{1, 2, 2}, Values: 4, NumVars: 4, BatchSize: 8, Config: &cfg,
		History: []EpochMetrics{{Epoch: 1, TrainNLL: 3, Steps: 2}}, BestEpoch: 1,
	}}
	meta, err := m.meta()
	if err != nil {
		tb.Fatal(err)
	}
	st := nn.ModuleState(c, meta)
	if checkpoint {
		st.Meta["kind"] = "checkpoint"
		st.Meta["progress"] = `{"epoch":1,"best_valid_ll":-3,"best_epoch":1,"bad_epochs":0}`
		opt := optim.NewAdam(c.Params(), optim.AdamConfig{LR: 0.01})
		st.Arrays = append(st.Arrays, opt.State()...)
	}
	return st
}

// FuzzModelFile fuzzes what a model file or checkpoint holds beyond its
// framing (which FuzzReadState covers): the metadata records, the arrays'
// lengths, and one element's value. No input may panic; every refusal is an
// *InputError (a bad file is the user's input); an accepted model has only
// finite parameters, and an accepted checkpoint's optimizer state and
// progress load without panicking.
func FuzzModelFile(f *testing.F) {
	for _, ck := range []bool{false, true} {
		st := smallModelState(f, ck)
		f.Add(st.Meta["format_version"], st.Meta["kind"], st.Meta["arch"], st.Meta["info"], st.Meta["progress"], uint16(0), uint16(0), 0.0)
	}
	st := smallModelState(f, true)
	// Seeds for the paths the fuzzer finds slowly: a shorter array, a NaN
	// parameter, an architecture of far more parameters than the file holds.
	f.Add(st.Meta["format_version"], "checkpoint", st.Meta["arch"], st.Meta["info"], st.Meta["progress"], uint16(1), uint16(3), 0.0)
	f.Add(st.Meta["format_version"], "model", st.Meta["arch"], st.Meta["info"], "", uint16(0), uint16(0), math.NaN())
	var a map[string]any
	if err := json.Unmarshal([]byte(st.Meta["arch"]), &a); err != nil {
		f.Fatal(err)
	}
	a["units"] = 20000 // 4·10^8 weights: 1.6 GB allocated before the arrays were compared
	big, _ := json.Marshal(a)
	f.Add(st.Meta["format_version"], "model", string(big), st.Meta["info"], "", uint16(0), uint16(0), 0.0)

	f.Fuzz(func(t *testing.T, version, kind, arch, info, progressJSON string, arrayIdx, cut uint16, value float64) {
		st := smallModelState(t, kind == "checkpoint")
		st.Meta["format_version"], st.Meta["kind"], st.Meta["arch"], st.Meta["info"] = version, kind, arch, info
		st.Meta["progress"] = progressJSON
		arr := &st.Arrays[int(arrayIdx)%len(st.Arrays)]
		if cut > 0 {
			// Drop elements; the shape still says the old size, as a
			// file whose shape and data disagree would.
			switch {
			case arr.F32 != nil && int(cut) < len(arr.F32):
				arr.F32 = arr.F32[:len(arr.F32)-int(cut)]
				arr.Shape = []int{len(arr.F32)}
			case arr.I64 != nil:
				arr.Shape = []int{int(cut)}
				arr.I64 = make([]int64, cut)
			}
		}
		if arr.F32 != nil && value != 0 {
			arr.F32[0] = float32(value)
		}
		m, err := modelFromState("fuzz.tenpc", st)
		if err != nil {
			if !IsInputError(err) {
				t.Fatalf("refusal is not an InputError: %v", err)
			}
			return
		}
		for _, p := range m.Circuit.Params() {
			for _, v := range p.Value() {
				if math.IsNaN(v) || math.IsInf(v, 0) {
					t.Fatalf("accepted a model with a non-finite %s", p.Name)
				}
			}
		}
		if m.Kind == "checkpoint" {
			var p progress
			_ = json.Unmarshal([]byte(m.state.Meta["progress"]), &p)
			opt := optim.NewAdam(m.Circuit.Params(), optim.AdamConfig{LR: 0.01})
			_ = opt.LoadState(m.state.Arrays)
		}
	})
}

// FuzzTrainConfig fuzzes a run's config.json, which -resume and the
// recipes read back: decoding and validating never panic, a refusal by
// Validate is an *InputError, and a config that validates encodes and
// decodes to itself and is the same run as itself.
func FuzzTrainConfig(f *testing.F) {
	cfg := DefaultTrainConfig()
	cfg.Out, cfg.TimeBudget, cfg.MaxMemory, cfg.Init = "runs/x", 90e9, 1<<30, "m.tenpc"
	b, err := json.Marshal(cfg)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Add([]byte(`{"dataset":"debd:/d/nltcs","rg":"cl","layer":"cp-r","k":4,"rank":2,"input":"bernoulli","param":"softmax","optimizer":"em","lr":0.5,"batch_size":1,"epochs":1,"out":"o"}`))
	f.Add([]byte(`{"dataset":"images:/x","rg":"pd:3","layer":"tucker","time_budget":"-1s","valid_fraction":1}`))
	f.Add([]byte(`{"layer":"cq"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var c TrainConfig
		if err := json.Unmarshal(b, &c); err != nil {
			return
		}
		if err := c.Validate(); err != nil {
			if !IsInputError(err) {
				t.Fatalf("Validate: not an InputError: %v", err)
			}
			return
		}
		if d := c.sameRun(c); d != "" {
			t.Fatalf("a config differs from itself: %s", d)
		}
		out, err := json.Marshal(c)
		if err != nil {
			t.Fatal(err)
		}
		var back TrainConfig
		if err := json.Unmarshal(out, &back); err != nil {
			t.Fatalf("decode %s: %v", out, err)
		}
		if back != c {
			t.Fatalf("round trip: %+v\nbecame %+v", c, back)
		}
	})
}

// FuzzParseBytes fuzzes -max-memory's parser: no panic, no negative size,
// and what FormatBytes writes parses back to within its rounding.
func FuzzParseBytes(f *testing.F) {
	for _, s := range []string{"512M", "2G", "1.5GiB", "64kb", "1000", "1e3K", "0x1p4M", " 7 T", "-1", "NaN", "9e18", "8E"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := ParseBytes(s)
		if err != nil {
			return
		}
		if n < 0 {
			t.Fatalf("ParseBytes(%q) = %d", s, n)
		}
		back, err := ParseBytes(FormatBytes(n))
		if err != nil {
			t.Fatalf("FormatBytes(%d) = %q does not parse: %v", n, FormatBytes(n), err)
		}
		if d := math.Abs(float64(back - n)); d > 0.006*float64(n) {
			t.Fatalf("%d → %q → %d", n, FormatBytes(n), back)
		}
	})
}

// TestModelFileContentRefused: the refusals FuzzModelFile relies on, each
// with the message that names the problem.
func TestModelFileContentRefused(t *testing.T) {
	if _, err := modelFromState("ok.tenpc", smallModelState(t, true)); err != nil {
		t.Fatalf("a valid checkpoint: %v", err)
	}
	for _, tc := range []struct {
		name string
		edit func(st *nn.State)
		want string
	}{
		{"NaN parameter", func(st *nn.State) { st.Arrays[0].F32[3] = float32(math.NaN()) }, "is not finite (element 3 is NaN)"},
		{"Inf parameter", func(st *nn.State) { st.Arrays[1].F32[0] = float32(math.Inf(-1)) }, "is not finite (element 0 is -Inf)"},
		{"huge architecture", func(st *nn.State) {
			var a map[string]any
			_ = json.Unmarshal([]byte(st.Meta["arch"]), &a)
			a["units"] = 20000
			b, _ := json.Marshal(a)
			st.Meta["arch"] = string(b)
		}, "exceed the limit"},
		{"short array", func(st *nn.State) {
			st.Arrays[0].F32 = st.Arrays[0].F32[:2]
			st.Arrays[0].Shape = []int{2}
		}, "do not fit its architecture"},
		{"bad arch JSON", func(st *nn.State) { st.Meta["arch"] = "{" }, "bad architecture record"},
		{"other version", func(st *nn.State) { st.Meta["format_version"] = "2" }, "format version 2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := smallModelState(t, true)
			tc.edit(st)
			_, err := modelFromState("bad.tenpc", st)
			if err == nil || !IsInputError(err) || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "bad.tenpc") {
				t.Fatalf("err = %v, want an InputError naming bad.tenpc with %q", err, tc.want)
			}
		})
	}
}
