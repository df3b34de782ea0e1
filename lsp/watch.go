package lsp

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"go.lsp.dev/protocol"

	"github.com/tracetriage/tracetriage/analyzer"
	"github.com/tracetriage/tracetriage/analyzer/trace"
)

// refreshTimeout bounds each workspace/*/refresh request to the client.
const refreshTimeout = 5 * time.Second

// watch loads the trace, then polls it (a stat per input file, or a walk
// of the trace folder) and re-analyses when it changes: on a new mtime or
// size that has stayed the same for one poll (so a trace still being
// written is not read half-way), on new settings, or on new workspace
// folders. It runs until shutdown.
func (s *Server) watch() {
	defer s.wg.Done()
	ctx := s.bg
	tick := time.NewTicker(s.poll)
	defer tick.Stop()

	var loaded struct {
		key string
		fp  string
		ok  bool // something was tried for opts/fp
	}
	var pendingFP string
	force := true
	for {
		s.mu.Lock()
		cfg, roots := s.cfg, slicesClone(s.roots)
		s.mu.Unlock()
		opts, rerr := cfg.resolve(roots)
		fp := ""
		if rerr == nil {
			fp = fingerprint(opts)
		}
		key := optionsKey(opts)
		changed := !loaded.ok || key != loaded.key || fp != loaded.fp
		switch {
		case force:
			s.load(ctx, opts, rerr)
			loaded.key, loaded.fp, loaded.ok = key, fp, true
			pendingFP = ""
		case changed && fp == pendingFP:
			// Stable for one poll: the writer is done.
			s.load(ctx, opts, rerr)
			loaded.key, loaded.fp, loaded.ok = key, fp, true
			pendingFP = ""
		case changed:
			pendingFP = fp
		}
		force = false
		select {
		case <-ctx.Done():
			return
		case <-s.reconfig:
			force = true
		case <-tick.C:
		}
	}
}

// optionsKey identifies the inputs and settings of an analysis.
func optionsKey(o analyzer.Options) string {
	return fmt.Sprintf("%q %q %q %q %q", o.Input, o.MappingInput, o.FormalInput, o.Framework, o.FuseCatalog)
}

func slicesClone(s []string) []string { return append([]string(nil), s...) }

// load analyses the trace opts names and, on success, swaps in the new
// index and refreshes the editor. A failure is shown once per trace and
// error; the previous index (if any) stays in use.
func (s *Server) load(ctx context.Context, opts analyzer.Options, resolveErr error) {
	if resolveErr != nil {
		s.log.Info("no trace", "err", resolveErr)
		if errors.Is(resolveErr, errNoTrace) {
			s.notifyOnce("notrace", protocol.MessageTypeInfo, "tracetriage: "+resolveErr.Error())
		}
		return
	}
	name := describeInputs(opts)
	s.log.Info("analysing", "trace", name)
	start := time.Now()
	// New settings while a long analysis runs cancel it; the watcher then
	// starts over with them.
	actx, cancel := context.WithCancel(ctx)
	finished := make(chan struct{})
	watcherDone := make(chan struct{})
	go func() {
		defer close(watcherDone)
		select {
		case <-s.reconfig:
			cancel()
			s.kick()
		case <-finished:
		}
	}()
	doc, err := s.runAnalyze(actx, opts)
	close(finished)
	<-watcherDone
	superseded := actx.Err() != nil
	cancel()
	if ctx.Err() != nil || superseded {
		s.log.Info("analysis superseded", "trace", name)
		return
	}
	if err != nil {
		s.log.Warn("analysis failed", "trace", name, "err", err)
		if errors.Is(err, trace.ErrTruncated) {
			// Most often a profiler still writing the trace: the watcher
			// analyses it again when it changes.
			s.notifyOnce("load:"+name+":"+err.Error(), protocol.MessageTypeInfo, fmt.Sprintf(
				"tracetriage: %s ends early (still being written, or cut short): it is analysed again when it changes. %v", name, err))
			return
		}
		msg := fmt.Sprintf("tracetriage: could not analyse %s: %v", name, err)
		s.notifyOnce("load:"+name+":"+err.Error(), protocol.MessageTypeError, msg)
		return
	}
	s.mu.Lock()
	stage := s.cfg.Stage
	s.mu.Unlock()
	ix := NewIndex(doc, stage)
	s.log.Info("analysed", "trace", name, "took", time.Since(start).Round(time.Millisecond),
		"files", len(ix.files), "stage", ix.stage)
	s.mu.Lock()
	roots := slicesClone(s.roots)
	s.mu.Unlock()
	targets := diskTargets(ix, roots)
	s.mu.Lock()
	s.index = ix
	caps := s.caps
	for u := range s.docs {
		s.dirty[u] = true
	}
	for u := range s.published {
		s.dirty[u] = true
	}
	for _, u := range targets {
		s.dirty[u] = true
	}
	s.mu.Unlock()
	s.wakePublisher()

	if caps.codeLensRefresh {
		rctx, cancel := context.WithTimeout(ctx, refreshTimeout)
		if err := s.client.CodeLensRefresh(rctx); err != nil {
			s.log.Debug("codeLens refresh", "err", err)
		}
		cancel()
	}
	if caps.inlayHintRefresh {
		rctx, cancel := context.WithTimeout(ctx, refreshTimeout)
		if err := s.client.InlayHintRefresh(rctx); err != nil {
			s.log.Debug("inlayHint refresh", "err", err)
		}
		cancel()
	}
}

// runAnalyze calls the engine, turning a panic into an error so that a
// bad trace cannot take the server down.
func (s *Server) runAnalyze(ctx context.Context, opts analyzer.Options) (doc *analyzer.Document, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("analysis panicked: %v", r)
		}
	}()
	doc, err = s.analyze(ctx, opts)
	if err == nil && doc == nil {
		err = errors.New("the engine returned no document")
	}
	return doc, err
}

// describeInputs names the trace inputs for messages.
func describeInputs(o analyzer.Options) string {
	if o.MappingInput != "" {
		return fmt.Sprintf("mapping %s + formal %s", filepath.Base(o.MappingInput), filepath.Base(o.FormalInput))
	}
	return o.Input
}
