// Package trace loads PyTorch profiler (Kineto) Chrome-trace files into a
// compact, indexed event model: GPU kernels, kernel launches, CPU operators,
// Python frames and annotations, with interned strings and integer
// nanosecond timestamps.
//
// Loading streams the file (plain or gzip, detected by content) and keeps
// only the events the analysis needs; it never builds a document tree of the
// whole trace. Two parsers feed one Builder: a fast scanner specialised to
// the layout Kineto writes, and a general streaming parser for any valid
// Chrome-trace JSON. Both extract the same RawEvent fields, so they agree by
// construction on everything after extraction.
package trace
