package trace

import (
	"bytes"
	"encoding/binary"
	"math"
	"strconv"
)

// RawEvent holds the fields of one traceEvents entry that the analysis uses,
// as views into the parser's buffer. String fields are unescaped JSON
// string contents; number fields are the JSON number text (or the contents
// of a JSON string that holds a number). A nil slice means the field is
// absent or null. Parsers reset it with Reset before each event.
type RawEvent struct {
	Ph, Cat, Name []byte
	PID, TID      []byte
	TS, Dur       []byte

	// args
	ExternalID, Correlation []byte
	Stream, CudaStream      []byte
	GraphID, GraphNodeID    []byte
	Kernel                  []byte // args.kernel (string)
	ArgName                 []byte // args.name of "M" metadata events
	HasArgs                 bool
}

// Reset clears every field.
func (r *RawEvent) Reset() { *r = RawEvent{} }

// Builder turns RawEvents into a Trace. It is not safe for concurrent use;
// parallel parsers use one Builder per chunk and Merge them.
type Builder struct {
	t *Trace
	// names caches the handles of recent event names, categories, pids
	// and tids, indexed by a cheap hash of a few of their bytes: most
	// events repeat a few hundred names, and comparing one cached string
	// is cheaper than hashing the whole name for the table's map. namesOf
	// is the table the cache belongs to.
	names   [512]internEntry
	namesOf *Strings
}

type internEntry struct {
	s  string
	id Str
}

// intern is b.t.Strings.Intern through the names cache (same handles).
func (b *Builder) intern(v []byte) Str {
	n := len(v)
	if n == 0 {
		return 0
	}
	s := b.t.Strings
	if b.namesOf != s {
		b.names, b.namesOf = [512]internEntry{}, s
	}
	h := (uint32(n) ^ uint32(v[n-1])<<8 ^ uint32(v[n/2])<<16 ^ uint32(v[n/3])<<24) * 2654435761 >> 23
	e := &b.names[h]
	if e.s == string(v) {
		return e.id
	}
	id := s.Intern(v)
	e.s, e.id = s.Get(id), id
	return id
}

// thread interns an event's pid and tid through the names cache: events
// alternate between a few threads (CPU and GPU streams), which a one-entry
// cache kept missing.
func (b *Builder) thread(pid, tid []byte) (Str, Str) {
	return b.intern(pid), b.intern(tid)
}

// NewBuilder returns a Builder for a trace read from path.
func NewBuilder(path string) *Builder {
	return &Builder{t: &Trace{
		Path:         path,
		Strings:      NewStrings(),
		Meta:         Meta{Rank: -1},
		ThreadNames:  map[ThreadKey]Str{},
		ProcessNames: map[Str]Str{},
	}}
}

// Trace returns the trace built so far.
func (b *Builder) Trace() *Trace { return b.t }

// Event kinds decided from the category and name.
type kind uint8

const (
	kindSkip kind = iota
	kindKernel
	kindLaunch
	kindCPUOp
	kindFrame
	kindAnnotation
	kindGPUAnnotation
	kindMaybeKernel // decided by the args (a stream marker)
	kindCapture     // the start or end of a graph capture
)

// classify decides what an "X" event is from its category and name, per the
// event model of the reference (triage-behaviour.md §5), with legacy (2021)
// categories mapped to today's: Kernel→kernel, Operator→cpu_op,
// Runtime→cuda_runtime, Memcpy/Memset→gpu_memcpy/gpu_memset.
func classify(cat, name []byte) kind {
	switch string(cat) {
	case "kernel", "gpu_memcpy", "gpu_memset", "Kernel", "Memcpy", "Memset":
		return kindKernel
	case "python_function":
		return kindFrame
	case "cpu_op", "Operator":
		return kindCPUOp
	case "cuda_runtime", "cuda_driver", "Runtime":
		if containsFold(name, "launch") {
			return kindLaunch
		}
		if captureMark(name) != 0 {
			return kindCapture
		}
		return kindSkip
	case "user_annotation":
		return kindAnnotation
	case "gpu_user_annotation":
		return kindGPUAnnotation
	case "ac2g", "async", "overhead", "Trace", "trace", "python_function_call":
		return kindSkip
	}
	lc := bytes.ToLower(cat)
	if bytes.Contains(lc, []byte("python_function")) || bytes.Contains(lc, []byte("cpu_op")) ||
		bytes.Contains(lc, []byte("trace")) || bytes.Contains(lc, []byte("runtime")) ||
		bytes.Contains(lc, []byte("driver")) {
		return kindSkip
	}
	if bytes.Contains(lc, []byte("annotation")) || hasPrefixFold(name, "## call ") {
		return kindSkip
	}
	if bytes.Contains(lc, []byte("kernel")) || bytes.HasPrefix(lc, []byte("gpu_")) {
		return kindKernel
	}
	if bytes.Contains(name, []byte(".py(")) || hasPrefixFold(name, "python/") || hasPrefixFold(name, "nn.module:") {
		return kindSkip
	}
	return kindMaybeKernel
}

