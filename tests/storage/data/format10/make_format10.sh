#!/bin/sh
# Makes tests/storage/data/format10/{clear,sealed}/data.mdb with the code of
# commit 3d7784f (record format 10, the last before the told records):
#   git worktree add --detach /tmp/fmt10 3d7784f && (cd /tmp/fmt10 && meson setup build -Dtests=true &&
#     ninja -C build tests/storage/libstore_fixture.a storage/libmpstorage.a core/libmpcore.a \
#       ondemand/libmpondemand.a)
#   tests/storage/data/format10/make_format10.sh /tmp/fmt10
set -eu
old=$1
here=$(cd "$(dirname "$0")" && pwd)
b=$old/build
cc -std=c11 -D_GNU_SOURCE -o /tmp/make_format10 "$here/make_format10.c" \
    $(for d in core core/config core/http core/json core/memory core/recall core/wire storage \
        storage/format storage/lmdb storage/ops storage/pg storage/snap tests/storage; do
        echo "-I$old/$d"; done) -I"$b" -I"$b/core" \
    "$b/tests/storage/libstore_fixture.a" "$b/storage/libmpstorage.a" "$b/core/libmpcore.a" \
    "$b/ondemand/libmpondemand.a" \
    $(pkg-config --libs lmdb libpq libcrypto check jansson icu-uc icu-i18n 2>/dev/null) \
    -llz4 -lstemmer -lm -ldl -lpthread
rm -rf "$here/clear" "$here/sealed"
/tmp/make_format10 "$here"
# compacted (no free pages): smaller files, the same records
for w in clear sealed; do
    mdb_copy -c -n "$here/$w/data.mdb" "$here/$w/data.mdb.tmp"
    mv "$here/$w/data.mdb.tmp" "$here/$w/data.mdb"
    rm -f "$here/$w/data.mdb-lock" "$here/$w/data.mdb.tmp-lock"
done
