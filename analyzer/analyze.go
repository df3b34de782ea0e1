package analyzer

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/tracetriage/tracetriage/analyzer/fuse"
	"github.com/tracetriage/tracetriage/analyzer/overlap"
	"github.com/tracetriage/tracetriage/analyzer/trace"
)

// Version is the engine version written into every document.
const Version = "0.1.0"

// Analyses this build computes. The Triage View says plainly when a table
// is empty because its analysis is not part of the build.
const (
	OverlapAnalysis = true
	FuseAnalysis    = true
)

// Modes of an analysis.
const (
	ModeSingle = "single-trace"
	ModeTwo    = "mapping-formal"
)

// Options selects what Analyze reads and how.
type Options struct {
	// Input is a trace file or profile directory (single-trace mode).
	Input string
	// MappingInput and FormalInput select two-trace mode: the mapping trace
	// (graphs off, readable launch stacks) supplies Python locations for the
	// formal trace (real serving configuration), which supplies the timings.
	MappingInput, FormalInput string
	// Framework is "auto" (or ""), "sglang", "vllm" or "trtllm" (aliases
	// of CanonicalFramework accepted).
	Framework string
	// FuseCatalog is an optional YAML file of fusion patterns that extends
	// or overrides the embedded catalogue.
	FuseCatalog string
	// OverlapTableLimit keeps at most this many overlap rows per stage
	// (0 keeps them all).
	OverlapTableLimit int
	// Timeline asks for the ASCII timeline around each stage's top overlap
	// row (Stage.Timeline).
	Timeline bool
	// Progress, when set, is called now and then while traces load with the
	// bytes read so far and the total (0 when unknown).
	Progress func(done, total int64)
	// Partial analyses the complete events of a trace file that ends early
	// (cut short while written or copied) instead of failing, with a
	// warning that says where it ends (trace.Options.Partial).
	Partial bool
	// PIDSubstring, when set, restricts the overlap analysis of each formal
	// trace to the busiest GPU process whose id contains it; the kernel
	// table keeps its own process choice (triage-behaviour.md §1.1, §5).
	PIDSubstring string

	// split shares out each trace's kernels among goroutines (the zero
	// value is the default); tests vary it to check that the document
	// does not depend on it.
	split split
}

// Sentinel errors of Analyze; front-ends map them to their own error
// kinds (usage errors, tool errors).
var (
	// ErrNotImplemented is returned by engine parts that are not built yet
	// (none at present; front-ends may still map it).
	ErrNotImplemented = errors.New("not available in this build yet")
	// ErrBadOptions: the Options name no input, or mix the two modes.
	ErrBadOptions = errors.New("invalid options")
)

// minAllSharePct: an "all" bucket of a file whose name has no stage is
// left out when it holds less than this share of the file's kernel time
// (triage-behaviour.md §6.3).
const minAllSharePct = 1.0

