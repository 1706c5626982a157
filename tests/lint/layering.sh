#!/bin/sh
# Fails when core/ includes an I/O library, or storage/ includes libevent or
# libcurl, or any file but storage/lmdb/* includes <lmdb.h>, or any file but
# storage/pg/* includes <libpq-fe.h> (storage/ops/, the op sequence, reaches
# a backend only through its table: storage/ops/store_backend.h), or tools/
# includes libevent, LMDB or a header of proxy/ (the ops tools link core and
# storage, never the proxy library); and when an include runs upward or closes a
# circle between rooms (the floors of tests/lint/floors.txt, checked by floors.py).
root=${1:-$(dirname "$0")/../..}
status=0
bad=$(grep -nE '#[[:space:]]*include[[:space:]]*[<"](event2/|event\.h|curl/|lmdb\.h|sys/socket\.h|netinet/|arpa/|pthread\.h|openssl/|jansson\.h)' \
      "$root"/core/*.c "$root"/core/*.h "$root"/core/*/*.c "$root"/core/*/*.h 2>/dev/null)
if [ -n "$bad" ]; then
    echo "core/ must not include I/O libraries:"; echo "$bad"; status=1
fi
bad=$(grep -nE '#[[:space:]]*include[[:space:]]*[<"](event2/|event\.h|curl/)' \
      "$root"/storage/*.[ch] "$root"/storage/*/*.[ch] 2>/dev/null)
if [ -n "$bad" ]; then
    echo "storage/ must not include libevent or libcurl:"; echo "$bad"; status=1
fi
bad=$(grep -lE '#[[:space:]]*include[[:space:]]*<lmdb\.h>' "$root"/storage/*.[ch] "$root"/storage/*/*.[ch] \
      "$root"/proxy/*.c "$root"/proxy/*.h "$root"/proxy/*/*.[ch] "$root"/core/*.c "$root"/core/*.h "$root"/core/*/*.[ch] 2>/dev/null \
      | grep -vE 'storage/lmdb/[a-z_]*\.[ch]$')
if [ -n "$bad" ]; then
    echo "only storage/lmdb/ may include <lmdb.h>:"; echo "$bad"; status=1
fi
bad=$(grep -nE '\b(time|clock_gettime|gettimeofday|getenv|fopen|open|socket)[[:space:]]*\(' \
      "$root"/core/*.c "$root"/core/*/*.c 2>/dev/null | grep -v '^\S*:[0-9]*:[[:space:]]*/\?\*')
if [ -n "$bad" ]; then
    echo "core/ must not read clocks, the environment, files or sockets:"; echo "$bad"; status=1
fi
# (memory/ is also a room of core/: a proxy header of memory/ is an include
# that runs upward, which floors.py reports, tools/ being a layer below proxy/.)
bad=$(grep -nE '#[[:space:]]*include[[:space:]]*[<"](event2/|event\.h|lmdb\.h|net/|plane/|admin/|page/|server\.h|worker\.h|log\.h|metrics\.h|clock\.h)' \
      "$root"/tools/*.[ch] "$root"/tools/*/*.[ch] 2>/dev/null)
if [ -n "$bad" ]; then
    echo "tools/ must not include libevent, LMDB or the proxy's headers:"; echo "$bad"; status=1
fi
bad=$(grep -lE '#[[:space:]]*include[[:space:]]*<libpq-fe\.h>' "$root"/storage/*.[ch] "$root"/storage/*/*.[ch] \
      "$root"/proxy/*.c "$root"/proxy/*.h "$root"/proxy/*/*.[ch] "$root"/core/*.c "$root"/core/*.h \
      "$root"/core/*/*.[ch] "$root"/tools/*/*.[ch] 2>/dev/null | grep -vE 'storage/pg/[a-z_]*\.[ch]$')
if [ -n "$bad" ]; then
    echo "only storage/pg/ may include <libpq-fe.h>:"; echo "$bad"; status=1
fi
bad=$(grep -nE '#[[:space:]]*include[[:space:]]*"([a-z]+/)?(store_lmdb|store_pg|store_snap_private)[a-z_]*\.h"' \
      "$root"/storage/ops/*.[ch] "$root"/storage/view/*.[ch] "$root"/storage/upkeep/*.[ch] \
      "$root"/storage/format/*.[ch] 2>/dev/null)
if [ -n "$bad" ]; then
    echo "storage/ops/, view/, upkeep/ and format/ reach a backend only through storage/ops/store_backend.h:"
    echo "$bad"; status=1
fi
python3 "$(dirname "$0")/floors.py" "$root" || status=1
[ $status -eq 0 ] && echo "layering ok"
exit $status
