/* The LMDB backend's read side: a user's memory, the jobs, a user's
 * history, the users listing and the gauges. Each read begins, copies out
 * and ends its transaction inside one call; nothing here writes. */
#include "store_lmdb_private.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "status.h"

/* ---- reads ---- */

static int get_user(const struct lmdb_store *s, MDB_txn *txn, const MDB_val *k,
                    struct mp_codec_user *meta, struct mp_usermem **out)
{
    MDB_val v;
    struct mp_lmdb_plain pv;
    int rc = mdb_get(txn, s->users, (MDB_val *)k, &v);
    if (rc != 0)
        return rc == MDB_NOTFOUND ? MP_NOTFOUND : MP_EIO;
    rc = mp_lmdb_open_val(s, s->users, k, &v, &pv);
    if (rc == MP_OK)
        rc = mp_codec_get_user(pv.p, pv.n, meta, out);
    mp_lmdb_plain_done(&pv);
    return rc;
}

int mp_lmdb_get(struct mp_store *store, const char *user, size_t user_len, struct mp_usermem **out)
{
    struct lmdb_store *s = (struct lmdb_store *)store;
    unsigned char phys[MP_LMDB_PHYS_USER_MAX];
    MDB_txn *txn;
    MDB_val k = mp_lmdb_val(phys, mp_lmdb_phys_user(s, user, user_len, phys));
    int status = mp_lmdb_read_begin(s, &txn);
    if (status != MP_OK)
        return status;
    status = get_user(s, txn, &k, NULL, out);
    mp_lmdb_read_end(s, txn);
    return status;
}

static int read_jobs(const struct lmdb_store *s, MDB_txn *txn, struct mp_job **out, size_t *n)
{
    MDB_cursor *c;
    MDB_val k, v;
    MDB_stat st;
    struct mp_job *jobs;
    size_t got = 0;
    int status = MP_OK;
    if (mdb_stat(txn, s->jobs, &st) != 0 || mdb_cursor_open(txn, s->jobs, &c) != 0)
        return MP_EIO;
    jobs = calloc(st.ms_entries + 1, sizeof(*jobs));
    if (jobs == NULL)
        status = MP_ENOMEM;
    int rc = mdb_cursor_get(c, &k, &v, MDB_FIRST);
    for (; status == MP_OK && rc == 0 && got < st.ms_entries;
         rc = mdb_cursor_get(c, &k, &v, MDB_NEXT))
        status = mp_lmdb_read_job(s, &k, &v, &jobs[got++]);
    mdb_cursor_close(c);
    if (status == MP_OK && rc != 0 && rc != MDB_NOTFOUND)
        status = MP_EIO;
    if (status != MP_OK || got == 0) {
        free(jobs);
        jobs = NULL;
    }
    if (status == MP_OK) {
        *out = jobs;
        *n = got;
    }
    return status;
}

int mp_lmdb_jobs(struct mp_store *store, struct mp_job **out, size_t *n)
{
    struct lmdb_store *s = (struct lmdb_store *)store;
    MDB_txn *txn;
    int status = mp_lmdb_read_begin(s, &txn);
    if (status != MP_OK)
        return status;
    status = read_jobs(s, txn, out, n);
    mp_lmdb_read_end(s, txn);
    return status;
}

int mp_lmdb_history(struct mp_store *store, const char *user, size_t user_len,
                    struct mp_history **out)
{
    struct lmdb_store *s = (struct lmdb_store *)store;
    unsigned char prefix[MP_LMDB_USER_PREFIX_MAX];
    size_t plen = mp_lmdb_user_prefix(s, prefix, user, user_len);
    MDB_val k = mp_lmdb_val(prefix + 2, plen - 2), v;
    MDB_txn *txn;
    struct mp_history *h = calloc(1, sizeof(*h));
    if (h == NULL)
        return MP_ENOMEM;
    int status = mp_lmdb_read_begin(s, &txn);
    if (status == MP_OK) {
        status = mp_lmdb_load_history(s, txn, prefix, plen, h);
        if (status == MP_OK && h->nitems == 0) {
            int rc = mdb_get(txn, s->users, &k, &v);
            status = rc == 0 ? MP_OK : rc == MDB_NOTFOUND ? MP_NOTFOUND : MP_EIO;
        }
        mp_lmdb_read_end(s, txn);
    }
    if (status != MP_OK) {
        mp_history_free(h);
        return status;
    }
    *out = h;
    return MP_OK;
}

