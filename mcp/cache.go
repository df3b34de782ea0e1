package mcp

import (
	"container/list"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"sync/atomic"

	"github.com/tracetriage/tracetriage/analyzer"
)

// analysisCache holds analysis documents keyed by the identity of their
// input files (path, size, modification time) and the analysis options,
// least recently used first out once the estimated size of what it holds
// passes its budget. Concurrent requests for one key share one analysis
// (single flight); at most maxLoads analyses run at once, so memory stays
// within the budget plus the traces being parsed.
//
// Cached documents are shared: callers must not modify them.
type analysisCache struct {
	budget int64
	loads  chan struct{} // semaphore bounding concurrent analyses

	mu      sync.Mutex
	lru     *list.List // of *cacheEntry, most recent at front
	entries map[string]*list.Element
	used    int64
	flights map[string]*flight

	hits, misses, analyses atomic.Int64
}

type cacheEntry struct {
	key  string
	doc  *analyzer.Document
	size int64
}

// flight is one analysis in progress, shared by every caller that asked for
// its key. It is cancelled when the last waiting caller gives up.
type flight struct {
	done    chan struct{}
	doc     *analyzer.Document
	err     error
	cancel  context.CancelFunc
	waiters int
	subs    map[int]func(done, total int64)
	nextSub int
}

func newAnalysisCache(budget int64, maxLoads int) *analysisCache {
	if maxLoads < 1 {
		maxLoads = 1
	}
	return &analysisCache{
		budget:  budget,
		loads:   make(chan struct{}, maxLoads),
		lru:     list.New(),
		entries: make(map[string]*list.Element),
		flights: make(map[string]*flight),
	}
}

// CacheStats is a snapshot of the analysis cache: what it holds (estimated
// bytes) against its budget, and its counters since the server started.
type CacheStats struct {
	Entries  int   `json:"entries"`
	Bytes    int64 `json:"bytes"`
	Budget   int64 `json:"budget"`
	Hits     int64 `json:"hits"`
	Misses   int64 `json:"misses"`
	Analyses int64 `json:"analyses"`
}

func (c *analysisCache) stats() CacheStats {
	c.mu.Lock()
	defer c.mu.Unlock()
	return CacheStats{
		Entries: len(c.entries), Bytes: c.used, Budget: c.budget,
		Hits: c.hits.Load(), Misses: c.misses.Load(), Analyses: c.analyses.Load(),
	}
}

// get returns the document for key, from the cache or from load. progress,
// when not nil, receives the load's progress while this caller waits. hit
// reports whether the document came from the cache without waiting.
func (c *analysisCache) get(ctx context.Context, key string, progress func(done, total int64),
	load func(ctx context.Context, progress func(done, total int64)) (*analyzer.Document, error),
) (doc *analyzer.Document, hit bool, err error) {
	c.mu.Lock()
	if el, ok := c.entries[key]; ok {
		c.lru.MoveToFront(el)
		c.mu.Unlock()
		c.hits.Add(1)
		return el.Value.(*cacheEntry).doc, true, nil
	}
	c.misses.Add(1)
	f, ok := c.flights[key]
	var fctx context.Context
	if !ok {
		var cancel context.CancelFunc
		fctx, cancel = context.WithCancel(context.WithoutCancel(ctx))
		f = &flight{done: make(chan struct{}), cancel: cancel, subs: map[int]func(int64, int64){}}
		c.flights[key] = f
	}
	f.waiters++
	sub := -1
	if progress != nil {
		sub = f.nextSub
		f.nextSub++
		f.subs[sub] = progress
	}
	c.mu.Unlock()
	if !ok {
		go c.run(fctx, key, f, load)
	}

	select {
	case <-f.done:
		return f.doc, false, f.err
	case <-ctx.Done():
		c.mu.Lock()
		delete(f.subs, sub)
		f.waiters--
		if f.waiters == 0 {
			select {
			case <-f.done:
			default:
				// Nobody wants this analysis any more: stop it.
				f.cancel()
				if c.flights[key] == f {
					delete(c.flights, key)
				}
			}
		}
		c.mu.Unlock()
		return nil, false, ctx.Err()
	}
}

