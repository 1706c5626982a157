/* A write transaction's copies of its users' snapshots
 * (store_pg_wcache.h): per user a sorted array of rows, each row one
 * allocation holding its key and then its value. */
#include "pg/store_pg_wcache.h"

#include <stdlib.h>
#include <string.h>

#include "pg/store_pg_usnap.h"
#include "status.h"

struct mp_pg_wrow {
    int t;
    size_t klen, vlen;
    unsigned char *kv; /* owned: the key, then the value */
};

struct mp_pg_wuser *mp_pg_wcache_user(struct mp_pg_wcache *c, const unsigned char *part,
                                      size_t plen)
{
    for (size_t i = 0; i < c->n; i++)
        if (c->users[i].plen == plen && memcmp(c->users[i].part, part, plen) == 0)
            return &c->users[i];
    return NULL;
}

struct mp_pg_wuser *mp_pg_wcache_covering(struct mp_pg_wcache *c, enum mp_store_table t,
                                          const unsigned char *part, size_t plen)
{
    if (plen == 0 || !mp_pg_usnap_table(t, c->sealed))
        return NULL;
    struct mp_pg_wuser *u = mp_pg_wcache_user(c, part, plen);
    return u != NULL && u->covered ? u : NULL;
}

/* (t, k) against row r. */
static int cmp(int t, const unsigned char *k, size_t klen, const struct mp_pg_wrow *r)
{
    if (t != r->t)
        return t < r->t ? -1 : 1;
    return mp_store_backend_key_cmp(k, klen, r->kv, r->klen);
}

