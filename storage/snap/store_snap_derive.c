/* Tables a clear store's reader derives from others instead of fetching
 * them (store_snap.h): the postings from the items' terms, served per term
 * from a hash of groups (rows only for a scan of another shape), and the
 * facts' recent order from the facts. Each is written by the op layer in
 * the transaction that writes its source, so the derivation is exact.
 *
 * The derivation runs on every request of the PostgreSQL hot path, so it
 * makes no key and copies no term: a group points at its term's bytes in
 * the dterms record (which the snapshot keeps until it is cleared), and a
 * scan answers with the scan's own start as the key. Its arrays outlive
 * one snapshot (kept as the snapshot's spare) so that a loop's reads stop
 * allocating once they have seen their biggest user. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "format/codec.h"
#include "ops/store.h"
#include "ops/index.h"
#include "status.h"
#include "ops/store_facts.h"
#include "snap/store_snap_private.h"

/* ---- postings from the dterms ---- */

#define NONE UINT32_MAX

/* The postings of one term: the term's bytes (in a dterms record), and the
 * items that hold it in the order the dterms gave them (item ascending). */
struct term_group {
    const unsigned char *term;
    uint8_t len;
    uint8_t kind;
    uint64_t hash;            /* of kind and term */
    uint32_t head, tail;      /* entries, linked by next; NONE: none */
    const unsigned char *key; /* P | T(kind | term): made by mp_snap_materialize() only */
    size_t klen;
};

struct posting_entry {
    uint32_t id;
    uint32_t next;
    unsigned char v[MP_INDEX_POSTING_LEN];
    uint8_t vlen; /* MP_INDEX_POSTING_LEN; the old length when the doc was not read */
};

/* A user's postings as derived: groups found by kind and term through an
 * open-addressing table, each term's items in order. A scan of one term's
 * postings (what the view does) is answered from here; anything else
 * turns them into rows first (mp_snap_materialize()). */
struct derive {
    struct mp_store *snap;
    unsigned char prefix[MP_STORE_USER_PREFIX_MAX];
    size_t plen;
    uint8_t kind; /* of the item being read */
    uint32_t id;
    uint32_t doc_len; /* its content length, when has_len */
    bool has_len;     /* its doc is in the snapshot */
    struct term_group *groups;
    size_t ngroups, gcap;
    struct posting_entry *entries;
    size_t nentries, ecap;
    uint32_t *slots; /* open addressing: group index + 1, 0 free */
    size_t nslots, slotcap;
};

/* A term's slot hash: the index's (index.h), as a view's term cache. */
static uint64_t term_hash(uint8_t kind, const unsigned char *t, size_t len)
{
    return mp_index_term_hash((enum mp_codec_kind)kind, (const char *)t, len);
}

/* Sizes the slots for n groups (half full at most) and indexes the groups
 * made so far. */
static int size_slots(struct derive *d, size_t n)
{
    size_t want = 512;
    while (want < 2 * n)
        want *= 2;
    if (want > d->slotcap) {
        uint32_t *slots = malloc(want * sizeof(*slots));
        if (slots == NULL)
            return MP_ENOMEM;
        free(d->slots);
        d->slots = slots;
        d->slotcap = want;
    }
    if (want < d->nslots)
        want = d->nslots; /* never shrinks within one derivation */
    d->nslots = want;
    memset(d->slots, 0, want * sizeof(*d->slots));
    for (size_t g = 0; g < d->ngroups; g++) {
        size_t i = (size_t)d->groups[g].hash & (want - 1);
        while (d->slots[i] != 0)
            i = (i + 1) & (want - 1);
        d->slots[i] = (uint32_t)g + 1;
    }
    return MP_OK;
}

/* The slot of kind's term[0..len) of hash h: its group's, or the free one
 * where it would go. */
static size_t slot_of(const struct derive *d, uint8_t kind, const unsigned char *t, size_t len,
                      uint64_t h)
{
    size_t i = (size_t)h & (d->nslots - 1);
    for (; d->slots[i] != 0; i = (i + 1) & (d->nslots - 1)) {
        const struct term_group *g = &d->groups[d->slots[i] - 1];
        if (g->hash == h && g->kind == kind && g->len == len && memcmp(g->term, t, len) == 0)
            break;
    }
    return i;
}

/* The group of the current item's kind and term (found, or made): its
 * index, or NONE when out of memory. */
