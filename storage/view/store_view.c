/* The request path's reads (store.h: mp_store_view_*, mp_store_archive):
 * one read transaction per view, records copied out or decoded on demand,
 * and the relevance index of core/recall/relevance.h over the docs, dterms and
 * postings tables. A term's postings are read once per view and kept in a
 * hash table (df() and postings() of the same term both need them); a
 * term the user's term filter rules out is not looked up at all; a common
 * term is read through its head (heads.h: read_head) or, without one,
 * through a sample of its newest postings (sample_newest). */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "format/codec.h"
#include "ops/store_conv.h"
#include "ops/heads.h"
#include "ops/index.h"
#include "recall/memblock.h"
#include "recall/recall.h"
#include "recall/relevance.h"
#include "status.h"
#include "ops/store.h"
#include "ops/store_backend.h"
#include "ops/store_facts.h"
#include "ops/store_read.h"
#include "ops/store_settings.h"
#include "format/termfilter.h"
#include "view/view_cache.h"
#include "view/view_facts.h"
#include "view/view_user.h"

#define CACHE_START 64 /* slots of a view's table of terms (doubles at half full) */

struct cached_term {
    enum mp_codec_kind kind;
    char t[MP_TERMS_MAX];
    size_t len;
    struct mp_relevance_posting *p;
    uint32_t n;
    bool cut;          /* the read stopped at n: more items hold the term */
    bool sampled;      /* more items than the sample hold the term (common) */
    bool newest;       /* sampled, and p final: its newest postings (sample_newest) or the best
                          of its head and tail (read_head) */
    bool head_tried;   /* its head was looked for (read_head) */
    bool counted;      /* its head's count was looked for (head_count) */
    uint32_t at_least; /* its head's count: at least that many items hold it (0: none known) */
    uint32_t df;       /* sampled: how many items hold it (from a sample: an estimate) */
};

struct kind_view {
    struct mp_store_view *v;
    enum mp_codec_kind kind;
};

/* The facts the view's ranked walks have read, in the ranked order: a
 * second walk (recall's round 2) replays them and reads on from after the
 * last key only when it wants more. */
struct ranked_cache {
    struct mp_mem_entity **e; /* the view's facts (facts below) */
    size_t n, cap;
    size_t last_len;                          /* 0: nothing read yet */
    bool done;                                /* the walk reached the end */
    unsigned char last[MP_STORE_KEY_MAX + 1]; /* the last key read, and room for its successor */
};

/* Users with at most this many facts and archived messages together are
 * read whole at open by a backend that offers hint_user. */
#define VIEW_HINT_ITEMS_MAX 256

/* A user with at most this many facts has them read whole by the first
 * ranked walk, in one pass over the facts table, and put in the recent
 * order here: a walk of factrank would look each one up again by its id.
 * A bigger user's walk follows factrank and reads only what the budget
 * takes. Clear stores only: in a sealed one the order ties by the key's
 * tag, a MAC per fact. */
#define VIEW_WHOLE_FACTS_MAX 256

/* Its last members, from ranked.last on, are not zeroed at open (open_view). */
struct mp_store_view {
    struct mp_store *s;
    struct mp_store_txn txn;
    size_t plen;
    struct mp_view_user *user;        /* the user record, decoded (view_user.h) */
    const struct mp_codec_user *meta; /* user's counters */
    const struct mp_usermem *head;    /* user's summary and buffered messages */
    enum mp_user_mode user_mode;      /* the user's own setting, read at open */
    struct kind_view kinds[MP_CODEC_KINDS];
    struct mp_view_facts own_facts; /* the facts the view decoded itself */
    /* every fact the view decoded: own_facts, or a small user's whole
       facts borrowed from this thread's cache (cached, view_cache.h), to
       which the view adds only the texts it writes (mp_view_facts_text) */
    struct mp_view_facts *facts;
    struct mp_view_cache_entry *cached;
    bool whole_tried;          /* whole_facts() ran */
    struct cached_term *cache; /* open addressing by mp_index_term_hash; len 0: a free slot */
    size_t ncache, cap;
    uint32_t max_postings; /* relevance's ceiling: a term's postings read up to one past it */
    uint32_t sample;       /* a term held by more items is sampled (relevance.h): at most half
                              the ceiling, so that one common word leaves room for rarer ones */
    uint64_t scored;       /* postings relevance scored (its work callback) */
    uint64_t read;         /* postings read from the store (read_postings) */
    unsigned capped;       /* its calls that met the ceiling */
    struct ranked_cache ranked;
    unsigned char prefix[MP_STORE_USER_PREFIX_MAX];
};

/* A view of nothing yet: zeroed up to its key buffers (written before
 * they are read: the prefix at open, ranked.last with its length). NULL
 * when out of memory. */
static struct mp_store_view *open_view(void)
{
    struct mp_store_view *v = malloc(sizeof(*v));
    if (v != NULL)
        memset(v, 0, offsetof(struct mp_store_view, ranked.last));
    return v;
}

static int get_plain(struct mp_store_view *v, enum mp_store_table t, const unsigned char *k,
                     size_t klen, struct mp_store_plain *out)
{
    return mp_store_backend_get_plain(&v->txn, t, k, klen, out);
}

static size_t key_of(const struct mp_store_view *v, unsigned char *k, uint64_t id, size_t width)
{
    memcpy(k, v->prefix, v->plen);
    mp_codec_be_put(k + v->plen, id, width);
    return v->plen + width;
}

/* The user record into v->user: this thread's decode of the same stored
 * bytes when it has one (view_cache.h), else decoded and kept for the next
 * view. MP_NOTFOUND when none is stored. */
static int read_user(struct mp_store_view *v)
{
    const unsigned char *k = v->prefix + 2, *stored;
    size_t klen = v->plen - 2, n;
    struct mp_store_plain pv;
    int rc = v->s->be->get(&v->txn, MP_TABLE_USERS, k, klen, &stored, &n);
    if (rc != MP_OK)
        return rc;
    v->user = mp_view_cache_user_get(v->prefix, v->plen, stored, n);
    if (v->user == NULL) {
        rc = mp_store_backend_open(v->s, MP_TABLE_USERS, k, klen, stored, n, &pv);
        if (rc == MP_OK)
            rc = mp_view_user_decode(v->prefix, v->plen, stored, n, pv.p, pv.n, &v->user);
        mp_store_backend_plain_done(&pv);
        if (rc != MP_OK)
            return rc;
        mp_view_cache_user_put(v->user);
    }
    return MP_OK;
}

