package nn

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"unicode"
)

// Module is a model part that maps one node to another: a layer, a block, a
// whole network. A module is a plain struct of *Param fields and sub-module
// fields; NamedParams finds them by reflection and names them by their field
// path, so custom modules get listing, saving and loading for free.
//
// Module is what Sequential chains. A module of several inputs need not
// implement it: any struct with a Forward of any signature, say
// Forward(query, key, value *Node) *Node, is a module to Params, SaveModule
// and the optimizers. MultiModule is the interface for the variadic case.
type Module interface {
	Forward(x *Node) *Node
}

// MultiModule is a model part of several inputs, such as a merge of the
// branches of a Parallel.
type MultiModule interface {
	Forward(xs ...*Node) *Node
}

// FuncN adapts a function of several nodes to a MultiModule without
// parameters: FuncN(func(xs ...*Node) *Node { return Concat(1, xs...) }).
type FuncN func(xs ...*Node) *Node

// Forward applies the function.
func (f FuncN) Forward(xs ...*Node) *Node { return f(xs...) }

// Parallel feeds one input to every branch and merges their outputs:
// Forward(x) = Merge.Forward(Branches[0].Forward(x), Branches[1].Forward(x),
// ...). An Inception block merges its branches with Concat along the
// channels; a residual block has a branch Func returning x, and adds.
type Parallel struct {
	Branches []Module
	Merge    MultiModule
}

// Forward maps x through every branch and merges the results.
func (p *Parallel) Forward(x *Node) *Node {
	ys := make([]*Node, len(p.Branches))
	for i, b := range p.Branches {
		ys[i] = b.Forward(x)
	}
	return p.Merge.Forward(ys...)
}

// NamedParam is a parameter together with its path in a module tree, the
// name it is saved and optimized under. The path is computed by
// NamedParams; the parameter itself keeps the local name it was created
// with.
type NamedParam struct {
	Name string
	*Param
}

// NamedParams returns every parameter reachable from m with its path in the
// module tree: exported struct fields contribute their name in snake_case
// ("InputLayer" → "input_layer"), slice and array elements their index, so
// a CP layer's weight four levels down reads "layers.3.cp.weight". A field
// tag `nn:"name"` overrides the name; `nn:"-"` skips the field. The order is
// deterministic (field order, then index order); a parameter met twice
// (shared) is listed once, under its first path. A parameter passed as m
// itself is named by its own name. Nothing is written into the parameters,
// so calling NamedParams on a sub-module gives paths relative to it and
// changes nothing for its parent.
//
// To optimize several modules together, prefix their lists (Prefix) or put
// them in one struct: NamedParams(struct{ Enc, Dec any }{enc, dec}).
func NamedParams(m any) []NamedParam {
	var out []NamedParam
	seen := map[*Param]bool{}
	walkParams(reflect.ValueOf(m), "", seen, &out)
	return out
}

// Params returns the parameters of NamedParams(m), without their paths.
func Params(m any) []*Param {
	named := NamedParams(m)
	out := make([]*Param, len(named))
	for i, p := range named {
		out[i] = p.Param
	}
	return out
}

// Named lists parameters under their own names (the names they were
// created with), for optimizing parameters that belong to no module.
func Named(ps ...*Param) []NamedParam {
	out := make([]NamedParam, len(ps))
	for i, p := range ps {
		out[i] = NamedParam{p.Name(), p}
	}
	return out
}

// Prefix returns ps with every name prefixed by prefix and a dot:
// Prefix("enc", NamedParams(enc)) names the encoder's weight
// "enc.layers.0.weight".
func Prefix(prefix string, ps []NamedParam) []NamedParam {
	out := make([]NamedParam, len(ps))
	for i, p := range ps {
		out[i] = NamedParam{join(prefix, p.Name), p.Param}
	}
	return out
}

var paramType = reflect.TypeOf((*Param)(nil))