static uint32_t group_of(struct derive *d, const unsigned char *t, size_t len)
{
    uint64_t h = term_hash(d->kind, t, len);
    if (2 * (d->ngroups + 1) > d->nslots && size_slots(d, d->ngroups + 1) != MP_OK)
        return NONE;
    size_t i = slot_of(d, d->kind, t, len, h);
    if (d->slots[i] != 0)
        return d->slots[i] - 1;
    if (mp_store_backend_grow(&d->groups, &d->gcap, d->ngroups, sizeof(*d->groups)) != MP_OK)
        return NONE;
    d->groups[d->ngroups] = (struct term_group){
        .term = t, .len = (uint8_t)len, .kind = d->kind, .hash = h, .head = NONE, .tail = NONE};
    d->slots[i] = (uint32_t)++d->ngroups;
    return (uint32_t)d->ngroups - 1;
}

static int on_item_term(void *arg, const char *term, const struct mp_codec_term *t)
{
    struct derive *d = arg;
    uint32_t g = group_of(d, (const unsigned char *)term, t->len);
    if (g == NONE ||
        mp_store_backend_grow(&d->entries, &d->ecap, d->nentries, sizeof(*d->entries)) != MP_OK)
        return MP_ENOMEM;
    struct posting_entry *e = &d->entries[d->nentries];
    e->id = d->id;
    mp_codec_le_put(e->v, t->tc, 2);
    mp_codec_le_put(e->v + 2, t->tk, 2);
    e->v[4] = t->td;
    mp_codec_le_put(e->v + 5, d->doc_len, 4);
    e->vlen = d->has_len ? MP_INDEX_POSTING_LEN : MP_INDEX_POSTING_LEN_OLD;
    e->next = NONE;
    struct term_group *grp = &d->groups[g];
    if (grp->tail == NONE)
        grp->head = (uint32_t)d->nentries;
    else
        d->entries[grp->tail].next = (uint32_t)d->nentries;
    grp->tail = (uint32_t)d->nentries++;
    return MP_OK;
}

static int group_cmp(const void *a, const void *b)
{
    const struct term_group *x = a, *y = b;
    return mp_store_backend_key_cmp(x->key, x->klen, y->key, y->klen);
}

void mp_snap_derive_free(struct derive *d)
{
    if (d == NULL)
        return;
    free(d->slots);
    free(d->groups);
    free(d->entries);
    free(d);
}

void mp_snap_derive_retire(struct snap_store *s)
{
    struct derive *d = s->postings;
    if (d == NULL)
        return;
    s->postings = NULL;
    d->ngroups = 0;
    d->nentries = 0;
    d->nslots = 0;
    mp_snap_derive_free(s->derive_spare);
    s->derive_spare = d;
}

/* One array copied into *dst (grown to n elements of size each, *cap
 * kept). */
static int copy_array(void **dst, size_t *cap, const void *src, size_t n, size_t size)
{
    if (n > *cap) {
        void *p = malloc(n * size);
        if (p == NULL)
            return MP_ENOMEM;
        free(*dst);
        *dst = p;
        *cap = n;
    }
    if (n > 0)
        memcpy(*dst, src, n * size);
    return MP_OK;
}

int mp_snap_derive_copy(struct snap_store *dst, const struct snap_store *src,
                        const struct mp_snap_moved *m)
{
    const struct derive *from = src->postings;
    mp_snap_derive_retire(dst);
    if (from == NULL)
        return MP_OK;
    struct derive *d = dst->derive_spare != NULL ? dst->derive_spare : calloc(1, sizeof(*d));
    if (d == NULL)
        return MP_ENOMEM;
    dst->derive_spare = NULL;
    dst->postings = d; /* retired by the caller's clear on failure */
    d->snap = &dst->base;
    memcpy(d->prefix, from->prefix, from->plen);
    d->plen = from->plen;
    if (copy_array((void **)&d->groups, &d->gcap, from->groups, from->ngroups,
                   sizeof(*d->groups)) != MP_OK ||
        copy_array((void **)&d->entries, &d->ecap, from->entries, from->nentries,
                   sizeof(*d->entries)) != MP_OK ||
        copy_array((void **)&d->slots, &d->slotcap, from->slots, from->nslots, sizeof(*d->slots)) !=
            MP_OK)
        return MP_ENOMEM;
    d->ngroups = from->ngroups;
    d->nentries = from->nentries;
    d->nslots = from->nslots;
    for (size_t g = 0; g < d->ngroups; g++) {
        d->groups[g].term = mp_snap_moved_ptr(m, d->groups[g].term);
        d->groups[g].key = mp_snap_moved_ptr(m, d->groups[g].key);
    }
    return MP_OK;
}

