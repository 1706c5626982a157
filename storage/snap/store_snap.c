/* The snapshot store (store_snap.h): fetched records kept per table in key
 * order (sorted when a run first reads a table after records were added),
 * the ranges the fetches covered kept sorted and merged, and the misses of
 * the current run. Record bytes live in chunks that never move, so a get's
 * value stays valid for the whole run. */
#include "snap/store_snap_private.h"

#include <openssl/crypto.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "status.h"

struct snap_store *mp_snap_of(const struct mp_store *s)
{
    return (struct snap_store *)s;
}

/* k against a span's end (hilen 0: above every key). */
static bool below_end(const unsigned char *k, size_t klen, const unsigned char *hi, size_t hilen)
{
    return hilen == 0 || mp_store_backend_key_cmp(k, klen, hi, hilen) < 0;
}

/* ---- records ---- */

unsigned char *mp_snap_chunk_alloc(struct snap_store *s, size_t n)
{
    struct chunk *c = s->chunks;
    if (c == NULL || c->cap - c->used < n) {
        size_t cap = n > CHUNK_MIN ? n : CHUNK_MIN;
        c = malloc(sizeof(*c) + cap);
        if (c == NULL)
            return NULL;
        c->used = 0;
        c->cap = cap;
        c->next = s->chunks;
        s->chunks = c;
    }
    unsigned char *p = c->data + c->used;
    c->used += n;
    return p;
}

int mp_store_snap_add(struct mp_store *store, enum mp_store_table t, const unsigned char *k,
                      size_t klen, const unsigned char *v, size_t vlen)
{
    struct snap_store *s = mp_snap_of(store);
    struct snap_table *tb = &s->tables[t];
    if (klen == 0 || klen > MP_STORE_KEY_MAX)
        return MP_EINVAL;
    if (mp_store_backend_grow(&tb->rows, &tb->cap, tb->nrows, sizeof(*tb->rows)) != MP_OK)
        return MP_ENOMEM;
    unsigned char *p = mp_snap_chunk_alloc(s, klen + vlen);
    if (p == NULL)
        return MP_ENOMEM;
    memcpy(p, k, klen);
    if (vlen > 0)
        memcpy(p + klen, v, vlen);
    struct row *r = &tb->rows[tb->nrows];
    if (tb->nrows > 0 && mp_store_backend_key_cmp(r[-1].k, r[-1].klen, k, klen) >= 0)
        tb->unsorted = true;
    *r = (struct row){.k = p, .klen = klen, .v = p + klen, .vlen = vlen};
    tb->nrows++;
    return MP_OK;
}

static int row_cmp(const void *a, const void *b)
{
    const struct row *x = a, *y = b;
    int c = mp_store_backend_key_cmp(x->k, x->klen, y->k, y->klen);
    /* equal keys (fetched twice): the earlier-added first, so it is kept */
    return c != 0 ? c : x->k < y->k ? -1 : x->k > y->k;
}

/* Sorts a table's records added out of order and drops repeats (a record
 * two overlapping fetches brought: the same bytes, from one snapshot). */
void mp_snap_settle(struct snap_table *tb)
{
    if (!tb->unsorted)
        return;
    qsort(tb->rows, tb->nrows, sizeof(*tb->rows), row_cmp);
    size_t n = 0;
    for (size_t i = 0; i < tb->nrows; i++)
        if (n == 0 || mp_store_backend_key_cmp(tb->rows[n - 1].k, tb->rows[n - 1].klen,
                                               tb->rows[i].k, tb->rows[i].klen) != 0)
            tb->rows[n++] = tb->rows[i];
    tb->nrows = n;
    tb->unsorted = false;
}

