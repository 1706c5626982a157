/* The heads of common terms: the record's codec, its ranking, and its
 * upkeep by the writer (heads.h). */
#include "ops/heads.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ops/index.h"
#include "status.h"

#define REC_COUNTER 0
#define REC_HEAD    1
#define HEAD_FIXED  11 /* type, df, covered, n */
#define ENTRY_LEN   13
#define NO_LEN      UINT32_MAX

_Static_assert(MP_HEADS_KEEP <= UINT16_MAX, "n is 16 bits");
_Static_assert(MP_HEADS_READ <= MP_HEADS_KEEP, "a reader takes from what a head keeps");
_Static_assert(MP_HEADS_EVERY > 0 && MP_HEADS_BUILD_AT >= MP_HEADS_EVERY, "a count steps by EVERY");

size_t mp_heads_key(const struct mp_store *s, unsigned char *k, const unsigned char *prefix,
                    size_t plen, enum mp_codec_kind kind, const char *term, size_t tlen)
{
    return mp_index_posting_key(s, k, prefix, plen, kind, term, tlen, 0) - 4;
}

static int decode(const unsigned char *v, size_t n, struct mp_heads_record *out, bool entries);

int mp_heads_decode(const unsigned char *v, size_t n, struct mp_heads_record *out)
{
    return decode(v, n, out, true);
}

int mp_heads_decode_count(const unsigned char *v, size_t n, struct mp_heads_record *out)
{
    return decode(v, n, out, false);
}

static int decode(const unsigned char *v, size_t n, struct mp_heads_record *out, bool entries)
{
    memset(out, 0, sizeof(*out));
    if (n == 5 && v[0] == REC_COUNTER) {
        out->count = (uint32_t)mp_codec_le_get(v + 1, 4);
        return MP_OK;
    }
    if (n < HEAD_FIXED || v[0] != REC_HEAD)
        return MP_EIO;
    uint32_t k = (uint32_t)mp_codec_le_get(v + 9, 2);
    if (n != HEAD_FIXED + (size_t)k * ENTRY_LEN || k > MP_HEADS_KEEP)
        return MP_EIO;
    out->head = true;
    out->count = (uint32_t)mp_codec_le_get(v + 1, 4);
    out->covered = (uint32_t)mp_codec_le_get(v + 5, 4);
    if (k == 0 || !entries) {
        out->n = k;
        return MP_OK;
    }
    out->p = malloc(k * sizeof(*out->p));
    if (out->p == NULL)
        return MP_ENOMEM;
    for (uint32_t i = 0; i < k; i++) {
        const unsigned char *e = v + HEAD_FIXED + (size_t)i * ENTRY_LEN;
        struct mp_relevance_posting *p = &out->p[i];
        uint32_t len = (uint32_t)mp_codec_le_get(e + 9, 4);
        *p = (struct mp_relevance_posting){
            .item = (uint32_t)mp_codec_le_get(e, 4),
            .tc = (uint32_t)mp_codec_le_get(e + 4, 2),
            .tk = (uint32_t)mp_codec_le_get(e + 6, 2),
            .td = e[8] & 1u,
            .ts = (uint32_t)(e[8] >> 1),
            .len = len != NO_LEN ? len : 0,
            .has_len = len != NO_LEN,
        };
    }
    out->n = k;
    return MP_OK;
}

static unsigned char *encode_head(const struct mp_heads_record *r, size_t *n)
{
    *n = HEAD_FIXED + (size_t)r->n * ENTRY_LEN;
    unsigned char *v = malloc(*n);
    if (v == NULL)
        return NULL;
    v[0] = REC_HEAD;
    mp_codec_le_put(v + 1, r->count, 4);
    mp_codec_le_put(v + 5, r->covered, 4);
    mp_codec_le_put(v + 9, r->n, 2);
    for (uint32_t i = 0; i < r->n; i++) {
        unsigned char *e = v + HEAD_FIXED + (size_t)i * ENTRY_LEN;
        const struct mp_relevance_posting *p = &r->p[i];
        mp_codec_le_put(e, p->item, 4);
        mp_codec_le_put(e + 4, p->tc > UINT16_MAX ? UINT16_MAX : p->tc, 2);
        mp_codec_le_put(e + 6, p->tk > UINT16_MAX ? UINT16_MAX : p->tk, 2);
        e[8] = (uint8_t)((p->td & 1u) | (p->ts > 127 ? 127 : p->ts) << 1);
        mp_codec_le_put(e + 9, p->has_len ? p->len : NO_LEN, 4);
    }
    return v;
}