// Analyze loads the traces that opts name and returns the analysis document.
// It stops early with ctx.Err() when ctx is cancelled.
func Analyze(ctx context.Context, opts Options) (*Document, error) {
	fw, err := CanonicalFramework(opts.Framework)
	if err != nil {
		return nil, err
	}
	two := opts.MappingInput != "" || opts.FormalInput != ""
	switch {
	case opts.Input != "" && two:
		return nil, fmt.Errorf("%w: use either a single input or a mapping and a formal input, not both", ErrBadOptions)
	case two && (opts.MappingInput == "" || opts.FormalInput == ""):
		return nil, fmt.Errorf("%w: two-trace mode needs both a mapping input and a formal input", ErrBadOptions)
	case !two && opts.Input == "":
		return nil, fmt.Errorf("%w: no input trace given", ErrBadOptions)
	}
	catalog, err := fuse.DefaultWith(opts.FuseCatalog)
	if err != nil {
		return nil, err
	}

	doc := &Document{
		SchemaVersion: SchemaVersion,
		Tool:          Tool{Name: "tracetriage", Version: Version},
		Mode:          ModeSingle,
		Inputs:        Inputs{Formal: []string{}, Mapping: []string{}},
		Stages:        []Stage{},
		Warnings:      []string{},
	}
	formalIn := opts.Input
	if two {
		doc.Mode = ModeTwo
		formalIn = opts.FormalInput
	}
	evidence, mappingEvidence := frameworkEvidence{}, frameworkEvidence{}
	formal, formalArgs, err := loadInput(ctx, formalIn, opts, evidence, &doc.Warnings)
	if err != nil {
		return nil, err
	}
	var mapping []loaded
	var mappingArgs *trace.ServerArgs
	if two {
		if mapping, mappingArgs, err = loadInput(ctx, opts.MappingInput, opts, mappingEvidence, &doc.Warnings); err != nil {
			return nil, err
		}
	}
	args := formalArgs
	if args == nil {
		args = mappingArgs
	}
	if args != nil {
		doc.Model = args.Model
	}
	for _, l := range formal {
		doc.Inputs.Formal = append(doc.Inputs.Formal, l.target.Path)
	}
	for _, l := range mapping {
		doc.Inputs.Mapping = append(doc.Inputs.Mapping, l.target.Path)
	}
	if fw == FrameworkAuto {
		fw = evidence.decide()
		if two {
			fw = decideTwo(doc, evidence, mappingEvidence)
		}
	}
	doc.Framework = fw

	tp := 1
	if args != nil && args.TPSize > 0 {
		tp = args.TPSize
	} else {
		for _, l := range formal {
			tp = max(tp, l.t.Meta.WorldSize)
		}
	}
	// Peak memory: the loader leaves garbage of the size of the traces
	// behind, and the collector's next cycle would only come once the heap
	// doubled; collecting now lets the indices reuse that memory. The
	// traces are not used past buildStages; collecting again there lets the
	// overlap analysis reuse theirs.
	var loadedBytes int64
	for _, ls := range [][]loaded{formal, mapping} {
		for _, l := range ls {
			loadedBytes += l.t.Bytes
		}
	}
	collect(loadedBytes)
	kernels, err := buildStages(ctx, doc, formal, mapping, opts.PIDSubstring, opts.split)
	formal, mapping = nil, nil
	if err != nil {
		return nil, err
	}
	collect(loadedBytes)
	addOpportunities(doc, kernels, catalog, fuse.Context{Framework: doc.Framework, Model: doc.Model, TPSize: tp},
		overlap.Options{Limit: opts.OverlapTableLimit}, opts.Timeline)
	return doc, nil
}

// collectAboveBytes: Analyze collects the heap at points where much has
// just become garbage (see collect) only for traces of at least this much
// JSON; below it the heap is small and the collector's own pacing is fine.
const collectAboveBytes = 64 << 20

// collect runs a garbage collection when the traces being analysed hold
// at least collectAboveBytes of JSON, so that memory just freed is reused
// before the heap grows. A cycle costs little here: the traces' slices hold
// no pointers.
func collect(traceBytes int64) {
	if traceBytes >= collectAboveBytes {
		runtime.GC()
	}
}

// buildStages computes the stages and warnings of doc from loaded traces,
// and returns each stage's kernels for the overlap analysis.
// pidSubstring restricts the overlap kernels to a process (see
// Options.PIDSubstring).
// sp shares out each trace's kernels among goroutines (the zero value is
// the default); the results do not depend on it.
func buildStages(ctx context.Context, doc *Document, formal, mapping []loaded, pidSubstring string, sp split) ([][]overlap.Kernel, error) {
	a := &analysis{locs: map[string]*frameInfo{}, stages: map[string]*stageAgg{}, pidSubstring: pidSubstring, split: sp}
	nameAllCaptureLaunches(formal, mapping)
	if len(mapping) > 0 {
		a.mapping = &kernelMap{stages: map[string]*stageAgg{}, global: newStageAgg(StageAll)}
		for _, l := range mapping {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			if err := a.addMappingTrace(ctx, l); err != nil {
				return nil, err
			}
		}
	}
	for _, l := range formal {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if err := a.addFormalTrace(ctx, l); err != nil {
			return nil, err
		}
	}
	names := make([]string, 0, len(a.stages))
	for st := range a.stages {
		names = append(names, st)
	}
	sort.Slice(names, func(i, j int) bool {
		if trace.StageOrder(names[i]) != trace.StageOrder(names[j]) {
			return trace.StageOrder(names[i]) < trace.StageOrder(names[j])
		}
		return names[i] < names[j]
	})
	var kernels [][]overlap.Kernel
	for _, st := range names {
		agg := a.stages[st]
		if len(agg.order) == 0 {
			continue
		}
		stage := agg.toStage(a.locs)
		if a.mapping != nil {
			a.applyMapping(st, agg, &stage)
		} else if a.capture != nil {
			a.attributeOwnReplays(st, &stage)
		}
		doc.Stages = append(doc.Stages, stage)
		kernels = append(kernels, agg.overlapKernels(&stage))
	}
	doc.Warnings = append(doc.Warnings, a.warnings...)
	doc.Warnings = append(doc.Warnings, a.graphWarnings(doc)...)
	return kernels, nil
}

