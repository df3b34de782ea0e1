package analyzer

import "github.com/tracetriage/tracetriage/analyzer/overlap"

// SchemaVersion is the version of the analysis document's JSON contract
// (../shared/spec/analysis-json.md). Fields may be added freely; renaming or
// dropping one bumps it.
const SchemaVersion = 1

// Document is one analysis: the contract between the engine and every
// front-end (CLI text and JSON, MCP structured content, LSP hovers).
// Times are microseconds, shares are percentages (0-100).
type Document struct {
	SchemaVersion int    `json:"schema_version"`
	Tool          Tool   `json:"tool"`
	Mode          string `json:"mode"` // "single-trace" or "mapping-formal"
	Framework     string `json:"framework"`
	// Frameworks is set in two-trace mode when the mapping and the formal
	// traces show different frameworks (each decided from its own
	// evidence); Framework is then the formal one.
	Frameworks *TwoFrameworks `json:"frameworks,omitempty"`
	Model      string         `json:"model,omitempty"`
	Inputs     Inputs         `json:"inputs"`
	Stages     []Stage        `json:"stages"`
	Warnings   []string       `json:"warnings"`
}

// TwoFrameworks names the framework of each input of a two-trace analysis.
type TwoFrameworks struct {
	Mapping string `json:"mapping"`
	Formal  string `json:"formal"`
}

// Tool names the program that wrote the document.
type Tool struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

// Inputs lists the trace files analysed, by role.
type Inputs struct {
	Formal  []string `json:"formal"`
	Mapping []string `json:"mapping"`
}

// Stage is the analysis of one serving stage: "extend", "decode" or "all".
type Stage struct {
	Stage      string       `json:"stage"`
	GPUTimeUS  float64      `json:"gpu_time_us"`
	BusyTimeUS float64      `json:"busy_time_us"`
	Kernels    []KernelRow  `json:"kernels"`
	Overlap    []OverlapRow `json:"overlap"`
	Fuse       []FuseRow    `json:"fuse"`
	// Breakdown is the stage's temporal breakdown (busy and idle GPU time,
	// compute, communication and memory time, exposed communication).
	Breakdown *overlap.Breakdown `json:"breakdown,omitempty"`
	// Timeline is the ASCII timeline around the top overlap row, when
	// Options.Timeline asked for it and the stage has an overlap row.
	Timeline *overlap.TimelineView `json:"timeline,omitempty"`
}

// KernelRow aggregates every launch of one canonical kernel name in a stage.
type KernelRow struct {
	Name string `json:"name"`
	// Demangled is the readable form of Name when Name is an Itanium C++
	// mangled symbol ("_Z…", as ROCm traces name HIP kernels), written the
	// way readable C++ kernel names are ("void ns::kernel<args>", a
	// template's parameter list dropped); empty when Name is already
	// readable or does not demangle (DemangleKernel). Name stays the row
	// key and the Kernel Table's text.
	Demangled string  `json:"demangled,omitempty"`
	Category  string  `json:"category"`
	GPUTimeUS float64 `json:"gpu_time_us"`
	SharePct  float64 `json:"share_pct"`
	Launches  int     `json:"launches"`
	MaxUS     float64 `json:"max_us"`
	Sites     []Site  `json:"sites"`
}

// Attribution values say how a kernel's launch site was found.
const (
	AttrExternalID   = "external-id"
	AttrLaunch       = "launch"
	AttrGraphCapture = "graph-capture"
	AttrGraphNode    = "graph-node"
	AttrUnresolved   = "unresolved"
)

// Site is one Python source line that launched a kernel.
type Site struct {
	Path        string   `json:"path"` // repo-relative; "" when unresolved
	Line        int      `json:"line"`
	Function    string   `json:"function"`
	SharePct    float64  `json:"share_pct"` // share of the kernel's GPU time
	Launches    int      `json:"launches"`
	CPUOp       string   `json:"cpu_op"`
	Stack       []string `json:"stack"`
	Attribution string   `json:"attribution"`
}

// OverlapRow is one overlap opportunity (or low-ROI hidden kernel family).
type OverlapRow struct {
	Priority       string  `json:"priority"`
	Verdict        string  `json:"verdict"`
	Kernel         string  `json:"kernel"`
	Category       string  `json:"category"`
	Scope          string  `json:"scope"`
	GPUTimeUS      float64 `json:"gpu_time_us"`
	SharePct       float64 `json:"share_pct"`
	ExclusivePct   float64 `json:"exclusive_pct"`
	HiddenPct      float64 `json:"hidden_pct"`
	DepRisk        string  `json:"dep_risk"`
	Recommendation string  `json:"recommendation"`
}

// FuseRow is one fusion opportunity matched from the fusion catalogue.
type FuseRow struct {
	Pattern          string     `json:"pattern"`
	Confidence       string     `json:"confidence"`
	GPUTimeUS        float64    `json:"gpu_time_us"`
	SharePct         float64    `json:"share_pct"`
	Evidence         []Evidence `json:"evidence"`
	CurrentLocations []string   `json:"current_locations"`
	CandidatePaths   []string   `json:"candidate_paths"`
	Rationale        string     `json:"rationale"`
}

// Evidence is one kernel that made a fusion pattern match.
type Evidence struct {
	Kernel   string  `json:"kernel"`
	SharePct float64 `json:"share_pct"`
}
