#!/usr/bin/env bash
# Fetches the Chinese development sets the recall benchmark reads
# (tests/bench/recall/README.md, "Every language and set") into git-ignored
# data/, pinned to a commit and checked against SHA-256 sums, and converts
# them to the benchmark's plain shape:
#
#   memdaily: MemDaily's development files (nuster1128/MemSim: only the
#             *_events, *_items and *_places files of
#             data_generation/final_dataset/messages_and_QAs/; the other
#             files there are kept for judging and are never fetched)
#             -> data/memdaily-dev/memdaily-dev.json
#   madial:   MADial-Bench's Chinese memory archive and dialogues
#             (hejunqing/MADial-Bench, MIT) -> data/madial-dev/madial-dev.json
#
# Usage: tests/bench/recall/fetch_devdata.sh [memdaily|madial|all]
#            [--from-git OWNER/NAME=DIR ...] [--out DIR]
# --from-git: read a set's files from a local clone (git -C DIR show
#   COMMIT:PATH, exactly the pinned paths) instead of downloading them, e.g.
#   --from-git nuster1128/MemSim=/path/to/MemSim
# --out: the data directory (default: data/ under the repository root).
# Exit: 0 fetched and converted; 1 a download, a checksum or the conversion failed.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
out="$root/data"
which=all
declare -A clone=()

while [ $# -gt 0 ]; do
    case "$1" in
        memdaily|madial|all) which=$1 ;;
        --from-git) shift; clone["${1%%=*}"]="${1#*=}" ;;
        --out) shift; out=$1 ;;
        -h|--help) sed -n '2,21p' "$0"; exit 0 ;;
        *) echo "fetch_devdata.sh: unknown argument $1" >&2; exit 1 ;;
    esac
    shift
done

MEMSIM_REPO=nuster1128/MemSim
MEMSIM_COMMIT=684e7ad94b9334f47a5f28a732576d6eea2dbf2f
MEMSIM_DIR=data_generation/final_dataset/messages_and_QAs
MEMSIM_SUMS='592cd332c982959ffe67239fea2ccc7adf074258f0dc2527d9bf203d4a838a25  01_simple_events.json
011906cb651f7e8ca3d87aeb654c24e8b24200a9a252c58ba6d1fbbb79e1be1e  01_simple_items.json
6d0bf2f0e42a99c6ce06d066f6f251992776f435f83ff12240ced1a8bec8e4a9  01_simple_places.json
afdad9a6de1dc6af896d372345446259ff6e05b85a23d9ad3e6aba5b842abbf2  02_conditional_events.json
cbde35fff52a2d13100769daea52bac66ba7bce519a20068e0f9ba1ebd058dbf  02_conditional_items.json
584d8cce4270301e547b62f5bf98e2acab79e4e3836ce811f7184d8d7a0a28b2  02_conditional_places.json
a11395761719255330bbd6ec10fc94b57a4bd7b46a239a6ad843efb400318764  03_comparative_events.json
41543366aa1fc54bbfbbfe63d9bcd3448b72b90c64f1df3960bad68b16899cbe  04_aggregative_events.json
bfe15208ff59f92a66a3aee794af611fc42d8a07d450dd014b16ecd9e83c5295  05_post_processing_events.json
3c174e01dc76abfe715af0781499f8e9e66113f907cef0b49e4229f7c4c4adb4  05_post_processing_items.json
ad4418211751c62f3f77b0a27495479a1bf18cf37429e29dba65690871cd17fd  05_post_processing_places.json
e1495bbab1ae954250286fb8613152de078184559866512d82fb2dee3398c8fa  06_noisy_events.json
72e992f0dd3aa005b57f260f1c84314430aa45acde4b1be3dc7211ea978a638a  06_noisy_items.json
21cbc7631b045cf538c083b0904d999b3ce6edca08a645a5c956db11403903be  06_noisy_places.json'

MADIAL_REPO=hejunqing/MADial-Bench
MADIAL_COMMIT=7a73a3e38c06ef0735116ff84ce951c8751a8cfc
MADIAL_DIR=data/ch
MADIAL_SUMS='760e929111c2b2abb4a78f36d96256b0cebe8e4ce1f180371c4404a7c7f81186  MADial-Bench-zh-dialogue.json
a07531f7f3a6265dbb838f8623b7f981cdb5f74206e65c6a276c178ad0bd93df  MADial-Bench-zh-memory.json'

# get REPO COMMIT DIR SUMS DEST: the files the sums name (and no other),
# from REPO at COMMIT, into DEST, checked.
get() {
    local repo=$1 commit=$2 dir=$3 sums=$4 dest=$5 name
    mkdir -p "$dest"
    while read -r _ name; do
        if [ -n "${clone[$repo]:-}" ]; then
            git -C "${clone[$repo]}" show "$commit:$dir/$name" > "$dest/$name.part" ||
                fail "cannot read $dir/$name at $commit in ${clone[$repo]}"
        else
            curl -fsSL --retry 3 -o "$dest/$name.part" \
                "https://raw.githubusercontent.com/$repo/$commit/$dir/$name" ||
                fail "cannot download $dir/$name of $repo at $commit"
        fi
        mv "$dest/$name.part" "$dest/$name"
    done <<< "$sums"
    (cd "$dest" && sha256sum --quiet -c - <<< "$sums") || fail "$dest: a file is not the one pinned (SHA-256)"
}

fail() {
    echo "fetch_devdata.sh: $1" >&2
    exit 1
}

if [ "$which" = all ] || [ "$which" = memdaily ]; then
    get "$MEMSIM_REPO" "$MEMSIM_COMMIT" "$MEMSIM_DIR" "$MEMSIM_SUMS" "$out/memdaily-dev/src"
    python3 "$here/memdaily.py" "$out/memdaily-dev/src" "$out/memdaily-dev/memdaily-dev.json" || exit 1
    echo "fetch_devdata.sh: $out/memdaily-dev/memdaily-dev.json"
fi
if [ "$which" = all ] || [ "$which" = madial ]; then
    get "$MADIAL_REPO" "$MADIAL_COMMIT" "$MADIAL_DIR" "$MADIAL_SUMS" "$out/madial-dev/src"
    python3 "$here/madial.py" "$out/madial-dev/src" "$out/madial-dev/madial-dev.json" || exit 1
    echo "fetch_devdata.sh: $out/madial-dev/madial-dev.json"
fi
