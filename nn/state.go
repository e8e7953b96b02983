package nn

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"os"
	"sort"

	"github.com/tenpc/tenpc/internal/atomicfile"
)

// Array is one named, shaped array in a state file: a parameter's value, an
// optimizer's moment estimate, a step counter. Exactly one of F32, F64 and
// I64 is non-nil.
type Array struct {
	Name  string
	Shape []int
	F32   []float32
	F64   []float64
	I64   []int64
}

// Len is the number of elements the shape describes.
func (a *Array) Len() int {
	n := 1
	for _, s := range a.Shape {
		n *= s
	}
	return n
}

func (a *Array) dataLen() (n int, kind byte) {
	switch {
	case a.F32 != nil:
		return len(a.F32), kindF32
	case a.F64 != nil:
		return len(a.F64), kindF64
	case a.I64 != nil:
		return len(a.I64), kindI64
	}
	return 0, 0
}

// State is the content of a state file (model parameters, optimizer state,
// training progress): string metadata and named arrays.
type State struct {
	Meta   map[string]string
	Arrays []Array
}

// Array returns the array called name, or nil.
func (s *State) Array(name string) *Array {
	for i := range s.Arrays {
		if s.Arrays[i].Name == name {
			return &s.Arrays[i]
		}
	}
	return nil
}

