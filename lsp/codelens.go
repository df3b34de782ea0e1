package lsp

import (
	"context"
	"fmt"

	"go.lsp.dev/protocol"
)

// CodeLens puts, above each function whose body launched kernels, the total
// GPU time of those kernels in the headline stage. Functions are found by
// an indentation scan of the document; nested functions count towards the
// functions around them too.
func (s *Server) CodeLens(_ context.Context, p *protocol.CodeLensParams) ([]protocol.CodeLens, error) {
	snap, key, lines, ok := s.indexedDocument(p.TextDocument.URI)
	if !ok {
		return nil, nil
	}
	known := snap.index.Lines(key)
	var out []protocol.CodeLens
	for _, f := range pyFunctions(lines) {
		var gpu, share float64
		var nLines, nKernels int
		for i := f.defLine; i <= f.end; i++ {
			li := known[i+1]
			if li == nil {
				continue
			}
			g, sh, k := li.Total()
			if k == 0 {
				continue
			}
			gpu += g
			share += sh
			nLines++
			nKernels += k
		}
		if nLines == 0 {
			continue
		}
		start := uint32(0)
		if f.nameStart >= 0 {
			start = utf16Len(lines[f.defLine][:f.nameStart])
		}
		r := protocol.Range{
			Start: protocol.Position{Line: uint32(f.defLine), Character: start},
			End:   protocol.Position{Line: uint32(f.defLine), Character: start + utf16Len(f.name)},
		}
		out = append(out, protocol.CodeLens{
			Range: r,
			Command: protocol.Command{
				Title: fmt.Sprintf("⏱ %s GPU · %s of %s · %d kernel%s from %d line%s",
					formatTime(gpu), formatShare(share), snap.index.stage, nKernels, plural(nKernels), nLines, plural(nLines)),
			},
		})
	}
	return out, nil
}
