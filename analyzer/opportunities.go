package analyzer

import (
	"fmt"
	"strconv"

	"github.com/tracetriage/tracetriage/analyzer/fuse"
	"github.com/tracetriage/tracetriage/analyzer/overlap"
	"github.com/tracetriage/tracetriage/analyzer/trace"
)

// addInterval records one kernel execution for the overlap analysis: its
// stream (the stream id, else the thread the trace drew it on), its span,
// the line and CPU op that launched it and when the launch call began,
// when known (ln is nil without a launch record).
func (s *stageAgg) addInterval(t *trace.Trace, k *trace.Kernel, canon string, res resolution, ln *trace.Launch) {
	s.kernels = append(s.kernels, s.overlapKernel(t, k, canon, res, ln))
}

// overlapKernel is the overlap analysis's record of one kernel execution
// (see addInterval), with s's stream label cache.
func (s *stageAgg) overlapKernel(t *trace.Trace, k *trace.Kernel, canon string, res resolution, ln *trace.Launch) overlap.Kernel {
	sk := overlap.Kernel{Name: canon, Stream: s.streamLabel(t, k), Start: k.TS, End: k.TS + k.Dur}
	if ln != nil && ln.TS != 0 {
		sk.Launch = ln.TS
	}
	if res.location != "" && res.location != GraphReplaySite {
		sk.Scope, sk.LaunchOp = res.location, res.cpuOp
	}
	return sk
}

// streamLabel returns the stream label of a kernel: its stream id, else
// "tid=" and its thread. Labels are cached (a stage has few streams), so
// kernels share one string per stream.
func (s *stageAgg) streamLabel(t *trace.Trace, k *trace.Kernel) string {
	id, byTID := k.Stream, k.Stream == trace.NoID
	if byTID {
		id = int64(k.TID)
	}
	for i := range s.streams {
		if c := &s.streams[i]; c.id == id && c.byTID == byTID {
			return c.label
		}
	}
	label := "tid=" + t.S(k.TID)
	if !byTID {
		label = strconv.FormatInt(k.Stream, 10)
	}
	if len(s.streams) < maxCachedStreams {
		s.streams = append(s.streams, streamLabel{id: id, byTID: byTID, label: label})
	}
	return label
}

// maxCachedStreams bounds the stream label cache of a stage, so that a
// trace with very many streams does not make the lookup quadratic.
const maxCachedStreams = 64

// overlapKernels returns the stage's kernels for the overlap analysis,
// completing them in place and handing them over (s.kernels is cleared).
// A kernel without a launch site of its own (a graph replay) takes the
// best site of its row, which a mapping trace may have supplied.
func (s *stageAgg) overlapKernels(st *Stage) []overlap.Kernel {
	type site struct{ scope, op string }
	best := map[string]site{}
	for i := range st.Kernels {
		if k := &st.Kernels[i]; len(k.Sites) > 0 && k.Sites[0].Path != "" {
			best[k.Name] = site{SiteLocation(k.Sites[0]), k.Sites[0].CPUOp}
		}
	}
	out := s.kernels
	s.kernels = nil
	if len(best) == 0 {
		return out
	}
	for i := range out {
		if k := &out[i]; k.Scope == "" {
			if b, ok := best[k.Name]; ok {
				k.Scope, k.LaunchOp = b.scope, b.op
			}
		}
	}
	return out
}

// hostBoundPct: a stage whose GPU waits for the host to launch work at
// least this share of its span gets a warning.
const hostBoundPct = 20

// hostBoundWarning says when a stage's GPU spent much of its span idle
// waiting for the host to launch the next kernel, or returns "".
func hostBoundWarning(stage string, b overlap.Breakdown) string {
	if b.SpanUS <= 0 || 100*b.IdleHostUS/b.SpanUS < hostBoundPct {
		return ""
	}
	most := ""
	if len(b.IdleHostBySite) > 0 && b.IdleHostBySite[0].Scope != "" {
		top := b.IdleHostBySite[0]
		most = fmt.Sprintf(", %.0f%% of it before launches from %s", 100*top.IdleUS/b.IdleHostUS, top.Scope)
	}
	return fmt.Sprintf("%s: the GPU was idle %.1f%% of the stage's span waiting for the host to launch the next kernel "+
		"(%s of %s%s): the host side (Python, scheduling, kernel launches) limits this stage; CUDA graphs, or overlapping "+
		"the CPU work with the GPU, can hide it.",
		StageLabel(stage), 100*b.IdleHostUS/b.SpanUS, overlap.FormatUS(b.IdleHostUS), overlap.FormatUS(b.SpanUS), most)
}

// addOpportunities fills each stage's overlap rows, breakdown (and
// timeline) and fusion rows.
func addOpportunities(doc *Document, kernels [][]overlap.Kernel, catalog *fuse.Catalog, fctx fuse.Context, oopts overlap.Options, timeline bool) {
	for i := range doc.Stages {
		st := &doc.Stages[i]
		if i < len(kernels) {
			ks := kernels[i]
			res := overlap.Analyze(ks, oopts)
			for _, r := range res.Rows {
				st.Overlap = append(st.Overlap, OverlapRow{
					Priority: r.Priority, Verdict: r.Verdict, Kernel: r.Kernel, Category: r.Category,
					Scope: r.Scope, GPUTimeUS: r.GPUTimeUS, SharePct: r.SharePct,
					ExclusivePct: r.ExclusivePct, HiddenPct: r.HiddenPct, DepRisk: r.DepRisk,
					Recommendation: r.Recommendation,
				})
			}
			b := res.Breakdown
			st.Breakdown = &b
			if w := hostBoundWarning(st.Stage, b); w != "" {
				doc.Warnings = append(doc.Warnings, w)
			}
			if timeline && len(res.Rows) > 0 {
				v := overlap.BuildTimeline(ks, res.Rows[0].Representative, overlap.TimelineOptions{})
				st.Timeline = &v
			}
			kernels[i] = nil // done with; let the collector take it
		}
		rows := make([]fuse.Kernel, len(st.Kernels))
		for j, k := range st.Kernels {
			rows[j] = fuse.Kernel{Name: k.Name, Category: k.Category, GPUTimeUS: k.GPUTimeUS}
			for _, s := range k.Sites {
				loc := ""
				if s.Path != "" {
					loc = SiteLocation(s)
				}
				rows[j].Sites = append(rows[j].Sites, fuse.Site{Location: loc, CPUOp: s.CPUOp, Stack: s.Stack,
					Launches: s.Launches, SharePct: s.SharePct})
			}
		}
		ctx := fctx
		ctx.StageTotalUS = st.GPUTimeUS
		for _, o := range catalog.Match(rows, ctx) {
			fr := FuseRow{Pattern: o.Pattern, Confidence: o.Confidence, GPUTimeUS: o.GPUTimeUS, SharePct: o.SharePct,
				Evidence: []Evidence{}, CurrentLocations: append([]string{}, o.CurrentLocations...),
				CandidatePaths: append([]string{}, o.CandidatePaths...), Rationale: o.Rationale}
			for _, e := range o.Evidence {
				fr.Evidence = append(fr.Evidence, Evidence{Kernel: e.Kernel, SharePct: e.SharePct})
			}
			st.Fuse = append(st.Fuse, fr)
		}
	}
}