/* ---- listing ---- */

/* Where a tenant's users are: keys starting with prefix[0..*plen); a clear
 * store's users of no tenant are every key from "\x02" on (a user id is
 * printable; namespaced keys start with MP_USER_KEY_TENANT). */
static void tenant_range(const struct lmdb_store *s, const unsigned char *tenant,
                         unsigned char *prefix, size_t *plen, unsigned char *start, size_t *slen)
{
    *plen = 0;
    if (tenant == mp_store_all_tenants) {
        *slen = 0;
        return;
    }
    if (tenant != NULL) {
        prefix[0] = MP_USER_KEY_TENANT;
        memcpy(prefix + 1, tenant, MP_TENANT_LEN);
        *plen = 1 + MP_TENANT_LEN;
    } else if (s->sealed) {
        prefix[0] = 0;
        *plen = 1;
    }
    memcpy(start, prefix, *plen);
    *slen = *plen;
    if (*plen == 0) {
        start[0] = MP_USER_KEY_TENANT + 1;
        *slen = 1;
    }
}

static bool in_range(const MDB_val *k, const unsigned char *prefix, size_t plen)
{
    return k->mv_size >= plen && memcmp(k->mv_data, prefix, plen) == 0;
}

/* A cursor of this listing: in the range and not before its start. (A
 * clear store's users of no tenant have no common prefix; a cursor of a
 * tenant's listing there would walk that tenant's users.) */
static bool cursor_ok(const MDB_val *after, const unsigned char *prefix, size_t plen,
                      const unsigned char *start, size_t slen)
{
    size_t n = after->mv_size < slen ? after->mv_size : slen;
    int c = memcmp(after->mv_data, start, n);
    return in_range(after, prefix, plen) && (c > 0 || (c == 0 && after->mv_size >= slen));
}

static int user_info(const struct lmdb_store *s, MDB_txn *txn, const MDB_val *k,
                     struct mp_user_info *info)
{
    struct mp_codec_user meta;
    struct mp_usermem *um = NULL;
    int rc = get_user(s, txn, k, &meta, &um);
    if (rc != MP_OK)
        return rc == MP_NOTFOUND ? MP_EIO : rc;
    memcpy(info->user, meta.user, meta.user_len);
    info->user_len = meta.user_len;
    info->nfacts = um->nentities;
    info->nmessages = um->nmessages;
    info->summary = um->summary.text != NULL;
    info->updated_at_ms = meta.updated_at_ms;
    mp_usermem_free(um);
    return MP_OK;
}

/* Fills list[0..*n) with up to limit users after the cursor; *more when
 * another follows. */
static int list_users(const struct lmdb_store *s, MDB_txn *txn, const unsigned char *tenant,
                      const MDB_val *after, size_t limit, struct mp_user_info *list, size_t *n,
                      bool *more)
{
    unsigned char prefix[1 + MP_TENANT_LEN], start[1 + MP_TENANT_LEN];
    size_t plen, slen;
    MDB_cursor *c;
    MDB_val k, v;
    int status = MP_OK;
    tenant_range(s, tenant, prefix, &plen, start, &slen);
    if (after->mv_size > 0 && !cursor_ok(after, prefix, plen, start, slen))
        return MP_EINVAL;
    if (mdb_cursor_open(txn, s->users, &c) != 0)
        return MP_EIO;
    k = after->mv_size > 0 ? *after : mp_lmdb_val(start, slen);
    int rc = k.mv_size > 0 ? mdb_cursor_get(c, &k, &v, MDB_SET_RANGE)
                           : mdb_cursor_get(c, &k, &v, MDB_FIRST);
    if (rc == 0 && after->mv_size > 0 && k.mv_size == after->mv_size &&
        memcmp(k.mv_data, after->mv_data, k.mv_size) == 0)
        rc = mdb_cursor_get(c, &k, &v, MDB_NEXT);
    *n = 0;
    *more = false;
    for (; status == MP_OK && rc == 0 && in_range(&k, prefix, plen);
         rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        if (*n == limit) {
            *more = true;
            break;
        }
        status = user_info(s, txn, &k, &list[*n]);
        if (status == MP_OK)
            (*n)++;
    }
    mdb_cursor_close(c);
    if (status == MP_OK && rc != 0 && rc != MDB_NOTFOUND)
        status = MP_EIO;
    return status;
}