/* The first row >= (t, k). */
static size_t lower(const struct mp_pg_wuser *u, int t, const unsigned char *k, size_t klen)
{
    size_t lo = 0, hi = u->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (cmp(t, k, klen, &u->rows[mid]) > 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static bool at(const struct mp_pg_wuser *u, size_t i, int t, const unsigned char *k, size_t klen)
{
    return i < u->n && cmp(t, k, klen, &u->rows[i]) == 0;
}

/* Row i's bytes set to (k, v): MP_OK or MP_ENOMEM (the row untouched). */
static int set_row(struct mp_pg_wrow *r, int t, const unsigned char *k, size_t klen,
                   const unsigned char *v, size_t vlen)
{
    unsigned char *kv = malloc(klen + vlen + 1);
    if (kv == NULL)
        return MP_ENOMEM;
    memcpy(kv, k, klen);
    if (vlen > 0)
        memcpy(kv + klen, v, vlen);
    free(r->kv);
    *r = (struct mp_pg_wrow){.t = t, .klen = klen, .vlen = vlen, .kv = kv};
    return MP_OK;
}

int mp_pg_wcache_put(struct mp_pg_wuser *u, enum mp_store_table t, const unsigned char *k,
                     size_t klen, const unsigned char *v, size_t vlen)
{
    size_t i = lower(u, (int)t, k, klen);
    if (at(u, i, (int)t, k, klen))
        return set_row(&u->rows[i], (int)t, k, klen, v, vlen);
    if (mp_store_backend_grow(&u->rows, &u->cap, u->n, sizeof(*u->rows)) != MP_OK)
        return MP_ENOMEM;
    struct mp_pg_wrow fresh = {0};
    if (set_row(&fresh, (int)t, k, klen, v, vlen) != MP_OK)
        return MP_ENOMEM;
    memmove(&u->rows[i + 1], &u->rows[i], (u->n - i) * sizeof(*u->rows));
    u->rows[i] = fresh;
    u->n++;
    return MP_OK;
}

/* Removes rows [from, to). */
static void drop_rows(struct mp_pg_wuser *u, size_t from, size_t to)
{
    if (from == to)
        return; /* nothing, perhaps no rows at all (rows NULL) */
    for (size_t i = from; i < to; i++)
        free(u->rows[i].kv);
    memmove(&u->rows[from], &u->rows[to], (u->n - to) * sizeof(*u->rows));
    u->n -= to - from;
}

int mp_pg_wcache_del(struct mp_pg_wuser *u, enum mp_store_table t, const unsigned char *k,
                     size_t klen)
{
    size_t i = lower(u, (int)t, k, klen);
    if (!at(u, i, (int)t, k, klen))
        return MP_NOTFOUND;
    drop_rows(u, i, i + 1);
    return MP_OK;
}

void mp_pg_wcache_del_range(struct mp_pg_wuser *u, enum mp_store_table t, const unsigned char *lo,
                            size_t lolen, const unsigned char *hi, size_t hilen)
{
    size_t from = lower(u, (int)t, lo, lolen), to = from;
    while (
        to < u->n && u->rows[to].t == (int)t &&
        (hilen == 0 || mp_store_backend_key_cmp(u->rows[to].kv, u->rows[to].klen, hi, hilen) < 0))
        to++;
    drop_rows(u, from, to);
}

int mp_pg_wcache_get(const struct mp_pg_wuser *u, enum mp_store_table t, const unsigned char *k,
                     size_t klen, const unsigned char **v, size_t *vlen)
{
    size_t i = lower(u, (int)t, k, klen);
    if (!at(u, i, (int)t, k, klen))
        return MP_NOTFOUND;
    *v = u->rows[i].kv + u->rows[i].klen;
    *vlen = u->rows[i].vlen;
    return MP_OK;
}

int mp_pg_wcache_scan(const struct mp_pg_wuser *u, enum mp_store_table t,
                      const unsigned char *start, size_t slen, size_t plen, mp_store_scan_fn fn,
                      void *arg)
{
    for (size_t i = lower(u, (int)t, start, slen); i < u->n && u->rows[i].t == (int)t; i++) {
        const struct mp_pg_wrow *r = &u->rows[i];
        if (r->klen < plen || memcmp(r->kv, start, plen) != 0)
            return MP_OK; /* past the prefix: rows are in key order */
        int rc = fn(arg, r->kv, r->klen, r->kv + r->klen, r->vlen);
        if (rc != MP_OK)
            return rc == MP_STORE_SCAN_STOP ? MP_OK : rc;
    }
    return MP_OK;
}

/* mp_pg_usnap_each()'s callback: appends a row (the snapshot is in
 * order). */
static int add_row(void *arg, enum mp_store_table t, const unsigned char *k, size_t klen,
                   const unsigned char *v, size_t vlen)
{
    struct mp_pg_wuser *u = arg;
    if (u->n > 0 && cmp((int)t, k, klen, &u->rows[u->n - 1]) <= 0)
        return MP_EIO; /* out of order: not a snapshot this build wrote */
    if (mp_store_backend_grow(&u->rows, &u->cap, u->n, sizeof(*u->rows)) != MP_OK)
        return MP_ENOMEM;
    u->rows[u->n] = (struct mp_pg_wrow){0};
    if (set_row(&u->rows[u->n], (int)t, k, klen, v, vlen) != MP_OK)
        return MP_ENOMEM;
    u->n++;
    return MP_OK;
}

static void user_cleanup(struct mp_pg_wuser *u)
{
    drop_rows(u, 0, u->n);
    free(u->rows);
    u->rows = NULL;
    u->cap = 0;
    u->covered = false;
}

int mp_pg_wcache_add(struct mp_pg_wcache *c, const unsigned char *part, size_t plen,
                     const unsigned char *snap, size_t n)
{
    if (plen > MP_STORE_USER_PREFIX_MAX)
        return MP_EINVAL;
    if (mp_store_backend_grow(&c->users, &c->cap, c->n, sizeof(*c->users)) != MP_OK)
        return MP_ENOMEM;
    struct mp_pg_wuser *u = &c->users[c->n++];
    memset(u, 0, sizeof(*u));
    memcpy(u->part, part, plen);
    u->plen = plen;
    if (snap == NULL)
        return MP_OK;
    int rc = mp_pg_usnap_each(snap, n, c->sealed, add_row, u);
    if (rc != MP_OK)
        user_cleanup(u); /* asked, not covered */
    else
        u->covered = true;
    return rc;
}

int mp_pg_wcache_pack(const struct mp_pg_wuser *u, unsigned char **v, size_t *vlen, bool *none)
{
    *v = NULL;
    *vlen = 0;
    *none = u->n == 0;
    if (u->n == 0)
        return MP_OK;
    struct mp_pg_usnap_row *rows = calloc(u->n, sizeof(*rows));
    if (rows == NULL)
        return MP_ENOMEM;
    for (size_t i = 0; i < u->n; i++)
        rows[i] = (struct mp_pg_usnap_row){.t = u->rows[i].t,
                                           .k = u->rows[i].kv,
                                           .klen = u->rows[i].klen,
                                           .v = u->rows[i].kv + u->rows[i].klen,
                                           .vlen = u->rows[i].vlen};
    int rc = mp_pg_usnap_pack(rows, u->n, v, vlen);
    free(rows);
    return rc;
}

void mp_pg_wcache_cleanup(struct mp_pg_wcache *c)
{
    for (size_t i = 0; i < c->n; i++)
        user_cleanup(&c->users[i]);
    free(c->users);
    c->users = NULL;
    c->n = c->cap = 0;
}