// loaded is one trace file with the target that named it.
type loaded struct {
	target trace.Target
	t      *trace.Trace
	// owned: the analysis may drop parts of t it no longer needs (t.Frames
	// once the frame index is built), to lower peak memory.
	owned bool
}

// loadInput discovers and loads the trace files of one input (file or
// profile directory) and its server arguments, and adds their framework
// evidence.
func loadInput(ctx context.Context, input string, opts Options, ev frameworkEvidence, warnings *[]string) ([]loaded, *trace.ServerArgs, error) {
	targets, err := trace.Discover(input)
	if err != nil {
		return nil, nil, err
	}
	var args *trace.ServerArgs
	if targets.ServerArgs != "" {
		if args, err = trace.LoadServerArgs(targets.ServerArgs); err != nil {
			return nil, nil, err
		}
		ev.addServerArgs(args)
	}
	ev.addPath(input)
	if w := otherRanks(input, targets); w != "" {
		*warnings = append(*warnings, w)
	}
	var out []loaded
	for _, tg := range targets.Files {
		t, err := trace.Load(ctx, tg.Path, trace.Options{Progress: opts.Progress, Partial: opts.Partial})
		if err != nil {
			return nil, nil, err
		}
		if t.Incomplete != "" {
			*warnings = append(*warnings, fmt.Sprintf("%s: %s; the tables cover only the %s before that point.",
				filepath.Base(tg.Path), t.Incomplete, plural(t.Events, "event", "events")))
		}
		ev.addPath(filepath.Base(tg.Path))
		ev.addTrace(t)
		out = append(out, loaded{target: tg, t: t, owned: true})
	}
	return out, args, nil
}

// otherRanks says which tensor-parallel ranks of a profile directory were
// left out (only one rank is analysed), or "".
func otherRanks(input string, targets *trace.Targets) string {
	if st, err := os.Stat(input); err != nil || !st.IsDir() || len(targets.Files) == 0 {
		return ""
	}
	chosen := targets.Files[0].Rank
	entries, err := os.ReadDir(targets.Dir)
	if err != nil {
		return ""
	}
	seen := map[int]bool{}
	var ranks []int
	for _, e := range entries {
		if e.IsDir() || !trace.NameLooksLikeTrace(e.Name()) {
			continue
		}
		if r := trace.ParseTPRank(e.Name()); r >= 0 && r != chosen && !seen[r] {
			seen[r] = true
			ranks = append(ranks, r)
		}
	}
	if len(ranks) == 0 {
		return ""
	}
	sort.Ints(ranks)
	list := make([]string, len(ranks))
	for i, r := range ranks {
		list[i] = strconv.Itoa(r)
	}
	return fmt.Sprintf("%s also holds traces of TP rank %s; the tables cover rank %d only.",
		targets.Dir, strings.Join(list, ", "), chosen)
}

// analysis accumulates the stages of every formal trace.
type analysis struct {
	locs    map[string]*frameInfo
	stages  map[string]*stageAgg
	mapping *kernelMap
	// capture holds the graph-capture launches of the formal traces
	// (single-trace mode), for their own graph replays.
	capture  *kernelMap
	warnings []string
	graph    []graphReplay
	// pidSubstring: see Options.PIDSubstring.
	pidSubstring string
	// split shares out a trace's kernels among goroutines; the results do
	// not depend on it.
	split split
}

// graphReplay remembers the graph-replayed kernels of one trace.
type graphReplay struct {
	trace    string
	launchAt string // Python location of the graph launch call
	kernels  int
	ns       int64
	rows     map[string]bool // stage + "\x00" + kernel name
}

func (a *analysis) stage(name string) *stageAgg {
	s := a.stages[name]
	if s == nil {
		s = newStageAgg(name)
		a.stages[name] = s
	}
	return s
}

// kernelNames gives each interned kernel name of one trace a dense id,
// with its canonical name and category. Lookups of names already added
// only read, so goroutines may share it.
type kernelNames struct {
	t     *trace.Trace
	slot  []int32 // by interned name: 1 + its id; 0 when not added yet
	names []kernelName
}

// kernelName is the canonical name and category of a raw kernel name.
type kernelName struct{ canon, cat string }

func newKernelNames(t *trace.Trace) *kernelNames {
	return &kernelNames{t: t, slot: make([]int32, t.Strings.Len())}
}

