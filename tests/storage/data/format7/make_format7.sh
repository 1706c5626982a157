#!/bin/sh
# Makes tests/storage/data/format7/{clear,sealed}/data.mdb with the code of
# commit bba23a5 (record format 7, the last before languages were stored):
#   git worktree add /tmp/fmt7 bba23a5 && (cd /tmp/fmt7 && meson setup build && ninja -C build)
#   tests/storage/data/format7/make_format7.sh /tmp/fmt7
# (the fixtures committed here were made against a build of ccb5dfb, whose
# storage and core code is bba23a5's: only a Python test differs.)
set -eu
old=$1
here=$(cd "$(dirname "$0")" && pwd)
b=$old/build
cc -std=c11 -D_GNU_SOURCE -o /tmp/make_format7 "$here/make_format7.c" \
    $(for d in core core/config core/http core/json core/memory core/recall core/wire storage \
        storage/format storage/lmdb storage/ops storage/pg storage/snap tests/storage; do
        echo "-I$old/$d"; done) -I"$b" -I"$b/core" \
    "$b/tests/storage/libstore_fixture.a" "$b/storage/libmpstorage.a" "$b/core/libmpcore.a" \
    $(pkg-config --libs lmdb libpq libcrypto check jansson icu-uc icu-i18n 2>/dev/null) \
    -llz4 -lstemmer -lm
rm -rf "$here/clear" "$here/sealed"
/tmp/make_format7 "$here"
# compacted (no free pages): smaller files, the same records
for w in clear sealed; do
    mdb_copy -c -n "$here/$w/data.mdb" "$here/$w/data.mdb.tmp"
    mv "$here/$w/data.mdb.tmp" "$here/$w/data.mdb"
done