func walkParams(v reflect.Value, path string, seen map[*Param]bool, out *[]NamedParam) {
	if !v.IsValid() {
		return
	}
	if v.Type() == paramType {
		if v.IsNil() {
			return
		}
		p := v.Interface().(*Param)
		if seen[p] {
			return
		}
		seen[p] = true
		if path == "" {
			path = p.Name()
		}
		*out = append(*out, NamedParam{path, p})
		return
	}
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			walkParams(v.Elem(), path, seen, out)
		}
	case reflect.Struct:
		t := v.Type()
		for i := range t.NumField() {
			f := t.Field(i)
			if !f.IsExported() {
				continue
			}
			name := f.Tag.Get("nn")
			if name == "-" {
				continue
			}
			if name == "" {
				name = snake(f.Name)
			}
			walkParams(v.Field(i), join(path, name), seen, out)
		}
	case reflect.Slice, reflect.Array:
		for i := range v.Len() {
			walkParams(v.Index(i), join(path, strconv.Itoa(i)), seen, out)
		}
	}
}

func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

// snake converts a Go field name to snake_case: "InputLayer" → "input_layer",
// "CP" → "cp", "W1" → "w1".
func snake(s string) string {
	var b strings.Builder
	r := []rune(s)
	for i, c := range r {
		if unicode.IsUpper(c) {
			if i > 0 && (unicode.IsLower(r[i-1]) || (i+1 < len(r) && unicode.IsLower(r[i+1]) && unicode.IsUpper(r[i-1]))) {
				b.WriteByte('_')
			}
			b.WriteRune(unicode.ToLower(c))
		} else {
			b.WriteRune(c)
		}
	}
	return b.String()
}

// ParamCount is the total number of elements of m's parameters.
func ParamCount(m any) int {
	n := 0
	for _, p := range Params(m) {
		n += p.Len()
	}
	return n
}

// ModuleState packs m's parameters into a State (for SaveState), with meta
// added as metadata.
func ModuleState(m any, meta map[string]string) *State {
	s := &State{Meta: map[string]string{}}
	for k, v := range meta {
		s.Meta[k] = v
	}
	for _, p := range NamedParams(m) {
		a := Array{Name: p.Name, Shape: p.Shape()}
		switch p.dtype {
		case Float32:
			a.F32 = append([]float32(nil), p.Float32s()...)
		default:
			a.F64 = append([]float64(nil), p.Float64s()...)
		}
		s.Arrays = append(s.Arrays, a)
	}
	return s
}

// LoadModuleState copies the arrays of s into m's parameters by name. Every
// parameter must be present with the same shape and dtype; arrays that are not
// parameters of m (optimizer state, say) are ignored. On error m is unchanged.
func LoadModuleState(m any, s *State) error {
	ps := NamedParams(m)
	arrays := make([]*Array, len(ps))
	for i, p := range ps {
		a := s.Array(p.Name)
		if a == nil {
			return fmt.Errorf("parameter %q is missing from the state (is it a model of another architecture?)", p.Name)
		}
		if fmt.Sprint(a.Shape) != fmt.Sprint(p.shape) {
			return fmt.Errorf("parameter %q has shape %v in the state, the model has %v", p.Name, a.Shape, p.shape)
		}
		if (p.dtype == Float32) != (a.F32 != nil) || (p.dtype == Float64) != (a.F64 != nil) {
			return fmt.Errorf("parameter %q has another element type in the state than the model's %v", p.Name, p.dtype)
		}
		arrays[i] = a
	}
	for i, p := range ps {
		switch p.dtype {
		case Float32:
			copy(p.Float32s(), arrays[i].F32)
		default:
			copy(p.Float64s(), arrays[i].F64)
		}
	}
	return nil
}

// SaveModule writes m's parameters to path atomically.
func SaveModule(path string, m any, meta map[string]string) error {
	return SaveState(path, ModuleState(m, meta))
}

// LoadModule reads path into m's parameters and returns the file's metadata.
func LoadModule(path string, m any) (map[string]string, error) {
	s, err := LoadState(path)
	if err != nil {
		return nil, err
	}
	if err := LoadModuleState(m, s); err != nil {
		return nil, fmt.Errorf("load %s: %w", path, err)
	}
	return s.Meta, nil
}
