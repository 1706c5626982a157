/* The heads contract checker (heads_check.h). */
#include "heads_check.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ops/heads.h"
#include "ops/index.h"
#include "recall/relevance.h"
#include "status.h"
#include "ops/store_backend.h"

static int grow_by_one(struct hc_postings *l)
{
    return mp_store_backend_grow(&l->p, &l->cap, l->n, sizeof(*l->p));
}

static int on_stored_posting(void *arg, const unsigned char *id, const struct mp_store_plain *pv)
{
    struct hc_postings *l = arg;
    int rc = grow_by_one(l);
    if (rc == MP_OK)
        rc = mp_index_posting_decode((uint32_t)mp_codec_be_get(id, 4), pv->p, pv->n, &l->p[l->n]);
    l->n += rc == MP_OK;
    return rc;
}

static int on_view_posting(void *arg, const struct mp_relevance_posting *p)
{
    struct hc_postings *l = arg;
    int rc = grow_by_one(l);
    if (rc == MP_OK)
        l->p[l->n++] = *p;
    return rc;
}

bool hc_same_posting(const struct mp_relevance_posting *a, const struct mp_relevance_posting *b)
{
    return a->item == b->item && a->tc == b->tc && a->tk == b->tk && a->td == b->td &&
           a->ts == b->ts && a->has_len == b->has_len && a->len == b->len;
}

static int cmp_item(const void *a, const void *b)
{
    const struct mp_relevance_posting *x = a, *y = b;
    return x->item < y->item ? -1 : x->item > y->item;
}

static const struct mp_relevance_posting *find(const struct hc_postings *l, uint32_t id)
{
    for (size_t i = 0; i < l->n; i++)
        if (l->p[i].item == id)
            return &l->p[i];
    return NULL;
}

static int read_stored(struct mp_store *store, const char *user, size_t ulen,
                       enum mp_codec_kind kind, const char *term, size_t tlen, struct hc_term *st)
{
    struct mp_store_txn txn;
    struct mp_store_plain pv;
    unsigned char prefix[MP_STORE_USER_PREFIX_MAX], k[MP_STORE_KEY_MAX], start[MP_STORE_KEY_MAX];
    size_t plen = mp_store_backend_user_prefix(store, prefix, user, ulen);
    size_t klen = mp_heads_key(store, k, prefix, plen, kind, term, tlen);
    int rc = store->be->begin(store, false, &txn);
    if (rc != MP_OK)
        return rc;
    rc = mp_store_backend_get_plain(&txn, MP_TABLE_HEADS, k, klen, &pv);
    st->found = rc == MP_OK;
    if (rc == MP_OK)
        rc = mp_heads_decode(pv.p, pv.n, &st->r);
    else if (rc == MP_NOTFOUND)
        rc = MP_OK;
    mp_store_backend_plain_done(&pv);
    memcpy(start, k, klen); /* a posting's key is the record's and the id */
    memset(start + klen, 0, 4);
    if (rc == MP_OK)
        rc = mp_store_backend_scan_plain(&txn, MP_TABLE_POSTINGS, start, klen + 4, klen, 4,
                                         on_stored_posting, &st->all);
    store->be->end(&txn, false);
    return rc;
}

static int read_view(struct mp_store *store, const char *user, size_t ulen, enum mp_codec_kind kind,
                     const char *term, size_t tlen, uint32_t max_postings, struct hc_term *st)
{
    struct mp_store_view *v;
    struct mp_relevance_index ix;
    int rc = mp_store_view_open(store, user, ulen, &v);
    if (rc == MP_NOTFOUND) /* no such user: the view reads nothing */
        return MP_OK;
    if (rc != MP_OK)
        return rc;
    if (max_postings > 0)
        mp_store_view_set_max_postings(v, max_postings);
    mp_store_view_index(v, kind == MP_CODEC_KIND_FACT, &ix);
    st->view_df = ix.df(ix.ctx, term, tlen);
    st->avglen = ix.avglen;
    st->sample = ix.sample;
    rc = ix.postings(ix.ctx, term, tlen, on_view_posting, &st->view);
    st->view_read = mp_store_view_postings_read(v);
    mp_store_view_close(v);
    return rc;
}