// id returns the dense id of an interned name, adding it when new.
func (kn *kernelNames) id(name trace.Str) int32 {
	if int(name) >= len(kn.slot) {
		kn.slot = append(kn.slot, make([]int32, int(name)+1-len(kn.slot))...)
	}
	if s := kn.slot[name]; s > 0 {
		return s - 1
	}
	raw := kn.t.S(name)
	kn.names = append(kn.names, kernelName{CanonicalKernelName(raw), Categorize(raw)})
	kn.slot[name] = int32(len(kn.names))
	return int32(len(kn.names) - 1)
}

// get returns the canonical name and category of an interned name.
func (kn *kernelNames) get(name trace.Str) (string, string) {
	n := &kn.names[kn.id(name)]
	return n.canon, n.cat
}

// pickProcess returns the GPU process whose kernels are analysed
// (triage-behaviour.md §5): the busiest of those whose id names TP rank 0,
// else the busiest overall, with its share of all kernel time.
func pickProcess(t *trace.Trace) (trace.Str, int, float64) {
	best, n, share, _ := pickProcessBy(t, func(name string) bool {
		return strings.Contains(name, "TP00") || strings.Contains(name, "TP-0")
	})
	return best, n, share
}

// pickProcessBy returns the busiest GPU process whose id satisfies prefer
// (else the busiest overall), the number of processes, the chosen one's
// share of kernel time, and whether any process satisfied prefer.
func pickProcessBy(t *trace.Trace, prefer func(string) bool) (trace.Str, int, float64, bool) {
	// Kernels come in runs of one process: each run is summed before it
	// reaches the map.
	sums := map[trace.Str]int64{}
	var total, run int64
	var runPID trace.Str
	for i := range t.Kernels {
		k := &t.Kernels[i]
		if i > 0 && k.PID != runPID {
			sums[runPID] += run
			run = 0
		}
		runPID = k.PID
		run += k.Dur
		total += k.Dur
	}
	if len(t.Kernels) > 0 {
		sums[runPID] += run
	}
	pids := make([]trace.Str, 0, len(sums))
	for p := range sums {
		pids = append(pids, p)
	}
	sort.Slice(pids, func(i, j int) bool { return t.S(pids[i]) < t.S(pids[j]) })
	best, found, matched := trace.Str(0), false, false
	for _, preferOnly := range []bool{true, false} {
		for _, p := range pids {
			if preferOnly && !prefer(t.S(p)) {
				continue
			}
			if !found || sums[p] > sums[best] {
				best, found = p, true
			}
		}
		if found {
			matched = preferOnly
			break
		}
	}
	return best, len(pids), pct(sums[best], total), matched
}

// processNames lists the GPU process ids of t's kernels, sorted.
func processNames(t *trace.Trace) []string {
	seen := map[trace.Str]bool{}
	var out []string
	for i := range t.Kernels {
		if p := t.Kernels[i].PID; !seen[p] {
			seen[p] = true
			out = append(out, t.S(p))
		}
	}
	sort.Strings(out)
	return out
}

// prepared holds what the formal and mapping passes share for one trace.
type prepared struct {
	pid      trace.Str
	npids    int
	pidShare float64
	// stageIDs holds per kernel index its stage as an index into stages,
	// whose first entry is "" (kernels of other processes, left out).
	stageIDs []int32
	// overlapPID is the process of the overlap analysis; when it differs
	// from pid, overlapIDs holds its kernels' stages like stageIDs.
	overlapPID trace.Str
	overlapIDs []int32
	stages     []string
	launchOf   []int32    // per kernel index: its launch event; -1 none; -2 not looked up
	mu         sync.Mutex // guards stages while range workers run
	res        *resolver
	// sites resolves sites on the analysis's own goroutine.
	sites *siteFinder
}

// stageAt returns kernel i's stage ("" when left out).
func (p *prepared) stageAt(i int) string { return p.stages[p.stageIDs[i]] }

// stageID returns the id of a stage name in p.stages, adding it when new
// (under p.mu: range workers share p). prepare lists every name that
// stage attribution can give beforehand, so adding is rare.
func (p *prepared) stageID(name string) int32 {
	p.mu.Lock()
	defer p.mu.Unlock()
	for id, s := range p.stages {
		if s == name {
			return int32(id)
		}
	}
	p.stages = append(p.stages, name)
	return int32(len(p.stages) - 1)
}

// knownStageID is stageID for the names prepare listed, without the lock
// (p.stages is only read while workers run unless a name is new).
func (p *prepared) knownStageID(name string, known []string) int32 {
	for id, s := range known {
		if s == name {
			return int32(id)
		}
	}
	return p.stageID(name)
}

