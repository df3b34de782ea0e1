#!/usr/bin/env bash
# The project's test command (the README names it; .ci/run calls it).
# Runs formatting and vet checks, the whole test suite, and the race
# detector on the packages that run work concurrently.
set -euo pipefail
cd "$(dirname "$0")/.."

unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then
  echo "gofmt would change:" >&2
  echo "$unformatted" >&2
  exit 1
fi
go vet ./...
go test -count=1 ./...
# Concurrent parts: the engine (breakdown beside the sweep), the parallel
# loader and the servers.
race_pkgs=$(go list ./... | grep -E '/(analyzer|analyzer/trace|mcp|lsp|live)$' || true)
if [ -n "$race_pkgs" ]; then
  go test -race -count=1 -short $race_pkgs
fi
