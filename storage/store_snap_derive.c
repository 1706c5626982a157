/* Tables a clear store's reader derives from others instead of fetching
 * them (store_snap.h): the postings from the items' terms, served per term
 * from a hash of groups (rows only for a scan of another shape), and the
 * facts' recent order from the facts. Each is written by the op layer in
 * the transaction that writes its source, so the derivation is exact. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "index.h"
#include "status.h"
#include "store_facts.h"
#include "store_snap_private.h"

/* ---- postings from the dterms ---- */

/* The postings of one term: its posting key without the id, and the
 * items that hold it in the order the dterms gave them (item ascending). */
struct term_group {
    unsigned char *key; /* P | T(kind | term), in the snapshot's chunks */
    size_t klen;
    uint64_t hash;     /* of kind and term */
    size_t head, tail; /* entries, linked by next; SIZE_MAX: none */
};

struct posting_entry {
    uint32_t id;
    unsigned char v[5];
    size_t next;
};

/* A user's postings as derived: groups found by kind and term through an
 * open-addressing table, each term's items in order. A scan of one term's
 * postings (what the view does) is answered from here; anything else
 * turns them into rows first (mp_snap_materialize()). */
struct derive {
    struct mp_store *snap;
    unsigned char prefix[MP_STORE_USER_PREFIX_MAX];
    size_t plen;
    enum mp_codec_kind kind; /* of the item being read */
    uint32_t id;
    struct term_group *groups;
    size_t ngroups, gcap;
    struct posting_entry *entries;
    size_t nentries, ecap;
    size_t *slots; /* open addressing: group index + 1, 0 free */
    size_t nslots;
};

static uint64_t term_hash(enum mp_codec_kind kind, const char *t, size_t len)
{
    uint64_t h = 1469598103934665603ULL ^ (uint64_t)kind;
    for (size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)t[i]) * 1099511628211ULL;
    return h;
}

static int grow_slots(struct derive *d)
{
    size_t n = d->nslots > 0 ? d->nslots * 2 : 512;
    size_t *slots = calloc(n, sizeof(*slots));
    if (slots == NULL)
        return MP_ENOMEM;
    for (size_t g = 0; g < d->ngroups; g++) {
        size_t i = (size_t)d->groups[g].hash & (n - 1);
        while (slots[i] != 0)
            i = (i + 1) & (n - 1);
        slots[i] = g + 1;
    }
    free(d->slots);
    d->slots = slots;
    d->nslots = n;
    return MP_OK;
}

/* Whether group g is kind's term[0..len): its key ends with the tag, whose
 * last bytes in a clear store are kind | term. */
static bool group_is(const struct derive *d, const struct term_group *g, const char *t, size_t len)
{
    return g->klen == d->plen + 2 + len && g->key[d->plen + 1] == (unsigned char)d->kind &&
           memcmp(g->key + d->plen + 2, t, len) == 0;
}

/* The group of the current item's kind and term (found, or made): its
 * index, or SIZE_MAX when out of memory. */
static size_t group_of(struct derive *d, const char *t, size_t len)
{
    unsigned char k[MP_STORE_KEY_MAX];
    uint64_t h = term_hash(d->kind, t, len);
    if (2 * (d->ngroups + 1) > d->nslots && grow_slots(d) != MP_OK)
        return SIZE_MAX;
    size_t i = (size_t)h & (d->nslots - 1);
    for (; d->slots[i] != 0; i = (i + 1) & (d->nslots - 1)) {
        const struct term_group *g = &d->groups[d->slots[i] - 1];
        if (g->hash == h && group_is(d, g, t, len))
            return d->slots[i] - 1;
    }
    size_t klen = mp_index_posting_key(d->snap, k, d->prefix, d->plen, d->kind, t, len, 0) - 4;
    unsigned char *copy = mp_snap_chunk_alloc(mp_snap_of(d->snap), klen);
    if (copy == NULL ||
        mp_store_backend_grow(&d->groups, &d->gcap, d->ngroups, sizeof(*d->groups)) != MP_OK)
        return SIZE_MAX;
    memcpy(copy, k, klen);
    d->groups[d->ngroups] = (struct term_group){
        .key = copy, .klen = klen, .hash = h, .head = SIZE_MAX, .tail = SIZE_MAX};
    d->slots[i] = ++d->ngroups;
    return d->ngroups - 1;
}

