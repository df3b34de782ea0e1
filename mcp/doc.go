// Package mcp serves tracetriage's analyses to AI assistants over the Model
// Context Protocol. It is a thin adapter over the engine (package analyzer)
// and the other capability packages: one file per tool, each a constructor
// returning the tool's description and its handler.
//
// The server keeps a parsed-analysis cache (keyed by file identity and
// options, bounded by a memory budget, with concurrent calls on one trace
// analysed once), confines every file argument to the allowed roots and every
// network target to the allowed hosts, and reports every problem the model can
// act on as an isError tool result rather than a protocol error.
package mcp