size_t mp_snap_derive_bytes(const struct derive *d)
{
    if (d == NULL)
        return 0;
    return sizeof(*d) + d->gcap * sizeof(*d->groups) + d->ecap * sizeof(*d->entries) +
           d->slotcap * sizeof(*d->slots);
}

/* Each group's key, P | T(kind | term), made in the snapshot's chunks. */
static int make_group_keys(struct snap_store *s, struct derive *d)
{
    unsigned char k[MP_STORE_KEY_MAX];
    for (size_t g = 0; g < d->ngroups; g++) {
        struct term_group *grp = &d->groups[g];
        size_t klen = mp_index_posting_key(d->snap, k, d->prefix, d->plen, grp->kind,
                                           (const char *)grp->term, grp->len, 0) -
                      4;
        unsigned char *copy = mp_snap_chunk_alloc(s, klen);
        if (copy == NULL)
            return MP_ENOMEM;
        memcpy(copy, k, klen);
        grp->key = copy;
        grp->klen = klen;
    }
    return MP_OK;
}

/* The derived postings as rows of the table, terms in key order and each
 * term's items in order, written straight in: no copy of the entries, no
 * sort of the rows. */
int mp_snap_materialize(struct snap_store *s)
{
    struct derive *d = s->postings;
    struct snap_table *tb = &s->tables[MP_TABLE_POSTINGS];
    if (tb->nrows > 0)
        return MP_EIO; /* derived into an empty table only */
    int rc = make_group_keys(s, d);
    if (rc != MP_OK)
        return rc;
    if (d->ngroups > 1)
        qsort(d->groups, d->ngroups, sizeof(*d->groups), group_cmp);
    if (d->nentries > tb->cap) {
        struct row *rows = realloc(tb->rows, d->nentries * sizeof(*rows));
        if (rows == NULL)
            return MP_ENOMEM;
        tb->rows = rows;
        tb->cap = d->nentries;
    }
    for (size_t g = 0; g < d->ngroups; g++) {
        const struct term_group *grp = &d->groups[g];
        for (uint32_t e = grp->head; e != NONE; e = d->entries[e].next) {
            size_t vlen = d->entries[e].vlen;
            unsigned char *p = mp_snap_chunk_alloc(s, grp->klen + 4 + vlen);
            if (p == NULL)
                return MP_ENOMEM;
            memcpy(p, grp->key, grp->klen);
            mp_codec_be_put(p + grp->klen, d->entries[e].id, 4);
            memcpy(p + grp->klen + 4, d->entries[e].v, vlen);
            tb->rows[tb->nrows++] =
                (struct row){.k = p, .klen = grp->klen + 4, .v = p + grp->klen + 4, .vlen = vlen};
        }
    }
    mp_snap_derive_retire(s);
    return MP_OK;
}

/* A scan of one term's postings, start = P | T(kind | term), from the
 * groups: *handled false for a scan of another shape. The keys it answers
 * are start and the item's id. */
int mp_snap_derived_scan(struct snap_store *s, const unsigned char *start, size_t slen, size_t plen,
                         mp_store_scan_fn fn, void *arg, bool *handled)
{
    const struct derive *d = s->postings;
    unsigned char k[MP_STORE_KEY_MAX];
    size_t p = d->plen;
    *handled = slen == plen && slen >= p + 2 && memcmp(start, d->prefix, p) == 0 &&
               slen == p + 1 + (size_t)start[p] && slen + 4 <= sizeof(k);
    if (!*handled || d->nslots == 0)
        return MP_OK;
    uint8_t kind = start[p + 1];
    const unsigned char *term = start + p + 2;
    size_t len = slen - p - 2;
    size_t i = slot_of(d, kind, term, len, term_hash(kind, term, len));
    if (d->slots[i] == 0)
        return MP_OK; /* no item holds the term */
    const struct term_group *g = &d->groups[d->slots[i] - 1];
    memcpy(k, start, slen);
    for (uint32_t e = g->head; e != NONE; e = d->entries[e].next) {
        mp_codec_be_put(k + slen, d->entries[e].id, 4);
        int rc = fn(arg, k, slen + 4, d->entries[e].v, d->entries[e].vlen);
        if (rc != MP_OK)
            return rc == MP_STORE_SCAN_STOP ? MP_OK : rc;
    }
    return MP_OK;
}

