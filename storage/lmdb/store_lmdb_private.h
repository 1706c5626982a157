/* What the LMDB backend's files share (store_lmdb.c: the primitives and
 * opening; store_lmdb_rewrite.c: opening, checking and rewriting
 * environments). Not a public interface: nothing outside
 * storage/store_lmdb*.c includes it. The records are described in
 * store_backend.h. */
#ifndef MP_STORAGE_STORE_LMDB_PRIVATE_H
#define MP_STORAGE_STORE_LMDB_PRIVATE_H

#include <limits.h>
#include <lmdb.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ops/store.h"
#include "ops/store_backend.h"

#define MP_LMDB_DEFAULT_MAP_SIZE (16ull << 20)

/* Read transactions kept reset between reads (store_lmdb.c: spares). */
#define MP_LMDB_SPARE_READS 8

struct lmdb_store {
    struct mp_store base;
    MDB_env *env;        /* NULL after a failed compaction swap: every call fails */
    uint64_t env_serial; /* env's, set as it opens (mp_lmdb_env_serial): store_backend.h's
                            mp_store_version.env */
    _Atomic(MDB_txn *) spare[MP_LMDB_SPARE_READS]; /* NULL: an empty slot */
    MDB_dbi dbi[MP_TABLE_COUNT];
    uint64_t map_size_max;
    pthread_mutex_t write_lock;
    pthread_rwlock_t resize_lock;
    char path[PATH_MAX];
    enum mp_store_sync sync;
    int lock_fd;      /* memproxy.lock, flock()ed while open; -1 when not held */
    bool private_env; /* a rewrite's own: opened without a lock file (MDB_NOLOCK) */
};

/* ---- store_lmdb.c ---- */

/* The primitives (store_backend.h). */
extern const struct mp_store_backend mp_lmdb_backend;

MDB_val mp_lmdb_val(const void *p, size_t n);

/* A number no environment of this process had before (from 1): each
 * environment's, as it opens. */
uint64_t mp_lmdb_env_serial(void);

/* Aborts the spare read transactions. The caller holds resize_lock
 * exclusive: before the environment closes or its map changes. */
void mp_lmdb_drop_spares(struct lmdb_store *s);

/* ---- store_lmdb_rewrite.c ---- */

/* A store struct with its locks, not opened yet (NULL: out of memory, or
 * path too long). key (borrowed; NULL: clear) is copied. */
struct lmdb_store *mp_lmdb_new_store(const char *path, enum mp_store_sync sync,
                                     const struct mp_seal_key *key);
/* The initial map size and the cap it may grow to, from the options. */
void mp_lmdb_map_sizes(const struct mp_store_options *opts, uint64_t *size, uint64_t *max);
/* Opens the environment at path with the given map size, its DBs, and
 * checks (or, for a new store, writes) format, key id and secret
 * (mp_store_backend_attach()); keep_secret: a new store takes s->secret
 * instead of fresh bytes. MP_OK; MP_EIO with a reason in err. s->env may
 * be set even on failure. */
int mp_lmdb_open_store(struct lmdb_store *s, const char *path, uint64_t size, bool keep_secret,
                       char *err, size_t errcap);
/* Removes what an interrupted compaction or rotation left in path. */
void mp_lmdb_remove_leftovers(const char *path);
void mp_lmdb_close(struct mp_store *store);
int mp_lmdb_compact(struct mp_store *store, char *err, size_t errcap);

#endif
