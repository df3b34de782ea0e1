package overlap

import (
	"cmp"
	"fmt"
	"regexp"
	"slices"
)

// Verdicts of an overlap row.
const (
	// VerdictHeadroom marks a family that mostly runs alone on the GPU:
	// overlapping or fusing it would shorten the stage.
	VerdictHeadroom = "headroom"
	// VerdictLowROIHidden marks an elementwise or memory family that other
	// streams already hide: little to gain.
	VerdictLowROIHidden = "low-roi-hidden"
)

// Dependency signals (Row.DepSignal) and their Dep risk labels.
const (
	SignalBoth    = "both-side serial risk"
	SignalPrev    = "prev-side serial risk"
	SignalNext    = "next-side serial risk"
	SignalUnclear = "adjacency unclear"
	SignalLow     = "serial risk low"

	RiskLow     = "low"
	RiskHigh    = "high"
	RiskUnclear = "unclear"
)

// Selection thresholds (spec §9.4).
const (
	// MinSharePct is the reporting bar: rows below this share of the
	// stage's busy time are dropped.
	MinSharePct = 1.0
	// minFamilyUS is the least total time of a family to be a row.
	minFamilyUS = 5.0
	// headroomExclusiveRatio is the least exclusive ratio of a headroom row.
	headroomExclusiveRatio = 0.45
	// hiddenRatioLowROI is the least hidden ratio of a low-roi-hidden row.
	hiddenRatioLowROI = 0.65
	// maxRowsPerVerdict caps the rows of each verdict.
	maxRowsPerVerdict = 5
)

// headroomWeight orders headroom candidates by exclusive time × weight.
var headroomWeight = map[string]float64{
	Communication: 1.3,
	Memory:        1.15,
	Elementwise:   1.0,
	Other:         0.8,
	Compute:       0.35,
}

// Row is one row of the Overlap Opportunity table. Its JSON fields up to
// Recommendation are those of the analysis document's overlap row; the rest
// are the numbers behind the formal signal and the dependency signal.
type Row struct {
	Priority       string  `json:"priority"` // P1 (act first) .. P5
	Verdict        string  `json:"verdict"`  // headroom or low-roi-hidden
	Kernel         string  `json:"kernel"`   // canonical kernel name
	Category       string  `json:"category"` // Classify's category
	Scope          string  `json:"scope"`    // most common Python scope, or "unmapped"
	GPUTimeUS      float64 `json:"gpu_time_us"`
	SharePct       float64 `json:"share_pct"` // of the stage's busy time
	ExclusivePct   float64 `json:"exclusive_pct"`
	HiddenPct      float64 `json:"hidden_pct"`
	DepRisk        string  `json:"dep_risk"`       // low, high or unclear
	Recommendation string  `json:"recommendation"` // try overlap, try fusion, check deps, skip

	Launches          int     `json:"launches"`
	ExclusiveUS       float64 `json:"exclusive_us"`
	HiddenUS          float64 `json:"hidden_us"`
	HiddenByComputeUS float64 `json:"hidden_by_compute_us"`
	OverlappedWith    string  `json:"overlapped_with,omitempty"`
	LaunchOp          string  `json:"launch_op"`
	// DepSignal is the dependency signal behind DepRisk (Signal*).
	DepSignal string `json:"dep_signal"`
	// Prev and Next are the representative kernel's neighbours on its
	// stream; nil at the stream's ends.
	Prev *Neighbor `json:"prev,omitempty"`
	Next *Neighbor `json:"next,omitempty"`
	// Representative is the index (into the kernels given to Analyze) of
	// the family's longest kernel: the centre of its timeline.
	Representative int `json:"representative"`
}

// Neighbor is the kernel just before or after a row's representative
// kernel on the same stream.
type Neighbor struct {
	Kernel   string  `json:"kernel"`
	Category string  `json:"category"`
	Scope    string  `json:"scope"`
	GapUS    float64 `json:"gap_us"` // clipped at 0
}