/* The user record (read_user) and the user's setting into v, unless this
 * thread read both under the store version the view sees (view_cache.h):
 * then they are borrowed, and nothing is read. */
static int read_user_and_mode(struct mp_store_view *v)
{
    struct mp_store_version at;
    bool versioned = v->s->be->version != NULL && v->s->be->version(&v->txn, &at);
    if (versioned)
        v->user = mp_view_cache_user_at(v->prefix, v->plen, &at, &v->user_mode);
    if (v->user != NULL) {
        v->meta = mp_view_user_meta(v->user);
        v->head = mp_view_user_head(v->user);
        return MP_OK;
    }
    int rc = read_user(v);
    if (rc != MP_OK)
        return rc;
    v->meta = mp_view_user_meta(v->user);
    v->head = mp_view_user_head(v->user);
    if (v->meta->version < MP_CODEC_USER_VERSION_MIN)
        return MP_EIO;
    /* a small user's records fit one read where every read costs a round
       trip (PostgreSQL); a big user's are read as the walk needs them */
    if (v->s->be->hint_user != NULL &&
        (uint64_t)v->meta->nfacts + v->meta->narchive <= VIEW_HINT_ITEMS_MAX)
        v->s->be->hint_user(&v->txn, v->prefix, v->plen);
    rc = mp_settings_read(&v->txn, v->prefix + 2, v->plen - 2, &v->user_mode, NULL);
    if (rc == MP_OK && versioned)
        mp_view_cache_user_read_at(v->user, &at, v->user_mode);
    return rc;
}

int mp_store_view_open(struct mp_store *store, const char *user, size_t user_len,
                       struct mp_store_view **out)
{
    if (mp_store_check_user(user, user_len) != MP_OK)
        return MP_EINVAL;
    struct mp_store_view *v = open_view();
    if (v == NULL)
        return MP_ENOMEM;
    v->s = store;
    v->facts = &v->own_facts;
    v->plen = mp_store_backend_user_prefix(store, v->prefix, user, user_len);
    int rc = store->be->begin(store, false, &v->txn);
    if (rc != MP_OK) {
        free(v);
        return rc;
    }
    rc = read_user_and_mode(v);
    for (int k = 0; k < MP_CODEC_KINDS; k++)
        v->kinds[k] = (struct kind_view){v, (enum mp_codec_kind)k};
    mp_store_view_set_max_postings(v, 0);
    if (rc != MP_OK) {
        mp_store_view_close(v);
        return rc;
    }
    *out = v;
    return MP_OK;
}

const struct mp_usermem *mp_store_view_head(const struct mp_store_view *v)
{
    return v->head;
}

int mp_store_view_conv(struct mp_store_view *v, const unsigned char *key, struct mp_store_conv *out)
{
    return mp_store_conv_read(&v->txn, v->prefix, v->plen, key, out);
}

int mp_store_view_leads(struct mp_store_view *v, const unsigned char *key, uint64_t *leads,
                        size_t *n)
{
    return mp_store_leads_read(&v->txn, v->prefix, v->plen, key, leads, n);
}

enum mp_user_mode mp_store_view_user_mode(const struct mp_store_view *v)
{
    return v->user_mode;
}

void mp_store_view_close(struct mp_store_view *v)
{
    if (v == NULL)
        return;
    v->s->be->end(&v->txn, false);
    mp_view_user_release(v->user);
    mp_view_facts_cleanup(&v->own_facts);
    mp_view_cache_release(v->cached);
    free(v->ranked.e);
    for (size_t i = 0; i < v->cap; i++)
        free(v->cache[i].p);
    free(v->cache);
    free(v);
}

/* ---- facts and messages ---- */

static int whole_facts(struct mp_store_view *v);

/* Fact id, decoded (once per view), into *out; its block text is not
 * written yet. */
static int fact_of(struct mp_store_view *v, uint32_t id, struct mp_mem_entity **out)
{
    unsigned char k[MP_STORE_KEY_MAX];
    struct mp_store_plain pv;
    int rc = whole_facts(v);
    if (rc != MP_OK)
        return rc;
    *out = mp_view_facts_find(v->facts, id);
    if (*out != NULL)
        return MP_OK;
    if (v->cached != NULL)
        return MP_NOTFOUND; /* the user's facts are there whole */
    rc = get_plain(v, MP_TABLE_FACTS, k, key_of(v, k, id, 4), &pv);
    if (rc == MP_OK)
        rc = mp_view_facts_add(v->facts, id, pv.p, pv.n, out);
    mp_store_backend_plain_done(&pv);
    return rc;
}

/* fact_of(), and the fact's block text written: the fact as the view
 * hands it to recall. */
static int offered_fact(struct mp_store_view *v, uint32_t id, struct mp_mem_entity **out)
{
    int rc = fact_of(v, id, out);
    return rc == MP_OK ? mp_view_facts_text(v->facts, *out) : rc;
}

int mp_store_view_fact_ref(struct mp_store_view *v, uint32_t id, const struct mp_mem_entity **out)
{
    struct mp_mem_entity *e = NULL;
    int rc = offered_fact(v, id, &e);
    *out = rc == MP_OK ? e : NULL;
    return rc;
}

int mp_store_view_message(struct mp_store_view *v, uint64_t seq, struct mp_mem_message *out)
{
    unsigned char k[MP_STORE_KEY_MAX];
    struct mp_store_plain pv;
    int rc = get_plain(v, MP_TABLE_ARCHIVE, k, key_of(v, k, seq, 8), &pv);
    if (rc == MP_OK)
        rc = mp_codec_get_message(pv.p, pv.n, out);
    mp_store_backend_plain_done(&pv);
    return rc;
}

struct rank_walk {
    struct mp_store_view *v;
    int (*fn)(void *arg, const struct mp_mem_entity *e);
    void *arg;
    bool stopped; /* fn asked to stop (or failed): the walk did not reach the end */
};

