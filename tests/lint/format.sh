#!/bin/sh
# Fails when a C file differs from .clang-format.
root=${1:-$(dirname "$0")/../..}
cd "$root" || exit 1
files=$(git ls-files '*.c' '*.h' 2>/dev/null)
[ -n "$files" ] || files=$(find core storage proxy tests -name '*.[ch]')
clang-format --dry-run --Werror $files || { echo "run: clang-format -i \$(git ls-files '*.c' '*.h')"; exit 1; }
echo "format ok"
