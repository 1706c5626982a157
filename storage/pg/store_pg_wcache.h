/* A write transaction's own copy of the records of the users it loads
 * (store_pg.h): each user's snapshot (store_pg_usnap.h) read in the round
 * trip that carries BEGIN, unpacked here, and kept current by the
 * transaction's puts and deletes, so that
 *
 *   get, scan, del of a covered record ─> answered from memory
 *   put, del of one ───────────────────> edited here, the statement queued
 *   COMMIT ────────────────────────────> the snapshot packed from here:
 *                                        no read of the user's rows
 *
 * A user covers the tables its snapshot holds (mp_pg_usnap_table()), only
 * when it has a full snapshot: a user with none, or an empty one (too
 * big), is read and rebuilt from its rows as before. The copy is exact
 * because every writer keeps the snapshot exact, and the transaction read
 * the snapshot's row: a writer changing the user at the same time rewrites
 * that row too, and one of the two fails with a serialization failure.
 * No PostgreSQL here: bytes in, bytes out. */
#ifndef MP_STORAGE_STORE_PG_WCACHE_H
#define MP_STORAGE_STORE_PG_WCACHE_H

#include <stdbool.h>
#include <stddef.h>

#include "ops/store_backend.h"

struct mp_pg_wrow;
struct mp_pg_wuser {
    unsigned char part[MP_STORE_USER_PREFIX_MAX]; /* the user (store_backend.h's P) */
    size_t plen;
    bool covered;            /* false: asked, no full snapshot: not cached */
    struct mp_pg_wrow *rows; /* owned, in (t, k) order */
    size_t n, cap;
};

struct mp_pg_wcache {
    bool sealed; /* the store's: which tables a snapshot holds */
    struct mp_pg_wuser *users;
    size_t n, cap;
};

/* The user part[0..plen) as asked for, or NULL. */
struct mp_pg_wuser *mp_pg_wcache_user(struct mp_pg_wcache *c, const unsigned char *part,
                                      size_t plen);

/* The user of key k of table t (part: part_of()'s, plen 0: none) when it
 * is covered and holds table t, else NULL. */
struct mp_pg_wuser *mp_pg_wcache_covering(struct mp_pg_wcache *c, enum mp_store_table t,
                                          const unsigned char *part, size_t plen);

/* Adds the user part[0..plen) with the snapshot snap[0..n) (a full one:
 * covered), or with none (snap NULL: asked, not covered). MP_OK; MP_EIO (a
 * malformed snapshot: not covered); MP_ENOMEM. */
int mp_pg_wcache_add(struct mp_pg_wcache *c, const unsigned char *part, size_t plen,
                     const unsigned char *snap, size_t n);

/* The value of (t, k): MP_OK with *v (valid until the next put or del),
 * or MP_NOTFOUND. */
int mp_pg_wcache_get(const struct mp_pg_wuser *u, enum mp_store_table t, const unsigned char *k,
                     size_t klen, const unsigned char **v, size_t *vlen);

/* Sets (t, k) to v (copied): MP_OK or MP_ENOMEM. */
int mp_pg_wcache_put(struct mp_pg_wuser *u, enum mp_store_table t, const unsigned char *k,
                     size_t klen, const unsigned char *v, size_t vlen);

/* Removes (t, k): MP_OK, or MP_NOTFOUND when it was not there. */
int mp_pg_wcache_del(struct mp_pg_wuser *u, enum mp_store_table t, const unsigned char *k,
                     size_t klen);

/* Removes the keys of table t in [lo, hi) (hilen 0: no bound). */
void mp_pg_wcache_del_range(struct mp_pg_wuser *u, enum mp_store_table t, const unsigned char *lo,
                            size_t lolen, const unsigned char *hi, size_t hilen);

/* A scan of table t as store_backend.h's, within the user's records. */
int mp_pg_wcache_scan(const struct mp_pg_wuser *u, enum mp_store_table t,
                      const unsigned char *start, size_t slen, size_t plen, mp_store_scan_fn fn,
                      void *arg);

/* The user's snapshot now (mp_pg_usnap_pack(): *v malloc'd, empty when too
 * big), or *none when it has no records left. MP_OK or MP_ENOMEM. */
int mp_pg_wcache_pack(const struct mp_pg_wuser *u, unsigned char **v, size_t *vlen, bool *none);

/* Frees every copy. */
void mp_pg_wcache_cleanup(struct mp_pg_wcache *c);

#endif
