package data

import (
	"bytes"
	"encoding/binary"
	"math"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestNonFiniteDataRejected: tenpc's datasets hold categories (uint8), so a
// NaN or an infinity cannot reach a circuit; the readers refuse them where
// they could be written: as text in a DEBD file, or as floating-point IDX
// elements.
func TestNonFiniteDataRejected(t *testing.T) {
	for _, v := range []string{"nan", "NaN", "inf", "-Inf", "+inf", "1e999", "0.5", "1.0"} {
		in := "0,1,0\n1," + v + ",1\n"
		_, err := ReadDEBD(strings.NewReader(in))
		assert.ErrorContains(t, err, "line 2, column 2", "DEBD value %q", v)
		assert.ErrorContains(t, err, v, "DEBD value %q", v)
	}
	// An IDX file of float32 (type 0x0D) and float64 (0x0E) elements,
	// two by two, holding a NaN.
	for _, typ := range []byte{0x0D, 0x0E} {
		var b bytes.Buffer
		b.Write([]byte{0, 0, typ, 2})
		require.NoError(t, binary.Write(&b, binary.BigEndian, []uint32{2, 2}))
		if typ == 0x0D {
			require.NoError(t, binary.Write(&b, binary.BigEndian, []float32{0, float32(math.NaN()), 1, 2}))
		} else {
			require.NoError(t, binary.Write(&b, binary.BigEndian, []float64{0, math.NaN(), 1, 2}))
		}
		_, err := ReadIDX(&b)
		assert.ErrorContains(t, err, "only unsigned byte", "IDX of element type %#x with a NaN", typ)
	}
}
