package fuse

import (
	"fmt"
	"sort"
	"strings"
)

// Kernel is one kernel row of a stage: every launch of one canonical kernel
// name. Match wants all rows of the stage, not only those shown in the text
// table.
type Kernel struct {
	Name     string
	Category string // kernel-table category ("attention", "norm", ...)
	// GPUTimeUS is the row's total GPU time in microseconds.
	GPUTimeUS float64
	// Sites are the Python launch sites, best first.
	Sites []Site
}

// Site is one Python launch site of a kernel row.
type Site struct {
	Location string // "path:line func"; "" when unresolved
	CPUOp    string // the CPU op or runtime call that launched the kernel
	Stack    []string
	Launches int
	SharePct float64 // share of the row's GPU time
}

// Context is what Match needs to know about the stage beyond its rows.
type Context struct {
	// Framework is "sglang", "vllm", "trtllm" or "unknown" (or ""), in which
	// case every pattern is eligible.
	Framework string
	// Model is the served model's name or path ("" when unknown).
	Model string
	// TPSize is the tensor-parallel size (0 or 1 when unknown).
	TPSize int
	// StageTotalUS is the stage's total kernel time, the base of every share.
	StageTotalUS float64
}

// Confidence values of an Opportunity.
const (
	// ConfidenceConfirmed: the unfused pieces take at least the pattern's
	// likely share.
	ConfidenceConfirmed = "Confirmed"
	// ConfidenceCandidate: the unfused pieces take at least the pattern's
	// minimum share but less than its likely share.
	ConfidenceCandidate = "Candidate"
	// ConfidenceAlreadyFused: the fused implementation already runs and no
	// unfused pieces are left; the row reports the fused kernels' time and
	// nothing is left to do.
	ConfidenceAlreadyFused = "Already fused"
)

// MinReportSharePct is the share below which a selected opportunity is not
// reported.
const MinReportSharePct = 1.0

// Opportunity is one selected pattern.
type Opportunity struct {
	Pattern    string
	Confidence string // ConfidenceConfirmed, ConfidenceCandidate or ConfidenceAlreadyFused
	// GPUTimeUS and SharePct: the related kernels' time and share of the
	// stage. For Confirmed and Candidate rows the related kernels are the
	// unfused pieces; for Already fused rows, the fused kernels.
	GPUTimeUS, SharePct float64
	// Evidence lists the related kernels with at least MinReportSharePct
	// share, in match order (fused kernels, then each split group).
	Evidence []Evidence
	// CurrentLocations are up to four distinct launch sites of the related
	// kernels ("path:line func").
	CurrentLocations []string
	// CandidatePaths are where the fused implementation lives.
	CandidatePaths []string
	Rationale      string
}

// Evidence is one kernel that made a pattern match.
type Evidence struct {
	Kernel   string
	SharePct float64
}

// maxLocations is how many distinct launch sites an Opportunity lists.
const maxLocations = 4

// row is a Kernel prepared for matching.
type row struct {
	k        *Kernel
	category string
	text     string // raw: name, then the locations and CPU ops of non-graph sites
	lower    string
	compact  string
	stacks   []stackText // one per non-graph site with a stack
}

// stackText is one site's stack frames prepared for matching.
type stackText struct{ lower, compact string }

func (s stackText) has(k keyword) bool {
	return strings.Contains(s.lower, k.lower) || (k.compact != "" && strings.Contains(s.compact, k.compact))
}

// isGraphLaunch reports whether a CPU op is a CUDA/HIP graph launch, whose
// Python location says where the graph was replayed, not what the kernel
// is.
func isGraphLaunch(op string) bool {
	return strings.Contains(strings.ToLower(op), "graphlaunch")
}

func prepare(kernels []Kernel) []row {
	rows := make([]row, len(kernels))
	for i := range kernels {
		k := &kernels[i]
		fields := []string{k.Name}
		for _, s := range k.Sites {
			if isGraphLaunch(s.CPUOp) {
				continue
			}
			fields = append(fields, s.Location, s.CPUOp)
		}
		t := strings.Join(fields, " ")
		rows[i] = row{k: k, category: strings.ToLower(k.Category), text: t, lower: strings.ToLower(t), compact: compactFields(fields)}
		for _, s := range k.Sites {
			if len(s.Stack) > 0 && !isGraphLaunch(s.CPUOp) {
				rows[i].stacks = append(rows[i].stacks, stackText{lower: strings.ToLower(strings.Join(s.Stack, "\n")), compact: compactFields(s.Stack)})
			}
		}
	}
	return rows
}

// compactFields compacts each field on its own and joins them with a byte
// no compacted keyword holds, so that a compacted keyword matches inside one
// field only: the reference compacted the whole "name location op" text,
// where "…embedding aten::gather" became "…embeddingatengather" and matched
// the keyword "gate".
func compactFields(fields []string) string {
	parts := make([]string, len(fields))
	for i, f := range fields {
		parts[i] = compact(f)
	}
	return strings.Join(parts, "|")
}

