package optim

import (
	"math"
	"testing"

	"github.com/tenpc/tenpc/nn"
)

func TestSchedules(t *testing.T) {
	cos := Cosine{Base: 0.1, Min: 0.01, Steps: 4}
	for _, tc := range []struct {
		name string
		s    Schedule
		step int
		want float64
	}{
		{"constant", Constant(0.01), 0, 0.01},
		{"constant later", Constant(0.01), 1000, 0.01},

		{"step decay first", StepDecay{Base: 1, Gamma: 0.5, Every: 3}, 0, 1},
		{"step decay before", StepDecay{Base: 1, Gamma: 0.5, Every: 3}, 2, 1},
		{"step decay at", StepDecay{Base: 1, Gamma: 0.5, Every: 3}, 3, 0.5},
		{"step decay twice", StepDecay{Base: 1, Gamma: 0.5, Every: 3}, 7, 0.25},
		{"step decay default gamma", StepDecay{Base: 2, Every: 10}, 25, 2 * 0.1 * 0.1},
		{"step decay never", StepDecay{Base: 2, Gamma: 0.5}, 25, 2},

		// cos(π·t/4) = 1, √½, 0, -√½, -1.
		{"cosine start", cos, 0, 0.1},
		{"cosine quarter", cos, 1, 0.01 + 0.09*(1+math.Sqrt2/2)/2},
		{"cosine half", cos, 2, 0.055},
		{"cosine three quarters", cos, 3, 0.01 + 0.09*(1-math.Sqrt2/2)/2},
		{"cosine end", cos, 4, 0.01},
		{"cosine after", cos, 9, 0.01},
		{"cosine no length", Cosine{Base: 0.3, Steps: 0}, 5, 0.3},

		// Warm-up of 3 steps: 1/4, 2/4, 3/4 of Then.LR(0), then Then from 0.
		{"warm-up first", WarmUp{Steps: 3, Then: cos}, 0, 0.025},
		{"warm-up second", WarmUp{Steps: 3, Then: cos}, 1, 0.05},
		{"warm-up third", WarmUp{Steps: 3, Then: cos}, 2, 0.075},
		{"warm-up over", WarmUp{Steps: 3, Then: cos}, 3, 0.1},
		{"warm-up then cosine half", WarmUp{Steps: 3, Then: cos}, 5, 0.055},
		{"warm-up then cosine end", WarmUp{Steps: 3, Then: cos}, 7, 0.01},
		{"no warm-up", WarmUp{Then: Constant(0.2)}, 0, 0.2},

		{"func", ScheduleFunc(func(t int) float64 { return 1 / float64(t+1) }), 3, 0.25},
	} {
		if got := tc.s.LR(tc.step); math.Abs(got-tc.want) > 1e-15 {
			t.Errorf("%s: LR(%d) = %.17g, want %.17g", tc.name, tc.step, got, tc.want)
		}
	}
}

// TestScheduleAppliedPerStep checks that a configured schedule sets the rate
// of each step from the step count, overriding LR and SetLR: plain SGD with
// gradient 1 moves by exactly the rate.
func TestScheduleAppliedPerStep(t *testing.T) {
	s := StepDecay{Base: 1, Gamma: 0.5, Every: 2}
	p := param64("p", 0)
	opt := NewSGD(nn.Named(p), SGDConfig{LR: 123, Schedule: s})
	want := 0.0
	for step, rate := range []float64{1, 1, 0.5, 0.5, 0.25} {
		if opt.LR() != rate {
			t.Errorf("LR() before step %d = %v, want %v", step, opt.LR(), rate)
		}
		opt.SetLR(99) // overridden by the schedule
		setGrad(p, 1)
		opt.Step()
		want -= rate
		near(t, "value", p.Value(), []float64{want}, 0)
	}
}

// TestSchedulePerEpoch shows the other way: no configured schedule, SetLR
// once per epoch.
func TestSchedulePerEpoch(t *testing.T) {
	s := Cosine{Base: 0.1, Steps: 2}
	p := param64("p", 0)
	opt := NewSGD(nn.Named(p), SGDConfig{})
	want := 0.0
	for epoch := range 3 {
		opt.SetLR(s.LR(epoch))
		for range 2 { // two batches an epoch
			setGrad(p, 1)
			opt.Step()
			want -= s.LR(epoch)
		}
	}
	near(t, "value", p.Value(), []float64{want}, 1e-15)
	if want != -0.3 {
		t.Errorf("rates summed to %v, want -(2·0.1 + 2·0.05 + 2·0)", want)
	}
}

func TestBadSchedulePanics(t *testing.T) {
	p := param64("p", 0)
	opt := NewSGD(nn.Named(p), SGDConfig{Schedule: ScheduleFunc(func(t int) float64 {
		if t == 1 {
			return math.NaN()
		}
		return 0.1
	})})
	defer func() {
		if recover() == nil {
			t.Error("a NaN rate from the schedule did not panic")
		}
	}()
	opt.Step()
}