// Add records one event.
func (b *Builder) Add(r *RawEvent) {
	t := b.t
	t.Events++
	if len(r.Ph) != 1 {
		return
	}
	switch r.Ph[0] {
	case 'M':
		b.addMeta(r)
		return
	case 'X':
	default:
		return
	}
	k := classify(r.Cat, r.Name)
	if k == kindSkip {
		return
	}
	if k == kindMaybeKernel {
		if r.Stream == nil && r.CudaStream == nil {
			return
		}
		k = kindKernel
	}
	ts, ok1 := ParseMicros(r.TS)
	dur, ok2 := ParseMicros(r.Dur)
	if !ok1 || !ok2 || dur < 0 {
		t.Malformed++
		return
	}
	if k == kindKernel && (dur <= 0 || isMetaName(r.Name)) {
		return
	}
	switch k {
	case kindKernel:
		stream := ParseID(r.Stream)
		if stream == NoID {
			stream = ParseID(r.CudaStream)
		}
		name, cat := b.intern(r.Name), b.intern(r.Cat)
		pid, tid := b.thread(r.PID, r.TID)
		t.Kernels = append(t.Kernels, Kernel{
			TS: ts, Dur: dur, Name: name, Cat: cat,
			PID: pid, TID: tid, Stream: stream,
			ExternalID: ParseID(r.ExternalID), Correlation: ParseID(r.Correlation),
			GraphID: ParseID(r.GraphID), GraphNodeID: ParseID(r.GraphNodeID),
		})
	case kindLaunch:
		corr := ParseID(r.Correlation)
		if corr == NoID {
			return
		}
		name := b.intern(r.Name)
		pid, tid := b.thread(r.PID, r.TID)
		t.Launches = append(t.Launches, Launch{
			TS: ts, Dur: dur, Name: name, PID: pid, TID: tid,
			Kernel: b.intern(r.Kernel), ExternalID: ParseID(r.ExternalID), Correlation: corr,
		})
	case kindCPUOp:
		name := b.intern(r.Name)
		pid, tid := b.thread(r.PID, r.TID)
		t.CPUOps = append(t.CPUOps, CPUOp{
			TS: ts, Dur: dur, Name: name, PID: pid, TID: tid,
			ExternalID: ParseID(r.ExternalID), Correlation: ParseID(r.Correlation),
		})
	case kindFrame:
		name := b.intern(r.Name)
		pid, tid := b.thread(r.PID, r.TID)
		t.Frames = append(t.Frames, Frame{
			TS: ts, Dur: dur, Name: name, PID: pid, TID: tid,
		})
	case kindCapture:
		pid, tid := b.thread(r.PID, r.TID)
		t.Captures = append(t.Captures, CaptureMark{TS: ts, PID: pid, TID: tid, Begin: captureMark(r.Name) > 0})
	case kindAnnotation, kindGPUAnnotation:
		name := b.intern(r.Name)
		pid, tid := b.thread(r.PID, r.TID)
		t.Annotations = append(t.Annotations, Annotation{
			TS: ts, Dur: dur, Name: name, PID: pid, TID: tid,
			ExternalID: ParseID(r.ExternalID), GPU: k == kindGPUAnnotation,
		})
	}
}

// captureMark returns 1 for a runtime call that begins a stream capture
// (cudaStreamBeginCapture, cudaStreamBeginCaptureToGraph, HIP's), -1 for
// one that ends it, 0 otherwise.
func captureMark(name []byte) int {
	switch string(name) {
	case "cudaStreamBeginCapture", "cudaStreamBeginCapture_v2", "cudaStreamBeginCaptureToGraph",
		"hipStreamBeginCapture", "hipStreamBeginCaptureToGraph", "cuStreamBeginCapture", "cuStreamBeginCapture_v2":
		return 1
	case "cudaStreamEndCapture", "hipStreamEndCapture", "cuStreamEndCapture":
		return -1
	}
	return 0
}

func (b *Builder) addMeta(r *RawEvent) {
	if r.ArgName == nil {
		return
	}
	s := b.t.Strings
	switch string(r.Name) {
	case "thread_name":
		b.t.ThreadNames[ThreadKey{s.Intern(r.PID), s.Intern(r.TID)}] = s.Intern(r.ArgName)
	case "process_name":
		b.t.ProcessNames[s.Intern(r.PID)] = s.Intern(r.ArgName)
	}
}

func isMetaName(name []byte) bool {
	switch string(name) {
	case "process_name", "thread_name", "process_sort_index", "thread_sort_index":
		return true
	}
	return false
}

