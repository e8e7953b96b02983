package nn

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"text/tabwriter"
)

// Describer is implemented by a module that Summary can describe beyond its
// type: its shape, such as "784 → 10" for a Linear layer or "F=392 A=2
// 16 → 16" for a folded circuit layer.
type Describer interface {
	Describe() string
}

// Summary returns m's module tree as a table, the way PyTorch's
// print(model) and torchinfo show a model: one row per module (the root,
// then every module reached through exported fields, depth first), with its
// path (indented by depth), its Go type, its shape (Describe, when the
// module is a Describer) and the number of parameter elements in it and
// below it; then the total, with the trainable (not frozen) part. A module
// is any struct reached through a pointer, an interface, a slice or a
// field that holds parameters, a Forward method or a description, and a
// function used as a module (Func). Parameters shared by two modules count
// once, at their first path, as in NamedParams; the total equals
// ParamCount(m).
func Summary(m any) string {
	var rows []summaryRow
	seen := map[*Param]bool{}
	summarize(reflect.ValueOf(m), "", 0, seen, &rows)
	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "module\ttype\tshape\tparams")
	total, trainable := 0, 0
	for _, r := range rows {
		path := r.path
		if path == "" {
			path = "(root)"
		}
		fmt.Fprintf(tw, "%s%s\t%s\t%s\t%d\n", strings.Repeat("  ", r.depth), path, r.typ, r.shape, r.params)
	}
	for _, p := range NamedParams(m) {
		total += p.Len()
		if !p.Frozen() {
			trainable += p.Len()
		}
	}
	tw.Flush()
	fmt.Fprintf(&b, "total parameters: %d (%d trainable)\n", total, trainable)
	return b.String()
}

type summaryRow struct {
	path   string
	depth  int
	typ    string
	shape  string
	params int
}

var describerType = reflect.TypeOf((*Describer)(nil)).Elem()

// summarize walks v as walkParams does, appending a row for every module it
// meets, and returns the number of parameter elements first met below v.
func summarize(v reflect.Value, path string, depth int, seen map[*Param]bool, rows *[]summaryRow) int {
	if !v.IsValid() {
		return 0
	}
	if v.Type() == paramType {
		if v.IsNil() {
			return 0
		}
		p := v.Interface().(*Param)
		if seen[p] {
			return 0
		}
		seen[p] = true
		return p.Len()
	}
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return 0
		}
		if v.Kind() == reflect.Interface && v.Elem().Kind() == reflect.Func {
			// A function as a module (Func, FuncN): a row of its own.
			*rows = append(*rows, summaryRow{path: path, depth: depth, typ: v.Elem().Type().String()})
			return 0
		}
		if v.Kind() == reflect.Pointer && v.Elem().Kind() == reflect.Struct {
			return summarizeStruct(v, v.Elem(), path, depth, seen, rows)
		}
		return summarize(v.Elem(), path, depth, seen, rows)
	case reflect.Struct:
		return summarizeStruct(v, v, path, depth, seen, rows)
	case reflect.Slice, reflect.Array:
		n := 0
		for i := range v.Len() {
			n += summarize(v.Index(i), join(path, strconv.Itoa(i)), depth, seen, rows)
		}
		return n
	}
	return 0
}

// summarizeStruct adds the row of struct s (reached as v, a pointer to it or
// s itself) when it is a module, then its fields' rows below it.
func summarizeStruct(v, s reflect.Value, path string, depth int, seen map[*Param]bool, rows *[]summaryRow) int {
	at := len(*rows)
	*rows = append(*rows, summaryRow{path: path, depth: depth, typ: s.Type().String()})
	if d, ok := v.Interface().(Describer); ok {
		(*rows)[at].shape = d.Describe()
	} else if s.CanAddr() && s.Addr().Type().Implements(describerType) {
		(*rows)[at].shape = s.Addr().Interface().(Describer).Describe()
	}
	n := 0
	t := s.Type()
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
		n += summarize(s.Field(i), join(path, name), depth+1, seen, rows)
	}
	(*rows)[at].params = n
	_, forward := v.Type().MethodByName("Forward")
	if n == 0 && !forward && (*rows)[at].shape == "" && len(*rows) == at+1 && path != "" {
		// Plain data (a configuration struct), not a module.
		*rows = (*rows)[:at]
	}
	return n
}
