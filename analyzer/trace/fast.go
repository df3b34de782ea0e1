package trace

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"sync"
)

// The fast path. One goroutine reads the JSON text (gunzipping it when the
// file is gzip) into blocks of fastBlock bytes and cuts each block just
// before the last entry separator in it (Kineto's "},\n  {", or whatever
// separates the file's first two entries; see detectMark). Workers scan the
// chunks in parallel, each with its own Builder, and the calling goroutine
// merges their output in file order. Each chunk is parsed with a validating
// scanner that does not trust the cut: a chunk must end exactly where the
// next one begins (after a ',' between entries), so a cut that was not at an
// entry boundary, or any invalid text, is detected; the fast path then gives
// up and Load reads the file again with the general parser, which reports
// any error with its offset. docs/loader.md has the whole design.

const (
	fastBlock = 1 << 20
	// fastMaxHold bounds how much text the fast path buffers without a cut
	// (a huge header, an entry spanning many blocks, a long trailer); past
	// it the file goes to the general parser.
	fastMaxHold = 64 << 20
)

// errFallback says that the fast path cannot read this file with certainty
// and that the general parser must.
var errFallback = errors.New("the trace needs the general parser")

// fastChunk is a piece of the traceEvents array handed to a worker.
type fastChunk struct {
	seq   int
	buf   *[]byte // pooled block holding data
	data  []byte
	off   int64 // offset of data in the JSON text
	first bool  // starts just after the array's '['
	final bool  // the last chunk of the file
}

// fastResult is a worker's output for one chunk.
type fastResult struct {
	c       *fastChunk
	worker  int
	t       *Trace   // the chunk's events; strings are the worker's
	strLo   int      // index in the worker's table of newStrings[0]
	newStrs []string // strings the worker interned for this chunk
	status  chunkStatus
	endAt   int // for chunkEnd: position in c.data after ']'
	panic   any // a panic of the scanner, recovered (a bug: the file goes to the general parser)
}

// loadFast reads the trace with the fast path, or returns errFallback (or
// the context's error).
func loadFast(ctx context.Context, path string, opts Options) (*Trace, error) {
	src, err := Open(path, opts.Progress)
	if err != nil {
		return nil, err
	}
	defer src.Close()
	t, err := parseFast(ctx, src, path, runtime.GOMAXPROCS(0), fastBlock, src.jsonSizeEstimate)
	if errors.Is(err, errFallback) {
		return nil, err
	}
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", path, err)
	}
	t.Bytes = src.Uncompressed()
	return t, nil
}

// parseFast parses the JSON text of r with the given number of workers,
// reading blocks of the given size (tests use tiny blocks to put chunk
// boundaries everywhere).
//
// sizeHint, when not nil, estimates the size of the JSON text (0 when it
// cannot); it is called once, after the first megabytes are merged, and the
// merged event slices are then sized from their event density instead of
// growing by copies.
func parseFast(ctx context.Context, r io.Reader, path string, workers, block int, sizeHint func() int64) (*Trace, error) {
	workers = max(1, min(workers, 8))
	block = max(1, block)
	// The blocks and chunk Traces in flight are recycled through free
	// lists local to this call, not sync.Pools: a sync.Pool keeps its
	// contents through the next garbage collection, and the collection
	// Analyze runs after loading is the one that should free them.
	tokenCount := 2*workers + 2
	pool := newFreeList(tokenCount+1, func() *[]byte { b := make([]byte, 0, block); return &b })

	// The header: everything up to the traceEvents array's '['.
	head := pool.get()
	hb, eof, err := readMore((*head)[:0], r, block)
	if err != nil {
		return nil, errFallback
	}
	m := newMerger(path, workers, tokenCount)
	m.sizeHint = sizeHint
	var bare bool
	var evStart int
	for {
		var ok, complete bool
		evStart, bare, complete, ok = parseHeader(hb, &m.t.Meta, eof)
		if !ok {
			return nil, errFallback
		}
		if complete {
			break
		}
		if eof || len(hb) >= fastMaxHold {
			return nil, errFallback
		}
		if hb, eof, err = readMore(hb, r, max(block, len(hb))); err != nil {
			return nil, errFallback
		}
	}
	*head = hb

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	chunks := make(chan *fastChunk, workers)
	results := make(chan *fastResult, 2*workers)
	// tokens bounds the chunks between the reader and the merge, and so the
	// memory held in blocks and unmerged results.
	tokens := make(chan struct{}, tokenCount)
	var wg sync.WaitGroup
	var readErr error

	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(chunks)
		readErr = splitChunks(ctx, r, head, hb[evStart:], int64(evStart), eof, block, pool, chunks, tokens)
	}()
	var workerWG sync.WaitGroup
	for w := range workers {
		workerWG.Add(1)
		go func() {
			defer workerWG.Done()
			runWorker(ctx, w, path, chunks, results, m.spare)
		}()
	}
	go func() { workerWG.Wait(); close(results) }()

	m.nextOff = int64(evStart)
	err = m.run(ctx, results, tokens, pool, bare)
	cancel()
	for range results { // let the workers finish
	}
	wg.Wait()
	if err == nil && readErr != nil {
		err = errFallback
	}
	if err != nil {
		if errors.Is(err, errFallback) && !m.ended {
			return nil, &resumeFrom{at: m.nextOff, t: m.t, bare: bare, why: err}
		}
		return nil, err
	}
	return m.t, nil
}