/* A posting's place in the order of mp_heads_rank: its impact and id. */
struct keyed {
    double impact;
    uint32_t item;
    uint32_t at; /* its index in the array ranked */
};

static bool before(const struct keyed *a, const struct keyed *b)
{
    return a->impact > b->impact || (a->impact == b->impact && a->item < b->item);
}

static int cmp_keyed(const void *a, const void *b)
{
    return before(a, b) ? -1 : before(b, a) ? 1 : 0;
}

static void preset_of(enum mp_codec_kind kind, struct mp_relevance_params *par)
{
    mp_relevance_preset(kind == MP_CODEC_KIND_FACT ? MP_RELEVANCE_FACTS : MP_RELEVANCE_TURNS, par);
}

/* The key of p, the at-th of its array, under par and avglen. */
static struct keyed key_of(const struct mp_relevance_params *par,
                           const struct mp_relevance_posting *p, double avglen, size_t at)
{
    return (struct keyed){mp_relevance_impact(par, p, avglen), p->item, (uint32_t)at};
}

/* The keys of p[0..n) under kind's preset and avglen: caller frees. */
static struct keyed *keys_of(const struct mp_relevance_posting *p, size_t n,
                             enum mp_codec_kind kind, double avglen)
{
    struct mp_relevance_params par;
    struct keyed *k = malloc((n > 0 ? n : 1) * sizeof(*k));
    if (k == NULL)
        return NULL;
    preset_of(kind, &par);
    for (size_t i = 0; i < n; i++)
        k[i] = key_of(&par, &p[i], avglen, i);
    return k;
}

/* A head holds the best of the postings it covers: every covered posting
 * it leaves out ranks after each of its entries. A change that would add
 * an entry below a posting left out cannot know it, so while a head
 * leaves some out (count > n), its worst entry before the change is the
 * bar: after the change, entries that rank after it are dropped (they are
 * left out too, and rank after what stays). */
struct bar {
    bool set; /* false: the head leaves nothing out, any entry may stay */
    struct keyed worst;
};

static struct bar bar_of(const struct mp_heads_record *r, enum mp_codec_kind kind, double avglen)
{
    struct mp_relevance_params par;
    struct bar b = {r->head && r->count > r->n, {INFINITY, 0, 0}}; /* no entry: none may stay */
    preset_of(kind, &par);
    for (uint32_t i = 0; b.set && i < r->n; i++) {
        struct keyed k = key_of(&par, &r->p[i], avglen, i);
        if (i == 0 || before(&b.worst, &k))
            b.worst = k;
    }
    return b;
}

/* Drops r's entries that rank after b's worst (b set). */
static void drop_below(struct mp_heads_record *r, const struct bar *b, enum mp_codec_kind kind,
                       double avglen)
{
    struct mp_relevance_params par;
    preset_of(kind, &par);
    for (uint32_t i = 0; b->set && i < r->n;) {
        struct keyed k = key_of(&par, &r->p[i], avglen, i);
        if (before(&b->worst, &k))
            r->p[i] = r->p[--r->n]; /* the last in its place: entries are in no order */
        else
            i++;
    }
}

/* p[0..want) becomes the postings k[0..want) name, in that order. */
static int take_keyed(struct mp_relevance_posting *p, const struct keyed *k, size_t want)
{
    struct mp_relevance_posting *out = malloc((want > 0 ? want : 1) * sizeof(*out));
    if (out == NULL)
        return MP_ENOMEM;
    for (size_t i = 0; i < want; i++)
        out[i] = p[k[i].at];
    memcpy(p, out, want * sizeof(*out));
    free(out);
    return MP_OK;
}

int mp_heads_rank(struct mp_relevance_posting *p, size_t n, enum mp_codec_kind kind, double avglen)
{
    struct keyed *k = keys_of(p, n, kind, avglen);
    if (k == NULL)
        return MP_ENOMEM;
    qsort(k, n, sizeof(*k), cmp_keyed);
    int rc = take_keyed(p, k, n);
    free(k);
    return rc;
}