/* ---- the recent order of a small user's facts, read whole ---- */

/* A fact and its place in the recent order (store_facts.h): the fields of
 * its factrank key, then T(key) (in a clear store the key's length, then
 * its bytes). */
struct ranked_fact {
    uint32_t trust_conf;
    uint64_t newer;
    size_t klen;
    struct mp_mem_entity *e;
};

static int ranked_fact_cmp(const struct ranked_fact *a, const struct ranked_fact *b)
{
    if (a->trust_conf != b->trust_conf)
        return a->trust_conf < b->trust_conf ? -1 : 1;
    if (a->newer != b->newer)
        return a->newer < b->newer ? -1 : 1;
    if (a->klen != b->klen)
        return a->klen < b->klen ? -1 : 1;
    return memcmp(a->e->key, b->e->key, a->klen);
}

/* Sorts f[0..n) by ranked_fact_cmp, stable, with tmp of n elements:
 * insertion sort for short runs, merged in pairs (the comparison inlined:
 * qsort's call through a pointer per comparison cost as much as decoding
 * the facts). */
static void sort_ranked(struct ranked_fact *f, struct ranked_fact *tmp, size_t n)
{
    if (n <= 8) {
        for (size_t i = 1; i < n; i++) {
            struct ranked_fact x = f[i];
            size_t j = i;
            for (; j > 0 && ranked_fact_cmp(&x, &f[j - 1]) < 0; j--)
                f[j] = f[j - 1];
            f[j] = x;
        }
        return;
    }
    size_t h = n / 2, i = 0, j = h, k = 0;
    sort_ranked(f, tmp, h);
    sort_ranked(f + h, tmp, n - h);
    if (ranked_fact_cmp(&f[h], &f[h - 1]) >= 0)
        return; /* already in order */
    while (i < h && j < n)
        tmp[k++] = ranked_fact_cmp(&f[j], &f[i]) < 0 ? f[j++] : f[i++];
    while (i < h)
        tmp[k++] = f[i++];
    memcpy(f, tmp, k * sizeof(*f)); /* f[j..n) is in place */
}

struct whole_scan {
    struct mp_store_view *v;
    struct mp_view_cache_entry *entry;
    struct ranked_fact *f;
    size_t n, cap;
};

/* One record of the facts table, stored bytes val[0..vlen): into the
 * entry (decoded, and logged for the next view's check), with its place
 * in the order; its block text is written once the order is known. */
static int on_fact_record(void *arg, const unsigned char *key, size_t klen,
                          const unsigned char *val, size_t vlen)
{
    struct whole_scan *ws = arg;
    struct mp_store_view *v = ws->v;
    struct mp_store_plain pv;
    struct mp_mem_entity *e = NULL;
    uint32_t fid = (uint32_t)mp_codec_be_get(key + v->plen, 4);
    int rc = mp_store_backend_open(v->s, MP_TABLE_FACTS, key, klen, val, vlen, &pv);
    if (rc == MP_OK)
        rc = mp_view_facts_add(mp_view_cache_facts(ws->entry), fid, pv.p, pv.n, &e);
    mp_store_backend_plain_done(&pv);
    if (rc == MP_OK)
        rc = mp_view_cache_add_record(ws->entry, fid, val, vlen);
    if (rc == MP_OK && mp_store_backend_grow(&ws->f, &ws->cap, ws->n, sizeof(*ws->f)) != MP_OK)
        rc = MP_ENOMEM;
    if (rc != MP_OK)
        return rc;
    struct ranked_fact *r = &ws->f[ws->n++];
    mp_facts_rank_fields(e, &r->trust_conf, &r->newer);
    r->klen = strlen(e->key);
    r->e = e;
    return MP_OK;
}

/* The view reads the entry's facts (its reference taken), and its ranked
 * walk is the entry's order, read whole. */
static int borrow(struct mp_store_view *v, struct mp_view_cache_entry *entry)
{
    struct ranked_cache *c = &v->ranked;
    size_t n;
    struct mp_mem_entity *const *order = mp_view_cache_order(entry, &n);
    free(c->e);
    c->e = malloc((n > 0 ? n : 1) * sizeof(*c->e));
    if (c->e == NULL)
        return MP_ENOMEM;
    if (n > 0)
        memcpy(c->e, order, n * sizeof(*c->e));
    c->n = c->cap = n;
    c->done = true;
    v->cached = entry;
    v->facts = mp_view_cache_facts(entry);
    return MP_OK;
}

/* The user's facts stamp as the view read it (codec.h), 0 (none known)
 * from a store whose reads may be partial: a fact scan that missed records
 * must not be kept as the facts of a stamp. */
static uint64_t facts_stamp(const struct mp_store_view *v)
{
    return v->s->be->partial ? 0 : v->meta->facts_stamp;
}

/* Every fact of the user decoded into a new entry, in the recent order
 * (a fact's block text is written when a view first offers it, into the
 * entry, for the views after it too); the entry goes to this thread's
 * cache and the view reads from it. */
static int build_whole(struct mp_store_view *v)
{
    struct mp_view_cache_entry *entry = mp_view_cache_new(v->prefix, v->plen);
    struct whole_scan ws = {v, entry, malloc(v->meta->nfacts * sizeof(*ws.f)), 0, 0};
    ws.cap = ws.f != NULL ? v->meta->nfacts : 0; /* the count the user record keeps: one
                                                  allocation, grown only if it was short */
    int rc = entry != NULL ? MP_OK : MP_ENOMEM;
    if (rc == MP_OK)
        rc = mp_store_backend_scan_stored(&v->txn, MP_TABLE_FACTS, v->prefix, v->plen, v->plen, 4,
                                          on_fact_record, &ws);
    struct ranked_fact *tmp = rc == MP_OK ? malloc((ws.n > 0 ? ws.n : 1) * sizeof(*tmp)) : NULL;
    struct mp_mem_entity **order =
        rc == MP_OK ? malloc((ws.n > 0 ? ws.n : 1) * sizeof(*order)) : NULL;
    if (rc == MP_OK && (tmp == NULL || order == NULL))
        rc = MP_ENOMEM;
    if (rc == MP_OK)
        sort_ranked(ws.f, tmp, ws.n);
    for (size_t i = 0; rc == MP_OK && i < ws.n; i++)
        order[i] = ws.f[i].e;
    if (rc == MP_OK)
        rc = mp_view_cache_set_order(entry, order, ws.n);
    if (rc == MP_OK) {
        mp_view_cache_set_stamp(entry, facts_stamp(v)); /* read in the same snapshot */
        rc = borrow(v, entry);
    }
    free(tmp);
    free(order);
    free(ws.f);
    if (rc != MP_OK) {
        mp_view_cache_release(entry);
        return rc;
    }
    mp_view_cache_put(entry);
    return MP_OK;
}