static int on_item_term(void *arg, const char *term, const struct mp_codec_term *t)
{
    struct derive *d = arg;
    size_t g = group_of(d, term, t->len);
    if (g == SIZE_MAX ||
        mp_store_backend_grow(&d->entries, &d->ecap, d->nentries, sizeof(*d->entries)) != MP_OK)
        return MP_ENOMEM;
    struct posting_entry *e = &d->entries[d->nentries];
    e->id = d->id;
    mp_codec_le_put(e->v, t->tc, 2);
    mp_codec_le_put(e->v + 2, t->tk, 2);
    e->v[4] = t->td;
    e->next = SIZE_MAX;
    struct term_group *grp = &d->groups[g];
    if (grp->tail == SIZE_MAX)
        grp->head = d->nentries;
    else
        d->entries[grp->tail].next = d->nentries;
    grp->tail = d->nentries++;
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

/* The derived postings as rows of the table, terms in key order and each
 * term's items in order, written straight in: no copy, no sort. */
int mp_snap_materialize(struct snap_store *s)
{
    struct derive *d = s->postings;
    struct snap_table *tb = &s->tables[MP_TABLE_POSTINGS];
    if (d->ngroups > 1)
        qsort(d->groups, d->ngroups, sizeof(*d->groups), group_cmp);
    if (tb->nrows > 0)
        return MP_EIO; /* derived into an empty table only */
    if (d->nentries > tb->cap) {
        struct row *rows = realloc(tb->rows, d->nentries * sizeof(*rows));
        if (rows == NULL)
            return MP_ENOMEM;
        tb->rows = rows;
        tb->cap = d->nentries;
    }
    for (size_t g = 0; g < d->ngroups; g++) {
        const struct term_group *grp = &d->groups[g];
        for (size_t e = grp->head; e != SIZE_MAX; e = d->entries[e].next) {
            unsigned char *p = mp_snap_chunk_alloc(s, grp->klen + 4 + 5);
            if (p == NULL)
                return MP_ENOMEM;
            memcpy(p, grp->key, grp->klen);
            mp_codec_be_put(p + grp->klen, d->entries[e].id, 4);
            memcpy(p + grp->klen + 4, d->entries[e].v, 5);
            tb->rows[tb->nrows++] =
                (struct row){.k = p, .klen = grp->klen + 4, .v = p + grp->klen + 4, .vlen = 5};
        }
    }
    mp_snap_derive_free(d);
    s->postings = NULL;
    return MP_OK;
}

/* A scan of one term's postings, start = P | T(kind | term), from the
 * groups: *handled false for a scan of another shape. */
int mp_snap_derived_scan(struct snap_store *s, const unsigned char *start, size_t slen, size_t plen,
                         mp_store_scan_fn fn, void *arg, bool *handled)
{
    struct derive *d = s->postings;
    unsigned char k[MP_STORE_KEY_MAX];
    size_t p = d->plen;
    *handled = slen == plen && slen >= p + 2 && memcmp(start, d->prefix, p) == 0 &&
               slen == p + 1 + (size_t)start[p] && slen + 4 <= sizeof(k);
    if (!*handled)
        return MP_OK;
    d->kind = (enum mp_codec_kind)start[p + 1];
    const char *term = (const char *)start + p + 2;
    size_t len = slen - p - 2;
    uint64_t h = term_hash(d->kind, term, len);
    for (size_t i = (size_t)h & (d->nslots - 1); d->nslots > 0 && d->slots[i] != 0;
         i = (i + 1) & (d->nslots - 1)) {
        const struct term_group *g = &d->groups[d->slots[i] - 1];
        if (g->hash != h || !group_is(d, g, term, len))
            continue;
        memcpy(k, g->key, g->klen);
        for (size_t e = g->head; e != SIZE_MAX; e = d->entries[e].next) {
            mp_codec_be_put(k + g->klen, d->entries[e].id, 4);
            int rc = fn(arg, k, g->klen + 4, d->entries[e].v, sizeof(d->entries[e].v));
            if (rc != MP_OK)
                return rc == MP_STORE_SCAN_STOP ? MP_OK : rc;
        }
        return MP_OK;
    }
    return MP_OK; /* no item holds the term */
}

int mp_store_snap_derive_postings(struct mp_store *snap, const unsigned char *prefix, size_t plen)
{
    struct snap_store *s = mp_snap_of(snap);
    struct snap_table *dt = &s->tables[MP_TABLE_DTERMS];
    if (snap->sealed)
        return MP_EUNSUPPORTED;
    if (s->postings != NULL || s->tables[MP_TABLE_POSTINGS].nrows > 0 || plen < 2 ||
        plen > MP_STORE_USER_PREFIX_MAX)
        return MP_EINVAL; /* one user's, into an empty table */
    struct derive *d = calloc(1, sizeof(*d));
    if (d == NULL)
        return MP_ENOMEM;
    d->snap = snap;
    memcpy(d->prefix, prefix, plen);
    d->plen = plen;
    mp_snap_settle(dt);
    int rc = MP_OK;
    for (size_t i = mp_snap_lower_row(dt, prefix, plen); rc == MP_OK && i < dt->nrows; i++) {
        const struct row *r = &dt->rows[i];
        if (r->klen < plen || memcmp(r->k, prefix, plen) != 0)
            break;
        if (r->klen != plen + 5)
            rc = MP_EIO;
        d->kind = (enum mp_codec_kind)r->k[plen];
        d->id = (uint32_t)mp_codec_be_get(r->k + plen + 1, 4);
        if (rc == MP_OK)
            rc = mp_codec_each_term(r->v, r->vlen, on_item_term, d);
    }
    if (rc != MP_OK) {
        mp_snap_derive_free(d);
        return rc;
    }
    s->postings = d;
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
        if (r->klen != plen + 4 || mp_codec_get_fact(r->v, r->vlen, &e) != MP_OK)
            return MP_EIO;
        mp_codec_le_put(v, mp_codec_be_get(r->k + plen, 4), 4);
        rc = mp_store_snap_add(snap, MP_TABLE_FACTRANK, k,
                               mp_facts_rank_key(snap, prefix, plen, &e, k), v, sizeof(v));
        free(e.value);
    }
    return rc == MP_OK ? mp_store_snap_cover_user(snap, MP_TABLE_FACTRANK, prefix, plen) : rc;
}
