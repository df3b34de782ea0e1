#!/usr/bin/env bash
# Installs what the LSP end-to-end tests need: Neovim (its built-in LSP
# client drives `tracetriage lsp` headless) and the Node client libraries
# under lsp/e2e (vscode-languageserver-protocol, vscode-jsonrpc).
# Idempotent and quiet: does nothing when both are already in place.
set -euo pipefail
cd "$(dirname "$0")/../.."

if ! command -v nvim >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq --no-install-recommends neovim >/dev/null
fi

if ! command -v npm >/dev/null 2>&1 || ! command -v node >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
fi
if [ ! -d lsp/e2e/node_modules/vscode-languageserver-protocol ]; then
  (cd lsp/e2e && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
fi