// ParseMicros converts a JSON number of microseconds to integer
// nanoseconds without going through float64 for the common decimal form
// (so 7764763346570.976 is exactly 7764763346570976 ns). Exponent forms are
// parsed as floats. It reports false for absent, non-numeric ("inf", "N/A")
// or out-of-range values.
func ParseMicros(b []byte) (int64, bool) {
	// The common form, "D.DDD" (Kineto writes three decimals), eight
	// integer digits at a time.
	if n := len(b) - 4; n >= 1 && n <= 16 && b[n] == '.' {
		f0, f1, f2 := b[n+1]-'0', b[n+2]-'0', b[n+3]-'0'
		if ip, ok := decimalDigits(b[:n]); ok && ip <= 9e15 && f0 <= 9 && f1 <= 9 && f2 <= 9 {
			return int64(ip)*1000 + int64(f0)*100 + int64(f1)*10 + int64(f2), true
		}
	}
	return parseMicrosSlow(b)
}

// decimalDigits returns the value of s when it is at most 16 ASCII digits
// (and not empty), converting eight digits at a time.
func decimalDigits(s []byte) (uint64, bool) {
	var v uint64
	i := 0
	for ; i+8 <= len(s); i += 8 {
		w := binary.LittleEndian.Uint64(s[i:])
		// All eight bytes are digits when each high nibble is 3 and
		// adding 6 keeps it 3 (see skipDigits).
		if w&(swarLo*0xF0) != swarLo*'0' || (w+swarLo*6)&(swarLo*0xF0) != swarLo*'0' {
			return 0, false
		}
		w -= swarLo * '0'
		w = w*10 + w>>8 // pairs of digits in every other byte
		w = ((w&0x000000FF000000FF)*(100+1000000<<32) + (w>>16&0x000000FF000000FF)*(1+10000<<32)) >> 32
		v = v*100000000 + w
	}
	for ; i < len(s); i++ {
		c := s[i] - '0'
		if c > 9 {
			return 0, false
		}
		v = v*10 + uint64(c)
	}
	return v, len(s) > 0
}

// parseMicrosSlow is ParseMicros for every form: any number of decimals
// (rounded half up on the fourth), signs, exponents.
func parseMicrosSlow(b []byte) (int64, bool) {
	if len(b) == 0 {
		return 0, false
	}
	neg := false
	i := 0
	if b[0] == '-' {
		neg = true
		i++
	}
	var ip int64
	digits := 0
	for ; i < len(b) && b[i] >= '0' && b[i] <= '9'; i++ {
		if ip > (math.MaxInt64/1000-9)/10 {
			return 0, false
		}
		ip = ip*10 + int64(b[i]-'0')
		digits++
	}
	var frac int64
	if i < len(b) && b[i] == '.' {
		i++
		n := 0
		for ; i < len(b) && b[i] >= '0' && b[i] <= '9'; i++ {
			switch {
			case n < 3:
				frac = frac*10 + int64(b[i]-'0')
			case n == 3 && b[i] >= '5':
				frac++ // round half up on the fourth decimal
			}
			n++
			digits++
		}
		for ; n < 3; n++ {
			frac *= 10
		}
	}
	if i != len(b) {
		if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
			f, err := strconv.ParseFloat(string(b), 64)
			if err != nil || math.IsNaN(f) || math.Abs(f*1000) > math.MaxInt64/2 {
				return 0, false
			}
			return int64(math.Round(f * 1000)), true
		}
		return 0, false
	}
	if digits == 0 {
		return 0, false
	}
	v := ip*1000 + frac
	if neg {
		v = -v
	}
	return v, true
}

// ParseID converts an id (integer, integral float, or numeric string) to
// int64. Ids above the int64 range wrap to negative values, which keeps them
// distinct join keys. Absent, empty, "None", null or non-integral values
// give NoID.
func ParseID(b []byte) int64 {
	if len(b) == 0 {
		return NoID
	}
	if len(b) <= 18 { // the common case: a plain integer that fits
		var v int64
		i := 0
		for ; i < len(b) && b[i] >= '0' && b[i] <= '9'; i++ {
			v = v*10 + int64(b[i]-'0')
		}
		if i == len(b) {
			return v
		}
	}
	if u, err := strconv.ParseUint(string(b), 10, 64); err == nil {
		return int64(u)
	}
	if v, err := strconv.ParseInt(string(b), 10, 64); err == nil {
		return v
	}
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil || f != math.Trunc(f) || math.IsInf(f, 0) || math.Abs(f) > 1<<62 {
		return NoID
	}
	return int64(f)
}

func containsFold(s []byte, lowerSub string) bool {
	n := len(lowerSub)
	for i := 0; i+n <= len(s); i++ {
		if equalFoldASCII(s[i:i+n], lowerSub) {
			return true
		}
	}
	return false
}

func hasPrefixFold(s []byte, lowerPrefix string) bool {
	return len(s) >= len(lowerPrefix) && equalFoldASCII(s[:len(lowerPrefix)], lowerPrefix)
}

func equalFoldASCII(a []byte, lower string) bool {
	for i := 0; i < len(a); i++ {
		c := a[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lower[i] {
			return false
		}
	}
	return true
}
