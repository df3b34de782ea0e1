package lsp

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"go.lsp.dev/protocol"

	"github.com/tracetriage/tracetriage/analyzer"
	"github.com/tracetriage/tracetriage/analyzer/overlap"
	"github.com/tracetriage/tracetriage/internal/testutil"
)

// The hover of the line whose launches the GPU waited for most says how
// long it waited, on the eager PyTorch trace of testdata.
func TestHoverShowsHostWaits(t *testing.T) {
	doc, err := analyzer.Analyze(context.Background(), analyzer.Options{
		Input: filepath.Join(testutil.ModuleRoot(), "testdata", "torch-eager.json.gz")})
	if err != nil {
		t.Fatal(err)
	}
	var dec *analyzer.Stage
	for i := range doc.Stages {
		if doc.Stages[i].Stage == analyzer.StageDecode {
			dec = &doc.Stages[i]
		}
	}
	if dec == nil || dec.Breakdown == nil || len(dec.Breakdown.IdleHostBySite) == 0 {
		t.Fatalf("no host waits in the decode stage: %+v", dec)
	}
	top := dec.Breakdown.IdleHostBySite[0]
	p, n, ok := parseLocation(top.Scope)
	if !ok {
		t.Fatalf("unparsable scope %q", top.Scope)
	}
	ix := NewIndex(doc, "")
	li := ix.Line(p, n)
	if li == nil {
		t.Fatalf("no index entry for %s:%d", p, n)
	}
	md := hoverMarkdown(ix, li)
	want := "**GPU waiting for the host:** before launches from this line the GPU sat idle " + formatTime(top.IdleUS) + " in the decode stage ("
	if !strings.Contains(md, want) {
		t.Errorf("hover of %s:%d lacks %q:\n%s", p, n, want, md)
	}
}

// A line the GPU waited for the host before gets a host-wait diagnostic
// from 1 % of the span, through a real server.
func TestDiagnosticsShowHostWaits(t *testing.T) {
	doc := mangledDoc()
	doc.Stages[0].Breakdown = &overlap.Breakdown{SpanUS: 2000, IdleUS: 900, IdleHostUS: 820, IdleHostBySite: []overlap.IdleSite{
		{Scope: "python/sglang/srt/layers/layernorm.py:10 forward", IdleUS: 800, Gaps: 4},
		{Scope: "python/sglang/srt/layers/layernorm.py:11 forward", IdleUS: 10, Gaps: 1}, // 0.5 %: no diagnostic
	}}
	diags := layernormDiagnostics(t, doc, 2)
	var waits []string
	for _, d := range diags {
		if d.Code == protocol.String(codeHostWait) {
			waits = append(waits, fmt.Sprintf("%d: %s", d.Range.Start.Line+1, d.Message.(protocol.String)))
		}
	}
	want := "10: GPU idle waiting for the host before this line's launches: 0.80 ms, 40.0% of the decode span (4 gaps)"
	if len(waits) != 1 || waits[0] != want {
		t.Errorf("host-wait diagnostics %q, want [%q]", waits, want)
	}
}
