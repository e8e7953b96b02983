package experiments

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tenpc/tenpc/nn"
)

// Two epochs on 2,000 training images take the CNN far above chance (10%)
// on 500 test images, and the training loss falls.
func TestTrainLeNetLearns(t *testing.T) {
	cfg := LeNetConfig{Epochs: 2, Batch: 32, TrainLimit: 2000, TestLimit: 500, Seed: 1}
	res, err := TrainLeNet(context.Background(), cfg, quietLogger())
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%+v", res.History)
	if len(res.History) != 2 {
		t.Fatalf("history has %d epochs, want 2", len(res.History))
	}
	if h := res.History; !(h[1].Loss < h[0].Loss) {
		t.Errorf("training loss %v then %v, want it to fall", h[0].Loss, h[1].Loss)
	}
	if res.TestAccuracy < 0.8 {
		t.Errorf("test accuracy %.3f after two epochs on 2000 images, want at least 0.8", res.TestAccuracy)
	}
	// conv1 6·25+6, conv2 16·6·25+16, fc 256·120+120, fc 120·10+10
	if want := 156 + 2416 + 30840 + 1210; res.Params != want {
		t.Errorf("%d parameters, want %d", res.Params, want)
	}
}

func TestTrainLeNetRejectsBadConfig(t *testing.T) {
	for _, cfg := range []LeNetConfig{
		{Epochs: -1},
		{Batch: -2},
		{Conv1: -1},
		{LR: -0.1},
		{TrainLimit: -5},
		{DType: nn.Uint8},
		{TrainLimit: 10, Batch: 64}, // fewer images than a batch
	} {
		if _, err := TrainLeNet(context.Background(), cfg, quietLogger()); !IsInputError(err) {
			t.Errorf("%+v: err = %v, want an *InputError", cfg, err)
		}
	}
}

func TestTrainLeNetStopsOnCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := TrainLeNet(ctx, LeNetConfig{TrainLimit: 128, TestLimit: 10}, quietLogger())
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

// The recipe form writes its result file and prints the accuracy.
func TestRunLeNetQuick(t *testing.T) {
	var out strings.Builder
	dir := t.TempDir()
	if err := runLeNet(context.Background(), RecipeOptions{Out: dir, Quick: true, Log: quietLogger(), Stdout: &out}); err != nil {
		t.Fatal(err)
	}
	var res LeNetResult
	if err := readJSON(filepath.Join(dir, LeNetResultFile), &res); err != nil {
		t.Fatal(err)
	}
	if len(res.History) != 1 || res.TestAccuracy != res.History[0].TestAccuracy {
		t.Errorf("result file holds %+v, want one epoch", res)
	}
	if want := fmt.Sprintf("lenet: test accuracy %.2f%% after 1 epochs", 100*res.TestAccuracy); !strings.HasPrefix(out.String(), want) {
		t.Errorf("output %q, want it to start with %q", out.String(), want)
	}
}
