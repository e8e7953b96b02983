package main

import (
	"encoding/csv"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRecipeList(t *testing.T) {
	out := mustRun(t, "recipe", "list")
	for _, name := range []string{"mnist-default", "paper-grid", "debd", "lenet"} {
		if !strings.Contains(out, name) {
			t.Errorf("recipe list lacks %s:\n%s", name, out)
		}
	}
}

func readCSV(t *testing.T, path string) [][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

func TestRecipeMNISTDefaultQuick(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "mnist-default")
	out := mustRun(t, "recipe", "run", "mnist-default", "-quick", "-out", dir)
	for _, want := range []string{"test bpd", "model:   " + filepath.Join(dir, "model.tenpc"), "samples: " + filepath.Join(dir, "samples.png"), "curve:   " + filepath.Join(dir, "curve.png")} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	recs := readCSV(t, filepath.Join(dir, "results.csv"))
	if len(recs) != 2 || recs[0][0] != "dataset" || recs[1][1] != "qg" || recs[1][2] != "cp" || recs[1][3] != "4" {
		t.Errorf("results.csv = %v", recs)
	}
	md, _ := os.ReadFile(filepath.Join(dir, "results.md"))
	if !strings.HasPrefix(string(md), "| dataset | rg |") || strings.Count(string(md), "\n") != 3 {
		t.Errorf("results.md = %q", md)
	}
	// A second run finds the finished run and reports it without training.
	st, _ := os.Stat(filepath.Join(dir, "checkpoint.tenpc"))
	again := mustRun(t, "recipe", "run", "mnist-default", "-quick", "-out", dir)
	st2, _ := os.Stat(filepath.Join(dir, "checkpoint.tenpc"))
	if st2.ModTime() != st.ModTime() || firstLineNoTime(again) != firstLineNoTime(out) {
		t.Errorf("rerun retrained or reported differently:\n%s\nvs\n%s", again, out)
	}
}

// firstLineNoTime is the summary line without its wall time.
func firstLineNoTime(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	before, _, _ := strings.Cut(line, " in ")
	return before
}

func TestRecipeDEBDQuick(t *testing.T) {
	data := filepath.Join("..", "..", "testdata", "debd")
	dir := filepath.Join(t.TempDir(), "debd")
	out := mustRun(t, "recipe", "run", "debd", "-quick", "-out", dir, "-data-dir", data)
	recs := readCSV(t, filepath.Join(dir, "results.csv"))
	if len(recs) != 3 {
		t.Fatalf("results.csv has %d records, want a header and 2 sets:\n%s", len(recs), out)
	}
	for _, r := range recs[1:] {
		// r[4] is the candidate kept (the better on validation).
		if _, err := os.Stat(filepath.Join(dir, r[0], r[4], "model.tenpc")); err != nil {
			t.Errorf("%s: %v", r[0], err)
		}
		if _, err := os.Stat(filepath.Join(dir, r[0], r[4], "samples.png")); err == nil {
			t.Errorf("%s: a sample grid for tabular data", r[0])
		}
	}
}

func TestRecipeLeNetQuick(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "lenet")
	out := mustRun(t, "recipe", "run", "lenet", "-quick", "-out", dir)
	if !strings.Contains(out, "test accuracy") {
		t.Errorf("output lacks the test accuracy:\n%s", out)
	}
}