/* The first record whose key is >= k. */
size_t mp_snap_lower_row(const struct snap_table *tb, const unsigned char *k, size_t klen)
{
    size_t lo = 0, hi = tb->nrows;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (mp_store_backend_key_cmp(tb->rows[mid].k, tb->rows[mid].klen, k, klen) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* ---- covered ranges ---- */

/* The span that holds k, or NULL. */
static const struct span *span_of(const struct snap_table *tb, const unsigned char *k, size_t klen)
{
    size_t lo = 0, hi = tb->nspans; /* the first span that starts above k */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (mp_store_backend_key_cmp(tb->spans[mid].lo, tb->spans[mid].lolen, k, klen) <= 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == 0)
        return NULL;
    const struct span *sp = &tb->spans[lo - 1];
    return below_end(k, klen, sp->hi, sp->hilen) ? sp : NULL;
}

static int span_set(struct span *sp, const unsigned char *lo, size_t lolen, const unsigned char *hi,
                    size_t hilen)
{
    unsigned char *p = malloc(lolen + hilen + 1);
    if (p == NULL)
        return MP_ENOMEM;
    if (lolen > 0)
        memcpy(p, lo, lolen);
    if (hilen > 0)
        memcpy(p + lolen, hi, hilen);
    free(sp->lo);
    *sp = (struct span){.lo = p, .lolen = lolen, .hi = p + lolen, .hilen = hilen};
    return MP_OK;
}

int mp_store_snap_cover(struct mp_store *store, enum mp_store_table t, const unsigned char *lo,
                        size_t lolen, const unsigned char *hi, size_t hilen)
{
    struct snap_table *tb = &mp_snap_of(store)->tables[t];
    if (hilen > 0 && mp_store_backend_key_cmp(lo, lolen, hi, hilen) >= 0)
        return MP_OK; /* empty */
    /* the spans that touch [lo, hi) are [a, b): merged into one */
    size_t a = 0;
    while (a < tb->nspans && tb->spans[a].hilen > 0 &&
           mp_store_backend_key_cmp(tb->spans[a].hi, tb->spans[a].hilen, lo, lolen) < 0)
        a++;
    size_t b = a;
    while (b < tb->nspans && below_end(tb->spans[b].lo, tb->spans[b].lolen, hi, hilen))
        b++;
    if (b < tb->nspans && hilen > 0 &&
        mp_store_backend_key_cmp(tb->spans[b].lo, tb->spans[b].lolen, hi, hilen) == 0)
        b++; /* it starts where the new one ends */
    const unsigned char *mlo = lo, *mhi = hi;
    size_t mlolen = lolen, mhilen = hilen;
    if (a < b) {
        const struct span *first = &tb->spans[a], *last = &tb->spans[b - 1];
        if (mp_store_backend_key_cmp(first->lo, first->lolen, lo, lolen) < 0) {
            mlo = first->lo;
            mlolen = first->lolen;
        }
        if (mhilen > 0 &&
            (last->hilen == 0 || mp_store_backend_key_cmp(last->hi, last->hilen, hi, hilen) > 0)) {
            mhi = last->hi;
            mhilen = last->hilen;
        }
    }
    struct span merged = {0};
    if (span_set(&merged, mlo, mlolen, mhi, mhilen) != MP_OK)
        return MP_ENOMEM;
    if (a == b) {
        if (mp_store_backend_grow(&tb->spans, &tb->spancap, tb->nspans, sizeof(*tb->spans)) !=
            MP_OK) {
            free(merged.lo);
            return MP_ENOMEM;
        }
        memmove(&tb->spans[a + 1], &tb->spans[a], (tb->nspans - a) * sizeof(*tb->spans));
        tb->nspans++;
    } else {
        for (size_t i = a; i < b; i++)
            free(tb->spans[i].lo);
        memmove(&tb->spans[a + 1], &tb->spans[b], (tb->nspans - b) * sizeof(*tb->spans));
        tb->nspans -= b - a - 1;
    }
    tb->spans[a] = merged;
    return MP_OK;
}

/* k followed by a 0 byte into out (MP_SNAP_KEY_MAX): the least key above
 * k. Its length. */
static size_t successor(const unsigned char *k, size_t klen, unsigned char *out)
{
    memcpy(out, k, klen);
    out[klen] = 0;
    return klen + 1;
}

int mp_store_snap_cover_fetched(struct mp_store *snap, const struct mp_snap_range *r, size_t n,
                                const unsigned char *last, size_t lastlen)
{
    unsigned char end[MP_SNAP_KEY_MAX];
    if (n < r->limit)
        return mp_store_snap_cover(snap, r->t, r->lo, r->lolen, r->hi, r->hilen);
    if (lastlen > MP_STORE_KEY_MAX)
        return MP_EINVAL;
    return mp_store_snap_cover(snap, r->t, r->lo, r->lolen, end, successor(last, lastlen, end));
}

int mp_store_snap_cover_user(struct mp_store *snap, enum mp_store_table t,
                             const unsigned char *prefix, size_t plen)
{
    unsigned char end[MP_SNAP_KEY_MAX];
    if (plen < 2 || plen > MP_STORE_USER_PREFIX_MAX)
        return MP_EINVAL;
    if (mp_store_table_shapes[t] == MP_KEY_USER)
        return mp_store_snap_cover(snap, t, prefix + 2, plen - 2, end,
                                   successor(prefix + 2, plen - 2, end));
    return mp_store_snap_cover(snap, t, prefix, plen, end,
                               mp_store_backend_prefix_end(prefix, plen, end));
}

/* ---- misses ---- */

static void note_miss(struct snap_store *s, enum mp_store_table t, const unsigned char *lo,
                      size_t lolen, const unsigned char *hi, size_t hilen, unsigned limit)
{
    for (size_t i = 0; i < s->nmisses; i++) {
        const struct mp_snap_range *m = &s->misses[i];
        if (m->t == t && mp_store_backend_key_cmp(m->lo, m->lolen, lo, lolen) == 0)
            return;
    }
    if (s->nmisses == MP_SNAP_MISSES_MAX)
        return; /* the next round asks for the rest */
    struct mp_snap_range *m = &s->misses[s->nmisses++];
    m->t = t;
    m->lolen = lolen;
    if (lolen > 0)
        memcpy(m->lo, lo, lolen);
    m->hilen = hilen;
    if (hilen > 0)
        memcpy(m->hi, hi, hilen);
    m->limit = limit;
}

void mp_store_snap_run_begin(struct mp_store *snap)
{
    mp_snap_of(snap)->nmisses = 0;
}

size_t mp_store_snap_misses(const struct mp_store *snap, const struct mp_snap_range **out)
{
    const struct snap_store *s = mp_snap_of(snap);
    *out = s->misses;
    return s->nmisses;
}

/* ---- the primitives ---- */

static int snap_begin(struct mp_store *store, bool write, struct mp_store_txn *txn)
{
    if (write)
        return MP_EIO; /* read-only */
    memset(txn, 0, sizeof(*txn));
    txn->store = store;
    return MP_OK;
}

static int snap_get(struct mp_store_txn *txn, enum mp_store_table t, const void *key, size_t klen,
                    const unsigned char **val, size_t *vlen)
{
    struct snap_store *s = mp_snap_of(txn->store);
    struct snap_table *tb = &s->tables[t];
    unsigned char end[MP_SNAP_KEY_MAX];
    if (klen == 0 || klen > MP_STORE_KEY_MAX)
        return MP_EINVAL;
    if (t == MP_TABLE_POSTINGS && s->postings != NULL && mp_snap_materialize(s) != MP_OK)
        return MP_ENOMEM;
    if (span_of(tb, key, klen) == NULL) {
        note_miss(s, t, key, klen, end, successor(key, klen, end), 1);
        return MP_NOTFOUND;
    }
    mp_snap_settle(tb);
    size_t i = mp_snap_lower_row(tb, key, klen);
    if (i == tb->nrows || mp_store_backend_key_cmp(tb->rows[i].k, tb->rows[i].klen, key, klen) != 0)
        return MP_NOTFOUND;
    *val = tb->rows[i].v;
    *vlen = tb->rows[i].vlen;
    return MP_OK;
}

static int read_only_put(struct mp_store_txn *txn, enum mp_store_table t, const void *key,
                         size_t klen, const void *val, size_t vlen)
{
    (void)txn, (void)t, (void)key, (void)klen, (void)val, (void)vlen;
    return MP_EIO;
}

static int read_only_del(struct mp_store_txn *txn, enum mp_store_table t, const void *key,
                         size_t klen)
{
    (void)txn, (void)t, (void)key, (void)klen;
    return MP_EIO;
}

/* Walks the covered spans from start; at the first key no span covers, the
 * scan notes the rest of its range as a miss and ends. */
static int snap_scan(struct mp_store_txn *txn, enum mp_store_table t, const void *start,
                     size_t slen, size_t plen, mp_store_scan_fn fn, void *arg)
{
    struct snap_store *s = mp_snap_of(txn->store);
    struct snap_table *tb = &s->tables[t];
    unsigned char cur[MP_SNAP_KEY_MAX], stop[MP_SNAP_KEY_MAX];
    if (slen > MP_STORE_KEY_MAX || plen > slen)
        return MP_EINVAL;
    if (t == MP_TABLE_POSTINGS && s->postings != NULL) {
        bool handled = false;
        int rc = mp_snap_derived_scan(s, start, slen, plen, fn, arg, &handled);
        if (handled)
            return rc;
        if (mp_snap_materialize(s) != MP_OK)
            return MP_ENOMEM;
    }
    size_t stoplen = plen > 0 ? mp_store_backend_prefix_end(start, plen, stop) : 0;
    size_t curlen = slen;
    if (slen > 0)
        memcpy(cur, start, slen);
    mp_snap_settle(tb);
    for (;;) {
        const struct span *sp = span_of(tb, cur, curlen);
        if (sp == NULL) {
            note_miss(s, t, cur, curlen, stop, stoplen, MP_SNAP_FETCH_ROWS);
            return MP_OK;
        }
        for (size_t i = mp_snap_lower_row(tb, cur, curlen);
             i < tb->nrows && below_end(tb->rows[i].k, tb->rows[i].klen, sp->hi, sp->hilen); i++) {
            const struct row *r = &tb->rows[i];
            if (r->klen < plen || memcmp(r->k, start, plen) != 0)
                return MP_OK; /* past the prefix */
            int rc = fn(arg, r->k, r->klen, r->v, r->vlen);
            if (rc != MP_OK)
                return rc == MP_STORE_SCAN_STOP ? MP_OK : rc;
        }
        if (sp->hilen == 0 ||
            (stoplen > 0 && mp_store_backend_key_cmp(sp->hi, sp->hilen, stop, stoplen) >= 0))
            return MP_OK;
        curlen = sp->hilen;
        memcpy(cur, sp->hi, curlen);
    }
}

static int snap_end(struct mp_store_txn *txn, bool commit)
{
    txn->handle = NULL;
    return commit ? MP_EIO : MP_OK;
}

static int snap_stats(struct mp_store *store, struct mp_store_stats *out)
{
    (void)store;
    memset(out, 0, sizeof(*out));
    return MP_EUNSUPPORTED;
}

static int snap_compact(struct mp_store *store, char *err, size_t errcap)
{
    (void)store;
    if (errcap > 0)
        err[0] = '\0';
    return MP_EUNSUPPORTED;
}

/* Forgets every record; keep_chunk keeps the newest chunk of bytes (the
 * biggest, as chunks grow) for the next snapshot. */
static void forget_all(struct snap_store *s, bool keep_chunk)
{
    struct chunk *kept = keep_chunk ? s->chunks : NULL;
    if (kept != NULL) {
        s->chunks = kept->next;
        kept->next = NULL;
        kept->used = 0;
    }
    while (s->chunks != NULL) {
        struct chunk *next = s->chunks->next;
        free(s->chunks);
        s->chunks = next;
    }
    s->chunks = kept;
    for (int t = 0; t < MP_TABLE_COUNT; t++) {
        struct snap_table *tb = &s->tables[t];
        tb->nrows = 0;
        tb->unsorted = false;
        for (size_t i = 0; i < tb->nspans; i++)
            free(tb->spans[i].lo);
        tb->nspans = 0;
    }
    s->nmisses = 0;
    mp_snap_derive_retire(s);
}

static void snap_close(struct mp_store *store)
{
    struct snap_store *s = mp_snap_of(store);
    forget_all(s, false);
    mp_snap_derive_free(s->derive_spare);
    for (int t = 0; t < MP_TABLE_COUNT; t++) {
        free(s->tables[t].rows);
        free(s->tables[t].spans);
    }
    OPENSSL_cleanse(&s->base, sizeof(s->base));
    free(s);
}

static const struct mp_store_backend snap_backend = {
    .name = "snapshot",
    .partial = true,
    .begin = snap_begin,
    .get = snap_get,
    .put = read_only_put,
    .del = read_only_del,
    .scan = snap_scan,
    .end = snap_end,
    .stats = snap_stats,
    .compact = snap_compact,
    .close = snap_close,
};

int mp_store_snap_new(const struct mp_store *like, struct mp_store **out)
{
    struct snap_store *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return MP_ENOMEM;
    s->base.be = &snap_backend;
    s->base.sealed = like->sealed;
    s->base.key = like->key;
    memcpy(s->base.secret, like->secret, sizeof(s->base.secret));
    memcpy(s->base.index_key, like->index_key, sizeof(s->base.index_key));
    memcpy(s->base.route_key, like->route_key, sizeof(s->base.route_key));
    *out = &s->base;
    return MP_OK;
}

void mp_store_snap_clear(struct mp_store *snap)
{
    forget_all(mp_snap_of(snap), true);
}

/* ---- fetching from a store's primitives ---- */

struct fetch {
    struct mp_store *snap;
    const struct mp_snap_range *r;
    size_t n;
    unsigned char last[MP_STORE_KEY_MAX];
    size_t lastlen;
};

static int on_fetched(void *arg, const unsigned char *key, size_t klen, const unsigned char *val,
                      size_t vlen)
{
    struct fetch *f = arg;
    if (!below_end(key, klen, f->r->hi, f->r->hilen))
        return MP_STORE_SCAN_STOP;
    int rc = mp_store_snap_add(f->snap, f->r->t, key, klen, val, vlen);
    if (rc != MP_OK)
        return rc;
    memcpy(f->last, key, klen);
    f->lastlen = klen;
    return ++f->n == f->r->limit ? MP_STORE_SCAN_STOP : MP_OK;
}

int mp_store_snap_fetch_from(struct mp_store *snap, struct mp_store *from)
{
    struct snap_store *s = mp_snap_of(snap);
    struct mp_store_txn txn;
    int rc = from->be->begin(from, false, &txn);
    if (rc != MP_OK)
        return rc;
    for (size_t i = 0; i < s->nmisses && rc == MP_OK; i++) {
        struct fetch f = {.snap = snap, .r = &s->misses[i]};
        rc = from->be->scan(&txn, f.r->t, f.r->lo, f.r->lolen, 0, on_fetched, &f);
        if (rc == MP_OK)
            rc = mp_store_snap_cover_fetched(snap, f.r, f.n, f.last, f.lastlen);
    }
    int end = from->be->end(&txn, false);
    return rc != MP_OK ? rc : end;
}
