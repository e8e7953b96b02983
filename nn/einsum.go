package nn

// einsum: general tensor contractions written as subscript strings, built
// from Gorgonia's differentiable ops (Transpose, Reshape, BatchedMatMul,
// HadamardProd) and the safe reductions and gather of this package, so the
// gradient comes from Gorgonia's autodiff.
//
// The plan, for a spec such as "fbi,fij->fbj":
//
//  1. parse: one subscript string per operand (letters a–z, A–Z; spaces
//     ignored), an optional "->" output; without it the output is every
//     letter that appears exactly once, in sorted (byte) order, as numpy.
//  2. bind sizes: a letter has one size across all operands, except that a
//     size of 1 broadcasts against a larger size (the size-1 axis is dropped
//     from that operand).
//  3. per operand: a letter repeated within one operand takes the diagonal
//     (a gather on the flattened operand), then letters that occur nowhere
//     else and not in the output are summed out.
//  4. contract left to right. For A·B, every letter is
//     batch (in A, B and still needed), contracted (in A and B, not needed
//     later), free-A or free-B. A is permuted to (batch, freeA, contr) and
//     reshaped to (nb, m, k), B to (batch, contr, freeB) → (nb, k, n), one
//     BatchedMatMul gives (nb, m, n), reshaped back to its letters. When
//     nothing is contracted and neither side has free letters the product
//     is a HadamardProd.
//  5. sum out what the output does not keep, transpose to the output order.
//
// Every reduction views the tensor as at most 2-D, so Gorgonia's broken
// middle-axis reductions are never used.

