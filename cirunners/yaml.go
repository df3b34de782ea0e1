package cirunners

import (
	"errors"
	"strings"

	"github.com/tracetriage/tracetriage/internal/yamltree"
)

// ynode is the YAML tree the workflow reader walks (internal/yamltree):
// anchors, aliases and merge keys resolved, a line on every node.
type ynode = yamltree.Node

// The node kinds the workflow reader distinguishes.
const (
	yNull   = yamltree.Null
	yScalar = yamltree.Scalar
	yMap    = yamltree.Mapping
	ySeq    = yamltree.Sequence
)

// parseYAML parses one YAML document. Syntax errors become a *ParseError
// carrying the file and the line and column the parser stopped at.
func parseYAML(file string, src []byte) (*ynode, error) {
	n, err := yamltree.Parse(file, src)
	if err != nil {
		var ye *yamltree.Error
		if errors.As(err, &ye) {
			msg := ye.Msg
			if ye.Syntax {
				msg = "invalid YAML: " + msg
			}
			return nil, &ParseError{File: ye.File, Line: ye.Line, Column: ye.Column, Msg: msg}
		}
		return nil, &ParseError{File: file, Msg: err.Error()}
	}
	return n, nil
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
