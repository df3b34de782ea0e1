package analyzer

import (
	"context"
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
func (a *analysis) addMappingTrace(ctx context.Context, l loaded) error {
	t := l.t
	p, err := a.prepare(ctx, l)
	if err != nil {
		return err
	}
	kn := newKernelNames(t)
	ran := map[int64]bool{}
	for i := range t.Kernels {
		k := &t.Kernels[i]
		if k.Correlation != trace.NoID {
			ran[k.Correlation] = true
		}
		st := p.stageAt(i)
		if st == "" {
			continue
		}
		canon, cat := kn.get(k.Name)
		res := p.sites.resolve(k, p.res.externalID(k), p.res.launch(k))
		if res.location == GraphReplaySite {
			continue // a replay in the mapping trace teaches nothing
		}
		a.mapping.stage(st).add(canon, cat, k.TS, k.Dur).addSite(res, k.Dur)
		a.mapping.global.add(canon, cat, k.TS, k.Dur).addSite(res, k.Dur)
	}
	addCaptureLaunches(a.mapping, l, p, kn, ran)
	a.remember(p.sites)
	return nil
}

// addCaptureLaunches adds to km a site for every kernel launch of l that
// names its kernel (HIP's args.kernel) but never ran: a launch recorded
// while a CUDA/HIP graph was being captured. ran holds the correlation ids
// of the kernels that ran.
func addCaptureLaunches(km *kernelMap, l loaded, p *prepared, kn *kernelNames, ran map[int64]bool) {
	t := l.t
	var si *stageIndex
	if l.target.Stage == StageAll {
		si = newStageIndex(t)
	}
	for i := range t.Launches {
		ln := &t.Launches[i]
		if ln.Kernel == 0 || ran[ln.Correlation] || p.sites.graphLaunch(ln.Name) {
			continue
		}
		p.sites.active(ln.PID, ln.TID, probeAt(ln.TS, ln.Dur))
		if len(p.sites.buf) == 0 {
			continue
		}
		res := p.sites.fromFrames(t.S(ln.Name), AttrGraphCapture)
		if ext := ln.ExternalID; ext != trace.NoID {
			if ops := p.res.opsByExt.get(ext); len(ops) > 0 {
				res.cpuOp = t.S(t.CPUOps[ops[0]].Name)
			}
		}
		st := l.target.Stage
		if si != nil {
			if st = si.cpu.containing(ln.TS + probeOffsetNS); st == "" {
				st = StageAll
			}
		}
		canon, cat := kn.get(ln.Kernel)
		for _, agg := range []*stageAgg{km.stage(st), km.global} {
			row := agg.row(canon, cat)
			row.launches++
			row.addSite(res, 0)
		}
	}
}

// exactLookup is lookup without the relaxed name matching: for kernels of
// the same trace, names agree exactly.
func (m *kernelMap) exactLookup(stage, name string) *rowAgg {
	for _, st := range stageAliases(stage) {
		if s := m.stages[st]; s != nil && s.rows[name] != nil {
			return s.rows[name]
		}
	}
	return m.global.rows[name]
}

// attributeOwnReplays gives a row whose every launch was a graph replay the
// sites its kernel was launched from while the graph was captured, when
// the same trace recorded that capture (single-trace mode). Launches are
// shared out in proportion to the capture launches.
func (a *analysis) attributeOwnReplays(stage string, st *Stage) {
	for i := range st.Kernels {
		row := &st.Kernels[i]
		if len(row.Sites) != 1 || row.Sites[0].Function != GraphReplaySite {
			continue
		}
		m := a.capture.exactLookup(stage, row.Name)
		if m == nil || len(m.order) == 0 {
			continue
		}
		sites := buildSites(m, a.locs)
		left := row.Launches
		for j := range sites {
			n := int(float64(row.Launches)*sites[j].SharePct/100 + 0.5)
			if j == len(sites)-1 || n > left {
				n = left
			}
			sites[j].Launches, left = n, left-n
		}
		row.Sites = sites
	}
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

// lookup finds the mapping entry of a formal kernel name
// (triage-behaviour.md §7.6): in each payload in turn (the stage aliases,
// then all stages), the exact name, else the relaxed match.
func (m *kernelMap) lookup(stage, name string) *rowAgg {
	var payloads []*stageAgg
	for _, st := range stageAliases(stage) {
		if s := m.stages[st]; s != nil {
			payloads = append(payloads, s)
		}
	}
	payloads = append(payloads, m.global)
	for _, s := range payloads {
		if r := relaxedMatch(s, name); r != nil {
			return r
		}
	}
	return nil
}

// compactName keeps the letters and digits of s, lower-cased.
func compactName(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'A' <= c && c <= 'Z':
			b.WriteByte(c + 'a' - 'A')
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9':
			b.WriteByte(c)
		}
	}
	return b.String()
}

