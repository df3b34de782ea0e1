package analyzer

import (
	"strings"

	"github.com/tracetriage/tracetriage/analyzer/trace"
)

// kernelMap is what a mapping trace knows of each kernel name: its launch
// sites, per stage and over all stages (triage-behaviour.md §7.5, §12).
type kernelMap struct {
	stages map[string]*stageAgg
	global *stageAgg
}

func (m *kernelMap) stage(name string) *stageAgg {
	s := m.stages[name]
	if s == nil {
		s = newStageAgg(name)
		m.stages[name] = s
	}
	return s
}

// addMappingTrace records the launch sites of one mapping trace: every
// kernel that ran, and every kernel launch recorded while a CUDA/HIP graph
// was being captured (HIP names the kernel in the launch's args.kernel;
// such kernels do not run during capture, so the launch is their only
// record). Sites found through a capture launch are marked graph-capture.
func (a *analysis) addMappingTrace(l loaded) {
	t := l.t
	p := a.prepare(l)
	kn := kernelNames{canon: map[trace.Str]string{}, cat: map[trace.Str]string{}}
	ran := map[int64]bool{}
	for i := range t.Kernels {
		k := &t.Kernels[i]
		if k.Correlation != trace.NoID {
			ran[k.Correlation] = true
		}
		st := p.stageOf[i]
		if st == "" {
			continue
		}
		canon, cat := kn.get(t, k.Name)
		res := p.res.resolve(k, p.res.externalID(k), p.res.launch(k))
		if res.location == GraphReplaySite {
			continue // a replay in the mapping trace teaches nothing
		}
		a.mapping.stage(st).add(canon, cat, k.TS, k.Dur).addSite(res, k.Dur)
		a.mapping.global.add(canon, cat, k.TS, k.Dur).addSite(res, k.Dur)
	}
	var si *stageIndex
	if l.target.Stage == StageAll {
		si = newStageIndex(t)
	}
	for i := range t.Launches {
		ln := &t.Launches[i]
		if ln.Kernel == 0 || ran[ln.Correlation] || isGraphLaunch(t.S(ln.Name)) {
			continue
		}
		p.res.buf = p.res.frames.active(ln.PID, ln.TID, probeAt(ln.TS, ln.Dur), p.res.buf)
		if len(p.res.buf) == 0 {
			continue
		}
		res := p.res.fromFrames(t.S(ln.Name), AttrGraphCapture)
		if ext := ln.ExternalID; ext != trace.NoID {
			if ops := p.res.opsByExt[ext]; len(ops) > 0 {
				res.cpuOp = t.S(t.CPUOps[ops[0]].Name)
			}
		}
		st := l.target.Stage
		if si != nil {
			if st = si.cpu.containing(ln.TS + probeOffsetNS); st == "" {
				st = StageAll
			}
		}
		canon, cat := kn.get(t, ln.Kernel)
		a.mapping.stage(st).row(canon, cat).launches++
		a.mapping.stage(st).row(canon, cat).addSite(res, 0)
		a.mapping.global.row(canon, cat).launches++
		a.mapping.global.row(canon, cat).addSite(res, 0)
	}
	a.remember(p.res)
}

// stageAliases lists the mapping stages searched for a formal stage, in
// order (triage-behaviour.md §7.6).
func stageAliases(stage string) []string {
	switch stage {
	case StageExtend:
		return []string{StageExtend, "prefill", StageAll}
	case StageDecode:
		return []string{StageDecode, StageAll}
	}
	return []string{stage, StageAll}
}

// lookup finds the mapping entry of a formal kernel name: the stage
// aliases, then all stages; in each, the exact name, else the best
// relaxed match (case-insensitive prefix either way scores the shorter
// length; substring scores half of it).
func (m *kernelMap) lookup(stage, name string) *rowAgg {
	var payloads []*stageAgg
	for _, st := range stageAliases(stage) {
		if s := m.stages[st]; s != nil {
			payloads = append(payloads, s)
		}
	}
	payloads = append(payloads, m.global)
	for _, s := range payloads {
		if r := s.rows[name]; r != nil {
			return r
		}
	}
	lower := strings.ToLower(name)
	for _, s := range payloads {
		var best *rowAgg
		bestScore := 0
		for _, r := range s.order {
			cand := strings.ToLower(r.name)
			short := min(len(cand), len(lower))
			score := 0
			switch {
			case strings.HasPrefix(cand, lower) || strings.HasPrefix(lower, cand):
				score = short
			case strings.Contains(cand, lower) || strings.Contains(lower, cand):
				score = short / 2
			}
			if score > bestScore {
				best, bestScore = r, score
			}
		}
		if best != nil {
			return best
		}
	}
	return nil
}

// applyMapping replaces the sites of each formal row with those the
// mapping trace knows for the same kernel, when it knows any.
func (a *analysis) applyMapping(stage string, agg *stageAgg, st *Stage) {
	for i := range st.Kernels {
		row := &st.Kernels[i]
		m := a.mapping.lookup(stage, row.Name)
		if m == nil || len(m.order) == 0 {
			continue
		}
		sites := buildSites(m, a.locs)
		if len(sites) == 1 && sites[0].Path == "" && sites[0].Function == "" {
			continue // the mapping trace does not know it either
		}
		row.Sites = sites
	}
}
