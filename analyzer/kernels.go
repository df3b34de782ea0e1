package analyzer

import (
	"cmp"
	"github.com/tracetriage/tracetriage/analyzer/overlap"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// counter counts strings and remembers the order they first appeared, so
// that ties go to the first seen (as Python's Counter.most_common does).
// Consecutive adds are mostly of the same key, so the last one is checked
// before the map.
type counter struct {
	keys   []string
	counts []int
	index  map[string]int // key -> position in keys
	last   int
}

func (c *counter) add(k string, n int) {
	if len(c.keys) > 0 && c.keys[c.last] == k {
		c.counts[c.last] += n
		return
	}
	if c.index == nil {
		c.index = map[string]int{}
	}
	i, ok := c.index[k]
	if !ok {
		i = len(c.keys)
		c.index[k] = i
		c.keys = append(c.keys, k)
		c.counts = append(c.counts, 0)
	}
	c.counts[i] += n
	c.last = i
}

func (c *counter) merge(o *counter) {
	for i, k := range o.keys {
		c.add(k, o.counts[i])
	}
}

func (c *counter) top() string {
	best, n := "", -1
	for i, k := range c.keys {
		if c.counts[i] > n {
			best, n = k, c.counts[i]
		}
	}
	return best
}

// siteAgg aggregates the launches of one kernel from one location.
type siteAgg struct {
	location string
	ns       int64
	launches int
	cpuOps   counter
	stacks   counter
	attrs    counter
}

// rowAgg aggregates every launch of one canonical kernel name in a stage.
type rowAgg struct {
	name      string
	category  string
	ns, maxNS int64
	launches  int
	sites     map[string]*siteAgg
	order     []*siteAgg
	last      *siteAgg // the site of the latest add
}

func (r *rowAgg) site(location string) *siteAgg {
	if r.last != nil && r.last.location == location {
		return r.last
	}
	s := r.sites[location]
	if s == nil {
		s = &siteAgg{location: location}
		r.sites[location] = s
		r.order = append(r.order, s)
	}
	r.last = s
	return s
}

func (r *rowAgg) addSite(res resolution, dur int64) {
	s := r.site(res.location)
	s.ns += dur
	s.launches++
	s.cpuOps.add(res.cpuOp, 1)
	s.stacks.add(res.stack, 1)
	s.attrs.add(res.attribution, 1)
}

// stageAgg aggregates the kernels of one stage.
type stageAgg struct {
	stage   string
	rows    map[string]*rowAgg
	order   []*rowAgg
	totalNS int64
	// kernels are the formal kernels one by one, for the overlap analysis
	// (Scope and LaunchOp "" when unknown).
	kernels []overlap.Kernel
	// streams caches the stream labels of addInterval.
	streams []streamLabel
}

// streamLabel is the overlap stream label of a stream id (byTID false) or
// of a thread's interned name (byTID true).
type streamLabel struct {
	id    int64
	byTID bool
	label string
}

func newStageAgg(stage string) *stageAgg {
	return &stageAgg{stage: stage, rows: map[string]*rowAgg{}}
}

func (s *stageAgg) row(name, category string) *rowAgg {
	r := s.rows[name]
	if r == nil {
		r = &rowAgg{name: name, category: category, sites: map[string]*siteAgg{}}
		s.rows[name] = r
		s.order = append(s.order, r)
	}
	return r
}

// add records one kernel execution.
func (s *stageAgg) add(name, category string, ts, dur int64) *rowAgg {
	r := s.row(name, category)
	s.record(r, dur)
	return r
}

// record records one kernel execution of row r of s.
func (s *stageAgg) record(r *rowAgg, dur int64) {
	r.ns += dur
	r.launches++
	if dur > r.maxNS {
		r.maxNS = dur
	}
	s.totalNS += dur
}

// merge adds the rows and sites of o (an aggregate of kernels that come
// after those of s) to s, as if o's kernels had been added to s one by
// one: rows, sites and counted strings new to s keep o's first-seen
// order. It leaves o's overlap kernels alone.
func (s *stageAgg) merge(o *stageAgg) {
	for _, or := range o.order {
		r := s.row(or.name, or.category)
		r.ns += or.ns
		r.launches += or.launches
		r.maxNS = max(r.maxNS, or.maxNS)
		for _, os := range or.order {
			site := r.site(os.location)
			site.ns += os.ns
			site.launches += os.launches
			site.cpuOps.merge(&os.cpuOps)
			site.stacks.merge(&os.stacks)
			site.attrs.merge(&os.attrs)
		}
	}
	s.totalNS += o.totalNS
}

// busyNS is the length of the union of the stage's kernel intervals. It
// sorts s.kernels by start.
func (s *stageAgg) busyNS() int64 {
	ks := s.kernels
	// Kernels mostly come in start order already; the sort (pdqsort)
	// would leave such a list as it is, so it only runs on one that is
	// not. The order of kernels that start together is the sort's, which
	// the overlap analysis sees.
	sorted := true
	for i := 1; i < len(ks); i++ {
		if ks[i].Start < ks[i-1].Start {
			sorted = false
			break
		}
	}
	if !sorted {
		slices.SortFunc(ks, func(a, b overlap.Kernel) int { return cmp.Compare(a.Start, b.Start) })
	}
	var busy, curStart, curEnd int64
	open := false
	for _, k := range ks {
		if !open || k.Start > curEnd {
			if open {
				busy += curEnd - curStart
			}
			curStart, curEnd, open = k.Start, k.End, true
			continue
		}
		if k.End > curEnd {
			curEnd = k.End
		}
	}
	if open {
		busy += curEnd - curStart
	}
	return busy
}

// sortedRows returns the rows by GPU time, descending; ties keep the
// order of first appearance.
func (s *stageAgg) sortedRows() []*rowAgg {
	rows := append([]*rowAgg(nil), s.order...)
	sort.SliceStable(rows, func(i, j int) bool { return rows[i].ns > rows[j].ns })
	return rows
}

// buildSites turns a row's site aggregates into document sites: grouped
// by the location shown, best first (most GPU time, then most launches,
// then framework code before other code).
func buildSites(r *rowAgg, locs map[string]*frameInfo) []Site {
	type merged struct {
		display  string
		ns       int64
		launches int
		cpuOps   counter
		stacks   counter
		attrs    counter
		first    int
	}
	byDisplay := map[string]*merged{}
	var list []*merged
	for i, s := range r.order {
		d := s.location
		m := byDisplay[d]
		if m == nil {
			m = &merged{display: d, first: i}
			byDisplay[d] = m
			list = append(list, m)
		}
		m.ns += s.ns
		m.launches += s.launches
		m.cpuOps.merge(&s.cpuOps)
		m.stacks.merge(&s.stacks)
		m.attrs.merge(&s.attrs)
	}
	sort.SliceStable(list, func(i, j int) bool {
		a, b := list[i], list[j]
		if a.ns != b.ns {
			return a.ns > b.ns
		}
		if a.launches != b.launches {
			return a.launches > b.launches
		}
		return sourcePriority(a.display) > sourcePriority(b.display)
	})
	sites := make([]Site, 0, len(list))
	for _, m := range list {
		site := Site{
			SharePct:    pct(m.ns, r.ns),
			Launches:    m.launches,
			CPUOp:       m.cpuOps.top(),
			Stack:       []string{},
			Attribution: m.attrs.top(),
		}
		if r.ns == 0 {
			site.SharePct = 100 * float64(m.launches) / float64(max(r.launches, 1))
		}
		switch fi := locs[m.display]; {
		case m.display == "":
		case fi != nil && fi.path != "":
			site.Path, site.Line, site.Function = fi.path, fi.line, fi.function
		default:
			site.Function = m.display
		}
		if st := m.stacks.top(); st != "" {
			site.Stack = strings.Split(st, " -> ")
		}
		sites = append(sites, site)
	}
	return sites
}

func pct(part, whole int64) float64 {
	if whole <= 0 {
		return 0
	}
	return 100 * float64(part) / float64(whole)
}

func micros(ns int64) float64 { return float64(ns) / 1000 }

// toStage builds the document's stage from the aggregate.
func (s *stageAgg) toStage(locs map[string]*frameInfo) Stage {
	st := Stage{
		Stage:      s.stage,
		GPUTimeUS:  micros(s.totalNS),
		BusyTimeUS: micros(s.busyNS()),
		Kernels:    []KernelRow{},
		Overlap:    []OverlapRow{},
		Fuse:       []FuseRow{},
	}
	for _, r := range s.sortedRows() {
		st.Kernels = append(st.Kernels, KernelRow{
			Name:      r.name,
			Demangled: DemangleKernel(r.name),
			Category:  r.category,
			GPUTimeUS: micros(r.ns),
			SharePct:  pct(r.ns, s.totalNS),
			Launches:  r.launches,
			MaxUS:     micros(r.maxNS),
			Sites:     buildSites(r, locs),
		})
	}
	return st
}

// SiteLocation is the text of a site's location as the Triage View shows
// it: "path:line function", the graph-replay marker, or "unresolved".
func SiteLocation(s Site) string {
	switch {
	case s.Path != "":
		return s.Path + ":" + strconv.Itoa(s.Line) + " " + s.Function
	case s.Function != "":
		return s.Function
	}
	return "unresolved"
}