// FormalSignal renders the reference's "Formal signal" cell:
// "<total> us, share <s>%, excl <e>% / hid <h>%".
func (r Row) FormalSignal() string {
	return fmt.Sprintf("%.1f us, share %.1f%%, excl %.1f%% / hid %.1f%%",
		r.GPUTimeUS, r.SharePct, r.ExclusivePct, r.HiddenPct)
}

// selectRows picks the headroom and low-roi-hidden rows (spec §9.4), with
// the share cut applied before the per-verdict top 5 and the limit last.
// sid holds each kernel's stream id (see sweepResult.sid).
func selectRows(kernels []Kernel, cats []string, sid []int32, res *Result, opts Options) []Row {
	share := func(f *Family) float64 { return 100 * ratio(f.TotalUS, res.BusyUS) }
	eligible := func(f *Family) bool { return f.TotalUS >= minFamilyUS && share(f) >= MinSharePct }

	var primary, fallback []*Family
	for i := range res.Families {
		f := &res.Families[i]
		if !eligible(f) || f.ExclusiveRatio() < headroomExclusiveRatio {
			continue
		}
		if f.Category == Compute {
			fallback = append(fallback, f)
		} else {
			primary = append(primary, f)
		}
	}
	byWeighted := func(a, b *Family) int {
		wa, wb := a.ExclusiveUS*headroomWeight[a.Category], b.ExclusiveUS*headroomWeight[b.Category]
		if c := cmp.Compare(wb, wa); c != 0 {
			return c
		}
		return cmp.Compare(a.Name, b.Name)
	}
	slices.SortStableFunc(primary, byWeighted)
	slices.SortStableFunc(fallback, byWeighted)
	headroom := append(primary, fallback...)
	if len(headroom) > maxRowsPerVerdict {
		headroom = headroom[:maxRowsPerVerdict]
	}

	famOf := map[string]*Family{}
	for i := range res.Families {
		famOf[res.Families[i].Name] = &res.Families[i]
	}
	seen := map[string]bool{}
	for _, f := range headroom {
		seen[f.Name] = true
	}

	var hidden []*Family
	for i := range res.Families {
		f := &res.Families[i]
		if seen[f.Name] || !eligible(f) || (f.Category != Elementwise && f.Category != Memory) ||
			f.HiddenRatio() < hiddenRatioLowROI {
			continue
		}
		hidden = append(hidden, f)
	}
	score := func(f *Family) float64 {
		return f.HiddenUS * (1 + f.HiddenByComputeUS/max(f.HiddenUS, 1))
	}
	slices.SortStableFunc(hidden, func(a, b *Family) int {
		if c := cmp.Compare(score(b), score(a)); c != 0 {
			return c
		}
		if c := cmp.Compare(b.HiddenRatio(), a.HiddenRatio()); c != 0 {
			return c
		}
		return cmp.Compare(a.Name, b.Name)
	})
	if len(hidden) > maxRowsPerVerdict {
		hidden = hidden[:maxRowsPerVerdict]
	}
	// The rows' representatives' stream neighbours, all in one scan.
	reps := make([]int, 0, len(headroom)+len(hidden))
	for _, f := range headroom {
		reps = append(reps, f.Representative)
	}
	for _, f := range hidden {
		reps = append(reps, f.Representative)
	}
	nbs := neighboursOf(kernels, sid, reps)
	rows := []Row{}
	for j, f := range headroom {
		rows = append(rows, makeRow(f, VerdictHeadroom, share(f), kernels, cats, nbs[j], famOf))
	}
	for j, f := range hidden {
		rows = append(rows, makeRow(f, VerdictLowROIHidden, share(f), kernels, cats, nbs[len(headroom)+j], famOf))
	}
	if opts.Limit > 0 && len(rows) > opts.Limit {
		rows = rows[:opts.Limit]
	}
	return rows
}

