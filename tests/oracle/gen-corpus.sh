#!/usr/bin/env bash
# Regenerates the benchmark corpus with the official @atproto/repo package.
# Usage: tests/oracle/gen-corpus.sh [RECORDS]   (default 10000; output in tests/oracle/out/)
set -euo pipefail
cd "$(dirname "$0")"
if [ ! -d node_modules/@atproto/repo ]; then
  npm ci --no-audit --no-fund
fi
node gen-corpus.mjs "${1:-10000}" out
