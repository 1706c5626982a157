/* A read transaction's copy of one user's records (store_pg.h): the rows
 * of the tables a request reads, as the ordered user statement
 * (mp_pg_user_sql()) gave them in the transaction's snapshot, answered
 * from memory so that a read transaction costs about one round trip:
 *
 *   hint_user ─> the user's rows, (t, k) order ─> kept here
 *   get, scan of the user's covered tables ────> binary search here
 *
 * Only a user of at most MP_PG_USER_ROWS rows is kept (a bigger one is
 * read as needed). Bytes out, no statements here. */
#ifndef MP_STORAGE_STORE_PG_UCACHE_H
#define MP_STORAGE_STORE_PG_UCACHE_H

#include <stdbool.h>
#include <stddef.h>

#include "pg/pq_lib.h"

#include "ops/store_backend.h"

struct mp_pg_ucache {
    PGresult *res; /* owned; NULL: no user kept */
    unsigned char prefix[MP_STORE_USER_PREFIX_MAX];
    size_t plen;
    int first[MP_TABLE_COUNT], count[MP_TABLE_COUNT]; /* each table's run of rows */
};

/* Keeps r (the ordered user statement's rows of the user of prefix P,
 * plen <= MP_STORE_USER_PREFIX_MAX) in an empty c: true; false when the
 * user is bigger than MP_PG_USER_ROWS or a row is of no such table (r
 * cleared, c still empty). Takes ownership of r either way. */
bool mp_pg_ucache_take(struct mp_pg_ucache *c, PGresult *r, const unsigned char *prefix,
                       size_t plen);

/* Whether c answers a get of key k of table t (its user's, in a table
 * kept: every such record there is). */
bool mp_pg_ucache_covers(const struct mp_pg_ucache *c, enum mp_store_table t,
                         const unsigned char *k, size_t klen);

/* A covered key's value: MP_OK with *val (valid until the cleanup), or
 * MP_NOTFOUND. */
int mp_pg_ucache_get(const struct mp_pg_ucache *c, enum mp_store_table t, const unsigned char *k,
                     size_t klen, const unsigned char **val, size_t *vlen);

/* Whether c answers a scan of table t from start whose keys share start's
 * first plen bytes (store_backend.h's scan). */
bool mp_pg_ucache_covers_scan(const struct mp_pg_ucache *c, enum mp_store_table t,
                              const unsigned char *start, size_t plen);

/* That scan, as the backend's scan does it, from memory. */
int mp_pg_ucache_scan(const struct mp_pg_ucache *c, enum mp_store_table t,
                      const unsigned char *start, size_t slen, size_t plen, mp_store_scan_fn fn,
                      void *arg);

/* Clears what c keeps. */
void mp_pg_ucache_cleanup(struct mp_pg_ucache *c);

#endif
