package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

// -only, -plan and -budget-scale select and size the runs of paper-grid
// and debd, and are refused by the other recipes and for bad values.
func TestRecipeRunsFlags(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "grid")
	out := mustRun(t, "recipe", "run", "paper-grid", "-plan", "-only", "mnist/qg-cp-k16*,fashion-mnist/pd-tucker-k64", "-budget-scale", "0.5", "-out", dir)
	assert.Contains(t, out, "paper-grid: 4 runs")
	assert.Contains(t, out, "training budgets 16m0s in all", "3 × 4m30s + 2m30s")
	assert.Contains(t, out, "fashion-mnist/pd-tucker-k64")
	assert.NoDirExists(t, dir, "-plan wrote a run")

	for _, args := range [][]string{
		{"recipe", "run", "lenet", "-plan"},
		{"recipe", "run", "mnist-default", "-only", "x"},
		{"recipe", "run", "paper-grid", "-plan", "-budget-scale", "0"},
		{"recipe", "run", "paper-grid", "-plan", "-only", "cifar/*"},
		{"recipe", "run", "paper-grid", "-plan", "-only", "mnist/[x"},
	} {
		status, _, stderr := tenpc(t, args...)
		assert.Equal(t, 2, status, "%v", args)
		assert.Equal(t, 1, strings.Count(strings.TrimSpace(stderr), "\n")+1, "%v: one line: %s", args, stderr)
	}
}