// makeRow fills one row: numbers from the family, dependency signal from
// the representative kernel's neighbours, then priority and recommendation.
// nb holds the representative's stream neighbours (see neighboursOf).
func makeRow(f *Family, verdict string, share float64, kernels []Kernel, cats []string,
	nb [2]int, famOf map[string]*Family) Row {
	r := Row{
		Verdict:           verdict,
		Kernel:            f.Name,
		Category:          f.Category,
		Scope:             f.Scope,
		GPUTimeUS:         f.TotalUS,
		SharePct:          share,
		ExclusivePct:      100 * f.ExclusiveRatio(),
		HiddenPct:         100 * f.HiddenRatio(),
		Launches:          f.Launches,
		ExclusiveUS:       f.ExclusiveUS,
		HiddenUS:          f.HiddenUS,
		HiddenByComputeUS: f.HiddenByComputeUS,
		OverlappedWith:    f.OverlappedWith,
		LaunchOp:          f.LaunchOp,
		Representative:    f.Representative,
	}
	dep := depSignal(f.Representative, kernels, cats, nb, famOf)
	r.DepSignal = dep.signal
	r.Prev, r.Next = dep.prev, dep.next
	r.DepRisk = RiskLabel(dep.signal)
	r.Priority, r.Recommendation = priority(verdict, f.Category, r.DepRisk, share)
	return r
}

// RiskLabel maps a dependency signal to the Dep risk column: low, high or
// unclear.
func RiskLabel(signal string) string {
	switch signal {
	case SignalLow:
		return RiskLow
	case SignalUnclear:
		return RiskUnclear
	}
	return RiskHigh
}

// priority returns the row's priority and recommendation (spec §9.6).
func priority(verdict, category, risk string, share float64) (string, string) {
	switch {
	case share < MinSharePct:
		return "P5", "skip"
	case verdict == VerdictHeadroom && risk == RiskLow && category == Communication:
		return "P1", "try overlap"
	case verdict == VerdictHeadroom && risk == RiskLow:
		return "P1", "try fusion"
	case verdict == VerdictHeadroom:
		return "P2", "check deps"
	}
	return "P4", "skip"
}

// kernelBefore reports whether kernel a orders before kernel b on a
// stream: by start, end, then index.
func kernelBefore(kernels []Kernel, a, b int) bool {
	ka, kb := &kernels[a], &kernels[b]
	if ka.Start != kb.Start {
		return ka.Start < kb.Start
	}
	if ka.End != kb.End {
		return ka.End < kb.End
	}
	return a < b
}

// neighboursOf returns, for each kernel of reps, the indexes of the
// previous and next kernel on its stream in the order of kernelBefore (-1
// at the stream's ends), all in one scan of the kernels; sid holds each
// kernel's stream id (see sweepResult.sid). Only the few
// rows' representatives need neighbours, so this costs less than ordering
// every stream.
func neighboursOf(kernels []Kernel, sid []int32, reps []int) [][2]int {
	out := make([][2]int, len(reps))
	repsOf := map[int32][]int{} // stream id -> positions in reps
	for r, i := range reps {
		out[r] = [2]int{-1, -1}
		repsOf[sid[i]] = append(repsOf[sid[i]], r)
	}
	if len(reps) == 0 {
		return out
	}
	byStream := make([][]int, slices.Max(sid)+1)
	for s, rs := range repsOf {
		byStream[s] = rs
	}
	for j := range kernels {
		for _, r := range byStream[sid[j]] {
			i, nb := reps[r], &out[r]
			switch {
			case j == i:
			case kernelBefore(kernels, j, i):
				if nb[0] < 0 || kernelBefore(kernels, nb[0], j) {
					nb[0] = j
				}
			case nb[1] < 0 || kernelBefore(kernels, j, nb[1]):
				nb[1] = j
			}
		}
	}
	return out
}

type depResult struct {
	signal     string
	prev, next *Neighbor
}

