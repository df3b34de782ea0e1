package analyzer

import (
	"strconv"

	"github.com/tracetriage/tracetriage/analyzer/fuse"
	"github.com/tracetriage/tracetriage/analyzer/overlap"
	"github.com/tracetriage/tracetriage/analyzer/trace"
)

// addInterval records one kernel execution for the overlap analysis: its
// stream (the stream id, else the thread the trace drew it on), its span,
// and the line and CPU op that launched it when known.
func (s *stageAgg) addInterval(t *trace.Trace, k *trace.Kernel, canon string, res resolution) {
	stream := "tid=" + t.S(k.TID)
	if k.Stream != trace.NoID {
		stream = strconv.FormatInt(k.Stream, 10)
	}
	sk := stageKernel{name: canon, stream: stream, start: k.TS, end: k.TS + k.Dur}
	if res.location != "" && res.location != GraphReplaySite {
		sk.scope, sk.launch = res.location, res.cpuOp
	}
	s.kernels = append(s.kernels, sk)
}

// overlapKernels converts the stage's kernels for the overlap analysis. A
// kernel without a launch site of its own (a graph replay) takes the best
// site of its row, which a mapping trace may have supplied.
func (s *stageAgg) overlapKernels(st *Stage) []overlap.Kernel {
	best := map[string]*Site{}
	for i := range st.Kernels {
		if k := &st.Kernels[i]; len(k.Sites) > 0 && k.Sites[0].Path != "" {
			best[k.Name] = &k.Sites[0]
		}
	}
	out := make([]overlap.Kernel, len(s.kernels))
	for i, k := range s.kernels {
		out[i] = overlap.Kernel{Name: k.name, Stream: k.stream, Start: k.start, End: k.end, Scope: k.scope, LaunchOp: k.launch}
		if k.scope == "" {
			if b := best[k.name]; b != nil {
				out[i].Scope, out[i].LaunchOp = SiteLocation(*b), b.CPUOp
			}
		}
	}
	return out
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
			if timeline && len(res.Rows) > 0 {
				v := overlap.BuildTimeline(ks, res.Rows[0].Representative, overlap.TimelineOptions{})
				st.Timeline = &v
			}
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