static int on_check_record(void *arg, const unsigned char *key, size_t klen,
                           const unsigned char *val, size_t vlen)
{
    struct mp_view_cache_check *ck = arg;
    return mp_view_cache_check_record(ck, (uint32_t)mp_codec_be_get(key + klen - 4, 4), val, vlen)
               ? MP_OK
               : MP_STORE_SCAN_STOP;
}

/* A small user's facts (at most VIEW_WHOLE_FACTS_MAX, a clear store),
 * whole, at the view's first want of a fact: this thread's cache entry
 * when the store holds exactly the records it was built from, else built
 * anew (view_cache.h). A bigger user's facts are read as they are wanted. */
static int whole_facts(struct mp_store_view *v)
{
    if (v->whole_tried)
        return MP_OK;
    v->whole_tried = true;
    if (v->meta->nfacts == 0 || v->meta->nfacts > VIEW_WHOLE_FACTS_MAX || v->s->sealed)
        return MP_OK;
    struct mp_view_cache_entry *entry = mp_view_cache_get(v->prefix, v->plen);
    if (entry != NULL) {
        int rc = MP_OK;
        bool same = mp_view_cache_stamped(entry, facts_stamp(v));
        if (!same) {
            struct mp_view_cache_check ck;
            mp_view_cache_check_start(&ck, entry);
            rc = mp_store_backend_scan_stored(&v->txn, MP_TABLE_FACTS, v->prefix, v->plen, v->plen,
                                              4, on_check_record, &ck);
            same = rc == MP_OK && mp_view_cache_check_end(&ck);
            if (same) /* the same records: the ones of this stamp too */
                mp_view_cache_set_stamp(entry, facts_stamp(v));
        }
        if (same && (rc = borrow(v, entry)) == MP_OK)
            return MP_OK;
        mp_view_cache_release(entry); /* changed (built anew below), or a failed read */
        if (rc != MP_OK)
            return rc;
    }
    return build_whole(v);
}

/* ---- the recent order of a big user's facts, through factrank ---- */

/* Reads the fact the factrank record names into the cache, then offers it. */
static int on_rank(void *arg, const unsigned char *key, size_t klen, const unsigned char *val,
                   size_t vlen)
{
    struct rank_walk *rw = arg;
    struct ranked_cache *c = &rw->v->ranked;
    if (klen < rw->v->plen + 4 || klen > MP_STORE_KEY_MAX || vlen != 4)
        return MP_EIO;
    memcpy(c->last, key, klen);
    c->last_len = klen;
    if (mp_store_backend_grow(&c->e, &c->cap, c->n, sizeof(*c->e)) != MP_OK)
        return MP_ENOMEM;
    struct mp_mem_entity *e;
    int rc = offered_fact(rw->v, (uint32_t)mp_codec_le_get(val, 4), &e);
    if (rc == MP_NOTFOUND)
        return MP_OK;
    if (rc != MP_OK)
        return rc;
    c->e[c->n++] = e;
    rc = rw->fn(rw->arg, e);
    rw->stopped = rc != 0;
    return rc > 0 ? MP_STORE_SCAN_STOP : rc;
}

int mp_store_view_ranked_facts(struct mp_store_view *v,
                               int (*fn)(void *arg, const struct mp_mem_entity *e), void *arg)
{
    struct ranked_cache *c = &v->ranked;
    struct rank_walk rw = {v, fn, arg, false};
    const unsigned char *start = v->prefix;
    size_t slen = v->plen;
    int rc;
    if ((rc = whole_facts(v)) != MP_OK)
        return rc;
    for (size_t i = 0; i < c->n; i++) {
        /* a fact's text is written when first offered: a walk that stops
           (the budget spent) leaves the facts after it unwritten */
        if ((rc = mp_view_facts_text(v->facts, c->e[i])) != MP_OK)
            return rc;
        rc = fn(arg, c->e[i]);
        if (rc != 0)
            return rc > 0 ? MP_OK : rc;
    }
    if (v->meta->nfacts == 0 || c->done)
        return MP_OK;
    if (c->last_len > 0) { /* the successor of the last key read */
        c->last[c->last_len] = 0;
        start = c->last;
        slen = c->last_len + 1;
    }
    rc = v->s->be->scan(&v->txn, MP_TABLE_FACTRANK, start, slen, v->plen, on_rank, &rw);
    c->done = rc == MP_OK && !rw.stopped;
    return rc;
}

/* ---- the index ---- */

struct posting_scan {
    struct cached_term *ct;
    size_t cap;
    uint32_t max;   /* read one more than this at most: df above the ceiling is all it needs */
    uint64_t below; /* and only ids below this */
};

static int on_posting(void *arg, const unsigned char *id, const struct mp_store_plain *pv)
{
    struct posting_scan *ps = arg;
    if (pv->n != MP_INDEX_POSTING_LEN && pv->n != MP_INDEX_POSTING_LEN_OLD)
        return MP_EIO;
    if (ps->ct->n > ps->max || mp_codec_be_get(id, 4) >= ps->below)
        return MP_STORE_SCAN_STOP;
    if (mp_store_backend_grow(&ps->ct->p, &ps->cap, ps->ct->n, sizeof(*ps->ct->p)) != MP_OK)
        return MP_ENOMEM;
    return mp_index_posting_decode((uint32_t)mp_codec_be_get(id, 4), pv->p, pv->n,
                                   &ps->ct->p[ps->ct->n++]);
}