// launch returns kernel i's launch event, looking it up once.
func (p *prepared) launch(t *trace.Trace, i int) *trace.Launch {
	j := p.launchOf[i]
	if j == -2 {
		j = p.res.launchIndex(&t.Kernels[i])
		p.launchOf[i] = j
	}
	if j < 0 {
		return nil
	}
	return &t.Launches[j]
}

func (a *analysis) prepare(ctx context.Context, l loaded) (*prepared, error) {
	t := l.t
	p := &prepared{stageIDs: make([]int32, len(t.Kernels)), stages: []string{""}, launchOf: make([]int32, len(t.Kernels))}
	for i := range p.launchOf {
		p.launchOf[i] = -2
	}
	// The process choice and the stage windows read only the kernels and
	// annotations: they are worked out on another goroutine while the
	// resolver indexes frames, launches and CPU ops.
	var si *stageIndex
	var pidWarning string
	done := make(chan struct{})
	go func() {
		defer close(done)
		if len(t.Kernels) == 0 {
			return
		}
		p.pid, p.npids, p.pidShare = pickProcess(t)
		p.overlapPID = p.pid
		if sub := a.pidSubstring; sub != "" {
			var matched bool
			p.overlapPID, _, _, matched = pickProcessBy(t, func(name string) bool { return strings.Contains(name, sub) })
			if !matched {
				pidWarning = fmt.Sprintf(
					"%s: no GPU process id contains %q (processes: %s); the overlap analysis covers process %s.",
					filepath.Base(t.Path), sub, strings.Join(processNames(t), ", "), t.S(p.overlapPID))
			}
			if p.overlapPID != p.pid {
				p.overlapIDs = make([]int32, len(t.Kernels))
			}
		}
		if l.target.Stage == StageAll {
			si = newStageIndex(t)
		}
	}()
	p.res = newResolver(t, l.owned)
	p.sites = newSiteFinder(p.res)
	<-done
	if len(t.Kernels) == 0 {
		return p, nil
	}
	if pidWarning != "" {
		a.warnings = append(a.warnings, pidWarning)
	}
	// Every stage attribution can give, so that range workers only read
	// p.stages (the order of p.stages is not part of any output).
	for _, st := range []string{l.target.Stage, StageAll, StageExtend, StageDecode} {
		p.stageID(st)
	}
	known := p.stages
	// Kernels are attributed in contiguous ranges on several goroutines:
	// each kernel's stage depends on the kernel alone, and each range
	// writes only its own kernels' entries of stageIDs, overlapIDs and
	// launchOf.
	err := forRanges(ctx, a.split.ranges(len(t.Kernels)), func(_, lo, hi int) error {
		var cur stageCursor
		for i := lo; i < hi; i++ {
			if err := cancelled(ctx, i-lo); err != nil {
				return err
			}
			k := &t.Kernels[i]
			ids := p.stageIDs
			switch {
			case k.PID == p.pid:
			case p.overlapIDs != nil && k.PID == p.overlapPID:
				ids = p.overlapIDs
			default:
				continue
			}
			switch {
			case l.target.Stage != StageAll:
				ids[i] = p.knownStageID(l.target.Stage, known)
			case si.empty():
				ids[i] = p.knownStageID(StageAll, known)
			default:
				launchTS := trace.NoID
				if ln := p.launch(t, i); ln != nil {
					launchTS = ln.TS
				}
				ids[i] = p.knownStageID(si.stageOf(k, p.res.externalID(k), launchTS, &cur), known)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	// A file without a stage in its name: drop an "all" bucket under 1 %.
	if l.target.Stage == StageAll {
		allID := p.stageID(StageAll)
		var total, all int64
		n := 0
		for i := range t.Kernels {
			switch p.stageIDs[i] {
			case 0:
				continue
			case allID:
				all += t.Kernels[i].Dur
				n++
			}
			total += t.Kernels[i].Dur
		}
		if all > 0 && all < total && pct(all, total) < minAllSharePct {
			for i := range p.stageIDs {
				if p.stageIDs[i] == allID {
					p.stageIDs[i] = 0
				}
				if p.overlapIDs != nil && p.overlapIDs[i] == allID {
					p.overlapIDs[i] = 0
				}
			}
			a.warnings = append(a.warnings, fmt.Sprintf(
				"%s: %s (%.2f%% of GPU time) ran outside every extend/decode window and are left out.",
				filepath.Base(t.Path), plural(n, "kernel", "kernels"), pct(all, total)))
		}
	}
	return p, nil
}

// addFormalTrace adds the kernels of one formal trace to the stages. The
// kernels are resolved and aggregated in contiguous ranges on several
// goroutines (see formalRange), and the ranges merged in order, so that
// every first-seen order (rows, sites, counts) and the overlap kernels'
// order are those of a single pass over the trace.
func (a *analysis) addFormalTrace(ctx context.Context, l loaded) error {
	t := l.t
	name := filepath.Base(t.Path)
	if t.Malformed > 0 {
		a.warnings = append(a.warnings, fmt.Sprintf("%s: %s skipped as malformed (no numeric ts or dur).", name, plural(t.Malformed, "event was", "events were")))
	}
	if len(t.Kernels) == 0 {
		a.warnings = append(a.warnings, fmt.Sprintf(
			"%s has no GPU kernels (a CPU-only capture?): record with ProfilerActivity.CUDA to triage GPU time.", name))
		return nil
	}
	hasFrames := len(t.Frames) > 0
	if !hasFrames {
		a.warnings = append(a.warnings, fmt.Sprintf(
			"%s has no Python stacks: kernels cannot be mapped to Python lines; capture with with_stack=True.", name))
	}
	p, err := a.prepare(ctx, l)
	if err != nil {
		return err
	}
	if p.npids > 1 {
		a.warnings = append(a.warnings, fmt.Sprintf(
			"%s: kernels of %d GPU processes found; the tables cover process %s only (%.1f%% of kernel time).",
			name, p.npids, t.S(p.pid), p.pidShare))
	}
	if p.overlapIDs != nil {
		a.warnings = append(a.warnings, fmt.Sprintf(
			"%s: the overlap analysis covers process %s (--pid-substring %q); the kernel table covers process %s.",
			name, t.S(p.overlapPID), a.pidSubstring, t.S(p.pid)))
	}
	ranges := a.split.ranges(len(t.Kernels))
	parts := make([]*formalRange, len(ranges))
	// Each range's kernels per stage, so that each range writes its
	// overlap kernels straight into its place in the stage's list
	// (region, by stage id), and its distinct kernel names.
	nst := len(p.stages)
	names := make([][]trace.Str, len(ranges))
	for r := range parts {
		parts[r] = newFormalRange(nst)
	}
	err = forRanges(ctx, ranges, func(r, lo, hi int) error {
		count, seen := parts[r].count, map[trace.Str]bool{}
		for i := lo; i < hi; i++ {
			count[p.stageIDs[i]]++
			if n := t.Kernels[i].Name; (i == lo || n != t.Kernels[i-1].Name) && !seen[n] {
				seen[n] = true
				names[r] = append(names[r], n)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	kn := newKernelNames(t)
	for _, ns := range names {
		for _, n := range ns {
			kn.id(n)
		}
	}
	region := make([][]overlap.Kernel, nst)
	for id := 1; id < nst; id++ {
		n := 0
		for _, fr := range parts {
			n += fr.count[id]
		}
		if n == 0 {
			continue
		}
		agg := a.stage(p.stages[id])
		agg.kernels = slices.Grow(agg.kernels, n)
		if p.overlapIDs != nil {
			continue // addOverlapProcess adds the overlap kernels
		}
		at := len(agg.kernels)
		agg.kernels = agg.kernels[:at+n]
		region[id] = agg.kernels[at : at+n]
		off := 0
		for _, fr := range parts {
			fr.out[id] = region[id][off : off+fr.count[id]]
			off += fr.count[id]
		}
	}
	err = forRanges(ctx, ranges, func(r, lo, hi int) error {
		return parts[r].run(ctx, t, p, kn, lo, hi)
	})
	if err != nil {
		return err
	}
	chains, launchAt, ok := mergeChains(parts)
	if !ok {
		// Ranges disagree on the site of some chain of frames (see
		// siteFinder.chains): resolve the trace again in one pass, as
		// the ranges together would not give what one pass gives.
		fr := newFormalRange(nst)
		fr.out, fr.inline = region, true
		if err := fr.run(ctx, t, p, kn, 0, len(t.Kernels)); err != nil {
			return err
		}
		parts, chains, launchAt = []*formalRange{fr}, fr.sites.chains, fr.launchAt
	}
	// Later resolutions of this trace (capture launches, the overlap
	// process) see the chains that one pass would have cached.
	p.sites.chains = chains
	var gr *graphReplay
	var totalNS, noRecordNS, noFrameNS int64
	var noRecord, noFrame int
	for _, fr := range parts {
		for id, part := range fr.aggs {
			if part != nil {
				a.stage(p.stages[id]).merge(part)
			}
		}
		totalNS += fr.totalNS
		noRecord += fr.noRecord
		noRecordNS += fr.noRecordNS
		noFrame += fr.noFrame
		noFrameNS += fr.noFrameNS
		if fr.firstGraph >= 0 {
			if gr == nil {
				gr = &graphReplay{trace: name, launchAt: launchAt, rows: map[string]bool{}}
			}
			gr.kernels += fr.graphKernels
			gr.ns += fr.graphNS
			for row := range fr.graphRows {
				gr.rows[row] = true
			}
		}
		a.remember(fr.sites)
	}
	if p.overlapIDs != nil {
		a.addOverlapProcess(t, p, kn)
	}
	if hasFrames && pct(noRecordNS+noFrameNS, totalNS) >= 1 {
		a.warnings = append(a.warnings, fmt.Sprintf(
			"%s: %.1f%% of GPU time could not be tied to a Python line: %s no launch or CPU-op record in the trace (the profiler may have dropped runtime events), %s launched with no Python frame active.",
			name, pct(noRecordNS+noFrameNS, totalNS), plural(noRecord, "kernel has", "kernels have"), plural(noFrame, "was", "were")))
	}
	if gr != nil {
		a.graph = append(a.graph, *gr)
		if a.mapping == nil {
			ran := map[int64]bool{}
			for i := range t.Kernels {
				ran[t.Kernels[i].Correlation] = true
			}
			if a.capture == nil {
				a.capture = &kernelMap{stages: map[string]*stageAgg{}, global: newStageAgg(StageAll)}
			}
			addCaptureLaunches(a.capture, l, p, kn, ran)
		}
	}
	a.remember(p.sites)
	return nil
}

// formalRange is what one goroutine computes of a contiguous range of a
// formal trace's kernels: partial stage aggregates (by stage id) to merge
// in range order, its overlap kernels (written in place), the counts
// behind the warnings and its graph-replayed kernels.
type formalRange struct {
	count []int              // kernels per stage id
	out   [][]overlap.Kernel // per stage id: this range's part of the stage's overlap kernels
	aggs  []*stageAgg        // per stage id; nil until used
	rows  [][]*rowAgg        // per stage id, by kernel name id
	sites *siteFinder

	totalNS, noRecordNS, noFrameNS int64
	noRecord, noFrame              int

	firstGraph   int // first graph-replayed kernel; -1 none
	graphKernels int
	graphNS      int64
	graphRows    map[string]bool

	// The Python location of the first graph-replayed kernel's launch
	// call. With inline (a range of one pass over the whole trace) it is
	// resolved there and then, through the chain cache, as one pass does:
	// launchAt. Otherwise it is computed aside (launch, launchKey,
	// hasLaunch) for mergeChains, and the chain cache is left alone.
	inline    bool
	launchAt  string
	launch    chainSite
	launchKey string
	hasLaunch bool
}

func newFormalRange(stages int) *formalRange {
	return &formalRange{count: make([]int, stages), out: make([][]overlap.Kernel, stages), firstGraph: -1}
}

// mergeChains merges the chain caches of ranges in order, as one pass
// over their kernels would have filled one cache, and returns it with the
// location of the first graph-replayed kernel's launch call. ok is false
// when the ranges' caches cannot stand for one pass's: two ranges give one
// chain different sites, or the launch call gives its chain another site
// than the ranges that met the chain after it.
func mergeChains(parts []*formalRange) (chains map[string]chainSite, launchAt string, ok bool) {
	chains = map[string]chainSite{}
	for _, fr := range parts {
		for key, c := range fr.sites.chains {
			g, seen := chains[key]
			if !seen {
				chains[key] = c
			} else if g.location != c.location || g.stack != c.stack {
				return nil, "", false
			}
		}
	}
	for _, fr := range parts {
		if fr.firstGraph < 0 {
			continue
		}
		if !fr.hasLaunch {
			break
		}
		g, seen := chains[fr.launchKey]
		if seen && g.at <= fr.firstGraph {
			return chains, g.location, true // cached before the launch call was resolved
		}
		if seen && (g.location != fr.launch.location || g.stack != fr.launch.stack) {
			return nil, "", false
		}
		chains[fr.launchKey] = fr.launch
		return chains, fr.launch.location, true
	}
	return chains, "", true
}

// launchSite resolves the launch call ln of the range's first
// graph-replayed kernel (see formalRange.inline).
func (fr *formalRange) launchSite(ln *trace.Launch) {
	if ln == nil {
		return
	}
	f := fr.sites
	f.active(ln.PID, ln.TID, probeAt(ln.TS, ln.Dur))
	if len(f.buf) == 0 {
		return
	}
	if fr.inline {
		fr.launchAt = f.fromFrames("", "").location
		return
	}
	f.chainKey()
	fr.launch, fr.launchKey, fr.hasLaunch = f.computeChain(), string(f.key), true
}

// run resolves and aggregates kernels [lo, hi). It reads only what the
// goroutines share (t, p's indices and stage ids, kn) and writes only
// fr and its own kernels' entries of p.launchOf.
func (fr *formalRange) run(ctx context.Context, t *trace.Trace, p *prepared, kn *kernelNames, lo, hi int) error {
	fr.sites = newSiteFinder(p.res)
	fr.aggs = make([]*stageAgg, len(fr.count))
	fr.rows = make([][]*rowAgg, len(fr.count))
	filled := make([]int, len(fr.count))
	for i := lo; i < hi; i++ {
		if err := cancelled(ctx, i-lo); err != nil {
			return err
		}
		id := p.stageIDs[i]
		if id == 0 {
			continue
		}
		k := &t.Kernels[i]
		agg := fr.aggs[id]
		if agg == nil {
			agg = newStageAgg(p.stages[id])
			fr.aggs[id] = agg
			fr.rows[id] = make([]*rowAgg, len(kn.names))
		}
		ni := kn.slot[k.Name] - 1
		row := fr.rows[id][ni]
		if row == nil {
			nm := &kn.names[ni]
			row = agg.row(nm.canon, nm.cat)
			fr.rows[id][ni] = row
		}
		agg.record(row, k.Dur)
		ln := p.launch(t, i)
		fr.sites.at = i
		res := fr.sites.resolve(k, p.res.externalID(k), ln)
		row.addSite(res, k.Dur)
		if out := fr.out[id]; out != nil {
			out[filled[id]] = agg.overlapKernel(t, k, row.name, res, ln)
			filled[id]++
		}
		fr.totalNS += k.Dur
		if res.location == "" {
			if res.cpuOp == "" {
				fr.noRecord++
				fr.noRecordNS += k.Dur
			} else {
				fr.noFrame++
				fr.noFrameNS += k.Dur
			}
		}
		if res.location == GraphReplaySite {
			if fr.firstGraph < 0 {
				fr.firstGraph = i
				fr.graphRows = map[string]bool{}
				fr.launchSite(ln)
			}
			fr.graphKernels++
			fr.graphNS += k.Dur
			fr.graphRows[agg.stage+"\x00"+row.name] = true
		}
	}
	return nil
}

// addOverlapProcess adds the kernels of the overlap process of
// --pid-substring (when it is not the kernel table's process) to the
// stages' overlap kernels only.
func (a *analysis) addOverlapProcess(t *trace.Trace, p *prepared, kn *kernelNames) {
	for i := range t.Kernels {
		st := p.stages[p.overlapIDs[i]]
		if st == "" {
			continue
		}
		k := &t.Kernels[i]
		canon, _ := kn.get(k.Name)
		ln := p.launch(t, i)
		res := p.sites.resolve(k, p.res.externalID(k), ln)
		a.stage(st).addInterval(t, k, canon, res, ln)
	}
}

// remember records the parsed form of every frame the site finder has
// parsed, so document sites can carry path, line and function.
func (a *analysis) remember(f *siteFinder) {
	for _, fi := range f.info {
		if _, ok := a.locs[fi.location]; !ok {
			a.locs[fi.location] = fi
		}
	}
}

// graphWarnings says how much GPU time was replayed from graphs and is
// left without a Python line.
func (a *analysis) graphWarnings(doc *Document) []string {
	var out []string
	for _, g := range a.graph {
		unattributed := 0
		var ns float64
		for _, st := range doc.Stages {
			for _, row := range st.Kernels {
				if !g.rows[st.Stage+"\x00"+row.Name] {
					continue
				}
				for _, s := range row.Sites {
					if s.Function == GraphReplaySite {
						unattributed += s.Launches
						ns += row.GPUTimeUS * s.SharePct / 100
					}
				}
			}
		}
		if unattributed == 0 {
			continue
		}
		at := ""
		if g.launchAt != "" {
			at = " launched at " + g.launchAt
		}
		out = append(out, fmt.Sprintf(
			"%s: %s replayed from CUDA/HIP graphs%s (%.2f ms of GPU time); their Python lines are not in this trace (shown as %q): pass a capture trace or an eager trace as --mapping-input to attribute them.",
			g.trace, plural(unattributed, "kernel was", "kernels were"), at, ns/1000, GraphReplaySite))
	}
	return out
}

// plural writes "1 kernel" or "2 kernels".
func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}
