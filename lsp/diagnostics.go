package lsp

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"go.lsp.dev/protocol"
	"go.lsp.dev/uri"

	"github.com/tracetriage/tracetriage/analyzer"
	"github.com/tracetriage/tracetriage/analyzer/fuse"
)

// Diagnostic codes, so that editors can filter them.
const (
	codeHotLine  = "hot-line"
	codeFusion   = "fusion"
	codeOverlap  = "overlap"
	codeHostWait = "host-wait"
)

// hotLineMinShare is the least share of the stage a line needs to get a
// hot-line diagnostic.
const hotLineMinShare = 1.0

// markDirty queues u for a diagnostics publish.
func (s *Server) markDirty(u uri.URI) {
	s.mu.Lock()
	s.dirty[u] = true
	s.mu.Unlock()
	s.wakePublisher()
}

func (s *Server) wakePublisher() {
	select {
	case s.publishCh <- struct{}{}:
	default:
	}
}

// publisher sends queued diagnostics, off the message loop so that a slow
// client never blocks request handling; bursts coalesce per URI.
func (s *Server) publisher() {
	defer s.wg.Done()
	for {
		select {
		case <-s.bg.Done():
			return
		case <-s.publishCh:
		}
		s.mu.Lock()
		batch := make([]uri.URI, 0, len(s.dirty))
		for u := range s.dirty {
			batch = append(batch, u)
		}
		clear(s.dirty)
		s.mu.Unlock()
		slices.Sort(batch)
		for _, u := range batch {
			if s.bg.Err() != nil {
				return
			}
			s.publish(s.bg, u)
		}
	}
}

// publish computes and sends the diagnostics of one document. An empty list
// is sent only to clear what was published before.
func (s *Server) publish(ctx context.Context, u uri.URI) {
	diags := s.diagnostics(u)
	s.mu.Lock()
	had := s.published[u]
	s.published[u] = len(diags) > 0
	if len(diags) == 0 {
		delete(s.published, u)
	}
	s.mu.Unlock()
	if len(diags) == 0 && !had {
		return
	}
	if diags == nil {
		diags = []protocol.Diagnostic{}
	}
	if err := s.client.PublishDiagnostics(ctx, &protocol.PublishDiagnosticsParams{URI: u, Diagnostics: diags}); err != nil {
		s.log.Warn("publishDiagnostics failed", "uri", u, "err", err)
	}
}

// diskTargets lists the files under the workspace folders that the trace
// names, so that their diagnostics show before they are opened.
func diskTargets(ix *Index, roots []string) []uri.URI {
	var out []uri.URI
	for _, key := range ix.Files() {
		for _, r := range roots {
			cands := []string{key}
			if first, rest, ok := strings.Cut(key, "/"); ok && isLayoutDir(first) {
				cands = append(cands, rest)
			}
			for _, c := range cands {
				p := filepath.Join(r, filepath.FromSlash(c))
				if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
					out = append(out, uri.File(p))
				}
			}
		}
	}
	return out
}

// findingLines returns the lines of key that carry a fusion or overlap
// finding or a wait of the GPU for the host.
func (ix *Index) findingLines(key string) []int {
	var out []int
	for n, li := range ix.files[key] {
		if len(li.Fuse) > 0 || len(li.Overlap) > 0 || len(li.HostWaits) > 0 {
			out = append(out, n)
		}
	}
	slices.Sort(out)
	return out
}

