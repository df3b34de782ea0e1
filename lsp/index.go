package lsp

import (
	"cmp"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/tracetriage/tracetriage/analyzer"
	"github.com/tracetriage/tracetriage/analyzer/overlap"
	"github.com/tracetriage/tracetriage/render"
)

// Index is the analysis document arranged for the editor: per repo-relative
// source path and line, the kernels launched there (in every stage) and the
// overlap and fusion findings that name the line. It is built once per
// analysis and read without locks.
type Index struct {
	doc   *analyzer.Document
	stage string // the headline stage: inlay hints, code lenses, diagnostics
	files map[string]map[int]*LineInfo
	// suffixes maps a path suffix ("sglang/srt/layers/layernorm.py") to the
	// repo-relative path it stands for, for workspaces laid out differently
	// from the traced tree (site-packages, another checkout root).
	suffixes map[string]string
	hot      []*LineInfo // lines of the headline stage, hottest first
	stageGPU map[string]float64
	// demangled maps a mangled kernel name to its demangled form, for the
	// labels of hovers and diagnostics.
	demangled map[string]string
}

// LineInfo is everything the trace says about one source line. Overlap
// holds the findings whose scope is the line or whose kernel it launched;
// Fuse those that list the line among their current locations.
type LineInfo struct {
	Path     string
	Line     int // 1-based, as in the trace
	Function string
	Launches []Launch
	Overlap  []OverlapRef
	Fuse     []FuseRef
	// HostWaits are the GPU's idle waits for the host that came before
	// the line's launches, per stage (Breakdown.IdleHostBySite).
	HostWaits []HostWaitRef
	// gpuUS and sharePct cache the headline stage's totals for the line.
	gpuUS, sharePct float64
	kernels         int
}

// Launch is one kernel row's launches from a line, in one stage.
type Launch struct {
	Stage     string
	Kernel    *analyzer.KernelRow
	Site      *analyzer.Site
	GPUTimeUS float64 // the kernel's GPU time attributed to this site
	SharePct  float64 // that time as a share of the stage's GPU time
}

// OverlapRef is an overlap finding whose scope is the line.
type OverlapRef struct {
	Stage string
	Row   *analyzer.OverlapRow
}

// FuseRef is a fusion finding that lists the line among its current
// locations.
type FuseRef struct {
	Stage string
	Row   *analyzer.FuseRow
}

// HostWaitRef is the GPU's idle time waiting for the host before a line's
// launches in one stage, with the stage's span.
type HostWaitRef struct {
	Stage  string
	Site   overlap.IdleSite
	SpanUS float64
}

// isLayoutDir reports whether a leading folder is one that a checkout has
// but an installed package does not: python/sglang/... in a checkout is
// sglang/... in site-packages.
func isLayoutDir(dir string) bool { return dir == "python" || dir == "src" }