// depSignal classifies the serial-dependency risk of kernel i from its
// neighbours on the same stream (spec §9.6). A side is tight when its gap is
// at most max(2, min(20, 0.15×duration)) µs; a tight side is risky when the
// neighbour shares the scope family (same path or function) or the launch
// op, or its category pairs like a producer/consumer with the kernel's.
//
// nb holds the kernel's previous and next kernel on its stream (see
// neighboursOf).
func depSignal(i int, kernels []Kernel, cats []string, nb [2]int, famOf map[string]*Family) depResult {
	cur := kernels[i]
	curScope := scopeOf(cur, famOf)
	curOp := launchOpOf(cur, famOf)
	threshold := max(2, min(20, 0.15*us(cur.dur())))
	var res depResult
	side := func(j int, gapNS int64) (tight, risk, unclear bool, n *Neighbor) {
		if j < 0 {
			return false, false, false, nil
		}
		gap := max(us(gapNS), 0)
		scope := scopeOf(kernels[j], famOf)
		n = &Neighbor{Kernel: kernels[j].Name, Category: cats[j], Scope: scope, GapUS: gap}
		tight = gap <= threshold
		risk = tight && (sameScopeFamily(curScope, scope) ||
			(curOp != NoLaunchOp && curOp == launchOpOf(kernels[j], famOf)) ||
			dependencyLike(cats[i], cats[j]))
		unclear = tight && !risk && (curScope == Unmapped || scope == Unmapped)
		return tight, risk, unclear, n
	}
	p, nx := nb[0], nb[1]
	var prevGap, nextGap int64
	if p >= 0 {
		prevGap = cur.Start - kernels[p].End
	}
	if nx >= 0 {
		nextGap = kernels[nx].Start - cur.End
	}
	_, prevRisk, prevUnclear, prevN := side(p, prevGap)
	_, nextRisk, nextUnclear, nextN := side(nx, nextGap)
	res.prev, res.next = prevN, nextN
	switch {
	case prevRisk && nextRisk:
		res.signal = SignalBoth
	case prevRisk:
		res.signal = SignalPrev
	case nextRisk:
		res.signal = SignalNext
	case prevUnclear || nextUnclear:
		res.signal = SignalUnclear
	default:
		res.signal = SignalLow
	}
	return res
}

// scopeOf is the kernel's own scope, else its family's most common one.
func scopeOf(k Kernel, famOf map[string]*Family) string {
	if k.Scope != "" {
		return k.Scope
	}
	if f := famOf[k.Name]; f != nil {
		return f.Scope
	}
	return Unmapped
}

// launchOpOf is the kernel's own launch op, else its family's.
func launchOpOf(k Kernel, famOf map[string]*Family) string {
	if k.LaunchOp != "" {
		return k.LaunchOp
	}
	if f := famOf[k.Name]; f != nil {
		return f.LaunchOp
	}
	return NoLaunchOp
}

// dependencyLike reports whether a neighbour's category looks like a
// producer or consumer of the current kernel's: communication next to
// anything, elementwise or memory next to anything but other. Compute and
// other kernels never count.
func dependencyLike(cur, neighbour string) bool {
	switch cur {
	case Communication:
		return neighbour != Communication
	case Elementwise, Memory:
		return neighbour != Other
	}
	return false
}

var (
	scopeColon = regexp.MustCompile(`^(.+?):(\d+)\s+(.+)$`)
	scopeParen = regexp.MustCompile(`^(.+?)\((\d+)\):\s*(.+)$`)
)

// parseScope splits "path:line func" (or the Python frame form
// "path(line): func") into path and function.
func parseScope(scope string) (path, fn string) {
	if scope == "" || scope == Unmapped || scope == NoLaunchOp {
		return "", ""
	}
	if m := scopeColon.FindStringSubmatch(scope); m != nil {
		return m[1], m[3]
	}
	if m := scopeParen.FindStringSubmatch(scope); m != nil {
		return m[1], m[3]
	}
	return scope, ""
}

// sameScopeFamily reports whether two scopes share their path or, failing
// that, their function name.
func sameScopeFamily(a, b string) bool {
	pa, fa := parseScope(a)
	pb, fb := parseScope(b)
	if pa == "" || pb == "" {
		return false
	}
	return pa == pb || (fa != "" && fa == fb)
}
