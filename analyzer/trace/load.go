package trace

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"sync/atomic"

	"github.com/klauspost/compress/gzip"
)

// Sentinel errors; Load wraps them with the file name and detail.
var (
	// ErrNotTrace: the file is valid JSON but not a Chrome trace.
	ErrNotTrace = errors.New("not a Chrome trace")
	// ErrInvalidJSON: the JSON text is malformed.
	ErrInvalidJSON = errors.New("invalid JSON")
	// ErrTruncated: the file ends early (gzip stream or JSON text).
	ErrTruncated = errors.New("truncated")
	// ErrNotFound: the file or directory does not exist.
	ErrNotFound = errors.New("not found")
)

// Options tunes Load.
type Options struct {
	// Progress, when set, is called now and then with the bytes of the file
	// read so far and the file's size.
	Progress func(done, total int64)
	// General forces the general parser even when the fast path applies.
	General bool
	// Partial keeps the events of a file that ends early (a JSON text or
	// gzip stream cut short, as by a process killed while writing, or a
	// copy stopped part-way) instead of failing with ErrTruncated: the
	// Trace holds every complete event before the cut, and Incomplete says
	// where the text ended.
	Partial bool
}

// Load reads one trace file (plain JSON or gzip, detected by content).
//
// It uses the fast parallel scanner when the file has the line layout
// Kineto writes and the general parser otherwise (or when opts.General is
// set); both produce the same Trace. When the fast path gives up part-way
// (a layout it cannot read with certainty, or invalid or truncated text),
// the general parser, which reports errors with their byte offset, reads
// the file from the last entry boundary the fast path reached (or from
// the start when that was outside the traceEvents array), and Progress
// starts again from zero. Progress may be called from
// a goroutine other than the caller's, never concurrently.
func Load(ctx context.Context, path string, opts Options) (*Trace, error) {
	if !opts.General {
		t, err := loadFast(ctx, path, opts)
		if err == nil {
			return t, nil
		}
		if !errors.Is(err, errFallback) {
			return nil, err
		}
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("load %s: %w", path, err)
		}
		if rf, ok := errors.AsType[*resumeFrom](err); ok {
			return loadResumed(ctx, path, opts, rf)
		}
	}
	return loadGeneral(ctx, path, opts)
}

// loadResumed reads the rest of a trace with the general parser from where
// the fast path gave up inside its traceEvents array (see resumeFrom).
func loadResumed(ctx context.Context, path string, opts Options, rf *resumeFrom) (*Trace, error) {
	src, err := Open(path, opts.Progress)
	if err != nil {
		return nil, err
	}
	defer src.Close()
	if _, err := io.CopyN(io.Discard, src, rf.at); err != nil {
		// The text read before is no longer there (the file changed):
		// read it all again.
		return loadGeneral(ctx, path, opts)
	}
	b := &Builder{t: rf.t}
	return finish(path, b.Trace(), src, resumeGeneral(ctx, src, b, rf.bare, rf.at), opts)
}

// loadGeneral reads the trace with the general parser.
func loadGeneral(ctx context.Context, path string, opts Options) (*Trace, error) {
	src, err := Open(path, opts.Progress)
	if err != nil {
		return nil, err
	}
	defer src.Close()
	b := NewBuilder(path)
	return finish(path, b.Trace(), src, parseGeneral(ctx, src, b), opts)
}

// finish returns the trace the general parser built from src, or its
// error; with opts.Partial, a text that ends early gives the events before
// the cut (see Options.Partial).
func finish(path string, t *Trace, src *Source, err error, opts Options) (*Trace, error) {
	if err != nil && !(opts.Partial && errors.Is(err, ErrTruncated)) {
		return nil, fmt.Errorf("load %s: %w", path, err)
	}
	if err != nil {
		t.Incomplete = err.Error()
	}
	t.Bytes = src.Uncompressed()
	return t, nil
}

// Source is an opened trace file: the uncompressed JSON text as a reader,
// with counters for progress and error offsets.
type Source struct {
	io.Reader
	file      *os.File
	gz        *gzip.Reader
	Gzip      bool
	Size      int64
	unzBytes  atomic.Int64
	fileBytes atomic.Int64 // bytes read from the file (compressed, for gzip)
}

// Uncompressed is the number of JSON bytes read so far.
func (s *Source) Uncompressed() int64 { return s.unzBytes.Load() }