// NewIndex arranges doc for lookups. stage names the headline stage; ""
// picks the first stage that is not "all" (or "all" when it is the only one).
func NewIndex(doc *analyzer.Document, stage string) *Index {
	ix := &Index{
		doc:       doc,
		files:     make(map[string]map[int]*LineInfo),
		suffixes:  make(map[string]string),
		stageGPU:  make(map[string]float64),
		demangled: make(map[string]string),
	}
	ix.stage = pickStage(doc, stage)
	for si := range doc.Stages {
		st := &doc.Stages[si]
		ix.stageGPU[st.Stage] = st.GPUTimeUS
		launchedBy := make(map[string][]*LineInfo) // kernel name → lines
		for ki := range st.Kernels {
			k := &st.Kernels[ki]
			ix.addDemangled(k)
			for i := range k.Sites {
				site := &k.Sites[i]
				li := ix.line(site.Path, site.Line)
				if li == nil {
					continue
				}
				if li.Function == "" {
					li.Function = site.Function
				}
				launchedBy[k.Name] = append(launchedBy[k.Name], li)
				li.Launches = append(li.Launches, Launch{
					Stage:     st.Stage,
					Kernel:    k,
					Site:      site,
					GPUTimeUS: k.GPUTimeUS * site.SharePct / 100,
					SharePct:  k.SharePct * site.SharePct / 100,
				})
			}
		}
		for oi := range st.Overlap {
			// The finding goes on its scope line and on every line that
			// launched its kernel.
			o := &st.Overlap[oi]
			lines := launchedBy[o.Kernel]
			if p, n, ok := parseLocation(o.Scope); ok {
				if li := ix.line(p, n); li != nil {
					lines = append([]*LineInfo{li}, lines...)
				}
			}
			for _, li := range lines {
				if !slices.ContainsFunc(li.Overlap, func(r OverlapRef) bool { return r.Row == o }) {
					li.Overlap = append(li.Overlap, OverlapRef{st.Stage, o})
				}
			}
		}
		for fi := range st.Fuse {
			f := &st.Fuse[fi]
			for _, loc := range f.CurrentLocations {
				if p, n, ok := parseLocation(loc); ok {
					if li := ix.line(p, n); li != nil {
						li.Fuse = append(li.Fuse, FuseRef{st.Stage, f})
					}
				}
			}
		}
		if b := st.Breakdown; b != nil {
			for _, w := range b.IdleHostBySite {
				if p, n, ok := parseLocation(w.Scope); ok {
					if li := ix.line(p, n); li != nil {
						li.HostWaits = append(li.HostWaits, HostWaitRef{st.Stage, w, b.SpanUS})
					}
				}
			}
		}
	}
	for key, lines := range ix.files {
		for _, li := range lines {
			slices.SortStableFunc(li.Launches, func(a, b Launch) int {
				if a.Stage != b.Stage {
					return cmp.Compare(ix.stageRank(a.Stage), ix.stageRank(b.Stage))
				}
				return cmp.Compare(b.GPUTimeUS, a.GPUTimeUS)
			})
			for _, l := range li.Launches {
				if l.Stage == ix.stage {
					li.gpuUS += l.GPUTimeUS
					li.sharePct += l.SharePct
					li.kernels++
				}
			}
			if li.kernels > 0 {
				ix.hot = append(ix.hot, li)
			}
		}
		ix.addSuffixes(key)
	}
	slices.SortFunc(ix.hot, func(a, b *LineInfo) int {
		if c := cmp.Compare(b.gpuUS, a.gpuUS); c != 0 {
			return c
		}
		if c := strings.Compare(a.Path, b.Path); c != 0 {
			return c
		}
		return cmp.Compare(a.Line, b.Line)
	})
	return ix
}

// addDemangled records the demangled name of a kernel row with a mangled
// name. A document saved before rows carried demangled names gets them
// here, once per distinct name.
func (ix *Index) addDemangled(k *analyzer.KernelRow) {
	if !strings.HasPrefix(k.Name, "_Z") {
		return
	}
	if _, ok := ix.demangled[k.Name]; ok {
		return
	}
	d := k.Demangled
	if d == "" {
		d = analyzer.DemangleKernel(k.Name)
	}
	ix.demangled[k.Name] = d
}

// kernelLabel is the name of a kernel for hovers and diagnostics, at most
// max characters: the shortened demangled name (template arguments nested
// inside others written "<…>") when the trace names the kernel by a
// mangled symbol, else the name itself.
func (ix *Index) kernelLabel(name string, max int) string {
	if d := ix.demangled[name]; d != "" {
		name = analyzer.ShortKernelName(d)
	}
	return render.Shorten(name, max)
}

// pickStage returns want when the document has it, else the first stage
// that is not "all", else the first stage.
func pickStage(doc *analyzer.Document, want string) string {
	for _, s := range doc.Stages {
		if want != "" && s.Stage == want {
			return want
		}
	}
	for _, s := range doc.Stages {
		if s.Stage != "all" {
			return s.Stage
		}
	}
	if len(doc.Stages) > 0 {
		return doc.Stages[0].Stage
	}
	return ""
}

// stageRank orders stages with the headline stage first, then as the
// document lists them.
func (ix *Index) stageRank(stage string) int {
	if stage == ix.stage {
		return -1
	}
	for i, s := range ix.doc.Stages {
		if s.Stage == stage {
			return i
		}
	}
	return len(ix.doc.Stages)
}

// line returns the entry of (p, n), creating it; nil for unresolved sites.
func (ix *Index) line(p string, n int) *LineInfo {
	key := normPath(p)
	if key == "" || n <= 0 {
		return nil
	}
	lines := ix.files[key]
	if lines == nil {
		lines = make(map[int]*LineInfo)
		ix.files[key] = lines
	}
	li := lines[n]
	if li == nil {
		li = &LineInfo{Path: key, Line: n}
		lines[n] = li
	}
	return li
}

