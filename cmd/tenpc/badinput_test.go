package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tenpc/tenpc/nn"
)

// TestBadInput checks that every kind of bad input ends with status 2, a
// one-line message naming the input and the problem, and nothing written.
func TestBadInput(t *testing.T) {
	base := t.TempDir()
	// A trained model to misuse, and a run directory that already holds a run.
	run := filepath.Join(base, "run")
	mustRun(t, "train", "-rg", "qt4", "-k", "4", "-limit", "200", "-epochs", "1", "-out", run)
	model := filepath.Join(run, "model.tenpc")

	// A model file of another format version, and a state file that is no model.
	st, err := nn.LoadState(model)
	if err != nil {
		t.Fatal(err)
	}
	st.Meta["format_version"] = "99"
	v99 := filepath.Join(base, "v99.tenpc")
	if err := nn.SaveState(v99, st); err != nil {
		t.Fatal(err)
	}
	plain := filepath.Join(base, "plain.tenpc")
	if err := nn.SaveState(plain, &nn.State{Meta: map[string]string{"x": "y"}}); err != nil {
		t.Fatal(err)
	}
	notState := filepath.Join(base, "notstate.tenpc")
	if err := os.WriteFile(notState, []byte("hello"), 0o644); err != nil {
		t.Fatal(err)
	}
	debd := filepath.Join("..", "..", "testdata", "debd", "nltcs-small")

	fresh := func() string { return filepath.Join(base, "fresh") }
	for _, tc := range []struct {
		name string
		args []string
		want []string // substrings of the message
	}{
		{"missing dataset", []string{"train", "-dataset", "debd:" + filepath.Join(base, "nope", "nltcs"), "-rg", "rbt", "-out", fresh()}, []string{"nltcs", "not found", "github.com/arranger1044/DEBD"}},
		{"missing mnist dir", []string{"train", "-data-dir", filepath.Join(base, "nomnist"), "-out", fresh()}, []string{"mnist", "nomnist"}},
		{"missing image folder", []string{"train", "-dataset", "images:" + filepath.Join(base, "noimg"), "-out", fresh()}, []string{"images:", "noimg"}},
		{"unknown dataset", []string{"train", "-dataset", "cifar", "-out", fresh()}, []string{`"cifar"`, "want mnist"}},
		{"unknown flag", []string{"train", "-colour", "red", "-out", fresh()}, []string{"-colour"}},
		{"unknown layer", []string{"train", "-layer", "cq", "-out", fresh()}, []string{"-layer", `"cq"`}},
		{"unknown rg", []string{"train", "-rg", "hex", "-limit", "10", "-out", fresh()}, []string{`"hex"`, "region graph"}},
		{"image rg on tabular data", []string{"train", "-dataset", "debd:" + debd, "-rg", "qg", "-out", fresh()}, []string{"qg", "needs image data"}},
		{"scale without gaussian", []string{"train", "-scale", "unit", "-out", fresh()}, []string{"-scale unit", "gaussian"}},
		{"unknown scale", []string{"train", "-input", "gaussian", "-scale", "log", "-out", fresh()}, []string{"-scale", `"log"`}},
		{"soften above 1", []string{"train", "-soften", "2", "-out", fresh()}, []string{"-soften 2", "1/C < β ≤ 1"}},
		{"soften at 1/C", []string{"train", "-rg", "qt4", "-k", "2", "-limit", "10", "-soften", "0.003", "-out", fresh()}, []string{"softening β = 0.003", "C = 256"}},
		{"soften binomial", []string{"train", "-rg", "qt4", "-k", "2", "-limit", "10", "-input", "binomial", "-soften", "0.9", "-out", fresh()}, []string{"softening", "categorical or Bernoulli"}},
		{"rank without cp-r", []string{"train", "-rank", "8", "-out", fresh()}, []string{"rank 8", "cp-r"}},
		{"resume and force", []string{"train", "-resume", "-force", "-out", run}, []string{"-resume and -force"}},
		{"resume and init", []string{"train", "-resume", "-init", model, "-out", run}, []string{"-resume and -init"}},
		{"resume nothing", []string{"train", "-resume", "-out", fresh()}, []string{"no checkpoint"}},
		{"em with softmax weights", []string{"train", "-optimizer", "em", "-lr", "0.1", "-param", "softmax", "-rg", "qt4", "-limit", "10", "-out", fresh()}, []string{"EM needs clamp"}},
		{"em step size", []string{"train", "-optimizer", "em", "-lr", "2", "-out", fresh()}, []string{"step size"}},
		{"bernoulli on 256 values", []string{"train", "-input", "bernoulli", "-rg", "qt4", "-limit", "10", "-out", fresh()}, []string{"bernoulli", "256 values"}},
		{"no out", []string{"train"}, []string{"-out"}},
		{"run already there", []string{"train", "-rg", "qt4", "-k", "4", "-limit", "200", "-epochs", "1", "-out", run}, []string{run, "already holds a run", "-resume", "-force"}},
		{"init of another architecture", []string{"train", "-rg", "qt4", "-k", "8", "-limit", "200", "-init", model, "-out", fresh()}, []string{model, "-k 8", "whose k is 4"}},
		{"init with another layer", []string{"train", "-layer", "tucker", "-limit", "200", "-init", model, "-out", fresh()}, []string{model, "-layer tucker", "whose layer is cp"}},
		{"init with another rg", []string{"finetune", "-rg", "qg", "-init", model, "-out", fresh()}, []string{model, "-rg qg", "whose rg is qt4"}},
		{"init missing", []string{"train", "-init", filepath.Join(base, "none.tenpc"), "-out", fresh()}, []string{"none.tenpc", "no such file"}},
		{"finetune without init", []string{"finetune", "-out", fresh()}, []string{"-init"}},
		{"compress not tucker", []string{"compress", "-model", model, "-rank", "2", "-o", filepath.Join(base, "c.tenpc")}, []string{model, "cp layers", "Tucker"}},
		{"compress rank 0", []string{"compress", "-model", model, "-rank", "0", "-o", filepath.Join(base, "c.tenpc")}, []string{"-rank", "0"}},
		{"compress no rank", []string{"compress", "-model", model, "-o", filepath.Join(base, "c.tenpc")}, []string{"-rank"}},
		{"compress no model", []string{"compress", "-model", filepath.Join(base, "none.tenpc"), "-rank", "2", "-o", filepath.Join(base, "c.tenpc")}, []string{"none.tenpc", "no such file"}},
		{"compress unreadable model", []string{"compress", "-model", notState, "-rank", "2", "-o", filepath.Join(base, "c.tenpc")}, []string{notState}},
		{"compress not a model", []string{"compress", "-model", plain, "-rank", "2", "-o", filepath.Join(base, "c.tenpc")}, []string{plain, "not a tenpc model"}},
		{"compress existing out", []string{"compress", "-model", model, "-rank", "2", "-o", v99}, []string{v99, "exists", "-force"}},
		{"compress no out", []string{"compress", "-model", model, "-rank", "2"}, []string{"-o"}},
		{"eval model version", []string{"eval", "-model", v99}, []string{v99, "format version 99"}},
		{"eval no model", []string{"eval", "-model", filepath.Join(base, "none.tenpc")}, []string{"none.tenpc", "no such file"}},
		{"eval not a model", []string{"eval", "-model", plain}, []string{plain, "not a tenpc model"}},
		{"eval not a state file", []string{"eval", "-model", notState}, []string{notState}},
		{"eval on other data", []string{"eval", "-model", model, "-dataset", "debd:" + debd}, []string{model, "784 variables", "16"}},
		{"eval bad split", []string{"eval", "-model", model, "-split", "dev"}, []string{`"dev"`}},
		{"info version", []string{"info", "-model", v99}, []string{"format version 99"}},
		{"sample not a model", []string{"sample", "-model", plain, "-o", filepath.Join(base, "s.png")}, []string{"not a tenpc model"}},
		{"complete bad mask", []string{"complete", "-model", model, "-mask", "diagonal", "-o", filepath.Join(base, "c.png")}, []string{`"diagonal"`}},
		{"unknown recipe", []string{"recipe", "run", "cifar-default"}, []string{`"cifar-default"`, "mnist-default"}},
		{"debd recipe without data", []string{"recipe", "run", "debd", "-out", fresh()}, []string{"debd", "-data-dir", "github.com/arranger1044/DEBD"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := listFiles(t, base)
			status, stdout, stderr := tenpc(t, tc.args...)
			if status != 2 {
				t.Fatalf("status %d, want 2; stdout %q stderr %q", status, stdout, stderr)
			}
			msg := strings.TrimSuffix(stderr, "\n")
			if strings.Contains(msg, "\n") || !strings.HasPrefix(msg, "tenpc ") {
				t.Errorf("want one line starting with 'tenpc ', got %q", stderr)
			}
			for _, w := range tc.want {
				if !strings.Contains(msg, w) {
					t.Errorf("message %q lacks %q", msg, w)
				}
			}
			if after := listFiles(t, base); after != before {
				t.Errorf("files changed:\nbefore %s\nafter  %s", before, after)
			}
		})
	}
}

// listFiles lists every file under dir with its size and modification time.
func listFiles(t *testing.T, dir string) string {
	t.Helper()
	var b strings.Builder
	err := filepath.Walk(dir, func(path string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		fmt.Fprintf(&b, "%s %v %d\n", path, info.ModTime(), info.Size())
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return b.String()
}