int hc_read_term(struct mp_store *store, const char *user, size_t ulen, enum mp_codec_kind kind,
                 const char *term, size_t tlen, uint32_t max_postings, struct hc_term *out)
{
    *out = (struct hc_term){0};
    int rc = read_stored(store, user, ulen, kind, term, tlen, out);
    return rc == MP_OK ? read_view(store, user, ulen, kind, term, tlen, max_postings, out) : rc;
}

void hc_term_free(struct hc_term *t)
{
    free(t->r.p);
    free(t->all.p);
    free(t->view.p);
    *t = (struct hc_term){0};
}

#define FAIL(...)                                                                                  \
    do {                                                                                           \
        snprintf(why, cap, __VA_ARGS__);                                                           \
        return false;                                                                              \
    } while (0)

/* A head's entries are the best of the postings it covers, ranked now:
 * the first r.n of them in mp_heads_rank's order. */
static bool check_entries_best(const struct hc_term *st, enum mp_codec_kind kind, const char *term,
                               char *why, size_t cap)
{
    struct mp_relevance_posting *c = malloc((st->all.n + 1) * sizeof(*c)), *e;
    size_t n = 0;
    bool ok = c != NULL;
    for (size_t i = 0; ok && i < st->all.n; i++)
        if (st->all.p[i].item <= st->r.covered)
            c[n++] = st->all.p[i];
    ok = ok && mp_heads_rank(c, n, kind, st->avglen) == MP_OK && st->r.n <= n;
    e = ok ? malloc((st->r.n + 1) * sizeof(*e)) : NULL;
    if (!ok || e == NULL) {
        snprintf(why, cap, "%s: cannot rank the covered postings", term);
        ok = false;
    } else {
        if (st->r.n > 0) /* a head of no entries has no array */
            memcpy(e, st->r.p, st->r.n * sizeof(*e));
        qsort(c, st->r.n, sizeof(*c), cmp_item);
        qsort(e, st->r.n, sizeof(*e), cmp_item);
        for (size_t i = 0; i < st->r.n; i++)
            if (c[i].item != e[i].item) {
                snprintf(why, cap, "%s: the head keeps %u, not %u of the best %u", term, e[i].item,
                         c[i].item, st->r.n);
                ok = false;
                break;
            }
    }
    free(c);
    free(e);
    return ok;
}

/* The record against the postings. */
static bool check_record(const struct hc_term *st, const char *term, char *why, size_t cap)
{
    const struct mp_heads_record *r = &st->r;
    size_t covered = 0;
    if (st->found && st->all.n == 0)
        FAIL("%s: a record of a term no item holds", term);
    if (!r->head)
        return true;
    for (size_t i = 0; i < st->all.n; i++)
        covered += st->all.p[i].item <= r->covered;
    if (r->count != covered)
        FAIL("%s: df %u, %zu postings up to %u", term, r->count, covered, r->covered);
    if (r->n > MP_HEADS_KEEP || r->n > r->count)
        FAIL("%s: %u entries (keep %u, df %u)", term, r->n, MP_HEADS_KEEP, r->count);
    for (uint32_t i = 0; i < r->n; i++) {
        const struct mp_relevance_posting *p = find(&st->all, r->p[i].item);
        if (p == NULL)
            FAIL("%s: entry %u is no posting", term, r->p[i].item);
        if (!hc_same_posting(p, &r->p[i]))
            FAIL("%s: entry %u differs from its posting", term, r->p[i].item);
        if (r->p[i].item > r->covered)
            FAIL("%s: entry %u past covered %u", term, r->p[i].item, r->covered);
        for (uint32_t j = 0; j < i; j++)
            if (r->p[j].item == r->p[i].item)
                FAIL("%s: entry %u twice", term, r->p[i].item);
    }
    return true;
}