static void swap_keyed(struct keyed *a, struct keyed *b)
{
    struct keyed t = *a;
    *a = *b;
    *b = t;
}

/* Moves the `want` first of k[0..n) in the order of `before` into
 * k[0..want), in any order (quickselect, the middle element as pivot). */
static void select_first(struct keyed *k, size_t n, size_t want)
{
    size_t lo = 0, hi = n; /* the boundary is within k[lo..hi) */
    while (hi - lo > 1) {
        swap_keyed(&k[lo + (hi - lo) / 2], &k[hi - 1]);
        size_t store = lo;
        for (size_t i = lo; i + 1 < hi; i++)
            if (before(&k[i], &k[hi - 1]))
                swap_keyed(&k[i], &k[store++]);
        swap_keyed(&k[store], &k[hi - 1]); /* the pivot in its place */
        if (store == want || store + 1 == want)
            return;
        if (store > want)
            hi = store;
        else
            lo = store + 1;
    }
}

static int cmp_item(const void *a, const void *b)
{
    const struct mp_relevance_posting *x = a, *y = b;
    return x->item < y->item ? -1 : x->item > y->item;
}

/* p[0..want) becomes the best `want` of p[0..n) (want < n) in the order
 * of mp_heads_rank, in any order. MP_OK or MP_ENOMEM (p untouched). */
static int keep_best(struct mp_relevance_posting *p, size_t n, size_t want, enum mp_codec_kind kind,
                     double avglen)
{
    struct keyed *k = keys_of(p, n, kind, avglen);
    if (k == NULL)
        return MP_ENOMEM;
    select_first(k, n, want);
    int rc = take_keyed(p, k, want);
    free(k);
    return rc;
}

int mp_heads_best(struct mp_relevance_posting *p, size_t n, size_t want, enum mp_codec_kind kind,
                  double avglen, size_t *kept)
{
    int rc = want < n ? keep_best(p, n, want, kind, avglen) : MP_OK;
    if (rc != MP_OK)
        return rc;
    *kept = want < n ? want : n;
    qsort(p, *kept, sizeof(*p), cmp_item);
    return MP_OK;
}

bool mp_heads_sampled(const struct mp_store *s, enum mp_codec_kind kind, const char *term,
                      size_t tlen, uint32_t id)
{
    (void)s;
    uint64_t h = mp_index_term_hash(kind, term, tlen);
    h ^= (uint64_t)id * 0x9E3779B97F4A7C15ULL; /* splitmix64's finalizer over both */
    h = (h ^ (h >> 30)) * 0xBF58476D1CE4E5B9ULL;
    h = (h ^ (h >> 27)) * 0x94D049BB133111EBULL;
    h ^= h >> 31;
    return h % MP_HEADS_EVERY == 0;
}

static double mean_len(const struct mp_codec_user *meta, enum mp_codec_kind kind)
{
    const struct mp_codec_kind_stats *ks = &meta->kinds[kind];
    double avg = ks->ndocs > 0 ? (double)ks->total_len / ks->ndocs : 1.0;
    return avg > 0.0 ? avg : 1.0;
}

/* The record of key k[0..klen) into *r, its entries too when `entries`
 * (else r->p is NULL and r->n says how many it has); a missing one is a
 * counter of 0 (*found false). */
static int read_record(struct mp_store_txn *txn, const unsigned char *k, size_t klen,
                       struct mp_heads_record *r, bool *found, bool entries)
{
    struct mp_store_plain pv;
    int rc = mp_store_backend_get_plain(txn, MP_TABLE_HEADS, k, klen, &pv);
    *found = rc == MP_OK;
    memset(r, 0, sizeof(*r));
    if (rc == MP_OK)
        rc = decode(pv.p, pv.n, r, entries);
    mp_store_backend_plain_done(&pv);
    return rc == MP_NOTFOUND ? MP_OK : rc;
}

