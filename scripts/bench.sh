#!/usr/bin/env bash
# bench.sh: loader and analyze throughput and peak memory on synthetic traces.
#
# Generates SGLang-shaped traces of each size in SIZES (default "100MB 1GB"),
# plain and gzipped (level 9, like PyTorch's), with `tracetriage gen`, then runs, each under
# /usr/bin/time -v:
#   loader          trace.Load alone (the fast path), via the BenchmarkLoadFile benchmark
#   loader-general  trace.Load with Options.General (the general parser)
#   analyze         the whole `tracetriage analyze --format json`
# and prints MB/s of uncompressed JSON (wall clock), CPU seconds, and peak RSS
# as a multiple of the uncompressed size.
#
# Usage: scripts/bench.sh            (SIZES="100MB" scripts/bench.sh for a quick run;
#                                     BENCH_DIR=dir keeps the traces between runs;
#                                     SKIP_GENERAL=1 skips the slow general parser at 1GB+)
set -euo pipefail
cd "$(dirname "$0")/.."

SIZES=${SIZES:-"100MB 1GB"}
DIR=${BENCH_DIR:-${TMPDIR:-/tmp}/tracetriage-bench}
mkdir -p "$DIR"

if [ ! -x /usr/bin/time ]; then
	if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
		apt-get install -y -qq time >/dev/null
	else
		echo "bench.sh: /usr/bin/time (GNU time) is missing: apt-get install time" >&2
		exit 1
	fi
fi

go build -o "$DIR/tracetriage" ./cmd/tracetriage
go test -c -o "$DIR/trace.test" ./analyzer/trace

# measure NAME INPUT JSON_BYTES CMD...: run CMD under /usr/bin/time -v, print one row.
measure() {
	local name=$1 input=$2 bytes=$3
	shift 3
	local log="$DIR/time.log"
	if ! /usr/bin/time -v -o "$log" "$@" >/dev/null 2>"$DIR/stderr.log"; then
		printf '%-15s %-28s failed: %s\n' "$name" "$(basename "$input")" "$(tail -n 1 "$DIR/stderr.log")"
		return
	fi
	awk -v name="$name" -v file="$(basename "$input")" -v bytes="$bytes" '
		/Elapsed \(wall clock\)/ { n = split($NF, p, ":"); wall = 0; for (i = 1; i <= n; i++) wall = wall * 60 + p[i] }
		/User time \(seconds\)/ { user = $NF }
		/System time \(seconds\)/ { sys = $NF }
		/Maximum resident set size/ { rss = $NF * 1024 }
		END {
			printf "%-15s %-28s %8.0f MB/s  wall %6.2fs  cpu %6.2fs  %7.0f MB/cpu-s  peak RSS %6.0f MB (%.3fx)\n",
				name, file, bytes / 1e6 / wall, wall, user + sys, bytes / 1e6 / (user + sys), rss / 1e6, rss / bytes
		}' "$log"
}

echo "# $(date -u +%Y-%m-%dT%H:%MZ) $(nproc) cores, $(go version | cut -d' ' -f3), load average: $(cut -d' ' -f1-3 /proc/loadavg)"
for size in $SIZES; do
	plain="$DIR/sglang-$size.json"
	[ -s "$plain" ] || "$DIR/tracetriage" gen --framework sglang --size "$size" --output "$plain"
	# Level 9, as PyTorch's profiler writes .json.gz (real traces' gzip
	# headers say so); faster levels make streams that gunzip slower.
	[ -s "$plain.gz" ] || "$DIR/tracetriage" gen --framework sglang --size "$size" --gzip-level 9 --output "$plain.gz"
	bytes=$(stat -c %s "$plain")
	for input in "$plain" "$plain.gz"; do
		cat "$input" >/dev/null # page cache
		measure loader "$input" "$bytes" "$DIR/trace.test" -test.run '^$' -test.bench '^BenchmarkLoadFile$' -test.benchtime 1x -tracefile "$input"
		if [ -z "${SKIP_GENERAL:-}" ]; then
			measure loader-general "$input" "$bytes" "$DIR/trace.test" -test.run '^$' -test.bench '^BenchmarkLoadFile$' -test.benchtime 1x -tracefile "$input" -general
		fi
		measure analyze "$input" "$bytes" "$DIR/tracetriage" analyze --input "$input" --format json
	done
done