// addSuffixes registers the suffixes of key by which a file elsewhere can
// be recognised: the key itself, and without a leading layout folder.
func (ix *Index) addSuffixes(key string) {
	if strings.Count(key, "/") >= 1 {
		if old, ok := ix.suffixes[key]; !ok || old != key {
			ix.suffixes[key] = key // a full key wins over a stripped one
		}
	}
	first, rest, ok := strings.Cut(key, "/")
	if ok && isLayoutDir(first) && strings.Contains(rest, "/") {
		if _, taken := ix.suffixes[rest]; !taken {
			ix.suffixes[rest] = key
		}
	}
}

// normPath cleans a trace path into the index's key form: slash-separated,
// no leading "./" or "/".
func normPath(p string) string {
	if p == "" {
		return ""
	}
	p = path.Clean(strings.ReplaceAll(p, "\\", "/"))
	p = strings.TrimLeft(p, "/")
	if p == "." {
		return ""
	}
	return p
}

// parseLocation reads "func @ path:line" or "path:line func" (the forms the
// document uses for fusion locations and overlap scopes).
func parseLocation(s string) (p string, line int, ok bool) {
	s = strings.TrimSpace(s)
	if _, after, found := strings.Cut(s, " @ "); found {
		s = strings.TrimSpace(after)
	} else if f := strings.Fields(s); len(f) > 0 {
		s = f[0]
	}
	i := strings.LastIndexByte(s, ':')
	if i <= 0 {
		return "", 0, false
	}
	n, err := strconv.Atoi(s[i+1:])
	if err != nil || n <= 0 {
		return "", 0, false
	}
	return s[:i], n, true
}

// Stage returns the headline stage.
func (ix *Index) Stage() string { return ix.stage }

// Document returns the analysis document the index was built from.
func (ix *Index) Document() *analyzer.Document { return ix.doc }

// Files returns the repo-relative paths the index knows, sorted.
func (ix *Index) Files() []string {
	out := make([]string, 0, len(ix.files))
	for k := range ix.files {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// Lines returns the lines of the file with repo-relative path key.
func (ix *Index) Lines(key string) map[int]*LineInfo { return ix.files[key] }

// Line returns what the trace says about line n (1-based) of key, or nil.
func (ix *Index) Line(key string, n int) *LineInfo {
	return ix.files[key][n]
}

// Resolve maps a file on disk (slash-separated absolute path) to the
// repo-relative path the trace uses, trying each workspace root first and
// then the longest path suffix the index knows (at least two path
// elements). It returns "" when the file launched nothing in the trace.
func (ix *Index) Resolve(abs string, roots []string) string {
	abs = strings.ReplaceAll(abs, "\\", "/")
	for _, r := range roots {
		r = strings.TrimRight(strings.ReplaceAll(r, "\\", "/"), "/")
		if rel, ok := strings.CutPrefix(abs, r+"/"); ok {
			if _, known := ix.files[rel]; known {
				return rel
			}
		}
	}
	// Walk the suffixes from the longest down to two elements.
	s := strings.TrimLeft(abs, "/")
	for {
		if strings.Count(s, "/") < 1 {
			return ""
		}
		if key, ok := ix.suffixes[s]; ok {
			return key
		}
		_, s, _ = strings.Cut(s, "/")
	}
}

// Total returns the line's GPU time and share of the headline stage, and
// how many kernel rows it launched there.
func (li *LineInfo) Total() (gpuUS, sharePct float64, kernels int) {
	return li.gpuUS, li.sharePct, li.kernels
}

// Hot returns the hottest lines of the headline stage, at most n, each
// taking at least minShare percent of the stage.
func (ix *Index) Hot(n int, minShare float64) []*LineInfo {
	var out []*LineInfo
	for _, li := range ix.hot {
		if len(out) >= n || li.sharePct < minShare {
			break
		}
		out = append(out, li)
	}
	return out
}

// formatTime prints microseconds the way the CLI tables do: milliseconds
// with two decimals from 0.1 ms up, else microseconds.
func formatTime(us float64) string {
	if us >= 100 {
		return strconv.FormatFloat(us/1000, 'f', 2, 64) + " ms"
	}
	return strconv.FormatFloat(us, 'f', 1, 64) + " µs"
}

// formatShare prints a percentage with one decimal.
func formatShare(pct float64) string {
	return strconv.FormatFloat(pct, 'f', 1, 64) + "%"
}