static int write_head(struct mp_store_txn *txn, const unsigned char *k, size_t klen,
                      const struct mp_heads_record *r)
{
    size_t n;
    unsigned char *v = encode_head(r, &n);
    if (v == NULL)
        return MP_ENOMEM;
    int rc = mp_store_backend_put(txn, MP_TABLE_HEADS, k, klen, v, n);
    free(v);
    return rc;
}

/* Postings read into a head being built or refreshed: every one counted,
 * the best MP_HEADS_KEEP kept (ranked down to that whenever twice as many
 * gathered). */
struct gather {
    struct mp_heads_record *r;
    size_t cap;
    enum mp_codec_kind kind;
    double avglen;
};

static int trim(struct gather *g)
{
    if (g->r->n <= MP_HEADS_KEEP)
        return MP_OK;
    int rc = keep_best(g->r->p, g->r->n, MP_HEADS_KEEP, g->kind, g->avglen);
    if (rc == MP_OK)
        g->r->n = MP_HEADS_KEEP;
    return rc;
}

static int on_gathered(void *arg, const unsigned char *id, const struct mp_store_plain *pv)
{
    struct gather *g = arg;
    struct mp_heads_record *r = g->r;
    if (r->n == 2 * MP_HEADS_KEEP && trim(g) != MP_OK)
        return MP_ENOMEM;
    if (mp_store_backend_grow(&r->p, &g->cap, r->n, sizeof(*r->p)) != MP_OK)
        return MP_ENOMEM;
    uint32_t item = (uint32_t)mp_codec_be_get(id, 4);
    int rc = mp_index_posting_decode(item, pv->p, pv->n, &r->p[r->n]);
    if (rc != MP_OK)
        return rc;
    r->n++;
    r->count++;
    r->covered = item;
    return MP_OK;
}

/* Reads the term's postings of ids from `from` on into r (key k[0..klen)
 * is the record's; the postings' keys extend it) and writes r. */
static int gather_from(struct mp_store_txn *txn, const unsigned char *k, size_t klen,
                       const struct mp_codec_user *meta, enum mp_codec_kind kind, uint32_t from,
                       struct mp_heads_record *r)
{
    unsigned char start[MP_STORE_KEY_MAX];
    struct gather g = {r, r->n, kind, mean_len(meta, kind)};
    struct bar b = bar_of(r, kind, g.avglen); /* a tail taken in: only what passes it */
    memcpy(start, k, klen);
    mp_codec_be_put(start + klen, from, 4);
    r->head = true;
    int rc = mp_store_backend_scan_plain(txn, MP_TABLE_POSTINGS, start, klen + 4, klen, 4,
                                         on_gathered, &g);
    drop_below(r, &b, kind, g.avglen);
    if (rc == MP_OK)
        rc = trim(&g);
    return rc == MP_OK ? write_head(txn, k, klen, r) : rc;
}

static int on_tail(void *arg, const unsigned char *id, const struct mp_store_plain *pv)
{
    uint32_t *n = arg;
    (void)id;
    (void)pv;
    return ++*n < MP_HEADS_TAIL_TAKE ? MP_OK : MP_STORE_SCAN_STOP;
}

/* *n = the postings of ids above covered, counted up to MP_HEADS_TAIL_TAKE. */
static int count_tail(struct mp_store_txn *txn, const unsigned char *k, size_t klen,
                      uint32_t covered, uint32_t *n)
{
    unsigned char start[MP_STORE_KEY_MAX];
    if (covered == UINT32_MAX)
        return MP_OK;
    memcpy(start, k, klen);
    mp_codec_be_put(start + klen, (uint64_t)covered + 1, 4);
    return mp_store_backend_scan_plain(txn, MP_TABLE_POSTINGS, start, klen + 4, klen, 4, on_tail,
                                       n);
}