func (r *row) has(k keyword) bool {
	if strings.Contains(r.lower, k.lower) {
		return true
	}
	return k.compact != "" && strings.Contains(r.compact, k.compact)
}

// holds reports whether the row's text or a frame of one of its stacks
// (graph launches aside) holds the keyword: the test of RequireKeywords.
func (r *row) holds(k keyword) bool {
	if r.has(k) {
		return true
	}
	for _, st := range r.stacks {
		if st.has(k) {
			return true
		}
	}
	return false
}

// matcher memoises keyword hits over the rows of one Match call: the
// catalogue repeats keywords such as "rope" or "quant" many times.
type matcher struct {
	rows []row
	memo map[string][]bool // keyword hits in the row text
	held map[string][]bool // keyword hits in the row text or stacks
}

func (m *matcher) hits(k keyword) []bool {
	key := k.lower
	if h, ok := m.memo[key]; ok {
		return h
	}
	h := make([]bool, len(m.rows))
	for i := range m.rows {
		h[i] = m.rows[i].has(k)
	}
	m.memo[key] = h
	return h
}

func (m *matcher) holds(k keyword) []bool {
	key := k.lower
	if h, ok := m.held[key]; ok {
		return h
	}
	h := make([]bool, len(m.rows))
	for i := range m.rows {
		h[i] = m.rows[i].holds(k)
	}
	m.held[key] = h
	return h
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// match returns the indices of the rows the group matches, in row order.
func (m *matcher) match(g *Group) []int {
	if g.empty() {
		return nil
	}
	var out []int
	for i := range m.rows {
		r := &m.rows[i]
		if len(g.Categories) > 0 && !contains(g.Categories, r.category) {
			continue
		}
		if contains(g.ExcludeCategories, r.category) {
			continue
		}
		hit := false
		for _, k := range g.keys {
			if m.hits(k)[i] {
				hit = true
				break
			}
		}
		for _, re := range g.res {
			if hit {
				break
			}
			hit = re.MatchString(r.text)
		}
		if !hit {
			continue
		}
		if len(g.require) > 0 {
			required := false
			for _, k := range g.require {
				if m.holds(k)[i] {
					required = true
					break
				}
			}
			if !required {
				continue
			}
		}
		excluded := false
		for _, k := range g.exclude {
			if m.hits(k)[i] {
				excluded = true
				break
			}
		}
		if !excluded && len(g.stacks) > 0 && len(r.stacks) > 0 {
			excluded = true // unless some site's stack is outside the excluded frames
			for _, st := range r.stacks {
				inside := false
				for _, k := range g.stacks {
					if st.has(k) {
						inside = true
						break
					}
				}
				if !inside {
					excluded = false
					break
				}
			}
		}
		if !excluded {
			out = append(out, i)
		}
	}
	return out
}

// normFramework maps a framework name to a catalogue hint, "" meaning any.
func normFramework(f string) string {
	switch strings.ToLower(strings.TrimSpace(f)) {
	case "sglang":
		return "sglang"
	case "vllm":
		return "vllm"
	case "trtllm", "tensorrt-llm", "tensorrt_llm", "tensorrtllm":
		return "trtllm"
	}
	return ""
}

// eligible applies the framework, TP and model gates (§10 rules 2-4).
func (p *Pattern) eligible(ctx Context) bool {
	if fw := normFramework(ctx.Framework); fw != "" && len(p.frameworks) > 0 && !contains(p.frameworks, fw) {
		return false
	}
	tp := ctx.TPSize
	if tp < 1 {
		tp = 1
	}
	if p.RequireTP && tp < p.MinTPSize {
		return false
	}
	model := strings.ToLower(ctx.Model)
	if len(p.ModelInclude) > 0 {
		ok := false
		for _, t := range p.ModelInclude {
			if strings.Contains(model, strings.ToLower(t)) {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	for _, t := range p.ModelExclude {
		if strings.Contains(model, strings.ToLower(t)) {
			return false
		}
	}
	return true
}

// candidate is a pattern that matched, before selection.
type candidate struct {
	p          *Pattern
	order      int
	fused      bool  // Already fused (no split opportunity)
	related    []int // rows counted in GPUTimeUS, in evidence order
	covered    []int // rows the pattern claims in the greedy selection
	activeUS   float64
	us, share  float64
	confidence string
}

func (c *candidate) span() int {
	n := len(c.p.SplitGroups)
	if n == 0 && !c.p.Active.empty() {
		n = 1
	}
	return n
}

// Match applies the catalogue to the kernel rows of one stage and returns the
// selected opportunities: split opportunities (Confirmed, then Candidate in
// selection order) first, then fused implementations that already run. Rows
// under MinReportSharePct are left out. kernels is not modified.
func (c *Catalog) Match(kernels []Kernel, ctx Context) []Opportunity {
	if ctx.StageTotalUS <= 0 || len(kernels) == 0 {
		return nil
	}
	m := &matcher{rows: prepare(kernels), memo: map[string][]bool{}, held: map[string][]bool{}}
	total := ctx.StageTotalUS
	sum := func(idx []int) float64 {
		s := 0.0
		for _, i := range idx {
			s += m.rows[i].k.GPUTimeUS
		}
		return s
	}

	var cands []candidate
	for pi := range c.patterns {
		p := &c.patterns[pi]
		if !p.eligible(ctx) {
			continue
		}
		active := m.match(&p.Active)
		isActive := make(map[int]bool, len(active))
		for _, i := range active {
			isActive[i] = true
		}
		// Split pieces: rows of each group that are not the fused kernel itself.
		var split []int
		inSplit := map[int]bool{}
		allGroups := len(p.SplitGroups) > 0
		for gi := range p.SplitGroups {
			n := 0
			for _, i := range m.match(&p.SplitGroups[gi]) {
				if isActive[i] {
					continue
				}
				n++
				if !inSplit[i] {
					inSplit[i] = true
					split = append(split, i)
				}
			}
			if n == 0 {
				allGroups = false
			}
		}
		cd := candidate{p: p, order: pi, activeUS: sum(active)}
		if allGroups {
			us := sum(split)
			if share := 100 * us / total; share >= p.MinSharePct {
				cd.related, cd.us, cd.share = split, us, share
				cd.confidence = ConfidenceCandidate
				if share >= p.LikelySharePct {
					cd.confidence = ConfidenceConfirmed
				}
				cd.covered = append(append([]int(nil), active...), split...)
			}
		}
		if cd.related == nil && len(active) > 0 {
			cd.fused = true
			cd.related, cd.covered = active, active
			cd.us = cd.activeUS
			cd.share = 100 * cd.us / total
			cd.confidence = ConfidenceAlreadyFused
		}
		if cd.related != nil {
			cands = append(cands, cd)
		}
	}

	sort.SliceStable(cands, func(a, b int) bool {
		x, y := &cands[a], &cands[b]
		if x.fused != y.fused {
			return !x.fused
		}
		if x.p.Priority != y.p.Priority {
			return x.p.Priority > y.p.Priority
		}
		if x.span() != y.span() {
			return x.span() > y.span()
		}
		if len(x.covered) != len(y.covered) {
			return len(x.covered) > len(y.covered)
		}
		if x.us != y.us {
			return x.us > y.us
		}
		return x.order < y.order
	})

	subsumed := map[string]bool{}
	taken := map[int]bool{}
	var out []Opportunity
	for i := range cands {
		cd := &cands[i]
		if subsumed[cd.p.Name] {
			continue
		}
		clash := false
		for _, r := range cd.covered {
			if taken[r] {
				clash = true
				break
			}
		}
		if clash {
			continue
		}
		for _, r := range cd.covered {
			taken[r] = true
		}
		for _, s := range cd.p.Subsumes {
			subsumed[s] = true
		}
		if cd.share < MinReportSharePct {
			continue
		}
		out = append(out, m.opportunity(cd, total))
	}
	return out
}

func (m *matcher) opportunity(cd *candidate, total float64) Opportunity {
	o := Opportunity{
		Pattern:        cd.p.Name,
		Confidence:     cd.confidence,
		GPUTimeUS:      cd.us,
		SharePct:       cd.share,
		CandidatePaths: append([]string(nil), cd.p.CandidatePaths...),
	}
	seen := map[string]bool{}
	for _, i := range cd.related {
		k := m.rows[i].k
		if share := 100 * k.GPUTimeUS / total; share >= MinReportSharePct {
			o.Evidence = append(o.Evidence, Evidence{Kernel: k.Name, SharePct: share})
		}
		for _, s := range k.Sites {
			if s.Location == "" || seen[s.Location] || len(o.CurrentLocations) >= maxLocations {
				continue
			}
			seen[s.Location] = true
			o.CurrentLocations = append(o.CurrentLocations, s.Location)
		}
	}
	o.Rationale = rationale(cd, total)
	return o
}

// rationale writes the row's explanation: what was found, then the pattern's
// own sentence.
func rationale(cd *candidate, total float64) string {
	if cd.fused {
		return fmt.Sprintf("The fused kernel already runs (%.1f%% of stage GPU time); nothing is left to fuse here. %s",
			cd.share, cd.p.Rationale)
	}
	var where string
	switch cd.p.Origin {
	case OriginMainline:
		where = "A fused implementation exists in the framework's main branch."
	case OriginUpstream:
		where = "A fused implementation exists upstream."
	default:
		where = "An open upstream change adds a fused implementation."
	}
	s := fmt.Sprintf("Separate kernels of this family take %.1f%% of stage GPU time. %s", cd.share, where)
	if cd.activeUS > 0 {
		s += fmt.Sprintf(" The fused kernel already runs for part of the work (%.1f%%).", 100*cd.activeUS/total)
	}
	return s + " " + cd.p.Rationale
}