/* d->doc_len and d->has_len of the item whose dterms record has key
 * k[0..klen): its doc is the docs row of the same key, found by walking
 * *j (the docs rows in key order, as the dterms rows are read). */
static void doc_len_of(struct derive *d, const struct snap_table *dc, size_t *j,
                       const unsigned char *k, size_t klen)
{
    struct mp_codec_doc doc;
    while (*j < dc->nrows &&
           mp_store_backend_key_cmp(dc->rows[*j].k, dc->rows[*j].klen, k, klen) < 0)
        (*j)++;
    d->has_len = *j < dc->nrows &&
                 mp_store_backend_key_cmp(dc->rows[*j].k, dc->rows[*j].klen, k, klen) == 0 &&
                 mp_codec_get_doc(dc->rows[*j].v, dc->rows[*j].vlen, &doc) == MP_OK;
    d->doc_len = d->has_len ? doc.len : 0;
}

int mp_store_snap_derive_postings(struct mp_store *snap, const unsigned char *prefix, size_t plen)
{
    struct snap_store *s = mp_snap_of(snap);
    struct snap_table *dt = &s->tables[MP_TABLE_DTERMS];
    struct snap_table *dc = &s->tables[MP_TABLE_DOCS];
    if (snap->sealed)
        return MP_EUNSUPPORTED;
    if (s->postings != NULL || s->tables[MP_TABLE_POSTINGS].nrows > 0 || plen < 2 ||
        plen > MP_STORE_USER_PREFIX_MAX)
        return MP_EINVAL; /* one user's, into an empty table */
    struct derive *d = s->derive_spare != NULL ? s->derive_spare : calloc(1, sizeof(*d));
    if (d == NULL)
        return MP_ENOMEM;
    s->derive_spare = NULL;
    s->postings = d; /* retired below on failure */
    d->snap = snap;
    memcpy(d->prefix, prefix, plen);
    d->plen = plen;
    mp_snap_settle(dt);
    mp_snap_settle(dc);
    size_t j = mp_snap_lower_row(dc, prefix, plen);
    int rc = size_slots(d, 0);
    for (size_t i = mp_snap_lower_row(dt, prefix, plen); rc == MP_OK && i < dt->nrows; i++) {
        const struct row *r = &dt->rows[i];
        if (r->klen < plen || memcmp(r->k, prefix, plen) != 0)
            break;
        if (r->klen != plen + 5)
            rc = MP_EIO;
        d->kind = r->k[plen];
        d->id = (uint32_t)mp_codec_be_get(r->k + plen + 1, 4);
        doc_len_of(d, dc, &j, r->k, r->klen);
        if (rc == MP_OK)
            rc = mp_codec_each_term(r->v, r->vlen, on_item_term, d);
    }
    if (rc != MP_OK) {
        mp_snap_derive_retire(s);
        return rc;
    }
    return mp_store_snap_cover_user(snap, MP_TABLE_POSTINGS, prefix, plen);
}

/* ---- the recent order of facts from the facts ---- */

int mp_store_snap_derive_factrank(struct mp_store *snap, const unsigned char *prefix, size_t plen)
{
    struct snap_store *s = mp_snap_of(snap);
    struct snap_table *ft = &s->tables[MP_TABLE_FACTS];
    unsigned char k[MP_STORE_KEY_MAX], v[4];
    if (snap->sealed)
        return MP_EUNSUPPORTED;
    mp_snap_settle(ft);
    int rc = MP_OK;
    for (size_t i = mp_snap_lower_row(ft, prefix, plen); rc == MP_OK && i < ft->nrows; i++) {
        const struct row *r = &ft->rows[i];
        struct mp_mem_entity e;
        if (r->klen < plen || memcmp(r->k, prefix, plen) != 0)
            break;
        if (r->klen != plen + 4 || mp_codec_get_fact_head(r->v, r->vlen, &e, NULL) != MP_OK)
            return MP_EIO;
        mp_codec_le_put(v, mp_codec_be_get(r->k + plen, 4), 4);
        rc = mp_store_snap_add(snap, MP_TABLE_FACTRANK, k,
                               mp_facts_rank_key(snap, prefix, plen, &e, k), v, sizeof(v));
    }
    return rc == MP_OK ? mp_store_snap_cover_user(snap, MP_TABLE_FACTRANK, prefix, plen) : rc;
}
