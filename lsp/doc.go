// Package lsp is the Language Server Protocol front-end of tracetriage: it
// shows, on the Python source lines that launched GPU kernels, how much GPU
// time those launches cost in a profiler trace.
//
// The server analyses one trace (chosen by the editor's settings, or the
// newest trace under the workspace's trace folder) with the engine in
// package analyzer, builds an [Index] of the resulting document once per
// analysis (file → line → kernels, sites and findings) and answers from it:
// hovers with a table of the kernels a line launched, inlay hints with the
// line's GPU time and share, code lenses with each function's total, and
// diagnostics (information and hints, never errors) for the hottest lines
// and fusion opportunities. It polls the trace on disk and refreshes the
// editor when it changes.
//
// Messages are handled in the order they arrive: document changes and the
// requests after them never race (the go.lsp.dev/protocol default handler
// runs every message concurrently, so [Server] installs its own chain).
// Notifications never fail the connection, a handler panic becomes an
// internal error for that one request, and malformed JSON frames are
// answered with a parse error and skipped.
package lsp