static struct cached_term *slot_of(struct cached_term *slots, size_t cap, enum mp_codec_kind kind,
                                   const char *t, size_t len)
{
    size_t i = (size_t)mp_index_term_hash(kind, t, len) & (cap - 1);
    for (;; i = (i + 1) & (cap - 1)) {
        struct cached_term *c = &slots[i];
        if (c->len == 0 || (c->kind == kind && c->len == len && memcmp(c->t, t, len) == 0))
            return c;
    }
}

/* Doubles the table (rehashing every term). MP_OK or MP_ENOMEM. A free
 * slot is len 0 and p NULL (what close frees); the rest of it is written
 * when a term takes it: the slots are not zeroed whole (64 of them are
 * about 8 KB). */
static int grow_cache(struct mp_store_view *v)
{
    size_t cap = v->cap > 0 ? v->cap * 2 : CACHE_START;
    struct cached_term *slots = malloc(cap * sizeof(*slots));
    if (slots == NULL)
        return MP_ENOMEM;
    for (size_t i = 0; i < cap; i++) {
        slots[i].len = 0;
        slots[i].p = NULL;
    }
    for (size_t i = 0; i < v->cap; i++) {
        const struct cached_term *c = &v->cache[i];
        if (c->len > 0)
            *slot_of(slots, cap, c->kind, c->t, c->len) = *c;
    }
    free(v->cache);
    v->cache = slots;
    v->cap = cap;
    return MP_OK;
}

/* No item of kind has an id above this (0: none known). */
static uint32_t kind_last(const struct mp_store_view *v, enum mp_codec_kind kind)
{
    if (kind == MP_CODEC_KIND_FACT) /* ids below next_fact; seqs below next_seq */
        return v->meta->next_fact > 1 ? v->meta->next_fact - 1 : 0;
    return v->head->next_seq > 1 && v->head->next_seq - 1 <= UINT32_MAX
               ? (uint32_t)(v->head->next_seq - 1)
               : 0;
}

/* Appends the postings of (kind, term) with from <= id < below to w->p
 * (w->n grows; *wcap is w->p's room), until w->n is max + 1. */
static int read_postings(struct mp_store_view *v, enum mp_codec_kind kind, const char *t,
                         size_t len, uint32_t from, uint64_t below, uint32_t max,
                         struct cached_term *w, size_t *wcap)
{
    unsigned char k[MP_STORE_KEY_MAX];
    size_t n = mp_index_posting_key(v->s, k, v->prefix, v->plen, kind, t, len, from);
    struct posting_scan ps = {w, *wcap, max, below};
    size_t had = w->n;
    int rc =
        mp_store_backend_scan_plain(&v->txn, MP_TABLE_POSTINGS, k, n, n - 4, 4, on_posting, &ps);
    *wcap = ps.cap;
    v->read += w->n - had;
    return rc;
}

/* The view's work on one sampled term: at most this many samples' worth
 * of postings read past the first sample + 1 (and one past each window),
 * so that a sampled term costs at most five samples' reads
 * (relevance.h: the ceiling). */
#define SAMPLE_READS 4

/* c->p becomes the newest `sample` postings of the sampled term c (ids
 * ascending), in place of the oldest sample + 1 the first read gave, and
 * c->df the estimate of its df. They are read in windows of ids walked
 * down from the kind's last id to the oldest read, each sized from the
 * density seen so far to hold what is still wanted: a window that holds
 * more than twice that is narrowed and read again; the reads stop at
 * SAMPLE_READS samples' worth, keeping the newest of what they read. The
 * estimate is the postings read per id read (the oldest and the newest
 * ranges), over the ids from the oldest posting to the last: exact when
 * the windows met the first read (a word of the past, none said lately). */
static int sample_newest(struct mp_store_view *v, struct cached_term *c, uint32_t last)
{
    uint32_t want = v->sample, first = c->p[0].item, edge = c->p[c->n - 1].item;
    uint64_t seen = c->n, ids = (uint64_t)edge - first + 1; /* for the estimate */
    uint64_t top = (uint64_t)last + 1, budget = (uint64_t)want * SAMPLE_READS;
    uint64_t wide = ids * want / c->n > 0 ? ids * want / c->n : 1;
    struct mp_relevance_posting *out = malloc(want * sizeof(*out));
    struct cached_term w = {.kind = c->kind};
    size_t wcap = 0, at = want; /* out[at..want): the newest, ascending */
    int rc = out != NULL ? MP_OK : MP_ENOMEM;
    while (rc == MP_OK && at > 0 && top > (uint64_t)edge + 1) {
        uint32_t need = (uint32_t)at;
        uint64_t lo = top - ((uint64_t)edge + 1) > wide ? top - wide : (uint64_t)edge + 1;
        uint32_t max = 2 * need < budget ? 2 * need : (uint32_t)budget;
        w.n = 0;
        rc = read_postings(v, c->kind, c->t, c->len, (uint32_t)lo, top, max, &w, &wcap);
        if (rc != MP_OK)
            break;
        budget -= w.n < budget ? w.n : budget;
        bool cut = w.n > max;
        if (cut && budget > 0 && top - lo > 1) { /* too dense: a narrower window */
            uint64_t fit = ((uint64_t)w.p[w.n - 1].item - lo + 1) * need / w.n;
            wide = fit > 0 ? (fit < (top - lo) / 2 ? fit : (top - lo) / 2) : 1;
            continue;
        }
        uint32_t take = w.n < need ? w.n : need;
        if (take > 0) /* w.p is NULL when the window held none */
            memcpy(out + at - take, w.p + (w.n - take), take * sizeof(*out));
        at -= take;
        seen += w.n;
        ids += (cut ? (uint64_t)w.p[w.n - 1].item + 1 : top) - lo;
        if (cut)
            break; /* the reads are spent: the newest of what they read */
        top = lo;
        wide *= 2;
    }
    free(w.p);
    if (rc != MP_OK) {
        free(out);
        return rc;
    }
    if (at > 0 && top == (uint64_t)edge + 1) { /* every window read: the oldest fill it up */
        uint32_t take = c->n < at ? c->n : (uint32_t)at;
        memcpy(out + at - take, c->p + (c->n - take), take * sizeof(*out));
        at -= take;
    }
    uint64_t est = seen * ((uint64_t)last - first + 1) / ids;
    memmove(out, out + at, (want - at) * sizeof(*out));
    free(c->p);
    c->p = out;
    c->n = want - (uint32_t)at;
    c->df = est > want ? (est < UINT32_MAX ? (uint32_t)est : UINT32_MAX) : want + 1;
    c->newest = true;
    return MP_OK;
}

