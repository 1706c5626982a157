/* A link's read cache (store_pg_link.h): the snapshot stores its reads
 * built, per user, each with the version of the user's snapshot row
 * (mp_usnap, store_pg_usnap.h) it was built from, so that a read of a user
 * whose row did not change costs nothing but the check, instead of a
 * decompression, a decode and a derivation of the user's postings:
 *
 *   read ─> the user's row, $2 = the version held ──> PostgreSQL
 *     row changed (or none held): the value ──> build, keep a copy here
 *     row unchanged: its version, no value ───> read the one kept here
 *
 * The version is checked by the server on every read, inside the read's
 * own statement, so a write by any proxy (it rewrites the row in its
 * transaction) is seen by the next read of every other: nothing here is
 * ever served without that check. A version is the row's xmin (the
 * transaction that wrote it) and the value's length; two writes of one
 * user's row by transactions 2^32 apart with the same length would look
 * alike, which a cache of MP_PG_RCACHE_USERS users bounded by bytes does
 * not live to see. One thread (the link's). No PostgreSQL here. */
#ifndef MP_STORAGE_STORE_PG_RCACHE_H
#define MP_STORAGE_STORE_PG_RCACHE_H

#include <stddef.h>

#include "ops/store_backend.h"

#define MP_PG_RCACHE_USERS   32                 /* users kept at most, least recently read out */
#define MP_PG_RCACHE_BYTES   (4u * 1024 * 1024) /* their snapshot stores' bytes at most */
#define MP_PG_RCACHE_VER_MAX 48                 /* a version's bytes at most */

struct mp_pg_rcache;

/* An empty cache: MP_OK with *out (free with mp_pg_rcache_free()),
 * MP_ENOMEM. */
int mp_pg_rcache_new(struct mp_pg_rcache **out);

/* Frees c and what it keeps. NULL: nothing. */
void mp_pg_rcache_free(struct mp_pg_rcache *c);

/* The version held for the user of prefix P (store_backend.h): its bytes
 * in *ver (valid until the next call that changes c), their count (0:
 * none held). */
size_t mp_pg_rcache_version(const struct mp_pg_rcache *c, const unsigned char *prefix, size_t plen,
                            const unsigned char **ver);

/* The snapshot store the user's entry of version ver[0..vlen) keeps,
 * lent, or NULL when no such entry is held (it went out, or was replaced:
 * read the user again). It stays c's: valid until the next
 * mp_pg_rcache_keep() or mp_pg_rcache_free() on c. A reader may run a
 * view over it (which may sort it or note misses in it:
 * mp_store_snap_run_begin() clears those), never add to or clear it. */
struct mp_store *mp_pg_rcache_lend(struct mp_pg_rcache *c, const unsigned char *prefix, size_t plen,
                                   const unsigned char *ver, size_t vlen);

/* Keeps a copy of snap (just built from the user's row of version
 * ver[0..vlen), nothing else read into it) as the user's entry, replacing
 * any older one, the least recently read users going out to stay in
 * bounds. MP_OK; MP_EINVAL (a version too long, or a copy bigger than the
 * cache: nothing kept); MP_ENOMEM (nothing kept). */
int mp_pg_rcache_keep(struct mp_pg_rcache *c, const unsigned char *prefix, size_t plen,
                      const unsigned char *ver, size_t vlen, const struct mp_store *snap);

#endif
