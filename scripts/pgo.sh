#!/usr/bin/env bash
# pgo.sh: regenerate cmd/tracetriage/default.pgo, the CPU profile that `go
# build` uses for profile-guided optimisation of the tracetriage binary.
#
# It profiles `tracetriage analyze --cpuprofile` on what users analyse: a
# generated 1 GB SGLang-shaped trace, plain and gzipped (level 9, as PyTorch
# writes), a 100 MB one, and the real PyTorch traces in testdata/, and merges
# the profiles. Re-run it after changing the loader or the engine's hot
# paths, and commit the result with the figures it changes.
#
# Usage: scripts/pgo.sh      (BENCH_DIR=dir keeps the generated traces; the
#                             same directory as scripts/bench.sh)
set -euo pipefail
cd "$(dirname "$0")/.."

DIR=${BENCH_DIR:-${TMPDIR:-/tmp}/tracetriage-bench}
mkdir -p "$DIR/pgo"
go build -pgo=off -o "$DIR/tracetriage-nopgo" ./cmd/tracetriage
tt="$DIR/tracetriage-nopgo"

inputs=()
for size in 100MB 1GB; do
	plain="$DIR/sglang-$size.json"
	[ -s "$plain" ] || "$tt" gen --framework sglang --size "$size" --output "$plain"
	inputs+=("$plain")
done
[ -s "$DIR/sglang-1GB.json.gz" ] || "$tt" gen --framework sglang --size 1GB --gzip-level 9 --output "$DIR/sglang-1GB.json.gz"
inputs+=("$DIR/sglang-1GB.json.gz" testdata/torch-eager.json.gz testdata/sglang-decode-small.json.gz testdata/vllm-extend-small.json.gz)

profiles=()
for i in "${!inputs[@]}"; do
	p="$DIR/pgo/$i.pprof"
	"$tt" analyze --input "${inputs[$i]}" --format json --cpuprofile "$p" >/dev/null 2>&1
	profiles+=("$p")
done
p="$DIR/pgo/pair.pprof"
"$tt" analyze --mapping-input testdata/torch-cudagraph-capture.json.gz \
	--formal-input testdata/torch-cudagraph-replay.json.gz --format json --cpuprofile "$p" >/dev/null 2>&1
profiles+=("$p")

go tool pprof -proto "${profiles[@]}" >cmd/tracetriage/default.pgo
echo "wrote cmd/tracetriage/default.pgo ($(stat -c %s cmd/tracetriage/default.pgo) bytes) from ${#profiles[@]} profiles"