// jsonSizeEstimate returns the expected size of the JSON text, or 0 when
// unknown: the file's size, or for gzip the size its trailer records.
// That size is modulo 4 GiB (and, for a file of several gzip members, the
// last member's): of the sizes it allows, the one nearest to the file's
// size times the compression ratio of the text read so far is taken. It
// may be called while another goroutine reads the text.
func (s *Source) jsonSizeEstimate() int64 {
	if !s.Gzip {
		return s.Size
	}
	var tail [4]byte
	if s.Size < 18 {
		return 0
	}
	if _, err := s.file.ReadAt(tail[:], s.Size-4); err != nil {
		return 0
	}
	isize := int64(binary.LittleEndian.Uint32(tail[:]))
	unz, comp := s.unzBytes.Load(), s.fileBytes.Load()
	if unz <= 0 || comp <= 0 {
		if isize < s.Size {
			return 0 // wrapped, and nothing to tell by how much
		}
		return isize
	}
	return nearestModulo(isize, float64(unz)/float64(comp)*float64(s.Size), 1<<32)
}

// nearestModulo returns the value v + k*m (k >= 0) nearest to est.
func nearestModulo(v int64, est float64, m int64) int64 {
	k := math.Round((est - float64(v)) / float64(m))
	return v + int64(max(k, 0))*m
}

// Close closes the file.
func (s *Source) Close() error {
	if s.gz != nil {
		s.gz.Close()
	}
	return s.file.Close()
}

// Open opens path and returns its JSON text, gunzipping when the content
// starts with the gzip magic bytes, whatever the file's suffix.
func Open(path string, progress func(done, total int64)) (*Source, error) {
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("load %s: %w: check the path", path, ErrNotFound)
		}
		return nil, fmt.Errorf("load %s: %w", path, err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("load %s: %w", path, err)
	}
	if st.IsDir() {
		f.Close()
		return nil, fmt.Errorf("load %s: is a directory, not a trace file", path)
	}
	s := &Source{file: f, Size: st.Size()}
	var r io.Reader = &byteCounter{r: f, n: &s.fileBytes}
	if progress != nil {
		r = &progressReader{r: r, total: st.Size(), fn: progress}
	}
	// A small buffer: it serves the sniffed bytes, after which the
	// parsers' large reads go straight to the file instead of through the
	// buffer (a copy of the whole text); gzip reads it byte-wise, and 64
	// KiB per read is plenty for compressed input.
	br := bufio.NewReaderSize(r, 64<<10)
	magic, _ := br.Peek(2)
	if len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		gz, err := gzip.NewReader(br)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("load %s: bad gzip header: %w", path, err)
		}
		s.gz, s.Gzip = gz, true
		s.Reader = &countingReader{r: gz, n: &s.unzBytes, path: path}
	} else {
		s.Reader = &countingReader{r: br, n: &s.unzBytes, path: path}
	}
	return s, nil
}

// byteCounter counts the bytes read through it.
type byteCounter struct {
	r io.Reader
	n *atomic.Int64
}

func (c *byteCounter) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

type countingReader struct {
	r    io.Reader
	n    *atomic.Int64
	path string
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	if err != nil && err != io.EOF {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			err = fmt.Errorf("%w: the gzip stream ends early (the file is incomplete): re-copy or re-capture it", ErrTruncated)
		} else if errors.Is(err, gzip.ErrChecksum) || errors.Is(err, gzip.ErrHeader) {
			err = fmt.Errorf("corrupt gzip data: %v", err)
		}
	}
	return n, err
}

type progressReader struct {
	r     io.Reader
	done  int64
	last  int64
	total int64
	fn    func(done, total int64)
}

func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	p.done += int64(n)
	if p.done-p.last >= 8<<20 || err == io.EOF {
		p.last = p.done
		p.fn(p.done, p.total)
	}
	return n, err
}

// sniff returns the first byte of r that is not whitespace or part of a
// UTF-8 byte-order mark, without consuming it, and how many bytes it
// skipped.
func sniff(br *bufio.Reader) (byte, int64, error) {
	var n int64
	for {
		c, err := br.ReadByte()
		if err != nil {
			return 0, n, err
		}
		switch c {
		case ' ', '\t', '\r', '\n', 0xef, 0xbb, 0xbf: // whitespace and a UTF-8 BOM
			n++
			continue
		}
		return c, n, br.UnreadByte()
	}
}

var errEmpty = fmt.Errorf("%w: the file is empty", ErrNotTrace)

func firstByte(r io.Reader) (*bufio.Reader, byte, int64, error) {
	br, ok := r.(*bufio.Reader)
	if !ok {
		br = bufio.NewReaderSize(r, 1<<20)
	}
	c, lead, err := sniff(br)
	if err == io.EOF {
		return br, 0, lead, errEmpty
	}
	if err != nil {
		return br, 0, lead, err
	}
	if c != '{' && c != '[' {
		return br, 0, lead, fmt.Errorf("%w: it starts with %q; expected a JSON object with traceEvents or an array of events", ErrNotTrace, bytes.TrimSpace([]byte{c}))
	}
	return br, c, lead, nil
}