/* The sampled term c, its newest postings read (once). */
static int sampled_read(struct mp_store_view *v, struct cached_term *c)
{
    return c->newest ? MP_OK : sample_newest(v, c, kind_last(v, c->kind));
}

/* The kind's mean content length, as scoring has it (mp_store_view_index). */
static double kind_avglen(const struct mp_store_view *v, enum mp_codec_kind kind)
{
    const struct mp_codec_kind_stats *ks = &v->meta->kinds[kind];
    double avg = ks->ndocs > 0 ? (double)ks->total_len / ks->ndocs : 0.0;
    return avg > 0.0 ? avg : 1.0;
}

/* The heads record of c's term into *r (heads.h; with its entries when
 * `entries`, r->p then the caller's to free): MP_OK, MP_NOTFOUND (*r
 * zeroed), or the store's error. */
static int get_head(struct mp_store_view *v, const struct cached_term *c, bool entries,
                    struct mp_heads_record *r)
{
    unsigned char k[MP_STORE_KEY_MAX];
    struct mp_store_plain pv;
    size_t klen = mp_heads_key(v->s, k, v->prefix, v->plen, c->kind, c->t, c->len);
    int rc = get_plain(v, MP_TABLE_HEADS, k, klen, &pv);
    *r = (struct mp_heads_record){0};
    if (rc == MP_OK)
        rc = entries ? mp_heads_decode(pv.p, pv.n, r) : mp_heads_decode_count(pv.p, pv.n, r);
    mp_store_backend_plain_done(&pv);
    return rc;
}

/* A common term read through its head (heads.h): c->p becomes the
 * MP_HEADS_READ postings of highest impact among the head's entries and
 * its tail (ids ascending), c->df its df, exact. *used false (c as it
 * was) when the term has no head, a head that removals left with fewer
 * than MP_HEADS_READ entries of more (its best are no longer all in it), a
 * tail longer than MP_HEADS_TAIL_MAX, or at most `sample` items hold it:
 * it is read as any other term. */
static int read_head(struct mp_store_view *v, struct cached_term *c, bool *used)
{
    struct mp_heads_record r;
    *used = false;
    c->head_tried = true;
    int rc = get_head(v, c, true, &r);
    if (rc != MP_OK || !r.head || (r.n < MP_HEADS_READ && r.n < r.count)) {
        free(r.p); /* no head, or one removals left short of a read (rebuilt by its next add) */
        return rc == MP_NOTFOUND ? MP_OK : rc;
    }
    struct cached_term w = {.kind = c->kind, .p = r.p, .n = r.n};
    size_t wcap = r.n;
    v->read += r.n;
    if (r.covered < UINT32_MAX)
        rc = read_postings(v, c->kind, c->t, c->len, r.covered + 1, UINT64_MAX,
                           r.n + MP_HEADS_TAIL_MAX, &w, &wcap);
    uint64_t df = (uint64_t)r.count + (w.n - r.n);
    size_t kept = 0;
    if (rc == MP_OK && w.n - r.n <= MP_HEADS_TAIL_MAX && df > v->sample)
        rc = mp_heads_best(w.p, w.n, MP_HEADS_READ, c->kind, kind_avglen(v, c->kind), &kept);
    if (rc != MP_OK || w.n - r.n > MP_HEADS_TAIL_MAX || df <= v->sample) {
        free(w.p);
        return rc;
    }
    free(c->p);
    c->p = w.p;
    c->n = (uint32_t)kept;
    c->df = df < UINT32_MAX ? (uint32_t)df : UINT32_MAX;
    c->cut = c->sampled = c->newest = *used = true;
    return MP_OK;
}

/* Reads c's postings on from after the last one read (read short
 * before), up to cap + 1 of them in all; c->cut: more than cap items hold
 * it. MP_OK or the store's error (c->cut then stays set: a later read goes
 * on from what it has). */
static int read_on(struct mp_store_view *v, struct cached_term *c, uint32_t cap)
{
    bool more = c->n > 0;
    if (more && c->p[c->n - 1].item == UINT32_MAX) {
        c->cut = false; /* no id comes after it */
        return MP_OK;
    }
    uint32_t from = more ? c->p[c->n - 1].item + 1 : 0;
    size_t room = c->n;
    c->cut = true; /* until the read ends well */
    int rc = read_postings(v, c->kind, c->t, c->len, from, UINT64_MAX, cap, c, &room);
    if (rc == MP_OK)
        c->cut = c->n > cap;
    return rc;
}

/* c->at_least = the count of c's head (heads.h: the df of the ids it
 * covers, so at least that many items hold the term), 0 without one: one
 * record read, its entries not decoded. */
static int head_count(struct mp_store_view *v, struct cached_term *c)
{
    struct mp_heads_record r;
    c->counted = true;
    int rc = get_head(v, c, false, &r);
    if (rc == MP_OK && r.head)
        c->at_least = r.count;
    return rc == MP_NOTFOUND ? MP_OK : rc;
}

/* Whether c's head's count (head_count) says more than cap items hold its
 * term where its postings read so far do not. */
static bool head_says_more(const struct cached_term *c, uint32_t cap)
{
    return c->n <= cap && c->at_least > cap;
}

/* The postings of (kind, term), read once per view (any number of terms)
 * up to cap + 1 of them (cap at most the ceiling): a term read short of a
 * bigger cap goes on after the last posting read, never from its start
 * again. NULL when out of memory or the read failed (*rc says which). */
