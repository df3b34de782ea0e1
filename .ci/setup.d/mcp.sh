#!/usr/bin/env bash
# Installs what the MCP end-to-end tests need: the official MCP TypeScript
# SDK client (@modelcontextprotocol/sdk, pinned in mcp/e2e/package.json and
# its lock file), which drives `tracetriage mcp` over stdio and HTTP.
# Idempotent and quiet: does nothing when it is already installed.
set -euo pipefail
cd "$(dirname "$0")/../.."

if ! command -v npm >/dev/null 2>&1 || ! command -v node >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
fi
if [ ! -f mcp/e2e/node_modules/@modelcontextprotocol/sdk/package.json ]; then
  (cd mcp/e2e && { npm ci --no-audit --no-fund --loglevel=error >/dev/null || npm install --no-audit --no-fund --loglevel=error >/dev/null; })
fi