// resumeFrom is the fast path giving up inside the traceEvents array: the
// general parser can take over at offset at of the JSON text, where an
// entry of the array (or, for an empty array, its ']') begins, with t
// holding every entry before it as the general parser would have built it.
// A truncated or invalid file is then read by the general parser from the
// last chunk the fast path accepted, not from its start. It wraps
// errFallback.
type resumeFrom struct {
	at   int64
	t    *Trace
	bare bool
	why  error
}

func (r *resumeFrom) Error() string { return r.why.Error() }
func (r *resumeFrom) Unwrap() error { return r.why }

// readMore reads from r until b has grown by at least n bytes or r ends,
// growing b as needed.
func readMore(b []byte, r io.Reader, n int) ([]byte, bool, error) {
	want := len(b) + n
	if cap(b) < want {
		nb := make([]byte, len(b), want)
		copy(nb, b)
		b = nb
	}
	for len(b) < want {
		k, err := r.Read(b[len(b):want])
		b = b[:len(b)+k]
		if err == io.EOF {
			return b, true, nil
		}
		if err != nil {
			return b, false, err
		}
	}
	return b, false, nil
}

// splitChunks reads r into pooled blocks and sends chunks cut after the
// last entry separator (see detectMark) of each block. carry is the text
// after the header, held in the block *head, and off its offset in the JSON
// text.
func splitChunks(ctx context.Context, r io.Reader, head *[]byte, carry []byte, off int64, eof bool, block int, pool *freeList[*[]byte], out chan<- *fastChunk, tokens chan struct{}) error {
	cur, data := head, carry
	first := true
	var mark []byte
	for seq := 0; ; seq++ {
		select {
		case tokens <- struct{}{}:
		case <-ctx.Done():
			return ctx.Err()
		}
		// Fill the pooled block (the carried text starts it) to its size,
		// growing it only when the carried text already fills half of it;
		// read on until the block holds a separator.
		var err error
		for !eof {
			n := block - len(data)
			if n < max(block/2, 1) {
				n = block
			}
			if data, eof, err = readMore(data, r, n); err != nil {
				return err
			}
			*cur = data
			if mark == nil {
				mark = detectMark(data, eof)
			}
			cut := -1
			if !eof && mark != nil {
				cut = lastCut(data, mark)
			}
			if eof || cut > 0 {
				break
			}
			// No entry boundary in the block: a file without the layout
			// (compact or re-indented), or one huge entry.
			if mark != nil && first && len(data) >= fastBlock || len(data) >= fastMaxHold {
				return errFallback
			}
		}
		c := &fastChunk{seq: seq, buf: cur, first: first, final: eof, off: off}
		first = false
		if eof {
			c.data = data
			select {
			case out <- c:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		cut := lastCut(data, mark)
		c.data = data[:cut]
		next := pool.get()
		nb := append((*next)[:0], data[cut:]...)
		*next = nb
		select {
		case out <- c:
		case <-ctx.Done():
			return ctx.Err()
		}
		cur, data = next, nb
		off += int64(cut)
	}
}

// kinetoMark starts every entry of traceEvents in the layout Kineto writes.
var kinetoMark = []byte("\n  {")

// detectMark returns the text between the first two entries of the array
// whose text starts data, from the first entry's closing '}' to the second
// one's '{': "},\n  {" in Kineto's layout, "},\n    {" in a file re-indented
// by json.dump(indent=2), "}, {" in a compact dump. Cutting blocks at the
// last copy of it finds an entry boundary in nearly every block; a copy
// inside a string is caught by the chunk chain check. It returns nil when
// data does not yet hold two entries, and Kineto's mark when the array does
// not start with two objects.
func detectMark(data []byte, eof bool) []byte {
	more := func(i int) []byte {
		if i >= len(data) && !eof {
			return nil
		}
		return kinetoMark
	}
	i := skipWS(data, 0)
	if i >= len(data) || data[i] != '{' {
		return more(i)
	}
	end, ok := skipValue(data, i, 0)
	if !ok {
		return more(end)
	}
	j := skipWS(data, end)
	if j >= len(data) || data[j] != ',' {
		return more(j)
	}
	k := skipWS(data, j+1)
	if k >= len(data) || data[k] != '{' {
		return more(k)
	}
	return bytes.Clone(data[end-1 : k+1])
}

// lastCut returns the position of the '{' that ends the last copy of mark
// in data, or -1.
func lastCut(data, mark []byte) int {
	i := bytes.LastIndex(data, mark)
	if i < 0 {
		return -1
	}
	return i + len(mark) - 1
}

// runWorker parses chunks with one Builder whose string table persists
// across the worker's chunks; each result carries the strings added for it.
func runWorker(ctx context.Context, w int, path string, chunks <-chan *fastChunk, results chan<- *fastResult, spare *freeList[*Trace]) {
	b := NewBuilder(path)
	strs := b.t.Strings // the worker's table; b.t changes with each chunk
	var sc eventScanner
	for c := range chunks {
		if ctx.Err() != nil {
			continue // drain
		}
		lo := strs.Len()
		// Reuse the event slices of a chunk already merged, so that the
		// steady state allocates almost nothing.
		t := spare.get()
		t.Path, t.Strings = path, strs
		b.t = t
		status, end, p := safeParse(&sc, c, b)
		res := &fastResult{panic: p,
			c: c, worker: w, t: b.t, strLo: lo,
			newStrs: strs.list[lo:strs.Len():strs.Len()],
			status:  status, endAt: end,
		}
		select {
		case results <- res:
		case <-ctx.Done():
		}
	}
}

// safeParse runs the scanner on a chunk, turning a panic (which would be a
// bug in the scanner) into a failed chunk, so that a server process never
// dies on an unexpected input and the file is read by the general parser.
func safeParse(sc *eventScanner, c *fastChunk, b *Builder) (st chunkStatus, end int, p any) {
	defer func() {
		if p = recover(); p != nil {
			st, end = chunkBad, 0
		}
	}()
	st, end = sc.parseChunk(c.data, c.first, b)
	return st, end, nil
}

// merger appends chunk results to one Trace in file order.
type merger struct {
	t        *Trace
	remap    [][]Str           // per worker: worker string id -> trace string id
	spare    *freeList[*Trace] // merged chunk Traces, emptied, for the workers
	sizeHint func() int64      // estimates the JSON bytes (see parseFast)
	merged   int64             // JSON bytes of the chunks merged so far
	sized    bool
	// nextOff is the offset in the JSON text of the first chunk not yet
	// merged (an entry boundary, as every chunk merged before it ended at
	// one), and ended says the traceEvents array has ended.
	nextOff int64
	ended   bool
}

func newMerger(path string, workers, inFlight int) *merger {
	m := &merger{t: NewBuilder(path).Trace(), remap: make([][]Str, workers),
		spare: newFreeList(inFlight, func() *Trace {
			return &Trace{ThreadNames: map[ThreadKey]Str{}, ProcessNames: map[Str]Str{}}
		})}
	for i := range m.remap {
		m.remap[i] = []Str{0}
	}
	return m
}

// run merges results in sequence order, then parses the text after the
// traceEvents array.
func (m *merger) run(ctx context.Context, results <-chan *fastResult, tokens chan struct{}, pool *freeList[*[]byte], bare bool) error {
	pending := map[int]*fastResult{}
	next := 0
	sawFinal := false
	var trailer []byte
	for {
		var r *fastResult
		var ok bool
		select {
		case r, ok = <-results:
		case <-ctx.Done():
			return context.Cause(ctx)
		}
		if !ok {
			break
		}
		pending[r.c.seq] = r
		for {
			r := pending[next]
			if r == nil {
				break
			}
			delete(pending, next)
			next++
			switch {
			case m.ended:
				trailer = append(trailer, r.c.data...)
			case r.panic != nil:
				return fmt.Errorf("%w: the scanner failed on chunk %d: %v", errFallback, r.c.seq, r.panic)
			case r.status == chunkBad:
				return errFallback
			case r.status == chunkMore && r.c.final:
				return errFallback // the array does not end
			default:
				if !m.add(r) {
					return errFallback
				}
				m.nextOff = r.c.off + int64(len(r.c.data))
				if r.status == chunkEnd {
					m.ended = true
					trailer = append(trailer, r.c.data[r.endAt:]...)
				}
			}
			sawFinal = sawFinal || r.c.final
			pool.put(r.c.buf)
			m.recycle(r.t)
			<-tokens
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if !m.ended || !sawFinal || len(pending) > 0 {
		return errFallback
	}
	if !parseTrailer(trailer, &m.t.Meta, bare) {
		return errFallback
	}
	return nil
}

// recycle empties a merged chunk Trace for reuse by a worker.
func (m *merger) recycle(t *Trace) {
	t.Kernels, t.Launches, t.CPUOps = t.Kernels[:0], t.Launches[:0], t.CPUOps[:0]
	t.Frames, t.Annotations, t.Captures = t.Frames[:0], t.Annotations[:0], t.Captures[:0]
	clear(t.ThreadNames)
	clear(t.ProcessNames)
	t.Events, t.Malformed, t.Strings = 0, 0, nil
	m.spare.put(t)
}

// presize gives the merged slices their expected final capacity once the
// first presizeAfter bytes are merged: the event density so far times the
// expected size, plus a margin. Pages of the capacity that is never used
// are never touched, so a generous margin costs address space, not memory.
func (m *merger) presize() {
	const presizeAfter = 4 << 20
	if m.sized || m.sizeHint == nil || m.merged < presizeAfter {
		return
	}
	m.sized = true
	size := m.sizeHint()
	if size <= 0 {
		return
	}
	f := float64(size)/float64(m.merged)*1.15 + 0.01
	t := m.t
	t.Kernels = growTo(t.Kernels, f)
	t.Launches = growTo(t.Launches, f)
	t.CPUOps = growTo(t.CPUOps, f)
	t.Frames = growTo(t.Frames, f)
	t.Annotations = growTo(t.Annotations, f)
}

func growTo[E any](s []E, f float64) []E {
	n := int(float64(len(s))*f) + 64
	if n <= cap(s) {
		return s
	}
	ns := make([]E, len(s), n)
	copy(ns, s)
	return ns
}

// add merges one chunk's events, remapping its string ids.
func (m *merger) add(r *fastResult) bool {
	m.merged += int64(len(r.c.data))
	defer m.presize()
	rm := m.remap[r.worker]
	if r.strLo != len(rm) {
		return false
	}
	s := m.t.Strings
	for _, str := range r.newStrs {
		rm = append(rm, s.InternString(str))
	}
	m.remap[r.worker] = rm
	t, c := m.t, r.t
	t.Events += c.Events
	t.Malformed += c.Malformed
	for _, k := range c.Kernels {
		k.Name, k.Cat, k.PID, k.TID = rm[k.Name], rm[k.Cat], rm[k.PID], rm[k.TID]
		t.Kernels = append(t.Kernels, k)
	}
	for _, l := range c.Launches {
		l.Name, l.PID, l.TID, l.Kernel = rm[l.Name], rm[l.PID], rm[l.TID], rm[l.Kernel]
		t.Launches = append(t.Launches, l)
	}
	for _, o := range c.CPUOps {
		o.Name, o.PID, o.TID = rm[o.Name], rm[o.PID], rm[o.TID]
		t.CPUOps = append(t.CPUOps, o)
	}
	for _, f := range c.Frames {
		f.Name, f.PID, f.TID = rm[f.Name], rm[f.PID], rm[f.TID]
		t.Frames = append(t.Frames, f)
	}
	for _, a := range c.Annotations {
		a.Name, a.PID, a.TID = rm[a.Name], rm[a.PID], rm[a.TID]
		t.Annotations = append(t.Annotations, a)
	}
	for _, cm := range c.Captures {
		cm.PID, cm.TID = rm[cm.PID], rm[cm.TID]
		t.Captures = append(t.Captures, cm)
	}
	for k, v := range c.ThreadNames {
		t.ThreadNames[ThreadKey{rm[k.PID], rm[k.TID]}] = rm[v]
	}
	for k, v := range c.ProcessNames {
		t.ProcessNames[rm[k]] = rm[v]
	}
	return true
}

// parseHeader scans the start of the JSON text up to the traceEvents
// array's '[' and records the trace-level fields before it. It returns the
// position after '[', whether the text is a bare array of events, whether
// the header was complete in b, and false when the fast path cannot read
// it (invalid text, escaped keys, no traceEvents array).
func parseHeader(b []byte, meta *Meta, eof bool) (evStart int, bare, complete, ok bool) {
	i := 0
	for i < len(b) { // whitespace and a UTF-8 byte-order mark, as firstByte skips them
		switch b[i] {
		case ' ', '\t', '\r', '\n', 0xef, 0xbb, 0xbf:
			i++
			continue
		}
		break
	}
	if i >= len(b) {
		return 0, false, false, !eof
	}
	switch b[i] {
	case '[':
		return i + 1, true, true, true
	case '{':
	default:
		return 0, false, false, false
	}
	i = skipWS(b, i+1)
	if i < len(b) && b[i] == '}' {
		return 0, false, false, false
	}
	// A key that is incomplete at the end of b means "read more".
	more := func(i int) (int, bool, bool, bool) { return 0, false, false, !eof && i >= len(b) }
	for {
		if i >= len(b) {
			return more(i)
		}
		if b[i] != '"' {
			return 0, false, false, false
		}
		ks := i + 1
		ke, kesc, ok := scanString(b, i)
		if !ok {
			return more(ke)
		}
		if kesc {
			return 0, false, false, false
		}
		key := b[ks : ke-1]
		i = skipWS(b, ke)
		if i >= len(b) {
			return more(i)
		}
		if b[i] != ':' {
			return 0, false, false, false
		}
		i = skipWS(b, i+1)
		if string(key) == "traceEvents" {
			if i >= len(b) {
				return more(i)
			}
			if b[i] != '[' {
				return 0, false, false, false
			}
			return i + 1, false, true, true
		}
		vs := i
		if i, ok = skipValue(b, i, 0); !ok {
			return more(i)
		}
		readMeta(string(key), b[vs:i], meta)
		i = skipWS(b, i)
		if i >= len(b) {
			return more(i)
		}
		if b[i] != ',' {
			return 0, false, false, false // '}' without traceEvents, or invalid
		}
		i = skipWS(b, i+1)
	}
}

// parseTrailer scans the text after the traceEvents array: the rest of the
// top-level object (recording trace-level fields) or, for a bare array,
// only whitespace.
func parseTrailer(b []byte, meta *Meta, bare bool) bool {
	i := skipWS(b, 0)
	if bare {
		return i == len(b)
	}
	for {
		if i >= len(b) {
			return false
		}
		if b[i] == '}' {
			return skipWS(b, i+1) == len(b)
		}
		if b[i] != ',' {
			return false
		}
		i = skipWS(b, i+1)
		if i >= len(b) || b[i] != '"' {
			return false
		}
		ks := i + 1
		ke, kesc, ok := scanString(b, i)
		if !ok || kesc {
			return false
		}
		key := string(b[ks : ke-1])
		if key == "traceEvents" {
			return false
		}
		i = skipWS(b, ke)
		if i >= len(b) || b[i] != ':' {
			return false
		}
		i = skipWS(b, i+1)
		vs := i
		if i, ok = skipValue(b, i, 0); !ok {
			return false
		}
		readMeta(key, b[vs:i], meta)
		i = skipWS(b, i)
	}
}

// freeList recycles values between goroutines, like a sync.Pool without
// the pool's life past the next garbage collection: it holds at most its
// capacity, and what it holds is freed with it.
type freeList[T any] struct {
	free  chan T
	fresh func() T
}

func newFreeList[T any](capacity int, fresh func() T) *freeList[T] {
	return &freeList[T]{free: make(chan T, capacity), fresh: fresh}
}

// get returns a recycled value, or a fresh one when none is free.
func (f *freeList[T]) get() T {
	select {
	case v := <-f.free:
		return v
	default:
		return f.fresh()
	}
}

// put keeps v for a later get, or drops it when the list is full.
func (f *freeList[T]) put(v T) {
	select {
	case f.free <- v:
	default:
	}
}
