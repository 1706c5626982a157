#!/usr/bin/env bash
# memproxy's token estimate against a real tokenizer (issue 52): per
# language and set, the messages' bytes, their o200k_base tokens (npm's
# js-tiktoken, pinned by tests/bench/tokens/package-lock.json and installed
# here with npm ci), the estimate before (bytes / 4) and now
# (mp_memblock_estimate_text), the ratio estimate/real over the set and per
# message (p10, p50, p90), and what a block the estimate puts at 300 tokens
# really costs. Reported, not asserted. See tests/bench/README.md "Token
# estimates".
#
# Usage: tests/bench/tokens.sh [--short] [--json] [--data DIR]
# Data: DIR (default data/ from the repository root): ml-dev/needles-dev.json,
# locomo-dev/*.json, beam-dev/beam-500k-dev.json and memdaily-dev/ (its
# *_events, *_items and *_places files), each skipped when missing.
# --short: the first 500 LoCoMo and 300 BEAM messages (all of ml-dev).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
if [ ! -d "$here/tokens/node_modules/js-tiktoken" ]; then
    npm ci --prefix "$here/tokens" --no-audit --no-fund --loglevel=error >&2
fi
cd "$root"
exec node "$here/tokens/tokens.mjs" "$@"
