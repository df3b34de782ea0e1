package lsp

import (
	"context"
	"fmt"
	"slices"

	"go.lsp.dev/protocol"
)

// InlayHint puts the GPU time and share of the headline stage at the end of
// every line in the range that launched kernels: "⏱ 1.30 ms · 31.5%".
func (s *Server) InlayHint(_ context.Context, p *protocol.InlayHintParams) ([]protocol.InlayHint, error) {
	snap, key, lines, ok := s.indexedDocument(p.TextDocument.URI)
	if !ok {
		return nil, nil
	}
	from, to := int(p.Range.Start.Line), int(p.Range.End.Line)
	var nums []int
	for n, li := range snap.index.Lines(key) {
		if _, _, k := li.Total(); k == 0 {
			continue
		}
		if i := n - 1; i >= from && i <= to && i < len(lines) {
			nums = append(nums, n)
		}
	}
	slices.Sort(nums)
	yes := true
	out := make([]protocol.InlayHint, 0, len(nums))
	for _, n := range nums {
		li := snap.index.Line(key, n)
		gpu, share, kernels := li.Total()
		out = append(out, protocol.InlayHint{
			Position:    protocol.Position{Line: uint32(n - 1), Character: utf16Len(lines[n-1])},
			Label:       protocol.String(inlayLabel(gpu, share)),
			PaddingLeft: &yes,
			Tooltip: protocol.String(fmt.Sprintf("%d kernel%s launched here: %s of the %s stage's GPU time (tracetriage)",
				kernels, plural(kernels), formatShare(share), snap.index.stage)),
		})
	}
	return out, nil
}

// inlayLabel is the text of a line's inlay hint.
func inlayLabel(gpuUS, sharePct float64) string {
	return "⏱ " + formatTime(gpuUS) + " · " + formatShare(sharePct)
}
