package lsp

import (
	"fmt"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"go.lsp.dev/protocol"
)

// document is the editor's copy of an open file.
type document struct {
	text    string
	version int32
	python  bool
}

// isPython reports whether a document is Python, by language id or name.
func isPython(languageID, path string) bool {
	return languageID == "python" || strings.HasSuffix(path, ".py") || strings.HasSuffix(path, ".pyi")
}

// applyChanges applies incremental or whole-document changes in order. A
// change whose range falls outside the text is clamped to it, so a client
// that is out of step cannot make the server fail.
func applyChanges(text string, changes []protocol.TextDocumentContentChangeEvent) (string, error) {
	for _, ch := range changes {
		switch c := ch.(type) {
		case *protocol.TextDocumentContentChangeWholeDocument:
			text = c.Text
		case *protocol.TextDocumentContentChangePartial:
			start := offsetOf(text, c.Range.Start)
			end := offsetOf(text, c.Range.End)
			if end < start {
				start, end = end, start
			}
			text = text[:start] + c.Text + text[end:]
		default:
			return text, fmt.Errorf("unknown content change %T", ch)
		}
	}
	return text, nil
}

// offsetOf converts an LSP position (line, UTF-16 column) into a byte
// offset of text, clamped to the text.
func offsetOf(text string, pos protocol.Position) int {
	off := 0
	for line := uint32(0); line < pos.Line; line++ {
		i := strings.IndexByte(text[off:], '\n')
		if i < 0 {
			return len(text)
		}
		off += i + 1
	}
	col := uint32(0)
	for off < len(text) && col < pos.Character {
		r, size := utf8.DecodeRuneInString(text[off:])
		if r == '\n' {
			break
		}
		col += uint32(utf16.RuneLen(r)) // an invalid byte decodes as U+FFFD: one unit
		off += size
	}
	return off
}

// lineText returns line n (0-based) of text without its line ending, and
// whether the line exists.
func lineText(text string, n int) (string, bool) {
	for i := 0; i < n; i++ {
		j := strings.IndexByte(text, '\n')
		if j < 0 {
			return "", false
		}
		text = text[j+1:]
	}
	if j := strings.IndexByte(text, '\n'); j >= 0 {
		text = text[:j]
	}
	return strings.TrimSuffix(text, "\r"), true
}

// utf16Len is the length of s in UTF-16 code units, the LSP's default
// column unit.
func utf16Len(s string) uint32 {
	n := uint32(0)
	for _, r := range s {
		n += uint32(utf16.RuneLen(r))
	}
	return n
}

// splitLines splits text into lines without their endings.
func splitLines(text string) []string {
	lines := strings.Split(text, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimSuffix(l, "\r")
	}
	return lines
}