/* The view's read against ranking every posting (st->all is reordered). */
static bool check_view(struct hc_term *st, enum mp_codec_kind kind, const char *term, size_t tail,
                       bool through_head, char *why, size_t cap)
{
    if (through_head) {
        size_t want = st->all.n < MP_HEADS_READ ? st->all.n : MP_HEADS_READ;
        if (st->view_df != st->all.n)
            FAIL("%s: the view's df %u, %zu postings", term, st->view_df, st->all.n);
        if (mp_heads_rank(st->all.p, st->all.n, kind, st->avglen) != MP_OK)
            FAIL("%s: ranking failed", term);
        qsort(st->all.p, want, sizeof(*st->all.p), cmp_item);
        if (st->view.n != want)
            FAIL("%s: the view gave %zu postings, not %zu", term, st->view.n, want);
        for (size_t i = 0; i < want; i++)
            if (!hc_same_posting(&st->view.p[i], &st->all.p[i]))
                FAIL("%s: the view's %zu-th is %u, not %u", term, i, st->view.p[i].item,
                     st->all.p[i].item);
        if (st->view_read > st->r.n + tail)
            FAIL("%s: the view read %llu postings, head %u and tail %zu", term,
                 (unsigned long long)st->view_read, st->r.n, tail);
    } else if (st->all.n <= st->sample) { /* read whole, as without heads */
        if (st->view_df != st->all.n || st->view.n != st->all.n)
            FAIL("%s: the view's df %u and %zu postings, %zu stored", term, st->view_df, st->view.n,
                 st->all.n);
    }
    return true;
}

bool hc_check_term(struct mp_store *store, const char *user, size_t ulen, enum mp_codec_kind kind,
                   const char *term, size_t tlen, uint32_t max_postings, unsigned flags,
                   struct hc_found *found, char *why, size_t cap)
{
    struct hc_term st;
    size_t tail = 0;
    bool ok = false;
    int rc = hc_read_term(store, user, ulen, kind, term, tlen, max_postings, &st);
    if (rc != MP_OK) {
        snprintf(why, cap, "%s: the store answered %d", term, rc);
    } else {
        for (size_t i = 0; st.r.head && i < st.all.n; i++)
            tail += st.all.p[i].item > st.r.covered;
        *found = (struct hc_found){st.found, st.r.head, false, st.all.n};
        found->through_head = st.r.head && st.all.n > st.sample && tail <= MP_HEADS_TAIL_MAX &&
                              (st.r.n >= MP_HEADS_READ || st.r.n >= st.r.count);
        ok = check_record(&st, term, why, cap) &&
             (!(flags & HC_ENTRIES_BEST) || !st.r.head ||
              check_entries_best(&st, kind, term, why, cap)) &&
             check_view(&st, kind, term, tail, found->through_head, why, cap);
    }
    hc_term_free(&st);
    return ok;
}

static int on_record(void *arg, const unsigned char *key, size_t klen, const unsigned char *val,
                     size_t vlen)
{
    (void)key;
    (void)klen;
    (void)val;
    (void)vlen;
    ++*(size_t *)arg;
    return MP_OK;
}

size_t hc_head_records(struct mp_store *store, const char *user, size_t ulen)
{
    struct mp_store_txn txn;
    unsigned char prefix[MP_STORE_USER_PREFIX_MAX];
    size_t plen = mp_store_backend_user_prefix(store, prefix, user, ulen), n = 0;
    if (store->be->begin(store, false, &txn) != MP_OK)
        return SIZE_MAX;
    int rc = store->be->scan(&txn, MP_TABLE_HEADS, prefix, plen, plen, on_record, &n);
    store->be->end(&txn, false);
    return rc == MP_OK ? n : SIZE_MAX;
}
