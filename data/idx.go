package data

import (
	"bufio"
	"compress/gzip"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
)

// IDX is the content of an IDX file (the format of MNIST and Fashion-MNIST):
// a tensor of unsigned bytes with dimensions Dims, row-major in Data.
type IDX struct {
	Dims []int
	Data []uint8
}

// idxUbyte is the IDX element type code for unsigned bytes, the only one
// MNIST and Fashion-MNIST use (and the only one ReadIDX accepts).
const idxUbyte = 0x08

// maxIDXElements bounds the element count a header may declare (the largest
// MNIST-style file, 60000×28×28, has 47,040,000); it keeps a corrupt header
// from overflowing int arithmetic.
const maxIDXElements = 1 << 40

// gzipMagic is the first two bytes of every gzip stream (RFC 1952).
var gzipMagic = [2]byte{0x1f, 0x8b}

// ReadIDX reads one IDX tensor of unsigned bytes from r, which may be raw or
// gzip-compressed (recognised by its first bytes, not a file name).
//
// The layout is big-endian: two zero bytes, the element type (0x08 for
// unsigned byte), the number of dimensions n >= 1, n 32-bit dimension sizes,
// then exactly their product of bytes. ReadIDX returns an error for a wrong
// magic number, another element type, a truncated file and for bytes left
// after the data.
func ReadIDX(r io.Reader) (*IDX, error) {
	m, _, err := readIDX(r, false)
	return m, err
}

// ReadIDXFile reads the IDX file at path, raw or gzip-compressed. Errors name
// the file.
func ReadIDXFile(path string) (*IDX, error) {
	m, _, err := readIDXFile(path, false)
	return m, err
}

// readIDXFile is ReadIDXFile that also returns the hex SHA-256 of the
// decompressed IDX bytes when sum is true.
func readIDXFile(path string, sum bool) (m *IDX, digest string, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, "", err // *PathError names the file
	}
	defer func() {
		if cerr := f.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("close %s: %w", path, cerr)
		}
	}()
	m, digest, err = readIDX(f, sum)
	if err != nil {
		return nil, "", fmt.Errorf("read IDX %s: %w", path, err)
	}
	return m, digest, nil
}

// readIDX parses an IDX stream; with sum it also hashes the decompressed
// bytes.
func readIDX(r io.Reader, sum bool) (*IDX, string, error) {
	br := bufio.NewReader(r)
	src := io.Reader(br)
	if head, _ := br.Peek(2); len(head) == 2 && [2]byte(head) == gzipMagic {
		z, err := gzip.NewReader(br)
		if err != nil {
			return nil, "", fmt.Errorf("gzip: %w", err)
		}
		defer z.Close() // reports only a decompression error that a read below already returned
		src = z
	}
	var h hash.Hash
	if sum {
		h = sha256.New()
		src = io.TeeReader(src, h)
	}

	var magic [4]byte
	if _, err := io.ReadFull(src, magic[:]); err != nil {
		return nil, "", fmt.Errorf("magic number: %w", truncated(err))
	}
	if magic[0] != 0 || magic[1] != 0 {
		return nil, "", fmt.Errorf("bad magic number %#08x: not an IDX file", binary.BigEndian.Uint32(magic[:]))
	}
	if magic[2] != idxUbyte {
		return nil, "", fmt.Errorf("element type %#02x in magic number %#08x not supported (only unsigned byte, 0x08)", magic[2], binary.BigEndian.Uint32(magic[:]))
	}
	n := int(magic[3])
	if n == 0 {
		return nil, "", errors.New("magic number declares 0 dimensions")
	}
	raw := make([]byte, 4*n)
	if _, err := io.ReadFull(src, raw); err != nil {
		return nil, "", fmt.Errorf("%d dimension sizes: %w", n, truncated(err))
	}
	dims := make([]int, n)
	total := 1
	for i := range dims {
		dims[i] = int(binary.BigEndian.Uint32(raw[4*i:]))
		if dims[i] != 0 && total > maxIDXElements/dims[i] {
			return nil, "", fmt.Errorf("dimensions %v declare more than %d elements", dims[:i+1], maxIDXElements)
		}
		total *= dims[i]
	}
	// Read one byte past the declared data to detect trailing bytes; ReadAll
	// grows its buffer with the data actually present, so a header declaring
	// more than the stream holds costs no more memory than the stream.
	data, err := io.ReadAll(io.LimitReader(src, int64(total)+1))
	if err != nil {
		return nil, "", fmt.Errorf("data: %w", err)
	}
	switch {
	case len(data) < total:
		return nil, "", fmt.Errorf("truncated: dimensions %v need %d data bytes, found %d", dims, total, len(data))
	case len(data) > total:
		return nil, "", fmt.Errorf("data longer than dimensions %v (%d bytes) declare", dims, total)
	}
	// Drain to EOF so a gzip stream's checksum is verified and the hash
	// covers everything (nothing is left: the limit above saw EOF).
	if _, err := io.Copy(io.Discard, src); err != nil {
		return nil, "", fmt.Errorf("after data: %w", err)
	}
	m := &IDX{Dims: dims, Data: data[:total:total]}
	if h == nil {
		return m, "", nil
	}
	return m, hex.EncodeToString(h.Sum(nil)), nil
}

// truncated turns io.ErrUnexpectedEOF and io.EOF from io.ReadFull into a
// message that says what happened.
func truncated(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return errors.New("file truncated")
	}
	return err
}
