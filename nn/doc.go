// Package nn is tenpc's small neural-network layer over Gorgonia: typed
// graphs compiled into programs, parameters that live outside any graph,
// modules discovered by reflection, and custom fused ops. It is the only
// package besides optim that sees Gorgonia; users and the circuit package
// get the surface described here.
//
// # Model
//
// A Param is a trainable tensor (float32 or float64) with a gradient buffer.
// Its value lives outside every graph, so a training program and an
// evaluation program built from the same model share it, and an optimizer
// (package optim) updates it in place between runs.
//
// A model is a plain Go struct of *Param fields and sub-modules. Nothing is
// registered: NamedParams walks the struct by reflection. A training loop is
//
//	g := nn.NewGraph(nn.Float32)
//	loss := nn.CrossEntropy(model.Forward(g.Input("x", B, 1, 28, 28)), g.Labels("y", B))
//	prog, err := g.Compile(nn.Minimize(loss))
//	opt := optim.NewAdam(nn.NamedParams(model), optim.AdamConfig{LR: 1e-3})
//	for each batch {
//		prog.Step(nn.Feed{"x": pixels, "y": labels})
//		opt.Step()
//	}
//
// # Graphs and programs
//
// A Graph is built once and compiled once. Its leaves are inputs
// (Graph.Input for floats, Graph.InputOf for Uint8 category data,
// Graph.Labels for Int class labels), parameters (Graph.Param, which later
// calls repeat) and constants (Graph.Const, graph leaves that are never
// differentiated). Ops build on nodes; Graph.Output names nodes to read back.
// Shapes are fixed when the graph is built: a batch of another size needs
// another graph.
//
// Graph.Compile makes a Program. With Minimize(loss) the program also
// differentiates the scalar loss with respect to every non-frozen parameter
// it depends on, and Program.Step adds the gradients into the parameters'
// buffers (optimizers clear them). Program.Run feeds the inputs (a Feed maps
// input names to []float32, []float64, []uint8 or []int) and runs once;
// Program.Output returns a view of an output, valid until the next run.
//
// A program has a mode, fixed by Compile: compiled with Minimize it trains,
// without it evaluates; the Training option overrides either. Only
// mode-dependent layers read it: Dropout drops while training and is the
// identity while evaluating, as after PyTorch's model.train() and
// model.eval().
//
// # Ops
//
// Every op comments its shapes; the operand layout is row-major and images
// are NCHW.
//
//   - Elementwise: Add, Sub, Mul, Div broadcast by NumPy's rules (aligned
//     from the right, each pair of dimensions equal or one of them 1); Neg,
//     Square, Exp, Log, Scale; activations ReLU, Tanh, Sigmoid.
//   - Reductions along any axis: SumAxis, MaxAxis, LogSumExp; Sum and Mean
//     of everything; Softmax and LogSoftmax.
//   - Linear algebra and layout: MatMul, Einsum, Reshape (a copy),
//     Transpose, Flatten, Gather, Concat, Stack.
//   - Data: Lookup (per-column embedding tables indexed by category data),
//     ToFloat (category data or masks as floats), StopGradient.
//   - Images: Convolve2d and MaxPool (and the modules Conv2d, MaxPool2d).
//   - Losses: CrossEntropy and NLL over integer labels; Accuracy and Argmax
//     read a program's logits.
//
// A wiring mistake (shapes that do not fit, operands of two graphs) is a
// programmer error: the op panics with a *ShapeError naming the op and the
// operands' shapes. Naming mistakes (two inputs with one name) are returned
// by Compile; bad data (a feed of the wrong length, a label outside its
// class range) by Run and Step; a NaN or infinite gradient by Step, as a
// *NonFiniteError naming the parameter.
//
// # Modules and parameter naming
//
// Module (Forward(x) -> y) is the single-input interface that Sequential
// chains and Func adapts functions to. A module of several inputs may give
// Forward any signature (Forward(x, h *Node) *Node); MultiModule is the
// variadic form, FuncN its function adapter, and Parallel feeds one input to
// several branches and merges them with a MultiModule. Params does not care
// about Forward at all: it finds parameters in any struct.
//
// NamedParams names each parameter by its path in the model: exported
// fields in snake_case ("InputLayer" -> "input_layer"), slice and array
// elements by index, so the weight of the second block's projection reads
// "blocks.1.proj.weight". A field tag `nn:"name"` renames a field, `nn:"-"`
// skips it; a parameter reached twice keeps its first path. These names key
// SaveModule, LoadModule and optimizer state. They are computed on every
// call, never stored in the parameters (a Param keeps the local name it was
// created with), so listing a sub-module gives paths relative to it and
// changes nothing else. Prefix (or one struct holding several modules)
// gives an optimizer the parameters of several modules under distinct
// names; Params is NamedParams without the names; ParamNames makes a
// program's errors use them.
//
// Summary prints a module tree the way PyTorch's print(model) and torchinfo
// do: each module's path, type, shape (modules that implement Describer)
// and parameter count, then the total.
//
// Built-in modules: Linear, Conv2d, MaxPool2d, Dropout, Sequential,
// Parallel, Func, FuncN. Initialisers UniformInit and NormalInit draw from a
// caller's *rand.Rand; constructors take one, so the same seed gives the
// same model.
//
// # Tensorized layers
//
// MPOLinear (tensor train), TuckerLinear and CPLinear are linear layers
// whose weight matrix, reshaped into a tensor of modes, is a tensor network
// (the TNLinear interface); TNConv2d is a convolution whose kernel is one.
// Forward contracts the factors with the input one at a time, never forming
// W; MPOFromDense, TuckerFromDense and CPFromDense fit them to a dense W
// through package decomp (TT-SVD, HOSVD, CP-ALS), with ranks given or
// chosen by a tolerance. Each reports its parameters and FLOPs,
// reconstructs W (Dense), and exposes its bonds: singular-value spectra,
// activation statistics for a batch, and the layer as a stack of sparse
// matrices. docs/TNN.md describes the contraction orders and their costs.
//
// # Fused ops
//
// A Fused op is a custom operation with a hand-written backward, for work
// that stock ops would spread over many small steps (a folded circuit
// layer) or that stock ops do not offer (NLL over integer labels, seeded
// dropout). Apply wires it into a graph. The framework owns the output and
// gradient buffers and reuses them across runs; Forward writes every
// element of the output, Backward adds each input's gradient. Between fused
// ops gradients bypass Gorgonia (a scalar token orders the backward ops);
// a fused output that any stock op reads gets its gradient through
// Gorgonia instead, so fused and stock ops mix freely in one graph with
// exact gradients (fused_test.go, lookup_test.go check finite differences
// of such graphs). GradOverwriter, FreshWriter and Identity let an op skip
// clearing or copying buffers. Buffers carry their Device (the CPU only,
// today), for a backend on an accelerator.
//
// # Gorgonia defects worked around
//
// Gorgonia v0.9.18 has defects on the paths this package needs;
// gorgonia_defects_test.go shows each one against a loop-computed truth, so
// an upgrade that fixes one fails that test and the workaround can go.
//
//   - LogSumExp uses a wrong formula on vectors and fails to build on
//     matrices: LogSumExp, Softmax and LogSoftmax are this package's own ops.
//   - Sum and Max along a middle axis of a 4-D or larger tensor are wrong:
//     SumAxis and MaxAxis are this package's own ops (Sum of everything
//     still uses Gorgonia's, which is right).
//   - The backward of ByIndices is wrong off axis 0 (and can panic): Gather
//     is this package's own op.
//   - Constants belong to no graph, so an op on constants alone, or reading
//     one, fails with "No Graph Supplied": Graph.Const makes a graph leaf.
//   - Dropout draws from a generator seeded with the clock: Dropout is a
//     fused op with the caller's generator.
//   - Reshape returns a view that shares its input's storage while the
//     register allocator treats the two as distinct, so an in-place op on
//     the view can overwrite a live input: Reshape copies. Likewise a named
//     output is copied by an op that reads it when it is computed, rather
//     than read afterwards.
//
// Broadcasting arithmetic (one pass reading each operand through its
// broadcast strides), Exp and Log, Einsum's batched products, Concat and
// Stack are this package's own ops too, written like the reductions and
// run in parallel chunks on large tensors. Gorgonia's own ops are used
// where tests show them right: the elementwise arithmetic on equal shapes
// and activations, MatMul, Transpose, Conv2d (im2col and a GEMM) and
// MaxPool2D, whose forward passes match direct loops in float32 and float64
// and whose gradients match finite differences (conv_test.go,
// activation_test.go, broadcast_test.go).
package nn
