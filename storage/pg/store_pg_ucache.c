/* A read transaction's copy of one user's records (store_pg_ucache.h):
 * the result kept whole, each table's run of rows found by binary search. */
#include "pg/store_pg_ucache.h"

#include <string.h>

#include "pg/store_pg_conn.h"
#include "pg/store_pg_usnap.h"
#include "status.h"

bool mp_pg_ucache_take(struct mp_pg_ucache *c, PGresult *r, const unsigned char *prefix,
                       size_t plen)
{
    int rows = mp_pq.ntuples(r);
    if (rows > MP_PG_USER_ROWS || plen > sizeof(c->prefix)) {
        mp_pq.clear(r);
        return false;
    }
    for (int t = 0; t < MP_TABLE_COUNT; t++)
        c->first[t] = c->count[t] = 0;
    for (int i = 0; i < rows; i++) {
        int t = mp_pg_user_table_of(r, i);
        if (t < 0) {
            mp_pq.clear(r);
            return false;
        }
        if (c->count[t]++ == 0)
            c->first[t] = i;
    }
    memcpy(c->prefix, prefix, plen);
    c->plen = plen;
    c->res = r;
    return true;
}

bool mp_pg_ucache_covers(const struct mp_pg_ucache *c, enum mp_store_table t,
                         const unsigned char *k, size_t klen)
{
    if (c->res == NULL || !mp_pg_user_tables[t])
        return false;
    if (mp_store_table_shapes[t] == MP_KEY_USER)
        return klen + 2 == c->plen && memcmp(k, c->prefix + 2, klen) == 0;
    return klen >= c->plen && memcmp(k, c->prefix, c->plen) == 0;
}

/* The first kept row of table t whose key is >= k. */
static int lower(const struct mp_pg_ucache *c, enum mp_store_table t, const unsigned char *k,
                 size_t klen)
{
    int lo = c->first[t], hi = c->first[t] + c->count[t];
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        if (mp_store_backend_key_cmp((const unsigned char *)mp_pq.getvalue(c->res, mid, 1),
                                     (size_t)mp_pq.getlength(c->res, mid, 1), k, klen) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

int mp_pg_ucache_get(const struct mp_pg_ucache *c, enum mp_store_table t, const unsigned char *k,
                     size_t klen, const unsigned char **val, size_t *vlen)
{
    int i = lower(c, t, k, klen);
    if (i >= c->first[t] + c->count[t] ||
        mp_store_backend_key_cmp((const unsigned char *)mp_pq.getvalue(c->res, i, 1),
                                 (size_t)mp_pq.getlength(c->res, i, 1), k, klen) != 0)
        return MP_NOTFOUND;
    *val = (const unsigned char *)mp_pq.getvalue(c->res, i, 2);
    *vlen = (size_t)mp_pq.getlength(c->res, i, 2);
    return MP_OK;
}

bool mp_pg_ucache_covers_scan(const struct mp_pg_ucache *c, enum mp_store_table t,
                              const unsigned char *start, size_t plen)
{
    return c->res != NULL && mp_pg_user_tables[t] && mp_store_table_shapes[t] != MP_KEY_USER &&
           plen >= c->plen && memcmp(start, c->prefix, c->plen) == 0;
}

int mp_pg_ucache_scan(const struct mp_pg_ucache *c, enum mp_store_table t,
                      const unsigned char *start, size_t slen, size_t plen, mp_store_scan_fn fn,
                      void *arg)
{
    for (int i = lower(c, t, start, slen); i < c->first[t] + c->count[t]; i++) {
        const unsigned char *k = (const unsigned char *)mp_pq.getvalue(c->res, i, 1);
        size_t klen = (size_t)mp_pq.getlength(c->res, i, 1);
        if (klen < plen || memcmp(k, start, plen) != 0)
            return MP_OK; /* past the prefix: rows are in key order */
        int rc = fn(arg, k, klen, (const unsigned char *)mp_pq.getvalue(c->res, i, 2),
                    (size_t)mp_pq.getlength(c->res, i, 2));
        if (rc != MP_OK)
            return rc == MP_STORE_SCAN_STOP ? MP_OK : rc;
    }
    return MP_OK;
}

void mp_pg_ucache_cleanup(struct mp_pg_ucache *c)
{
    mp_pq.clear(c->res);
    c->res = NULL;
}
