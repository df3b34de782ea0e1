// Package overlap finds what could run concurrently on the GPU and does not.
//
// It works on plain kernel intervals of one serving stage (Kernel: canonical
// name, stream, start and end in nanoseconds, the Python scope that launched
// it) so the engine can feed it from any loader. Analyze sweeps the
// intervals by stream and splits every kernel's time into hidden (another
// stream is busy at the same moment) and exclusive time, aggregates it per
// kernel family, and selects the rows of the Overlap Opportunity table:
// exposed families worth overlapping or fusing ("headroom") and elementwise
// or memory families that other streams already hide ("low-roi-hidden"),
// each with a dependency-risk signal from its neighbours on the same stream,
// a priority and a recommendation.
//
// Analyze also returns a temporal Breakdown of the stage (busy and idle GPU
// time, time by category, exposed communication and the share of
// communication overlapped by computation on other streams, as HTA and
// TraceLens report it), and Timeline renders an ASCII timeline around one
// kernel. The package does not import the engine; docs/overlap.md describes
// the definitions and where they deliberately differ from the reference
// tool.
package overlap
