// Package optim trains nn.Params from their accumulated gradients: Adam
// (and AdamW), SGD with momentum (and Nesterov), gradient clipping by global
// norm, learning-rate schedules, and projections that keep parameters
// feasible after every step. Optimizer state is a list of named nn.Arrays
// saved and restored with the model.
//
// # The training loop
//
// An optimizer is built once over a fixed list of named parameters
// (nn.NamedParams of the model; nn.Prefix combines several modules'); each
// training step accumulates gradients (a compiled program's Step does it)
// and then calls the optimizer's Step:
//
//	opt := optim.NewAdam(nn.NamedParams(model), optim.AdamConfig{LR: 0.01})
//	for batch := range batches {
//		loss, err := prog.Step(batch) // forward + backward: fills the gradients
//		...
//		opt.Step() // clip → update → ClampMin → projections → zero gradients
//	}
//
// Step does, in order:
//
//  1. take the learning rate of this step from the schedule, if one is
//     configured;
//  2. clip the gradients of all non-frozen parameters together to
//     MaxGradNorm, if it is set;
//  3. update every non-frozen parameter in place;
//  4. run ClampMin, then the configured Projections, on the non-frozen
//     parameters;
//  5. zero the gradients of the non-frozen parameters, and count the step.
//
// Gradients accumulate until Step (or ZeroGrad) clears them, so several
// backward passes before one Step add up, as in PyTorch.
//
// # Settings
//
// AdamConfig and SGDConfig are plain structs whose zero value is PyTorch's
// defaults: a zero field means its documented default (LR 1e-3; Adam's β1
// 0.9, β2 0.999, ε 1e-8; no momentum, weight decay, clipping, schedule or
// extra projections). Validate reports a bad setting as an error; NewAdam and
// NewSGD panic on one, as they do on nil parameters and on two parameters
// with the same name (their state arrays would clash).
//
// # Update rules
//
// The rules are PyTorch's (torch.optim.Adam, AdamW and SGD), with t the
// 1-based step number, α the learning rate, λ the weight decay, g the
// gradient and θ the parameter:
//
//	Adam:   g ← g + λθ                       (L2, the default: WeightDecay)
//	        θ ← θ(1 - αλ)                    (AdamW: WeightDecay with Decoupled)
//	        m ← β1·m + (1-β1)·g
//	        v ← β2·v + (1-β2)·g²
//	        θ ← θ - α/(1-β1^t) · m / (√v/√(1-β2^t) + ε)
//
//	SGD:    g ← g + λθ
//	        b ← μb + g                       (with Momentum μ > 0; b starts at 0)
//	        g ← b, or g + μb with Nesterov
//	        θ ← θ - αg
//
// Each rule is one kernel written once over float32 and float64: a float32
// parameter keeps float32 state and is updated in float32 arithmetic (the
// step's coefficients, such as the bias corrections, are computed in
// float64 first), a float64 parameter in float64.
//
// # Gradient clipping
//
// ClipGradNorm scales the gradients of the non-frozen parameters so that
// their global L2 norm, accumulated in float64 over every element of every
// parameter, is at most a bound, and returns the norm before clipping (log it
// to watch training). The scale is exactly bound/norm, so the clipped norm is
// the bound up to rounding. A NaN or infinite norm leaves the gradients
// alone. GradNorm computes the norm without clipping. Setting MaxGradNorm in
// a config clips before every update.
//
// # Learning-rate schedules
//
// A Schedule maps a step index to a rate: Constant, StepDecay, Cosine, and
// WarmUp (a linear ramp in front of any other schedule), or any function
// through ScheduleFunc. A schedule set in a config is applied per optimizer
// step: the step with index t (0 for the first; Steps() before the call)
// runs at Schedule.LR(t), whatever LR or SetLR said. To change the rate per
// epoch instead, leave the schedule out and call
//
//	opt.SetLR(schedule.LR(epoch))
//
// at the start of every epoch. LR reports the rate the next step will use.
//
// # Bounds and projections
//
// A parameter may carry a lower bound (nn.Param.SetMin). Every optimizer
// runs ClampMin after every update, so a bounded parameter's values, NaNs
// included, are at least the bound after every step; a parameter without a
// bound (the default, Min = -Inf) is untouched by it. This is the clamp
// parameterization of circuit weights: the circuit package sets the bound
// (1.08e-19) and needs nothing from the optimizer's configuration. Further
// projections (a Projection is a func([]*nn.Param)) run after ClampMin, in
// the order configured.
//
// # Frozen parameters
//
// A frozen parameter (nn.Param.Freeze) is skipped entirely: its value,
// gradient and optimizer state are not touched by Step or ZeroGrad, its
// gradient does not count in the clipping norm, and projections do not see
// it. Its state is still allocated and saved, so freezing and unfreezing
// during training keeps the state file's layout.
//
// # Saving and restoring
//
// State returns copies of the optimizer's state as nn.Arrays: the step
// counter "<kind>.step" (int64, shape [1]) and the current rate "<kind>.lr"
// (float64, shape [1]), with kind "adam" or "sgd", and per parameter, in the
// parameter's shape and element type:
//
//	Adam:  "<name>.adam.m", "<name>.adam.v"   (first and second moments)
//	SGD:   "<name>.sgd.momentum"              (only with Momentum > 0)
//
// where <name> is the parameter's name in the list the optimizer was built
// over (its path in the model, from nn.NamedParams). Append them to the
// model's arrays in one nn.State and write it with nn.SaveState. LoadState takes all the
// arrays of a loaded state, finds its own by name and ignores the rest. It
// restores the step counter and the rate (as PyTorch's load_state_dict
// does; call SetLR afterwards to override), so a restored optimizer built
// with the same configuration continues bit for bit as if it had never
// stopped. A missing array, a wrong shape or element type, or another
// optimizer's state gives an error that wraps ErrState and names the array;
// the optimizer is unchanged then.
//
// Two optimizers whose states go into one file must be over parameters with
// different names; their "<kind>.step" arrays would still clash if they are
// of the same kind, so keep such states in separate files.
package optim
