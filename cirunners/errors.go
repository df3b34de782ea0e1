package cirunners

import (
	"errors"
	"fmt"
)

// Sentinel errors. Front-ends map them to their own error shapes.
var (
	// ErrSyntax is wrapped by every *ParseError: a workflow, doc table or
	// runs-on expression could not be read.
	ErrSyntax = errors.New("syntax error")
	// ErrNoDocs means Check found no CI doc to compare: neither a default
	// doc path nor a --doc file.
	ErrNoDocs = errors.New("no CI docs found")
	// ErrNoTable means a doc holds no table with a Suite and a Runner column.
	ErrNoTable = errors.New("no suite/runner table")
	// ErrNoWorkflows means the repository has no .github/workflows/*.yml.
	ErrNoWorkflows = errors.New("no GitHub Actions workflows")
	// ErrNotFound means Query found neither a suite nor a runner label
	// with the name asked for.
	ErrNotFound = errors.New("no such suite or runner label")
	// ErrTooLarge means a doc or workflow file exceeds MaxFileBytes.
	ErrTooLarge = errors.New("file too large")
)

// ParseError reports malformed input with its position. Line and Column
// are 1-based; 0 means unknown.
type ParseError struct {
	File   string `json:"file"`
	Line   int    `json:"line"`
	Column int    `json:"column,omitempty"`
	Msg    string `json:"message"`
}

// Error formats the error as "file:line:col: message".
func (e *ParseError) Error() string {
	switch {
	case e.Line > 0 && e.Column > 0:
		return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Column, e.Msg)
	case e.Line > 0:
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	default:
		return fmt.Sprintf("%s: %s", e.File, e.Msg)
	}
}

// Unwrap lets errors.Is(err, ErrSyntax) recognise every parse error.
func (e *ParseError) Unwrap() error { return ErrSyntax }
