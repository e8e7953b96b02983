package data

import (
	"bytes"
	"encoding/binary"
	"math"
	"strings"
	"testing"
)

// TestNonFiniteDataRejected: tenpc's datasets hold categories (uint8), so a
// NaN or an infinity cannot reach a circuit; the readers refuse them where
// they could be written: as text in a DEBD file, or as floating-point IDX
// elements.
func TestNonFiniteDataRejected(t *testing.T) {
	for _, v := range []string{"nan", "NaN", "inf", "-Inf", "+inf", "1e999", "0.5", "1.0"} {
		in := "0,1,0\n1," + v + ",1\n"
		_, err := ReadDEBD(strings.NewReader(in))
		if err == nil || !strings.Contains(err.Error(), "line 2, column 2") || !strings.Contains(err.Error(), v) {
			t.Errorf("DEBD value %q: err = %v, want one naming line 2, column 2 and the value", v, err)
		}
	}
	// An IDX file of float32 (type 0x0D) and float64 (0x0E) elements,
	// two by two, holding a NaN.
	for _, typ := range []byte{0x0D, 0x0E} {
		var b bytes.Buffer
		b.Write([]byte{0, 0, typ, 2})
		binary.Write(&b, binary.BigEndian, []uint32{2, 2})
		if typ == 0x0D {
			binary.Write(&b, binary.BigEndian, []float32{0, float32(math.NaN()), 1, 2})
		} else {
			binary.Write(&b, binary.BigEndian, []float64{0, math.NaN(), 1, 2})
		}
		_, err := ReadIDX(&b)
		if err == nil || !strings.Contains(err.Error(), "only unsigned byte") {
			t.Errorf("IDX of element type %#x with a NaN: err = %v, want a refusal of the element type", typ, err)
		}
	}
}
