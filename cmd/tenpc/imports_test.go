package main

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestImportsOnlyExperiments enforces STYLE.md's "cmd/ imports experiments
// and nothing below it": no non-test file of this package may import a
// tenpc package other than experiments and its sub-packages. It lists every
// offending import, file by file.
func TestImportsOnlyExperiments(t *testing.T) {
	const module = "github.com/tenpc/tenpc"
	const allowed = module + "/experiments"
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		src, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		f, err := parser.ParseFile(token.NewFileSet(), name, src, parser.ImportsOnly)
		if err != nil {
			t.Fatalf("parse %s: %v", name, err)
		}
		checked++
		for _, imp := range f.Imports {
			path, err := strconv.Unquote(imp.Path.Value)
			if err != nil {
				t.Fatalf("%s: import %s: %v", name, imp.Path.Value, err)
			}
			inModule := path == module || strings.HasPrefix(path, module+"/")
			if inModule && path != allowed && !strings.HasPrefix(path, allowed+"/") {
				t.Errorf("%s imports %s; cmd/tenpc may import only %s (and its sub-packages): move the logic there", name, path, allowed)
			}
		}
	}
	if checked == 0 {
		t.Fatal("found no non-test Go files to check")
	}
}
