package trace

import "math"

// NoID marks an absent integer id (External id, correlation, stream, ...).
const NoID int64 = math.MinInt64

// Str is an interned string: an index into the trace's Strings table.
type Str uint32

// Strings interns strings so that events hold 4-byte handles.
// The zero Str is the empty string.
type Strings struct {
	list  []string
	index map[string]Str
}

// NewStrings returns an empty table holding only "".
func NewStrings() *Strings {
	return &Strings{list: []string{""}, index: map[string]Str{"": 0}}
}

// Intern returns the handle of b, adding it when new. Looking up an existing
// string does not allocate.
func (s *Strings) Intern(b []byte) Str {
	if id, ok := s.index[string(b)]; ok {
		return id
	}
	str := string(b)
	id := Str(len(s.list))
	s.list = append(s.list, str)
	s.index[str] = id
	return id
}

// InternString is Intern for a string.
func (s *Strings) InternString(str string) Str {
	if id, ok := s.index[str]; ok {
		return id
	}
	id := Str(len(s.list))
	s.list = append(s.list, str)
	s.index[str] = id
	return id
}

// Get returns the string of a handle.
func (s *Strings) Get(id Str) string { return s.list[id] }

// Len is the number of distinct strings.
func (s *Strings) Len() int { return len(s.list) }

// Kernel is a GPU activity: a kernel, memcpy or memset.
type Kernel struct {
	TS, Dur     int64 // nanoseconds
	Name, Cat   Str
	PID, TID    Str
	Stream      int64 // args.stream (or cuda_stream); NoID when absent
	ExternalID  int64
	Correlation int64
	GraphID     int64 // args["graph id"] (CUDA >= 12 graph replays); NoID when absent
	GraphNodeID int64 // args["graph node id"]
}

// End is TS+Dur.
func (k *Kernel) End() int64 { return k.TS + k.Dur }

// Launch is a CUDA/HIP runtime or driver call that launches GPU work
// (cudaLaunchKernel, cuLaunchKernelEx, hipLaunchKernel, cudaGraphLaunch, ...).
type Launch struct {
	TS, Dur     int64
	Name        Str
	PID, TID    Str
	Kernel      Str // args.kernel: HIP traces name the launched kernel here, also during graph capture
	ExternalID  int64
	Correlation int64
}

// CPUOp is a CPU operator (category cpu_op, legacy Operator).
type CPUOp struct {
	TS, Dur     int64
	Name        Str
	PID, TID    Str
	ExternalID  int64
	Correlation int64
}

// Frame is a Python function frame (category python_function).
type Frame struct {
	TS, Dur  int64
	Name     Str // "path(line): func"
	PID, TID Str
}

// CaptureMark is the start or the end of a CUDA/HIP stream capture
// (cudaStreamBeginCapture, cudaStreamEndCapture and HIP's): the kernel
// launches a thread makes between the two are recorded into a graph
// instead of running.
type CaptureMark struct {
	TS       int64
	PID, TID Str
	Begin    bool
}

// Annotation is a user annotation range (record_function), on the CPU
// (user_annotation) or the GPU timeline (gpu_user_annotation).
type Annotation struct {
	TS, Dur    int64
	Name       Str
	PID, TID   Str
	ExternalID int64
	GPU        bool
}

// ThreadKey identifies a thread of a process.
type ThreadKey struct{ PID, TID Str }

// Meta holds the trace-level fields outside traceEvents.
type Meta struct {
	SchemaVersion   int
	DisplayTimeUnit string
	Rank            int // distributedInfo.rank; -1 when absent
	WorldSize       int // distributedInfo.world_size; 0 when absent
	DeviceNames     []string
	WithStack       bool
}

// Trace is one loaded trace file.
type Trace struct {
	Path    string
	Strings *Strings
	Meta    Meta

	Kernels     []Kernel
	Launches    []Launch
	CPUOps      []CPUOp
	Frames      []Frame
	Annotations []Annotation
	Captures    []CaptureMark

	ThreadNames  map[ThreadKey]Str // from "M" thread_name events
	ProcessNames map[Str]Str       // from "M" process_name events

	// Events is the number of entries of traceEvents seen; Malformed counts
	// those skipped because a field needed by an analysis was unusable
	// (a kernel without a numeric ts or dur, for example).
	Events    int
	Malformed int
	// Bytes is the size of the JSON text read (uncompressed).
	Bytes int64
	// Incomplete, for a file loaded with Options.Partial that ends early,
	// says where and how (the ErrTruncated error's text); "" for a whole
	// trace.
	Incomplete string
}

// S returns the string of a handle; shorthand for t.Strings.Get.
func (t *Trace) S(id Str) string { return t.Strings.Get(id) }