// diagnostics returns the diagnostics of a document: the hottest lines of
// the headline stage, then the fusion and overlap findings on its lines.
// Severity is Information or Hint: the trace measures, it does not judge.
func (s *Server) diagnostics(u uri.URI) []protocol.Diagnostic {
	snap := s.snapshot()
	key := snap.fileFor(u)
	if key == "" {
		return nil
	}
	ix := snap.index
	text, _ := s.docText(u)
	lines := splitLines(text)
	rangeOf := func(n int) protocol.Range {
		l := ""
		if n-1 < len(lines) {
			l = lines[n-1]
		}
		start := uint32(len(l) - len(strings.TrimLeft(l, " \t")))
		end := utf16Len(l)
		if end < start {
			end = start
		}
		return protocol.Range{
			Start: protocol.Position{Line: uint32(n - 1), Character: start},
			End:   protocol.Position{Line: uint32(n - 1), Character: end},
		}
	}
	var out []protocol.Diagnostic
	add := func(n int, sev protocol.DiagnosticSeverity, code, msg string) {
		out = append(out, protocol.Diagnostic{
			Range:    rangeOf(n),
			Severity: sev,
			Code:     protocol.String(code),
			Source:   protocol.NewOptional("tracetriage"),
			Message:  protocol.String(msg),
		})
	}
	for rank, li := range ix.Hot(snap.cfg.hotLines(), hotLineMinShare) {
		if li.Path != key {
			continue
		}
		gpu, share, kernels := li.Total()
		top := li.Launches[0]
		msg := fmt.Sprintf("GPU hot spot #%d in %s: %s (%s of the stage) from %d kernel%s; top: %s (%s)",
			rank+1, ix.stage, formatTime(gpu), formatShare(share), kernels, plural(kernels),
			ix.kernelLabel(top.Kernel.Name, 80), top.Kernel.Category)
		add(li.Line, protocol.DiagnosticSeverityInformation, codeHotLine, msg)
	}
	for _, n := range ix.findingLines(key) {
		li := ix.Line(key, n)
		seen := map[string]bool{}
		for _, f := range li.Fuse {
			if seen[f.Row.Pattern] {
				continue // the same pattern in another stage
			}
			seen[f.Row.Pattern] = true
			if alreadyFused(f.Row) {
				// Worth knowing, nothing to do: a hint.
				msg := fmt.Sprintf("Already fused: %s (%s of %s GPU time)", f.Row.Pattern,
					formatShare(f.Row.SharePct), f.Stage)
				add(n, protocol.DiagnosticSeverityHint, codeFusion, msg)
				continue
			}
			msg := fmt.Sprintf("Fusion opportunity: %s (%s, %s of %s GPU time)", f.Row.Pattern,
				f.Row.Confidence, formatShare(f.Row.SharePct), f.Stage)
			if len(f.Row.CandidatePaths) > 0 {
				msg += "; candidate fused path: " + strings.Join(f.Row.CandidatePaths, ", ")
			}
			add(n, protocol.DiagnosticSeverityInformation, codeFusion, msg)
		}
		for _, w := range li.HostWaits {
			share := 100 * w.Site.IdleUS / max(w.SpanUS, 1e-9)
			if share < hotLineMinShare {
				continue
			}
			msg := fmt.Sprintf("GPU idle waiting for the host before this line's launches: %s, %s of the %s span (%d gap%s)",
				formatTime(w.Site.IdleUS), formatShare(share), w.Stage, w.Site.Gaps, plural(w.Site.Gaps))
			add(n, protocol.DiagnosticSeverityInformation, codeHostWait, msg)
		}
		for _, o := range li.Overlap {
			if seen["overlap:"+o.Row.Kernel] {
				continue
			}
			seen["overlap:"+o.Row.Kernel] = true
			msg := fmt.Sprintf("Overlap %s (%s): %s takes %s of %s GPU time, %s exclusive; %s",
				o.Row.Priority, o.Row.Verdict, ix.kernelLabel(o.Row.Kernel, 60), formatShare(o.Row.SharePct),
				o.Stage, formatShare(o.Row.ExclusivePct), o.Row.Recommendation)
			add(n, protocol.DiagnosticSeverityHint, codeOverlap, msg)
		}
	}
	return out
}

// alreadyFused reports whether a fusion row says the fused kernel already
// runs (nothing left to do).
func alreadyFused(r *analyzer.FuseRow) bool { return r.Confidence == fuse.ConfidenceAlreadyFused }

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}
