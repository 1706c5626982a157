/* What the LMDB backend's files share (store_lmdb.c: records and writes;
 * store_lmdb_read.c: reads and listing; store_lmdb_rewrite.c: opening,
 * checking and rewriting environments). Not a public interface: nothing
 * outside storage/store_lmdb*.c includes it. The on-disk layout is
 * described at the top of store_lmdb.c. */
#ifndef MP_STORAGE_STORE_LMDB_PRIVATE_H
#define MP_STORAGE_STORE_LMDB_PRIVATE_H

#include <limits.h>
#include <lmdb.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store.h"

#define MP_LMDB_PHYS_USER_MAX    MP_USER_KEY_MAX /* a hashed key (1 + 16 + 32) is shorter */
#define MP_LMDB_USER_PREFIX_MAX  (2 + MP_LMDB_PHYS_USER_MAX)
#define MP_LMDB_HIST_KEY_MAX     (MP_LMDB_USER_PREFIX_MAX + 8)
#define MP_LMDB_DEFAULT_MAP_SIZE (16ull << 20)

struct lmdb_store {
    struct mp_store base;
    MDB_env *env; /* NULL after a failed compaction swap: every call fails */
    MDB_dbi meta, users, history, jobs, idem;
    uint64_t map_size_max;
    pthread_mutex_t write_lock;
    pthread_rwlock_t resize_lock;
    bool sealed;
    struct mp_seal_key key;
    unsigned char secret[MP_SEAL_KEY_LEN];
    unsigned char index_key[MP_SEAL_KEY_LEN];
    char path[PATH_MAX];
    enum mp_store_sync sync;
    int lock_fd; /* memproxy.lock, flock()ed while open; -1 when not held */
};

/* A value read from the map, opened: p points into the map (clear store;
 * valid until the transaction ends) or into owned (sealed store). */
struct mp_lmdb_plain {
    const unsigned char *p;
    size_t n;
    unsigned char *owned;
};

/* ---- store_lmdb.c ---- */

MDB_val mp_lmdb_val(const void *p, size_t n);
/* The physical key of a user (see the layout); out has room for
 * MP_LMDB_PHYS_USER_MAX bytes. Returns its length. */
size_t mp_lmdb_phys_user(const struct lmdb_store *s, const char *user, size_t len,
                         unsigned char *out);
/* u16be length | physical user key, into k (MP_LMDB_USER_PREFIX_MAX bytes). */
size_t mp_lmdb_user_prefix(const struct lmdb_store *s, unsigned char *k, const char *user,
                           size_t len);
/* Puts plain[0..n) under k, sealed when the store has a key. Returns 0 or
 * an LMDB error; MP_EIO (negative, outside LMDB's range) when sealing
 * fails. */
int mp_lmdb_put_val(const struct lmdb_store *s, MDB_txn *txn, MDB_dbi dbi, MDB_val *k,
                    const void *plain, size_t n);
/* Opens the value v stored under k in dbi into *out: MP_OK (release with
 * mp_lmdb_plain_done()), MP_EIO (tampered, or sealed under another key),
 * MP_ENOMEM. *out may be released in every case. */
int mp_lmdb_open_val(const struct lmdb_store *s, MDB_dbi dbi, const MDB_val *k, const MDB_val *v,
                     struct mp_lmdb_plain *out);
void mp_lmdb_plain_done(struct mp_lmdb_plain *v);
/* A read transaction holding resize_lock shared: MP_OK or MP_EIO; end it
 * with mp_lmdb_read_end(). */
int mp_lmdb_read_begin(struct lmdb_store *s, MDB_txn **txn);
void mp_lmdb_read_end(struct lmdb_store *s, MDB_txn *txn);
/* Every history entry under prefix (one user's), oldest first, appended to h. */
int mp_lmdb_load_history(const struct lmdb_store *s, MDB_txn *txn, const unsigned char *prefix,
                         size_t plen, struct mp_history *h);
/* The same, stopping before the first entry at or after until_ms; *more
 * (may be NULL) is true when such an entry exists. */
int mp_lmdb_load_history_until(const struct lmdb_store *s, MDB_txn *txn,
                               const unsigned char *prefix, size_t plen, int64_t until_ms,
                               struct mp_history *h, bool *more);
/* A job record (key k, value v) into *job. MP_OK, MP_EIO, MP_ENOMEM. */
int mp_lmdb_read_job(const struct lmdb_store *s, const MDB_val *k, const MDB_val *v,
                     struct mp_job *job);

/* ---- store_lmdb_read.c: the read side of the ops table ---- */

int mp_lmdb_get(struct mp_store *store, const char *user, size_t user_len, struct mp_usermem **out);
int mp_lmdb_jobs(struct mp_store *store, struct mp_job **out, size_t *n);
int mp_lmdb_history(struct mp_store *store, const char *user, size_t user_len,
                    struct mp_history **out);
int mp_lmdb_users(struct mp_store *store, const unsigned char *tenant, const unsigned char *after,
                  size_t after_len, size_t limit, struct mp_user_info **out, size_t *n,
                  unsigned char *next, size_t *next_len);
int mp_lmdb_secret(struct mp_store *store, unsigned char out[MP_SEAL_KEY_LEN]);
int mp_lmdb_ping(struct mp_store *store);
int mp_lmdb_stats(struct mp_store *store, struct mp_store_stats *out);

/* ---- store_lmdb_rewrite.c ---- */

/* A store struct with its locks, not opened yet (NULL: out of memory, or
 * path too long). key (borrowed) is copied. */
struct lmdb_store *mp_lmdb_new_store(const char *path, enum mp_store_sync sync,
                                     const struct mp_seal_key *key);
/* The initial map size and the cap it may grow to, from the options. */
void mp_lmdb_map_sizes(const struct mp_store_options *opts, uint64_t *size, uint64_t *max);
/* Opens the environment at path with the given map size, its DBs, and
 * checks (or, for a new store, writes) format, key id and secret;
 * keep_secret: a new store takes s->secret instead of fresh bytes. MP_OK;
 * MP_EIO with a reason in err. s->env may be set even on failure. */
int mp_lmdb_open_env(struct lmdb_store *s, const char *path, uint64_t size, bool keep_secret,
                     char *err, size_t errcap);
/* Removes what an interrupted compaction or rotation left in path. */
void mp_lmdb_remove_leftovers(const char *path);
void mp_lmdb_close(struct mp_store *store);
int mp_lmdb_compact(struct mp_store *store, char *err, size_t errcap);

#endif