import (
	"fmt"
	"slices"
	"strings"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// einsumSpec is a parsed subscript string.
type einsumSpec struct {
	src    string
	inputs [][]byte // subscripts of each operand
	output []byte
}

func isEinsumLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

// parseEinsum parses spec for nOperands operands.
func parseEinsum(spec string, nOperands int) (einsumSpec, error) {
	s := einsumSpec{src: spec}
	clean := strings.Map(func(r rune) rune {
		if r == ' ' || r == '\t' {
			return -1
		}
		return r
	}, spec)
	lhs, rhs, explicit := strings.Cut(clean, "->")
	if explicit && strings.Contains(rhs, "->") {
		return s, fmt.Errorf("einsum %q: more than one \"->\"", spec)
	}
	parts := strings.Split(lhs, ",")
	if len(parts) != nOperands {
		return s, fmt.Errorf("einsum %q: %d operand subscripts for %d operands", spec, len(parts), nOperands)
	}
	count := map[byte]int{}
	for i, p := range parts {
		if p == "" {
			return s, fmt.Errorf("einsum %q: operand %d has no subscripts (scalar operands are not supported)", spec, i)
		}
		for j := 0; j < len(p); j++ {
			if !isEinsumLetter(p[j]) {
				return s, fmt.Errorf("einsum %q: operand %d: %q is not a subscript letter (ellipsis is not supported)", spec, i, p[j])
			}
			count[p[j]]++
		}
		s.inputs = append(s.inputs, []byte(p))
	}
	if explicit {
		seen := map[byte]bool{}
		for j := 0; j < len(rhs); j++ {
			c := rhs[j]
			if !isEinsumLetter(c) {
				return s, fmt.Errorf("einsum %q: output: %q is not a subscript letter", spec, c)
			}
			if seen[c] {
				return s, fmt.Errorf("einsum %q: output letter %q repeated", spec, c)
			}
			if count[c] == 0 {
				return s, fmt.Errorf("einsum %q: output letter %q does not appear in any operand", spec, c)
			}
			seen[c] = true
		}
		s.output = []byte(rhs)
	} else {
		for c, n := range count {
			if n == 1 {
				s.output = append(s.output, c)
			}
		}
		slices.Sort(s.output)
	}
	return s, nil
}

// einsumTerm is an intermediate: a node and the letter of each of its axes
// (all distinct).
type einsumTerm struct {
	node    *gorgonia.Node
	letters []byte
}

// einsum evaluates the contraction spec over the operands (see the file
// comment). The result is a scalar node when the output has no letters.
func einsum(spec string, operands ...*gorgonia.Node) (*gorgonia.Node, error) {
	if len(operands) == 0 {
		return nil, fmt.Errorf("einsum %q: no operands", spec)
	}
	s, err := parseEinsum(spec, len(operands))
	if err != nil {
		return nil, err
	}
	shapes := make([]tensor.Shape, len(operands))
	for i, x := range operands {
		if x == nil {
			return nil, fmt.Errorf("einsum %q: operand %d is nil", spec, i)
		}
		if err := checkFloat("einsum "+fmt.Sprintf("%q", spec), x); err != nil {
			return nil, err
		}
		shapes[i] = x.Shape()
		if x.IsScalar() {
			shapes[i] = tensor.Shape{}
		}
		if len(shapes[i]) != len(s.inputs[i]) {
			return nil, fmt.Errorf("einsum %q: operand %d has shape %v (%d axes) but subscripts %q name %d", spec, i, shapes[i], len(shapes[i]), s.inputs[i], len(s.inputs[i]))
		}
	}
	dt := operands[0].Dtype()
	for i, x := range operands {
		if x.Dtype() != dt {
			return nil, fmt.Errorf("einsum %q: operand %d is %v, operand 0 is %v", spec, i, x.Dtype(), dt)
		}
	}

	// Bind every letter to one size; size 1 broadcasts.
	size := map[byte]int{}
	where := map[byte]int{} // operand that fixed the size
	for i, sub := range s.inputs {
		for j, c := range sub {
			d := shapes[i][j]
			old, ok := size[c]
			switch {
			case !ok || old == 1 && d != 1:
				size[c], where[c] = d, i
			case d != old && d != 1:
				return nil, fmt.Errorf("einsum %q: letter %q has size %d in operand %d (shape %v) but %d in operand %d (shape %v)",
					spec, c, old, where[c], shapes[where[c]], d, i, shapes[i])
			}
		}
	}

	// Per operand: diagonals, broadcast size-1 axes, private sums.
	terms := make([]einsumTerm, len(operands))
	for i, x := range operands {
		t := einsumTerm{node: x, letters: s.inputs[i]}
		if t, err = takeDiagonal(t, spec); err != nil {
			return nil, err
		}
		if t, err = dropBroadcast(t, size, spec); err != nil {
			return nil, err
		}
		terms[i] = t
	}

	// needed[i] = output letters plus the letters of operands i.. (those a
	// contraction of terms before i must keep).
	needed := make([]map[byte]bool, len(terms)+1)
	needed[len(terms)] = map[byte]bool{}
	for _, c := range s.output {
		needed[len(terms)][c] = true
	}
	for i := len(terms) - 1; i >= 0; i-- {
		needed[i] = maps1(needed[i+1])
		for _, c := range terms[i].letters {
			needed[i][c] = true
		}
	}

	acc := terms[0]
	if acc, err = sumOutExcept(acc, needed[1], spec); err != nil {
		return nil, err
	}
	for i := 1; i < len(terms); i++ {
		b := terms[i]
		// Letters B has alone and nobody needs later are summed out first.
		keepB := maps1(needed[i+1])
		for _, c := range acc.letters {
			keepB[c] = true
		}
		if b, err = sumOutExcept(b, keepB, spec); err != nil {
			return nil, err
		}
		if acc, err = contractPair(acc, b, needed[i+1], spec); err != nil {
			return nil, err
		}
	}
	// Single operand: still sum what the output drops (a no-op otherwise).
	if acc, err = sumOutExcept(acc, needed[len(terms)], spec); err != nil {
		return nil, err
	}
	return permuteTo(acc, s.output, spec)
}

func maps1(m map[byte]bool) map[byte]bool {
	out := make(map[byte]bool, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func nodeShape(n *gorgonia.Node) tensor.Shape {
	if n.IsScalar() {
		return tensor.Shape{}
	}
	return n.Shape()
}

// takeDiagonal replaces repeated letters of t by their diagonal:
// x with letters L (some repeated) -> gather on ravel(x) -> unique letters.
func takeDiagonal(t einsumTerm, spec string) (einsumTerm, error) {
	var uniq []byte
	pos := map[byte]int{}
	for _, c := range t.letters {
		if _, ok := pos[c]; !ok {
			pos[c] = len(uniq)
			uniq = append(uniq, c)
		}
	}
	if len(uniq) == len(t.letters) {
		return t, nil
	}
	shape := nodeShape(t.node)
	for j, c := range t.letters {
		if shape[j] != shape[slices.Index(t.letters, c)] {
			return t, fmt.Errorf("einsum %q: repeated letter %q has sizes %d and %d in one operand (shape %v)",
				spec, c, shape[slices.Index(t.letters, c)], shape[j], shape)
		}
	}
	// strides of x, summed per unique letter
	ustride := make([]int, len(uniq))
	st := 1
	for j := len(t.letters) - 1; j >= 0; j-- {
		ustride[pos[t.letters[j]]] += st
		st *= shape[j]
	}
	udims := make(tensor.Shape, len(uniq))
	for j, c := range t.letters {
		udims[pos[c]] = shape[j]
	}
	// flat index of every entry of the diagonal, row-major over udims
	idx := make([]int, udims.TotalSize())
	multi := make([]int, len(udims))
	for o := range idx {
		off := 0
		for k := range multi {
			off += multi[k] * ustride[k]
		}
		idx[o] = off
		for k := len(multi) - 1; k >= 0; k-- {
			multi[k]++
			if multi[k] < udims[k] {
				break
			}
			multi[k] = 0
		}
	}
	flat, err := copyReshape(t.node, tensor.Shape{shape.TotalSize()})
	if err != nil {
		return t, fmt.Errorf("einsum %q: ravel %v: %w", spec, shape, err)
	}
	d, err := gather(flat, 0, idx)
	if err != nil {
		return t, fmt.Errorf("einsum %q: diagonal of %v: %w", spec, shape, err)
	}
	if len(udims) > 1 {
		if d, err = copyReshape(d, udims); err != nil {
			return t, fmt.Errorf("einsum %q: reshape diagonal to %v: %w", spec, udims, err)
		}
	}
	return einsumTerm{node: d, letters: uniq}, nil
}

// dropBroadcast removes the size-1 axes of t whose letter is larger elsewhere.
func dropBroadcast(t einsumTerm, size map[byte]int, spec string) (einsumTerm, error) {
	shape := nodeShape(t.node)
	var keep []byte
	var dims tensor.Shape
	for j, c := range t.letters {
		if shape[j] == 1 && size[c] != 1 {
			continue
		}
		keep = append(keep, c)
		dims = append(dims, shape[j])
	}
	if len(keep) == len(t.letters) {
		return t, nil
	}
	if len(keep) == 0 { // a single entry: make it a length-1 vector of a size-1 letter
		return t, fmt.Errorf("einsum %q: operand of shape %v broadcasts on every axis (not supported)", spec, shape)
	}
	n, err := copyReshape(t.node, dims)
	if err != nil {
		return t, fmt.Errorf("einsum %q: drop broadcast axes of %v: %w", spec, shape, err)
	}
	return einsumTerm{node: n, letters: keep}, nil
}

// sumOutExcept sums out every letter of t not in keep:
// x -> transpose (kept..., summed...) -> (K, S) -> sum axis 1 -> kept dims.
func sumOutExcept(t einsumTerm, keep map[byte]bool, spec string) (einsumTerm, error) {
	var kept, summed []int
	for j, c := range t.letters {
		if keep[c] {
			kept = append(kept, j)
		} else {
			summed = append(summed, j)
		}
	}
	if len(summed) == 0 {
		return t, nil
	}
	shape := nodeShape(t.node)
	perm := append(append([]int(nil), kept...), summed...)
	x, err := transposeIfNeeded(t.node, perm)
	if err != nil {
		return t, fmt.Errorf("einsum %q: transpose %v by %v: %w", spec, shape, perm, err)
	}
	ks, ss := 1, 1
	var keptDims tensor.Shape
	var letters []byte
	for _, j := range kept {
		ks *= shape[j]
		keptDims = append(keptDims, shape[j])
		letters = append(letters, t.letters[j])
	}
	for _, j := range summed {
		ss *= shape[j]
	}
	var out *gorgonia.Node
	if len(kept) == 0 {
		if x, err = copyReshape(x, tensor.Shape{ss}); err == nil {
			out, err = sumAxis(x, 0) // scalar
		}
	} else if x, err = copyReshape(x, tensor.Shape{ks, ss}); err == nil {
		if out, err = sumAxis(x, 1); err == nil && len(keptDims) > 1 {
			out, err = copyReshape(out, keptDims)
		}
	}
	if err != nil {
		return t, fmt.Errorf("einsum %q: sum out %q of shape %v: %w", spec, letterList(t.letters, summed), shape, err)
	}
	return einsumTerm{node: out, letters: letters}, nil
}

func letterList(letters []byte, at []int) string {
	b := make([]byte, len(at))
	for i, j := range at {
		b[i] = letters[j]
	}
	return string(b)
}

// transposeIfNeeded is gorgonia.Transpose, skipping the identity.
func transposeIfNeeded(x *gorgonia.Node, perm []int) (*gorgonia.Node, error) {
	identity := true
	for i, p := range perm {
		if p != i {
			identity = false
		}
	}
	if identity || len(perm) < 2 {
		return x, nil
	}
	return gorgonia.Transpose(x, perm...)
}

// contractPair contracts a and b, keeping the letters in keep; letters of
// either that are in neither keep nor the other operand must already be
// summed out.
//
//	a (batch, freeA, contr) -> (nb, m, k)
//	b (batch, contr, freeB) -> (nb, k, n)
//	BatchedMatMul -> (nb, m, n) -> (batch..., freeA..., freeB...)
func contractPair(a, b einsumTerm, keep map[byte]bool, spec string) (einsumTerm, error) {
	inB := map[byte]bool{}
	for _, c := range b.letters {
		inB[c] = true
	}
	inA := map[byte]bool{}
	for _, c := range a.letters {
		inA[c] = true
	}
	var batch, contr, freeA, freeB []byte
	for _, c := range a.letters {
		switch {
		case inB[c] && keep[c]:
			batch = append(batch, c)
		case inB[c]:
			contr = append(contr, c)
		default:
			freeA = append(freeA, c)
		}
	}
	for _, c := range b.letters {
		if !inA[c] {
			freeB = append(freeB, c)
		}
	}
	sa, sb := nodeShape(a.node), nodeShape(b.node)
	dim := func(t einsumTerm, c byte) int { return nodeShape(t.node)[slices.Index(t.letters, c)] }
	prod := func(t einsumTerm, cs []byte) (p int, dims tensor.Shape) {
		p = 1
		for _, c := range cs {
			d := dim(t, c)
			p *= d
			dims = append(dims, d)
		}
		return p, dims
	}
	permOf := func(t einsumTerm, order ...[]byte) []int {
		var perm []int
		for _, cs := range order {
			for _, c := range cs {
				perm = append(perm, slices.Index(t.letters, c))
			}
		}
		return perm
	}
	wrap := func(err error, what string) error {
		return fmt.Errorf("einsum %q: contract %q %v with %q %v: %s: %w", spec, a.letters, sa, b.letters, sb, what, err)
	}

	outLetters := append(append(append([]byte(nil), batch...), freeA...), freeB...)
	nb, batchDims := prod(a, batch)
	m, freeADims := prod(a, freeA)
	k, _ := prod(a, contr)
	n, freeBDims := prod(b, freeB)
	outDims := append(append(append(tensor.Shape(nil), batchDims...), freeADims...), freeBDims...)

	// An operand laid out (batch, contracted, free) for A, or (batch, free,
	// contracted) for B, is read transposed in place by the product.
	isIdentity := func(perm []int) bool {
		for i, v := range perm {
			if v != i {
				return false
			}
		}
		return true
	}
	hasMatmul := len(contr) > 0 || len(freeA) > 0 || len(freeB) > 0
	ta := hasMatmul && !isIdentity(permOf(a, batch, freeA, contr)) && isIdentity(permOf(a, batch, contr, freeA))
	tb := hasMatmul && !isIdentity(permOf(b, batch, contr, freeB)) && isIdentity(permOf(b, batch, freeB, contr))
	xa, xb := a.node, b.node
	var err error
	if !ta {
		if xa, err = transposeIfNeeded(a.node, permOf(a, batch, freeA, contr)); err != nil {
			return a, wrap(err, "transpose first")
		}
	}
	if !tb {
		if xb, err = transposeIfNeeded(b.node, permOf(b, batch, contr, freeB)); err != nil {
			return a, wrap(err, "transpose second")
		}
	}

	// Pure elementwise product: both are (batch...) in the same order.
	if len(contr) == 0 && len(freeA) == 0 && len(freeB) == 0 {
		if len(batch) == 0 {
			// Two scalars: Gorgonia's backward of a scalar HadamardProd
			// fails at run time (a 0-D tensor gradient meets a scalar), so
			// multiply as (1)-vectors and sum back to a scalar.
			v := tensor.Shape{1}
			if xa, err = copyReshape(xa, v); err != nil {
				return a, wrap(err, "scalar to (1)")
			}
			if xb, err = copyReshape(xb, v); err != nil {
				return a, wrap(err, "scalar to (1)")
			}
			out, err := gorgonia.HadamardProd(xa, xb)
			if err == nil {
				out, err = sumAxis(out, 0)
			}
			if err != nil {
				return a, wrap(err, "scalar product")
			}
			return einsumTerm{node: out, letters: outLetters}, nil
		}
		out, err := gorgonia.HadamardProd(xa, xb)
		if err != nil {
			return a, wrap(err, "hadamard")
		}
		return einsumTerm{node: out, letters: outLetters}, nil
	}

	sha, shb := tensor.Shape{nb, m, k}, tensor.Shape{nb, k, n}
	if ta {
		sha = tensor.Shape{nb, k, m}
	}
	if tb {
		shb = tensor.Shape{nb, n, k}
	}
	if xa, err = copyReshape(xa, sha); err != nil {
		return a, wrap(err, fmt.Sprintf("reshape first to %v", sha))
	}
	if xb, err = copyReshape(xb, shb); err != nil {
		return a, wrap(err, fmt.Sprintf("reshape second to %v", shb))
	}
	out, err := bmm(xa, xb, ta, tb)
	if err != nil {
		return a, wrap(err, "batched matmul")
	}
	switch len(outDims) {
	case 0: // everything contracted: (1, 1, 1) -> scalar
		if out, err = copyReshape(out, tensor.Shape{1}); err == nil {
			out, err = sumAxis(out, 0)
		}
	default:
		if !outDims.Eq(tensor.Shape{nb, m, n}) {
			out, err = copyReshape(out, outDims)
		}
	}
	if err != nil {
		return a, wrap(err, fmt.Sprintf("reshape result to %v", outDims))
	}
	return einsumTerm{node: out, letters: outLetters}, nil
}

// permuteTo transposes t to the output letter order.
func permuteTo(t einsumTerm, output []byte, spec string) (*gorgonia.Node, error) {
	if len(output) != len(t.letters) {
		return nil, fmt.Errorf("einsum %q: internal: result letters %q, output %q", spec, t.letters, output)
	}
	perm := make([]int, len(output))
	for i, c := range output {
		perm[i] = slices.Index(t.letters, c)
		if perm[i] < 0 {
			return nil, fmt.Errorf("einsum %q: internal: output letter %q missing from result %q", spec, c, t.letters)
		}
	}
	out, err := transposeIfNeeded(t.node, perm)
	if err != nil {
		return nil, fmt.Errorf("einsum %q: transpose result %v by %v: %w", spec, nodeShape(t.node), perm, err)
	}
	return out, nil
}