// Thresholds of the long-name match.
const (
	longNameMin      = 96
	longPrefixMin    = 64
	longPrefixFrac   = 0.4
	flashCutlassHead = "voidcutlassdevicekernelflash"
)

// relaxedMatch: exact name; else the best case-insensitive prefix
// (scores the shorter length) or substring (half of it) relation; else for
// long names (compact form of 96+ characters) the longest shared compact
// prefix of at least 64 characters and 40 % of the shorter; else the alias
// groups.
func relaxedMatch(s *stageAgg, name string) *rowAgg {
	if r := s.rows[name]; r != nil {
		return r
	}
	lower := strings.ToLower(name)
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
	compact := compactName(name)
	if len(compact) >= longNameMin {
		bestScore = 0
		for _, r := range s.order {
			cand := compactName(r.name)
			if len(cand) < longNameMin {
				continue
			}
			n := commonPrefix(compact, cand)
			if n < longPrefixMin || float64(n) < longPrefixFrac*float64(min(len(compact), len(cand))) {
				continue
			}
			score := n
			if strings.HasPrefix(compact, flashCutlassHead) && strings.HasPrefix(cand, flashCutlassHead) {
				score += 32
			}
			if score > bestScore {
				best, bestScore = r, score
			}
		}
		if best != nil {
			return best
		}
	}
	return aliasMatch(s, compact)
}

func commonPrefix(a, b string) int {
	n := 0
	for n < len(a) && n < len(b) && a[n] == b[n] {
		n++
	}
	return n
}

// aliasGroups: kernels whose names say nothing of their Python op, matched
// through tokens of the candidate's name, locations and CPU ops.
var aliasGroups = []struct {
	trigger func(compact string) bool
	tokens  []string
}{
	{func(c string) bool { return strings.Contains(c, "flashattnfwdcombine") },
		[]string{"flashattnfwdsm90", "flashattnvarlenfunc", "vllmflashattnflashattninterface", "vllmfa3cfwd"}},
	{func(c string) bool { return strings.Contains(c, "kernelmha") },
		[]string{"maskedmultiheadattentionkernel", "attentioninplace", "attentionbackendtrtllm"}},
	{func(c string) bool { return strings.Contains(c, "applybiasropeupdatekvcachev2") },
		[]string{"fusedqknormropekernel", "applyqknormrope", "modelingqwen3py98applyqknormrope"}},
	{func(c string) bool { return strings.HasPrefix(c, "memset") }, []string{"memset"}},
}

func aliasMatch(s *stageAgg, compact string) *rowAgg {
	var triggered []int
	for i, g := range aliasGroups {
		if g.trigger(compact) {
			triggered = append(triggered, i)
		}
	}
	if len(triggered) == 0 {
		return nil
	}
	var best *rowAgg
	bestScore := 0
	for _, r := range s.order {
		parts := []string{r.name}
		var prio int
		for i, site := range r.order {
			if i == 4 {
				break
			}
			parts = append(parts, site.location, site.cpuOps.top(), site.stacks.top())
			if p := sourcePriority(site.location); i == 0 || p > prio {
				prio = p
			}
		}
		text := compactName(strings.Join(parts, " "))
		score := 0
		for _, gi := range triggered {
			longest := 0
			for _, tok := range aliasGroups[gi].tokens {
				if strings.Contains(text, tok) && len(tok) > longest {
					longest = len(tok)
				}
			}
			if longest > 0 {
				score += 1000*(gi+1) + longest
			}
		}
		if score == 0 {
			continue
		}
		score += prio + int(r.ns/1000/10)
		if score > bestScore {
			best, bestScore = r, score
		}
	}
	return best
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
