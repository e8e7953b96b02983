package optim

import (
	"testing"

	"github.com/tenpc/tenpc/nn"
)

// benchStep times one Step over n parameters of type dt, in 16 tensors.
func benchStep(b *testing.B, dt nn.DType, n int, newOpt func([]*nn.Param) Optimizer) {
	params := make([]*nn.Param, 16)
	for i := range params {
		params[i] = nn.NewParam(string(rune('a'+i)), dt, n/16)
		params[i].SetMin(1e-19)
	}
	opt := newOpt(params)
	b.SetBytes(int64(n * dt.Size()))
	b.ResetTimer()
	for range b.N {
		opt.Step()
	}
}

func adam(ps []*nn.Param) Optimizer {
	return NewAdam(nn.Named(ps...), AdamConfig{LR: 0.01, MaxGradNorm: 1})
}
func sgdm(ps []*nn.Param) Optimizer {
	return NewSGD(nn.Named(ps...), SGDConfig{LR: 0.01, Momentum: 0.9})
}

func BenchmarkAdam1MFloat32(b *testing.B) { benchStep(b, nn.Float32, 1<<20, adam) }
func BenchmarkAdam1MFloat64(b *testing.B) { benchStep(b, nn.Float64, 1<<20, adam) }
func BenchmarkSGD1MFloat32(b *testing.B)  { benchStep(b, nn.Float32, 1<<20, sgdm) }