int mp_lmdb_users(struct mp_store *store, const unsigned char *tenant, const unsigned char *after,
                  size_t after_len, size_t limit, struct mp_user_info **out, size_t *n,
                  unsigned char *next, size_t *next_len)
{
    struct lmdb_store *s = (struct lmdb_store *)store;
    struct mp_user_info *list = calloc(limit, sizeof(*list));
    size_t got = 0;
    bool more = false;
    MDB_val a = mp_lmdb_val(after, after_len);
    MDB_txn *txn;
    if (list == NULL)
        return MP_ENOMEM;
    int status = mp_lmdb_read_begin(s, &txn);
    if (status == MP_OK) {
        status = list_users(s, txn, tenant, &a, limit, list, &got, &more);
        mp_lmdb_read_end(s, txn);
    }
    if (status != MP_OK || got == 0) {
        free(list);
        list = NULL;
    }
    if (status != MP_OK)
        return status;
    *next_len = 0;
    if (more) {
        /* the cursor is the last listed user's physical key */
        unsigned char phys[MP_LMDB_PHYS_USER_MAX];
        size_t len = mp_lmdb_phys_user(s, list[got - 1].user, list[got - 1].user_len, phys);
        memcpy(next, phys, len);
        *next_len = len;
    }
    *out = list;
    *n = got;
    return MP_OK;
}

int mp_lmdb_secret(struct mp_store *store, unsigned char out[MP_SEAL_KEY_LEN])
{
    struct lmdb_store *s = (struct lmdb_store *)store;
    memcpy(out, s->secret, MP_SEAL_KEY_LEN);
    return MP_OK;
}

int mp_lmdb_ping(struct mp_store *store)
{
    struct lmdb_store *s = (struct lmdb_store *)store;
    MDB_txn *txn;
    if (mp_lmdb_read_begin(s, &txn) != MP_OK)
        return MP_EIO;
    mp_lmdb_read_end(s, txn);
    return MP_OK;
}

/* mdb_reader_list() calls back once for a header line and once per slot
 * held, or once with "(no active readers)". */
static int count_reader(const char *msg, void *ctx)
{
    if (msg[0] != '(')
        (*(uint32_t *)ctx)++;
    return 0;
}

int mp_lmdb_stats(struct mp_store *store, struct mp_store_stats *out)
{
    struct lmdb_store *s = (struct lmdb_store *)store;
    MDB_envinfo info;
    MDB_stat st;
    uint32_t lines = 0;
    int rc = EIO;
    pthread_rwlock_rdlock(&s->resize_lock);
    if (s->env != NULL)
        rc = mdb_env_info(s->env, &info);
    if (rc == 0)
        rc = mdb_env_stat(s->env, &st);
    if (rc == 0 && mdb_reader_list(s->env, count_reader, &lines) < 0)
        rc = EIO;
    pthread_rwlock_unlock(&s->resize_lock);
    if (rc != 0)
        return MP_EIO;
    out->map_size = info.me_mapsize;
    out->map_size_max = s->map_size_max;
    out->map_used = ((uint64_t)info.me_last_pgno + 1) * st.ms_psize;
    out->readers_used = lines > 0 ? lines - 1 : 0; /* less the header line */
    out->readers_max = info.me_maxreaders;
    return MP_OK;
}
