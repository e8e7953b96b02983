package data

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// idxBytes encodes an unsigned-byte IDX tensor with the given dimensions and
// data (which need not match, to build bad files).
func idxBytes(dims []int, data []byte) []byte {
	var b bytes.Buffer
	b.Write([]byte{0, 0, idxUbyte, byte(len(dims))})
	for _, d := range dims {
		_ = binary.Write(&b, binary.BigEndian, uint32(d)) // bytes.Buffer writes cannot fail
	}
	b.Write(data)
	return b.Bytes()
}

// gzipBytes compresses b.
func gzipBytes(t testing.TB, b []byte) []byte {
	t.Helper()
	var z bytes.Buffer
	w := gzip.NewWriter(&z)
	_, err := w.Write(b)
	require.NoError(t, err)
	require.NoError(t, w.Close())
	return z.Bytes()
}

func TestReadIDX(t *testing.T) {
	data := []byte{0, 1, 2, 3, 4, 5, 250, 251, 252, 253, 254, 255}
	valid := idxBytes([]int{2, 3, 2}, data)
	for _, tc := range []struct {
		name string
		in   []byte
	}{
		{"raw", valid},
		{"gzip", gzipBytes(t, valid)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := ReadIDX(bytes.NewReader(tc.in))
			require.NoError(t, err)
			assert.Equal(t, []int{2, 3, 2}, m.Dims, "dims")
			assert.Equal(t, data, m.Data, "data")
		})
	}
}

func TestReadIDXErrors(t *testing.T) {
	good := idxBytes([]int{2, 2}, []byte{1, 2, 3, 4})
	corruptGzip := gzipBytes(t, good)
	corruptGzip[len(corruptGzip)-5] ^= 0xff // CRC-32 in the trailer
	for _, tc := range []struct {
		name string
		in   []byte
		want string
	}{
		{"empty", nil, "truncated"},
		{"short magic", []byte{0, 0}, "truncated"},
		{"bad magic", []byte{0x50, 0x4b, 3, 4, 0, 0, 0, 0}, "bad magic number 0x504b0304"},
		{"float elements", []byte{0, 0, 0x0d, 1, 0, 0, 0, 1, 0, 0, 0, 0}, "element type 0x0d"},
		{"zero dims", []byte{0, 0, 8, 0}, "0 dimensions"},
		{"truncated dims", []byte{0, 0, 8, 3, 0, 0, 0, 1, 0, 0}, "3 dimension sizes: file truncated"},
		{"truncated data", idxBytes([]int{2, 2}, []byte{1, 2, 3}), "need 4 data bytes, found 3"},
		{"trailing data", idxBytes([]int{2, 2}, []byte{1, 2, 3, 4, 5}), "data longer than dimensions [2 2]"},
		{"huge header", idxBytes([]int{1 << 31, 1 << 31, 1 << 31}, nil), "more than"},
		{"truncated gzip", gzipBytes(t, good)[:20], "unexpected EOF"},
		{"gzip checksum", corruptGzip, "checksum"},
		{"gzip header only", []byte{0x1f, 0x8b, 0}, "gzip"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ReadIDX(bytes.NewReader(tc.in))
			assert.ErrorContains(t, err, tc.want)
		})
	}
}

func TestReadIDXFile(t *testing.T) {
	dir := t.TempDir()
	data := []byte{9, 8, 7}
	// A gzip file without a .gz name and a raw file with one: detection is
	// by content.
	gz := filepath.Join(dir, "images.idx")
	raw := filepath.Join(dir, "labels.gz")
	bad := filepath.Join(dir, "bad")
	for path, b := range map[string][]byte{
		gz:  gzipBytes(t, idxBytes([]int{3}, data)),
		raw: idxBytes([]int{3}, data),
		bad: idxBytes([]int{4}, data),
	} {
		require.NoError(t, os.WriteFile(path, b, 0o644))
	}
	for _, path := range []string{gz, raw} {
		m, err := ReadIDXFile(path)
		require.NoError(t, err)
		assert.Equal(t, data, m.Data, "%s: data", path)
	}
	for _, path := range []string{bad, filepath.Join(dir, "missing")} {
		_, err := ReadIDXFile(path)
		if assert.ErrorContains(t, err, path, "ReadIDXFile(%s) names the file", path) {
			assert.NotContains(t, err.Error(), "\n", "ReadIDXFile(%s) error is one line", path)
		}
	}
}

func TestReadIDXSum(t *testing.T) {
	// SHA-256 of the decompressed bytes, the same for raw and gzip copies:
	// printf '\0\0\x08\x01\0\0\0\x02\x05\x06' | sha256sum
	b := idxBytes([]int{2}, []byte{5, 6})
	const want = "49faee2c2a65d1f617a310c5c00be5770637e6f1a705fc5e537723c11ee84be0"
	var sums []string
	for _, in := range [][]byte{b, gzipBytes(t, b)} {
		_, sum, err := readIDX(bytes.NewReader(in), true)
		require.NoError(t, err)
		sums = append(sums, sum)
	}
	assert.Equal(t, []string{want, want}, sums, "sums of the raw and the gzip input")
}

// FuzzReadIDX checks that ReadIDX never panics and that what it accepts is
// consistent: the data length is the product of the dimensions.
func FuzzReadIDX(f *testing.F) {
	f.Add(idxBytes([]int{2, 2}, []byte{1, 2, 3, 4}))
	f.Add(idxBytes([]int{1, 28, 28}, make([]byte, 784)))
	f.Add(gzipBytes(f, idxBytes([]int{3}, []byte{7, 8, 9})))
	f.Add(idxBytes([]int{2, 2}, []byte{1, 2, 3}))
	f.Add([]byte{0, 0, 8, 0})
	f.Fuzz(func(t *testing.T, in []byte) {
		m, err := ReadIDX(bytes.NewReader(in))
		if err != nil {
			if m != nil {
				t.Errorf("non-nil result with error %v", err)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("multi-line error %q", err)
			}
			return
		}
		n := 1
		for _, d := range m.Dims {
			n *= d
		}
		if len(m.Dims) == 0 || n != len(m.Data) {
			t.Errorf("dims %v (product %d) with %d data bytes", m.Dims, n, len(m.Data))
		}
	})
}