static struct cached_term *term_postings(struct mp_store_view *v, enum mp_codec_kind kind,
                                         const char *t, size_t len, uint32_t cap, int *rc)
{
    static struct cached_term none;
    *rc = MP_OK;
    if (len == 0 || len > MP_TERMS_MAX)
        return &none;
    /* most question words are in no item: a few bit tests, no lookup */
    if (v->meta->filtered && !mp_termfilter_may_hold(&v->meta->filter, kind, t, len))
        return &none;
    if ((v->ncache + 1) * 2 > v->cap && (*rc = grow_cache(v)) != MP_OK)
        return NULL;
    struct cached_term *c = slot_of(v->cache, v->cap, kind, t, len);
    if (cap > v->max_postings)
        cap = v->max_postings;
    bool sampling = v->sample > 0 && cap >= v->sample;
    if (sampling)
        cap = v->sample; /* more than that: the term is sampled */
    if (c->len > 0 && (c->sampled || !c->cut || c->n > cap))
        return c;
    if (c->len == 0) {
        *c = (struct cached_term){.kind = kind, .len = len};
        memcpy(c->t, t, len);
        v->ncache++;
    }
    if (!sampling && cap >= MP_HEADS_COUNT_AT && !c->counted &&
        v->meta->kinds[kind].ndocs > v->sample) {
        /* a term many items may hold: its first postings, then, when more
           items hold it, its head's count, which may answer for the rest */
        c->counted = true;
        if (c->n < MP_HEADS_COUNT_AT && (*rc = read_on(v, c, MP_HEADS_COUNT_AT - 1)) != MP_OK)
            return NULL;
        if (!c->cut)
            return c; /* read whole */
        if ((*rc = head_count(v, c)) != MP_OK)
            return NULL;
    }
    if (!sampling && head_says_more(c, cap))
        return c; /* all a df_upto asks */
    if (sampling && !c->head_tried && v->meta->kinds[kind].ndocs > v->sample) {
        bool used; /* a term more items may hold than the sample: its head, if it has one */
        if ((*rc = read_head(v, c, &used)) != MP_OK)
            return NULL;
        if (used)
            return c;
    }
    if ((*rc = read_on(v, c, cap)) != MP_OK)
        return NULL;
    if (sampling && c->cut && kind_last(v, kind) > c->p[c->n - 1].item)
        c->sampled = true; /* its newest are read when its df or postings are asked for */
    return c;
}

static uint32_t ix_df_upto(void *ctx, const char *term, size_t len, uint32_t cap)
{
    struct kind_view *kv = ctx;
    int rc;
    struct cached_term *c = term_postings(kv->v, kv->kind, term, len, cap, &rc);
    if (c != NULL && !c->sampled && head_says_more(c, cap))
        return cap + 1;
    if (c == NULL || !c->sampled)
        return c != NULL ? c->n : 0;
    if (cap <= kv->v->sample) /* more than cap: all it asks */
        return kv->v->sample + 1;
    return sampled_read(kv->v, c) == MP_OK ? c->df : 0;
}

static uint32_t ix_df(void *ctx, const char *term, size_t len)
{
    return ix_df_upto(ctx, term, len, UINT32_MAX);
}

static int ix_postings(void *ctx, const char *term, size_t len, mp_relevance_posting_fn fn,
                       void *arg)
{
    struct kind_view *kv = ctx;
    int rc;
    struct cached_term *c = term_postings(kv->v, kv->kind, term, len, UINT32_MAX, &rc);
    if (c != NULL && c->sampled && (rc = sampled_read(kv->v, c)) != MP_OK)
        c = NULL;
    /* the array, not the slot: a lookup fn makes may move the slots */
    const struct mp_relevance_posting *p = c != NULL ? c->p : NULL;
    uint32_t n = c != NULL ? c->n : 0;
    for (uint32_t i = 0; rc == MP_OK && i < n; i++)
        rc = fn(arg, &p[i]);
    return rc;
}

/* The doc record of (kind, id). */
static int get_doc(struct kind_view *kv, uint32_t id, enum mp_store_table t,
                   struct mp_store_plain *pv)
{
    unsigned char k[MP_STORE_KEY_MAX];
    size_t n = mp_index_doc_key(k, kv->v->prefix, kv->v->plen, kv->kind, id);
    return get_plain(kv->v, t, k, n, pv);
}

/* What memblock writes for the item (recall.h: packing orders by it, the
 * fit is measured exactly): "(as of 2023-05-08) key: value" or
 * "(2023-05-08, assistant) text" and a separator when it writes its day,
 * about the text's bytes and 20 more (an item of a day already written
 * costs less: the estimate keeps the order that of the text's length). */
static uint32_t item_tokens(uint32_t bytes)
{
    return mp_memblock_estimate_tokens((size_t)bytes + 20);
}

static void item_of(const struct mp_codec_doc *d, struct mp_relevance_item *out)
{
    out->len = d->len;
    out->session = d->session;
    out->tokens = item_tokens(d->bytes);
    out->timex = d->timex;
}

static int ix_item(void *ctx, uint32_t id, struct mp_relevance_item *out)
{
    struct kind_view *kv = ctx;
    struct mp_store_plain pv;
    struct mp_codec_doc d;
    int rc = get_doc(kv, id, MP_TABLE_DOCS, &pv);
    if (rc == MP_OK)
        rc = mp_codec_get_doc(pv.p, pv.n, &d);
    mp_store_backend_plain_done(&pv);
    if (rc != MP_OK)
        return rc;
    item_of(&d, out);
    return MP_OK;
}

struct range_scan {
    uint32_t hi;
    mp_relevance_item_fn fn;
    void *arg;
};

static int on_doc(void *arg, const unsigned char *key, const struct mp_store_plain *pv)
{
    struct range_scan *rs = arg;
    struct mp_codec_doc d;
    struct mp_relevance_item it;
    uint32_t id = (uint32_t)mp_codec_be_get(key, 4);
    if (id > rs->hi)
        return MP_STORE_SCAN_STOP;
    int rc = mp_codec_get_doc(pv->p, pv->n, &d);
    if (rc != MP_OK)
        return rc;
    item_of(&d, &it);
    rc = rs->fn(rs->arg, id, &it);
    return rc == MP_OK && id == rs->hi ? MP_STORE_SCAN_STOP : rc;
}

/* The docs with lo <= id <= hi: one range of the docs table. */
static int ix_items(void *ctx, uint32_t lo, uint32_t hi, mp_relevance_item_fn fn, void *arg)
{
    struct kind_view *kv = ctx;
    unsigned char k[MP_STORE_KEY_MAX];
    size_t n = mp_index_doc_key(k, kv->v->prefix, kv->v->plen, kv->kind, lo);
    struct range_scan rs = {hi, fn, arg};
    return mp_store_backend_scan_plain(&kv->v->txn, MP_TABLE_DOCS, k, n, n - 4, 4, on_doc, &rs);
}

