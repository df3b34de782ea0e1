package lsp

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tracetriage/tracetriage/analyzer"
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
