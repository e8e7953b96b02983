package nn

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func testModule(seed uint64) *Sequential {
	rng := rand.New(rand.NewPCG(seed, 0))
	return NewSequential(NewLinear(3, 5, Float32, true, rng), Func(Tanh), NewLinear(5, 2, Float64, false, rng))
}

func TestSaveLoadBitExact(t *testing.T) {
	path := filepath.Join(t.TempDir(), "model.tpc")
	m := testModule(1)
	// Values that a lossy encoding would change.
	m.Layers[0].(*Linear).Weight.Float32s()[0] = float32(math.Inf(-1))
	m.Layers[0].(*Linear).Weight.Float32s()[1] = math.SmallestNonzeroFloat32
	m.Layers[2].(*Linear).Weight.Float64s()[0] = -0.0
	if err := SaveModule(path, m, map[string]string{"arch": "mlp"}); err != nil {
		t.Fatal(err)
	}
	m2 := testModule(2)
	meta, err := LoadModule(path, m2)
	if err != nil {
		t.Fatal(err)
	}
	if meta["arch"] != "mlp" {
		t.Errorf("meta = %v", meta)
	}
	ps, ps2 := Params(m), Params(m2)
	for i := range ps {
		a, b := ps[i].Value(), ps2[i].Value()
		for j := range a {
			if math.Float64bits(a[j]) != math.Float64bits(b[j]) {
				t.Fatalf("%s[%d]: saved %v, loaded %v", ps[i].Name(), j, a[j], b[j])
			}
		}
	}
	// No temporary files are left beside the model.
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("directory holds %d entries after an atomic save, want 1", len(entries))
	}
}

func TestLoadStateBadFiles(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteState(&buf, ModuleState(testModule(1), map[string]string{"k": "v"})); err != nil {
		t.Fatal(err)
	}
	good := buf.Bytes()
	corrupt := append([]byte(nil), good...)
	corrupt[len(corrupt)/2] ^= 0x40
	version := append([]byte(nil), good...)
	binary.LittleEndian.PutUint32(version[8:12], 7)
	hugeLen := append([]byte(nil), good...)
	binary.LittleEndian.PutUint64(hugeLen[12:20], 1<<62)
	for _, c := range []struct {
		name string
		data []byte
		want string
	}{
		{"empty", nil, "truncated header"},
		{"truncated header", good[:10], "truncated header"},
		{"truncated payload", good[:len(good)/2], "truncated payload"},
		{"truncated checksum", good[:len(good)-2], "truncated checksum"},
		{"corrupted", corrupt, "checksum mismatch"},
		{"wrong version", version, "version 7"},
		{"bad magic", append([]byte("NOTSTATE"), good[8:]...), "bad magic"},
		{"implausible length", hugeLen, "implausible"},
		{"trailing bytes", append(append([]byte(nil), good...), 0), "trailing bytes"},
	} {
		_, err := ReadState(bytes.NewReader(c.data))
		if err == nil || !errors.Is(err, ErrStateFormat) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want ErrStateFormat mentioning %q", c.name, err, c.want)
		}
	}
	if _, err := ReadState(bytes.NewReader(good)); err != nil {
		t.Errorf("good file: %v", err)
	}
}

func TestLoadModuleArchitectureMismatch(t *testing.T) {
	path := filepath.Join(t.TempDir(), "m.tpc")
	if err := SaveModule(path, testModule(1), nil); err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 0))
	other := NewSequential(NewLinear(3, 4, Float32, true, rng))
	before := Params(other)[0].Value()
	_, err := LoadModule(path, other)
	if err == nil || !strings.Contains(err.Error(), "layers.0.weight") || !strings.Contains(err.Error(), "[5 3]") {
		t.Fatalf("err = %v, want a shape mismatch naming layers.0.weight", err)
	}
	if after := Params(other)[0].Value(); after[0] != before[0] {
		t.Error("a failed load changed the model")
	}
	missing := NewSequential(NewLinear(3, 5, Float32, true, rng), Func(Tanh), NewLinear(5, 2, Float64, false, rng), NewLinear(2, 2, Float32, false, rng))
	if _, err := LoadModule(path, missing); err == nil || !strings.Contains(err.Error(), "layers.3.weight") {
		t.Errorf("err = %v, want a missing-parameter error naming layers.3.weight", err)
	}
}

// FuzzReadState: no input makes the reader panic; whatever it accepts
// re-encodes to the same bytes.
func FuzzReadState(f *testing.F) {
	var buf bytes.Buffer
	if err := WriteState(&buf, ModuleState(testModule(1), map[string]string{"k": "v"})); err != nil {
		f.Fatal(err)
	}
	f.Add(buf.Bytes())
	f.Add([]byte(stateMagic))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := ReadState(bytes.NewReader(data))
		if err != nil {
			return
		}
		var out bytes.Buffer
		if err := WriteState(&out, s); err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		if !bytes.Equal(out.Bytes(), data) {
			t.Fatalf("re-encoding differs from the accepted input")
		}
	})
}