struct content_terms {
    mp_relevance_term_fn fn;
    void *arg;
};

static int on_content_term(void *arg, const char *term, const struct mp_codec_term *t)
{
    struct content_terms *ct = arg;
    return t->tc > 0 ? ct->fn(ct->arg, term, t->len, t->tc) : MP_OK;
}

/* The item's content terms, walked in its dterms record (no copies). */
static int ix_item_terms(void *ctx, uint32_t id, mp_relevance_term_fn fn, void *arg)
{
    struct kind_view *kv = ctx;
    struct mp_store_plain pv;
    struct content_terms ct = {fn, arg};
    int rc = get_doc(kv, id, MP_TABLE_DTERMS, &pv);
    if (rc == MP_OK)
        rc = mp_codec_each_term(pv.p, pv.n, on_content_term, &ct);
    mp_store_backend_plain_done(&pv);
    return rc;
}

static void ix_work(void *ctx, uint32_t postings, bool capped)
{
    struct kind_view *kv = ctx;
    kv->v->scored += postings;
    kv->v->capped += capped;
}

void mp_store_view_set_max_postings(struct mp_store_view *v, uint32_t max)
{
    v->max_postings = max > 0 ? max : MP_RELEVANCE_MAX_POSTINGS;
    uint32_t half = v->max_postings > 1 ? v->max_postings / 2 : 1;
    v->sample = half < MP_RELEVANCE_SAMPLE ? half : MP_RELEVANCE_SAMPLE;
}

uint64_t mp_store_view_postings_read(const struct mp_store_view *v)
{
    return v->read;
}

void mp_store_view_work(const struct mp_store_view *v, uint64_t *scored, unsigned *capped)
{
    *scored = v->scored;
    *capped = v->capped;
}

void mp_store_view_index(struct mp_store_view *v, bool facts, struct mp_relevance_index *out)
{
    enum mp_codec_kind kind = facts ? MP_CODEC_KIND_FACT : MP_CODEC_KIND_MESSAGE;
    const struct mp_codec_kind_stats *ks = &v->meta->kinds[kind];
    memset(out, 0, sizeof(*out));
    out->ctx = &v->kinds[kind];
    out->n = ks->ndocs;
    out->avglen = ks->ndocs > 0 ? (double)ks->total_len / ks->ndocs : 0.0;
    if (out->avglen <= 0.0 && ks->ndocs > 0)
        out->avglen = 1.0;
    out->df = ix_df;
    out->df_upto = ix_df_upto;
    out->postings = ix_postings;
    out->items = ix_items;
    out->item = ix_item;
    out->item_terms = ix_item_terms;
    out->surface = NULL;
    out->max_postings = v->max_postings;
    out->sample = v->sample;
    out->work = ix_work;
    out->last = kind_last(v, kind);
}

/* ---- the recall source ---- */

static int src_ranked(void *ctx, int (*fn)(void *arg, const struct mp_mem_entity *e), void *arg)
{
    return mp_store_view_ranked_facts(ctx, fn, arg);
}

static int src_fact(void *ctx, uint32_t id, const struct mp_mem_entity **out)
{
    return mp_store_view_fact_ref(ctx, id, out);
}

static int src_message(void *ctx, uint32_t id, struct mp_mem_message *out)
{
    return mp_store_view_message(ctx, id, out);
}

void mp_store_view_source(struct mp_store_view *v, struct mp_recall_source *src,
                          struct mp_relevance_index ix[2])
{
    mp_store_view_index(v, true, &ix[0]);
    mp_store_view_index(v, false, &ix[1]);
    memset(src, 0, sizeof(*src));
    src->ctx = v;
    src->ranked_facts = src_ranked;
    src->facts = ix[0].n > 0 ? &ix[0] : NULL;
    src->turns = ix[1].n > 0 ? &ix[1] : NULL;
    src->fact = src_fact;
    src->message = src_message;
    src->lang = mp_view_user_lang(v->user, &src->langs); /* the user record's tally: no read */
}

/* ---- a page of the archive ---- */

struct page_scan {
    size_t limit;
    struct mp_mem_message *m;
    size_t n, cap;
    bool more;
};

static int on_message(void *arg, const unsigned char *id, const struct mp_store_plain *pv)
{
    struct page_scan *ps = arg;
    (void)id;
    if (ps->n == ps->limit) {
        ps->more = true;
        return MP_STORE_SCAN_STOP;
    }
    if (mp_store_backend_grow(&ps->m, &ps->cap, ps->n, sizeof(*ps->m)) != MP_OK)
        return MP_ENOMEM;
    int rc = mp_codec_get_message(pv->p, pv->n, &ps->m[ps->n]);
    if (rc == MP_OK)
        ps->n++;
    return rc;
}

int mp_store_archive(struct mp_store *store, const char *user, size_t user_len, uint64_t after,
                     size_t limit, struct mp_mem_message **out, size_t *n, bool *more)
{
    struct mp_store_view *v;
    unsigned char k[MP_STORE_KEY_MAX];
    if (limit == 0)
        return MP_EINVAL;
    int rc = mp_store_view_open(store, user, user_len, &v);
    if (rc != MP_OK)
        return rc;
    struct page_scan ps = {limit, NULL, 0, 0, false};
    size_t klen = key_of(v, k, after < UINT64_MAX ? after + 1 : after, 8);
    rc = mp_store_backend_scan_plain(&v->txn, MP_TABLE_ARCHIVE, k, klen, v->plen, 8, on_message,
                                     &ps);
    mp_store_view_close(v);
    if (rc != MP_OK) {
        mp_store_messages_free(ps.m, ps.n);
        return rc;
    }
    *out = ps.m;
    *n = ps.n;
    *more = ps.more;
    return MP_OK;
}

void mp_store_messages_free(struct mp_mem_message *m, size_t n)
{
    for (size_t i = 0; i < n && m != NULL; i++)
        free(m[i].content);
    free(m);
}