func (c *analysisCache) run(ctx context.Context, key string, f *flight,
	load func(ctx context.Context, progress func(done, total int64)) (*analyzer.Document, error),
) {
	defer f.cancel()
	var doc *analyzer.Document
	var err error
	select {
	case c.loads <- struct{}{}:
		func() {
			defer func() { <-c.loads }()
			defer func() {
				if r := recover(); r != nil {
					err = fmt.Errorf("%w: %v", errEnginePanic, r)
				}
			}()
			c.analyses.Add(1)
			fan := func(done, total int64) {
				c.mu.Lock()
				subs := make([]func(int64, int64), 0, len(f.subs))
				for _, s := range f.subs {
					subs = append(subs, s)
				}
				c.mu.Unlock()
				for _, s := range subs {
					s(done, total)
				}
			}
			fan(0, 0) // tell the waiters that loading has started
			doc, err = load(ctx, fan)
		}()
	case <-ctx.Done():
		err = ctx.Err()
	}
	if err == nil && doc == nil {
		err = errNoDocument
	}
	c.mu.Lock()
	f.doc, f.err = doc, err
	if c.flights[key] == f {
		delete(c.flights, key)
	}
	if err == nil {
		c.insertLocked(key, doc)
	}
	c.mu.Unlock()
	close(f.done)
}

// insertLocked adds doc under key and evicts the least recently used
// entries until the budget holds. A document larger than the whole budget
// is not kept.
func (c *analysisCache) insertLocked(key string, doc *analyzer.Document) {
	size := estimateDocSize(doc)
	if size > c.budget {
		return
	}
	if el, ok := c.entries[key]; ok {
		c.used -= el.Value.(*cacheEntry).size
		c.lru.Remove(el)
	}
	c.entries[key] = c.lru.PushFront(&cacheEntry{key: key, doc: doc, size: size})
	c.used += size
	for c.used > c.budget {
		el := c.lru.Back()
		e := el.Value.(*cacheEntry)
		c.lru.Remove(el)
		delete(c.entries, e.key)
		c.used -= e.size
	}
}

// fileIdentity describes the current state of a trace file or profile
// directory for the cache key: its path, size and modification time, and
// for a directory those of the files below it (two levels deep, where
// profile directories keep their traces).
func fileIdentity(path string) (string, error) {
	st, err := os.Stat(path)
	if err != nil {
		return "", err
	}
	if !st.IsDir() {
		return fmt.Sprintf("%s|%d|%d", path, st.Size(), st.ModTime().UnixNano()), nil
	}
	var parts []string
	const maxFiles = 4096
	err = filepath.WalkDir(path, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil // unreadable parts are the engine's to report
		}
		rel, _ := filepath.Rel(path, p)
		if d.IsDir() {
			if rel != "." && depth(rel) >= 3 {
				return fs.SkipDir
			}
			return nil
		}
		if len(parts) >= maxFiles {
			return fs.SkipAll
		}
		if info, err := d.Info(); err == nil {
			parts = append(parts, fmt.Sprintf("%s|%d|%d", rel, info.Size(), info.ModTime().UnixNano()))
		}
		return nil
	})
	if err != nil {
		return "", err
	}
	sort.Strings(parts)
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return fmt.Sprintf("%s/|dir|%s", path, hex.EncodeToString(h.Sum(nil))), nil
}

func depth(rel string) int {
	n := 1
	for _, r := range rel {
		if r == filepath.Separator {
			n++
		}
	}
	return n
}

// estimateDocSize estimates the heap bytes a document holds: string bytes
// plus per-value overheads. It errs on the high side.
func estimateDocSize(doc *analyzer.Document) int64 {
	if doc == nil {
		return 0
	}
	const (
		str   = 16 // string header
		slice = 24 // slice header
	)
	s := func(v string) int64 { return str + int64(len(v)) }
	n := int64(256)
	n += s(doc.Mode) + s(doc.Framework) + s(doc.Model) + s(doc.Tool.Name) + s(doc.Tool.Version)
	for _, v := range doc.Inputs.Formal {
		n += s(v)
	}
	for _, v := range doc.Inputs.Mapping {
		n += s(v)
	}
	for _, w := range doc.Warnings {
		n += s(w)
	}
	for _, st := range doc.Stages {
		n += 128 + s(st.Stage)
		for _, k := range st.Kernels {
			n += 96 + s(k.Name) + s(k.Category)
			for _, site := range k.Sites {
				n += 96 + s(site.Path) + s(site.Function) + s(site.CPUOp) + s(site.Attribution) + slice
				for _, f := range site.Stack {
					n += s(f)
				}
			}
		}
		for _, o := range st.Overlap {
			n += 96 + s(o.Priority) + s(o.Verdict) + s(o.Kernel) + s(o.Category) + s(o.Scope) + s(o.DepRisk) + s(o.Recommendation)
		}
		for _, f := range st.Fuse {
			n += 96 + s(f.Pattern) + s(f.Confidence) + s(f.Rationale)
			for _, e := range f.Evidence {
				n += 32 + s(e.Kernel)
			}
			for _, v := range f.CurrentLocations {
				n += s(v)
			}
			for _, v := range f.CandidatePaths {
				n += s(v)
			}
		}
	}
	return n
}