// The state file format, version 1, all integers little-endian:
//
//	magic    [8]byte  "TENPCST\x00"
//	version  uint32   1
//	length   uint64   payload length in bytes
//	payload  [length]byte
//	crc      uint32   CRC-32 (Castagnoli) of the payload
//
// payload: uint32 count of metadata entries, each a string key and value
// (uint32 length + bytes), sorted by key; uint32 count of arrays, each:
// name (string), kind byte (1 float32, 2 float64, 3 int64), uint32 rank,
// rank int64 dimensions, then the elements.
const (
	stateMagic   = "TENPCST\x00"
	stateVersion = 1
	kindF32      = 1
	kindF64      = 2
	kindI64      = 3
	// maxStateBytes bounds what a reader accepts before allocating (a corrupt
	// length field must not make it allocate terabytes).
	maxStateBytes = 1 << 36
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// ErrStateFormat is wrapped by every error about a malformed state file.
var ErrStateFormat = errors.New("malformed state file")

// WriteState encodes s to w.
func WriteState(w io.Writer, s *State) error {
	var p bytes.Buffer
	keys := make([]string, 0, len(s.Meta))
	for k := range s.Meta {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	putU32(&p, uint32(len(keys)))
	for _, k := range keys {
		putString(&p, k)
		putString(&p, s.Meta[k])
	}
	putU32(&p, uint32(len(s.Arrays)))
	for i := range s.Arrays {
		a := &s.Arrays[i]
		n, kind := a.dataLen()
		if kind == 0 {
			return fmt.Errorf("write state: array %q has no data", a.Name)
		}
		if n != a.Len() {
			return fmt.Errorf("write state: array %q has %d elements for shape %v", a.Name, n, a.Shape)
		}
		putString(&p, a.Name)
		p.WriteByte(kind)
		putU32(&p, uint32(len(a.Shape)))
		for _, d := range a.Shape {
			putU64(&p, uint64(d))
		}
		var buf [8]byte
		switch kind {
		case kindF32:
			for _, v := range a.F32 {
				binary.LittleEndian.PutUint32(buf[:4], math.Float32bits(v))
				p.Write(buf[:4])
			}
		case kindF64:
			for _, v := range a.F64 {
				binary.LittleEndian.PutUint64(buf[:], math.Float64bits(v))
				p.Write(buf[:])
			}
		case kindI64:
			for _, v := range a.I64 {
				binary.LittleEndian.PutUint64(buf[:], uint64(v))
				p.Write(buf[:])
			}
		}
	}
	var h bytes.Buffer
	h.WriteString(stateMagic)
	putU32(&h, stateVersion)
	putU64(&h, uint64(p.Len()))
	var tail bytes.Buffer
	putU32(&tail, crc32.Checksum(p.Bytes(), castagnoli))
	for _, b := range [][]byte{h.Bytes(), p.Bytes(), tail.Bytes()} {
		if _, err := w.Write(b); err != nil {
			return err
		}
	}
	return nil
}

// ReadState decodes a state file written by WriteState. A truncated or
// corrupted file, or one of another version, gives an error wrapping
// ErrStateFormat that says which.
func ReadState(r io.Reader) (*State, error) {
	br := bufio.NewReader(r)
	var head [20]byte
	if _, err := io.ReadFull(br, head[:]); err != nil {
		return nil, fmt.Errorf("%w: truncated header", ErrStateFormat)
	}
	if string(head[:8]) != stateMagic {
		return nil, fmt.Errorf("%w: not a tenpc state file (bad magic)", ErrStateFormat)
	}
	if v := binary.LittleEndian.Uint32(head[8:12]); v != stateVersion {
		return nil, fmt.Errorf("%w: version %d, this build reads version %d", ErrStateFormat, v, stateVersion)
	}
	n := binary.LittleEndian.Uint64(head[12:20])
	if n > maxStateBytes {
		return nil, fmt.Errorf("%w: payload length %d is implausible", ErrStateFormat, n)
	}
	payload := make([]byte, 0, min(n, 1<<20))
	pb := bytes.NewBuffer(payload)
	if m, err := io.CopyN(pb, br, int64(n)); err != nil {
		return nil, fmt.Errorf("%w: truncated payload (%d of %d bytes)", ErrStateFormat, m, n)
	}
	var tail [4]byte
	if _, err := io.ReadFull(br, tail[:]); err != nil {
		return nil, fmt.Errorf("%w: truncated checksum", ErrStateFormat)
	}
	if got, want := crc32.Checksum(pb.Bytes(), castagnoli), binary.LittleEndian.Uint32(tail[:]); got != want {
		return nil, fmt.Errorf("%w: checksum mismatch (file is corrupted)", ErrStateFormat)
	}
	if _, err := br.ReadByte(); err != io.EOF {
		return nil, fmt.Errorf("%w: trailing bytes after checksum", ErrStateFormat)
	}
	d := decoder{b: pb.Bytes()}
	s := &State{Meta: map[string]string{}}
	nm := d.u32()
	for i := uint32(0); i < nm && d.err == nil; i++ {
		k := d.str()
		s.Meta[k] = d.str()
	}
	na := d.u32()
	for i := uint32(0); i < na && d.err == nil; i++ {
		a := Array{Name: d.str()}
		kind := d.byte()
		rank := d.u32()
		if rank > 16 {
			return nil, fmt.Errorf("%w: array %q has rank %d", ErrStateFormat, a.Name, rank)
		}
		count := uint64(1)
		for j := uint32(0); j < rank; j++ {
			dim := d.u64()
			if dim == 0 || dim > maxStateBytes || count*dim > maxStateBytes {
				return nil, fmt.Errorf("%w: array %q has an implausible shape", ErrStateFormat, a.Name)
			}
			count *= dim
			a.Shape = append(a.Shape, int(dim))
		}
		size := uint64(8)
		if kind == kindF32 {
			size = 4
		}
		if d.err == nil && count*size > uint64(len(d.b)) {
			return nil, fmt.Errorf("%w: array %q runs past the end of the file", ErrStateFormat, a.Name)
		}
		switch kind {
		case kindF32:
			a.F32 = make([]float32, count)
			for j := range a.F32 {
				a.F32[j] = math.Float32frombits(d.u32())
			}
		case kindF64:
			a.F64 = make([]float64, count)
			for j := range a.F64 {
				a.F64[j] = math.Float64frombits(d.u64())
			}
		case kindI64:
			a.I64 = make([]int64, count)
			for j := range a.I64 {
				a.I64[j] = int64(d.u64())
			}
		default:
			if d.err == nil {
				return nil, fmt.Errorf("%w: array %q has unknown element kind %d", ErrStateFormat, a.Name, kind)
			}
		}
		s.Arrays = append(s.Arrays, a)
	}
	if d.err != nil {
		return nil, fmt.Errorf("%w: %v", ErrStateFormat, d.err)
	}
	if len(d.b) != 0 {
		return nil, fmt.Errorf("%w: %d unread payload bytes", ErrStateFormat, len(d.b))
	}
	return s, nil
}

// SaveState writes s to path atomically (see internal/atomicfile): a
// reader, or a process killed mid-write, never sees a half-written file at
// path, and a failed write leaves the old file as it was.
func SaveState(path string, s *State) error {
	err := atomicfile.Write(path, func(w io.Writer) error {
		bw := bufio.NewWriterSize(w, 1<<20)
		if err := WriteState(bw, s); err != nil {
			return err
		}
		return bw.Flush()
	})
	if err != nil {
		return fmt.Errorf("save state %s: %w", path, err)
	}
	return nil
}

// LoadState reads a state file written by SaveState.
func LoadState(path string) (*State, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("load state: %w", err)
	}
	defer f.Close()
	s, err := ReadState(f)
	if err != nil {
		return nil, fmt.Errorf("load state %s: %w", path, err)
	}
	return s, nil
}

func putU32(b *bytes.Buffer, v uint32) {
	var x [4]byte
	binary.LittleEndian.PutUint32(x[:], v)
	b.Write(x[:])
}

func putU64(b *bytes.Buffer, v uint64) {
	var x [8]byte
	binary.LittleEndian.PutUint64(x[:], v)
	b.Write(x[:])
}

func putString(b *bytes.Buffer, s string) {
	putU32(b, uint32(len(s)))
	b.WriteString(s)
}

// decoder reads little-endian values from b with a sticky error.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) take(n int) []byte {
	if d.err != nil {
		return nil
	}
	if n > len(d.b) {
		d.err = errors.New("payload ends early")
		return nil
	}
	out := d.b[:n]
	d.b = d.b[n:]
	return out
}

func (d *decoder) byte() byte {
	if b := d.take(1); b != nil {
		return b[0]
	}
	return 0
}

func (d *decoder) u32() uint32 {
	if b := d.take(4); b != nil {
		return binary.LittleEndian.Uint32(b)
	}
	return 0
}

func (d *decoder) u64() uint64 {
	if b := d.take(8); b != nil {
		return binary.LittleEndian.Uint64(b)
	}
	return 0
}

func (d *decoder) str() string {
	n := d.u32()
	if d.err == nil && uint64(n) > uint64(len(d.b)) {
		d.err = errors.New("string runs past the end")
		return ""
	}
	return string(d.take(int(n)))
}