int mp_heads_on_add(struct mp_store_txn *txn, const unsigned char *prefix, size_t plen,
                    const struct mp_codec_user *meta, enum mp_codec_kind kind, const char *term,
                    size_t tlen, uint32_t id)
{
    unsigned char k[MP_STORE_KEY_MAX];
    struct mp_heads_record r;
    bool found;
    size_t klen = mp_heads_key(txn->store, k, prefix, plen, kind, term, tlen);
    int rc = read_record(txn, k, klen, &r, &found, false);
    if (rc != MP_OK)
        return rc;
    if (r.head && (r.n >= MP_HEADS_KEEP / 2 || r.count <= r.n)) {
        /* its tail taken in once it is long enough: counted only when the
           word's density over the covered ids (a head's count of ids up to
           covered) makes the ids since covered hold that many, so that a
           sampled add of a sparse word seldom reads its tail for nothing */
        uint32_t tail = 0;
        uint64_t since = id > r.covered ? (uint64_t)(id - r.covered) : 0;
        if (since * r.count >= (uint64_t)MP_HEADS_TAIL_TAKE * ((uint64_t)r.covered + 1))
            rc = count_tail(txn, k, klen, r.covered, &tail);
        if (rc == MP_OK && tail >= MP_HEADS_TAIL_TAKE)
            rc = read_record(txn, k, klen, &r, &found, true);
        if (rc == MP_OK && tail >= MP_HEADS_TAIL_TAKE)
            rc = gather_from(txn, k, klen, meta, kind, r.covered + 1, &r);
    } else if (r.head || r.count + MP_HEADS_EVERY >= MP_HEADS_BUILD_AT) {
        r = (struct mp_heads_record){0}; /* built (again) from all its postings */
        rc = gather_from(txn, k, klen, meta, kind, 0, &r);
    } else {
        unsigned char v[5] = {REC_COUNTER};
        mp_codec_le_put(v + 1, r.count + MP_HEADS_EVERY, 4);
        rc = mp_store_backend_put(txn, MP_TABLE_HEADS, k, klen, v, sizeof(v));
    }
    free(r.p);
    return rc;
}

/* The index of item id among r's entries, or r->n. */
static uint32_t entry_of(const struct mp_heads_record *r, uint32_t id)
{
    uint32_t i = 0;
    while (i < r->n && r->p[i].item != id)
        i++;
    return i;
}

int mp_heads_on_rewrite(struct mp_store_txn *txn, const unsigned char *prefix, size_t plen,
                        const struct mp_codec_user *meta, enum mp_codec_kind kind, const char *term,
                        size_t tlen, const struct mp_relevance_posting *now, bool was_held)
{
    unsigned char k[MP_STORE_KEY_MAX];
    struct mp_heads_record r;
    bool found;
    size_t klen = mp_heads_key(txn->store, k, prefix, plen, kind, term, tlen);
    int rc = read_record(txn, k, klen, &r, &found, true);
    if (rc != MP_OK || !r.head || now->item > r.covered) {
        free(r.p);
        return rc; /* a counter or the tail: nothing to keep */
    }
    double avglen = mean_len(meta, kind);
    struct bar b = bar_of(&r, kind, avglen);
    r.count += !was_held;
    uint32_t i = entry_of(&r, now->item);
    struct mp_relevance_posting *p = realloc(r.p, ((size_t)r.n + 1) * sizeof(*p));
    if (p == NULL) {
        free(r.p);
        return MP_ENOMEM;
    }
    r.p = p;
    p[i] = *now; /* in its place, or a new last entry */
    r.n += i == r.n;
    drop_below(&r, &b, kind, avglen); /* it stays or enters only above the bar */
    if (r.n > MP_HEADS_KEEP) {
        rc = keep_best(r.p, r.n, MP_HEADS_KEEP, kind, avglen);
        r.n = MP_HEADS_KEEP;
    }
    if (rc == MP_OK)
        rc = write_head(txn, k, klen, &r);
    free(r.p);
    return rc;
}

static int on_any(void *arg, const unsigned char *key, size_t klen, const unsigned char *val,
                  size_t vlen)
{
    (void)key;
    (void)klen;
    (void)val;
    (void)vlen;
    *(bool *)arg = true;
    return MP_STORE_SCAN_STOP;
}

int mp_heads_on_remove(struct mp_store_txn *txn, const unsigned char *prefix, size_t plen,
                       enum mp_codec_kind kind, const char *term, size_t tlen, uint32_t id)
{
    unsigned char k[MP_STORE_KEY_MAX], start[MP_STORE_KEY_MAX];
    struct mp_heads_record r;
    bool found, any = false;
    size_t klen = mp_heads_key(txn->store, k, prefix, plen, kind, term, tlen);
    int rc = read_record(txn, k, klen, &r, &found, true);
    if (rc == MP_OK && found) { /* a word no item holds any more keeps no record (erasure) */
        memcpy(start, k, klen);
        memset(start + klen, 0, 4);
        rc = txn->store->be->scan(txn, MP_TABLE_POSTINGS, start, klen + 4, klen, on_any, &any);
    }
    if (rc == MP_OK && found && !any)
        rc = txn->store->be->del(txn, MP_TABLE_HEADS, k, klen);
    else if (rc == MP_OK && r.head && id <= r.covered) {
        uint32_t i = entry_of(&r, id);
        r.count -= r.count > 0;
        if (i < r.n) /* the last in its place: entries are in no order */
            r.p[i] = r.p[--r.n];
        rc = write_head(txn, k, klen, &r);
    }
    free(r.p);
    return rc;
}

/* ---- every head of a user at once (a store of an older format) ---- */

/* A (kind, term) and how many items hold it, in an open-addressing table. */
struct term_count {
    uint8_t kind, len; /* len 0: a free slot */
    char t[MP_TERMS_MAX];
    uint32_t count;
};

struct counts {
    struct term_count *slots;
    size_t n, cap;
};

static struct term_count *slot_in(struct term_count *slots, size_t cap, uint8_t kind, const char *t,
                                  size_t len)
{
    for (size_t i = (size_t)mp_index_term_hash((enum mp_codec_kind)kind, t, len) & (cap - 1);;
         i = (i + 1) & (cap - 1)) {
        struct term_count *s = &slots[i];
        if (s->len == 0 || (s->kind == kind && s->len == len && memcmp(s->t, t, len) == 0))
            return s;
    }
}

static int grow_counts(struct counts *c)
{
    size_t cap = c->cap > 0 ? c->cap * 2 : 1024;
    struct term_count *slots = calloc(cap, sizeof(*slots));
    if (slots == NULL)
        return MP_ENOMEM;
    for (size_t i = 0; i < c->cap; i++)
        if (c->slots[i].len > 0)
            *slot_in(slots, cap, c->slots[i].kind, c->slots[i].t, c->slots[i].len) = c->slots[i];
    free(c->slots);
    c->slots = slots;
    c->cap = cap;
    return MP_OK;
}

static int on_counted_term(void *arg, enum mp_codec_kind kind, const char *term,
                           const struct mp_codec_term *t)
{
    struct counts *c = arg;
    if (t->len == 0 || t->len > MP_TERMS_MAX)
        return MP_EIO;
    if ((c->n + 1) * 2 > c->cap && grow_counts(c) != MP_OK)
        return MP_ENOMEM;
    struct term_count *s = slot_in(c->slots, c->cap, (uint8_t)kind, term, t->len);
    if (s->len == 0) {
        s->kind = (uint8_t)kind;
        s->len = t->len;
        memcpy(s->t, term, t->len);
        c->n++;
    }
    s->count++;
    return MP_OK;
}

int mp_heads_build_user(struct mp_store_txn *txn, const unsigned char *prefix, size_t plen,
                        const struct mp_codec_user *meta)
{
    struct counts c = {0};
    int rc = mp_index_each_term(txn, prefix, plen, on_counted_term, &c);
    for (size_t i = 0; rc == MP_OK && i < c.cap; i++) {
        const struct term_count *s = &c.slots[i];
        unsigned char k[MP_STORE_KEY_MAX], v[5] = {REC_COUNTER};
        if (s->len == 0 || s->count < MP_HEADS_EVERY)
            continue; /* a rare term: no record, as a new store has none yet */
        enum mp_codec_kind kind = (enum mp_codec_kind)s->kind;
        size_t klen = mp_heads_key(txn->store, k, prefix, plen, kind, s->t, s->len);
        if (s->count >= MP_HEADS_BUILD_AT) {
            struct mp_heads_record r = {0};
            rc = gather_from(txn, k, klen, meta, kind, 0, &r);
            free(r.p);
            continue;
        }
        mp_codec_le_put(v + 1, s->count - s->count % MP_HEADS_EVERY, 4);
        rc = mp_store_backend_put(txn, MP_TABLE_HEADS, k, klen, v, sizeof(v));
    }
    free(c.slots);
    return rc;
}
