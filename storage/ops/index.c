/* The per-user inverted index: an item's terms collected, sorted and
 * merged, then one doc record, one terms record and one posting per term
 * (index.h). Removal reads the terms record back, so it needs no text. */
#include "ops/index.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fnv1a.h"
#include "ops/heads.h"
#include "recall/lang.h"
#include "recall/relevance.h"
#include "status.h"
#include "format/termfilter.h"
#include "recall/terms.h"

#define LABEL_MAX       40
#define LABEL_WORDS_MAX 3

_Static_assert(MP_INDEX_TERMS_MAX >= (MP_MESSAGE_CONTENT_MAX + 1) / 2 + 2,
               "every word of the longest message is indexed");
_Static_assert(MP_INDEX_TERMS_MAX >= MP_ENTITY_VALUE_MAX + MP_ENTITY_KEY_MAX + 2,
               "every word of the longest fact is indexed");

/* A word of the item met before, in one field: its term's place in
 * collect.t, so that the word met again adds to that term's counts in
 * place (merge() then sorts the item's distinct terms, not every word of
 * it) and is not looked at again as a time expression. */
struct seen {
    uint8_t wlen, field;
    uint32_t entry; /* 1 + the index of its term in collect.t; 0: none (a stop word) */
    char w[MP_TERMS_MAX];
};

/* The table of words met: open addressing over seen[], at most SEEN_PROBE
 * slots from a word's own. The words are the client's: a word that finds
 * no slot there, or a table half full, is only not remembered (it takes
 * the path of a word met once), so that colliding words cost a bounded
 * probe each. */
#define SEEN_PROBE     8
#define SEEN_SLOTS_MIN 64
#define SEEN_SLOTS_MAX 8192

struct collect {
    struct mp_codec_term *t;
    size_t n, cap;
    int field; /* 0 content, 1 key, 2 search keys */
    uint32_t len;
    bool timex; /* a word of the content is a time expression (mp_relevance_timex_word) */
    struct seen *seen;
    size_t nseen, seen_cap;
    uint32_t *slot; /* 1 + an index in seen; 0: free. NULL: no table (words not remembered) */
    size_t nslots;  /* a power of two */
};

/* The length of the speaker label at the start of text (0: none; index.h)
 * and the offset where the content after "label: " starts. */
static size_t label_of(const char *text, size_t len, size_t *content_at)
{
    size_t words = 0, i = 0;
    bool in_word = false;
    *content_at = 0;
    for (; i < len && i <= LABEL_MAX; i++) {
        unsigned char c = (unsigned char)text[i];
        if (c == ':')
            break;
        if (c == '\n' || c == '\r' || c == '\t' || c == '"' || c == '(' || c == ')')
            return 0;
        bool space = c == ' ';
        if (!space && !in_word)
            words++;
        in_word = !space;
    }
    if (i == 0 || i >= len || i > LABEL_MAX || text[i] != ':' || words == 0 ||
        words > LABEL_WORDS_MAX || text[0] == ' ' || text[i - 1] == ' ' || i + 1 >= len ||
        text[i + 1] != ' ')
        return 0;
    *content_at = i + 2;
    return i;
}

size_t mp_index_doc_key(unsigned char *k, const unsigned char *prefix, size_t plen,
                        enum mp_codec_kind kind, uint32_t id)
{
    memcpy(k, prefix, plen);
    k[plen] = (unsigned char)kind;
    mp_codec_be_put(k + plen + 1, id, 4);
    return plen + 5;
}

size_t mp_index_posting_key(const struct mp_store *s, unsigned char *k, const unsigned char *prefix,
                            size_t plen, enum mp_codec_kind kind, const char *term, size_t tlen,
                            uint32_t id)
{
    unsigned char x[1 + MP_TERMS_MAX];
    x[0] = (unsigned char)kind;
    memcpy(x + 1, term, tlen);
    memcpy(k, prefix, plen);
    size_t n = plen + mp_store_backend_tag(s, x, 1 + tlen, k + plen);
    mp_codec_be_put(k + n, id, 4);
    return n + 4;
}

/* The counts one occurrence of a term in field (td: the date flag) adds. */
static void counts_of(struct mp_codec_term *r, int field, uint8_t td)
{
    r->tc = field == 0 && td == 0;
    r->tk = field == 1;
    r->td = field == 2 ? MP_INDEX_TD_KEY : td;
}

static uint16_t sat16(uint32_t v)
{
    return v > UINT16_MAX ? UINT16_MAX : (uint16_t)v;
}

/* b's counts added to a's (the same term): the sums saturate, so the
 * order of the additions does not matter. A td of 0 (a word of the
 * content or the key) leaves a's as it is. */
static void fold(struct mp_codec_term *a, const struct mp_codec_term *b)
{
    a->tc = sat16((uint32_t)a->tc + b->tc);
    a->tk = sat16((uint32_t)a->tk + b->tk);
    if (b->td != 0)
        a->td = mp_index_td_merge(a->td, b->td);
}

static int add_term(struct collect *c, const char *t, size_t len, int field, uint8_t td)
{
    if (len == 0 || len > MP_TERMS_MAX)
        return MP_OK;
    if (c->n == c->cap) {
        if (c->cap >= MP_INDEX_TERMS_MAX * 4)
            return MP_OK; /* never reached: see MP_INDEX_TERMS_MAX */
        if (mp_store_backend_grow(&c->t, &c->cap, c->n, sizeof(*c->t)) != MP_OK)
            return MP_ENOMEM;
    }
    struct mp_codec_term *r = &c->t[c->n++];
    memset(r, 0, sizeof(*r));
    memcpy(r->t, t, len);
    r->len = (uint8_t)len;
    counts_of(r, field, td);
    return MP_OK;
}

/* The table of words met, for a walk over text of len bytes (a word takes
 * two bytes at least, most take five or more). Without memory, none. */
static void seen_init(struct collect *c, size_t len)
{
    size_t want = 2 * (len / 4 + 16), n = SEEN_SLOTS_MIN;
    while (n < want && n < SEEN_SLOTS_MAX)
        n *= 2;
    c->slot = calloc(n, sizeof(*c->slot));
    c->nslots = c->slot != NULL ? n : 0;
}

/* The word[0..n) of the current field as met before, or, *fresh, as
 * remembered now (entry 0); NULL when it is not remembered (no table, a
 * word too long, no slot within the probe, a table half full, no
 * memory). */
static struct seen *seen_find(struct collect *c, const char *w, size_t n, bool *fresh)
{
    *fresh = false;
    if (c->slot == NULL || n > MP_TERMS_MAX)
        return NULL;
    size_t mask = c->nslots - 1;
    size_t at = mp_fnv1a32(MP_FNV1A32_BASIS ^ (uint32_t)c->field, w, n) & mask;
    for (int k = 0; k < SEEN_PROBE; k++, at = (at + 1) & mask) {
        struct seen *e = c->slot[at] > 0 ? &c->seen[c->slot[at] - 1] : NULL;
        if (e != NULL && e->wlen == n && e->field == c->field && memcmp(e->w, w, n) == 0)
            return e;
        if (e != NULL)
            continue;
        if (c->nseen >= c->nslots / 2 ||
            mp_store_backend_grow(&c->seen, &c->seen_cap, c->nseen, sizeof(*c->seen)) != MP_OK)
            return NULL;
        e = &c->seen[c->nseen++];
        e->wlen = (uint8_t)n;
        e->field = (uint8_t)c->field;
        e->entry = 0;
        memcpy(e->w, w, n);
        c->slot[at] = (uint32_t)c->nseen;
        *fresh = true;
        return e;
    }
    return NULL;
}

static void collect_cleanup(struct collect *c)
{
    free(c->t);
    free(c->seen);
    free(c->slot);
}

/* Whether e's term in c->t is term[0..len) (a word's term is the same
 * every time but for a Han word, whose language its run decides). */
static bool seen_term_is(const struct collect *c, const struct seen *e, const char *term,
                         size_t len)
{
    const struct mp_codec_term *r = e->entry > 0 ? &c->t[e->entry - 1] : NULL;
    return r != NULL && r->len == len && memcmp(r->t, term, len) == 0;
}

static int on_word(void *arg, const char *word, size_t wlen, const char *term, size_t len,
                   uint32_t pos)
{
    struct collect *c = arg;
    bool fresh;
    struct seen *e = seen_find(c, word, wlen, &fresh);
    (void)pos;
    if (c->field == 0 && !c->timex && (e == NULL || fresh)) /* a word met again was checked */
        c->timex = mp_relevance_timex_word(word, wlen);
    if (term == NULL)
        return MP_OK;
    if (c->field == 0)
        c->len++;
    if (e != NULL && seen_term_is(c, e, term, len)) {
        struct mp_codec_term once;
        counts_of(&once, c->field, 0);
        fold(&c->t[e->entry - 1], &once);
        return MP_OK;
    }
    size_t had = c->n;
    int rc = add_term(c, term, len, c->field, 0);
    if (e != NULL && c->n > had)
        e->entry = (uint32_t)c->n;
    return rc;
}

static int cmp_term(const void *a, const void *b)
{
    const struct mp_codec_term *x = a, *y = b;
    size_t n = x->len < y->len ? x->len : y->len;
    int d = memcmp(x->t, y->t, n);
    return d != 0 ? d : (int)x->len - (int)y->len;
}

static int cmp_term_ref(const void *a, const void *b)
{
    return cmp_term(*(const struct mp_codec_term *const *)a,
                    *(const struct mp_codec_term *const *)b);
}

/* Sorts and merges equal terms, adding their counts (fold()). A word met
 * again was added to its term in place (on_word), so the sort sees about
 * one term per distinct word; it moves pointers, not the 72-byte terms. */
static void merge(struct collect *c)
{
    size_t k = 0;
    if (c->n == 0)
        return;
    const struct mp_codec_term **ref = malloc(c->n * sizeof(*ref));
    struct mp_codec_term *out = malloc(c->n * sizeof(*out));
    if (ref == NULL || out == NULL) { /* sorted in place instead */
        free(ref);
        free(out);
        qsort(c->t, c->n, sizeof(*c->t), cmp_term);
        for (size_t i = 1; i < c->n; i++) {
            struct mp_codec_term *a = &c->t[k], *b = &c->t[i];
            if (cmp_term(a, b) == 0) {
                fold(a, b);
                continue;
            }
            c->t[++k] = *b;
        }
    } else {
        for (size_t i = 0; i < c->n; i++)
            ref[i] = &c->t[i];
        qsort(ref, c->n, sizeof(*ref), cmp_term_ref);
        out[0] = *ref[0];
        for (size_t i = 1; i < c->n; i++) {
            struct mp_codec_term *a = &out[k];
            const struct mp_codec_term *b = ref[i];
            if (cmp_term(a, b) == 0) {
                fold(a, b);
                continue;
            }
            out[++k] = *b;
        }
        free(ref);
        free(c->t);
        c->t = out;
        c->cap = c->n; /* what out holds */
    }
    c->n = k + 1;
    if (c->n > MP_INDEX_TERMS_MAX)
        c->n = MP_INDEX_TERMS_MAX;
}

static int collect_terms(struct mp_terms *terms, const struct mp_index_item *it, struct collect *c,
                         bool *timex)
{
    const char *content = it->text, *key = it->key;
    size_t clen = it->text_len, klen = key != NULL ? strlen(key) : 0, at = 0;
    if (it->kind == MP_CODEC_KIND_MESSAGE) {
        klen = label_of(it->text, it->text_len, &at);
        key = klen > 0 ? it->text : NULL;
        content += at;
        clen -= at;
    }
    int lang = it->lang != 0 ? it->lang : MP_LANG_AUTO;
    if (lang == MP_LANG_AUTO && it->kind == MP_CODEC_KIND_FACT)
        lang = mp_lang_detect(content, clen); /* the value's, for its key too */
    seen_init(c, clen + klen);
    int rc = mp_terms_each_word_lang(terms, content, clen, lang, on_word, c);
    c->field = 1;
    if (rc == MP_OK && klen > 0)
        rc = mp_terms_each_word_lang(terms, key, klen, lang, on_word, c);
    *timex = c->timex; /* the content's walk looked (as mp_relevance_timex() would) */
    time_t secs = (time_t)(it->at_ms / 1000);
    struct tm tm;
    char mon[MP_RELEVANCE_DATE_MAX], yr[MP_RELEVANCE_DATE_MAX];
    if (rc == MP_OK && it->at_ms > 0 && gmtime_r(&secs, &tm) != NULL &&
        mp_relevance_date_terms((unsigned)tm.tm_year + 1900, (unsigned)tm.tm_mon + 1, mon, yr) ==
            MP_OK) {
        rc = add_term(c, mon, strlen(mon), 0, 1);
        if (rc == MP_OK)
            rc = add_term(c, yr, strlen(yr), 0, 1);
    }
    if (rc == MP_OK)
        merge(c);
    return rc;
}

/* Puts the item's posting of term t, and keeps the term's head
 * (heads.h): a new item's add is sampled; a rewrite of an indexed item's
 * postings (rewrite) tells the head what changed. */
static int put_posting(struct mp_store_txn *txn, const unsigned char *prefix, size_t plen,
                       const struct mp_codec_user *meta, const struct mp_index_item *it,
                       const struct mp_codec_term *t, uint32_t doc_len, bool rewrite)
{
    struct mp_store *s = txn->store;
    unsigned char k[MP_STORE_KEY_MAX], v[MP_INDEX_POSTING_LEN];
    const unsigned char *had;
    size_t hadn;
    size_t n = mp_index_posting_key(s, k, prefix, plen, it->kind, t->t, t->len, it->id);
    mp_codec_le_put(v, t->tc, 2);
    mp_codec_le_put(v + 2, t->tk, 2);
    v[4] = t->td;
    mp_codec_le_put(v + 5, doc_len, 4);
    int rc = rewrite ? s->be->get(txn, MP_TABLE_POSTINGS, k, n, &had, &hadn) : MP_OK;
    bool was_held = rewrite && rc == MP_OK;
    if (rc == MP_OK || rc == MP_NOTFOUND)
        rc = mp_store_backend_put(txn, MP_TABLE_POSTINGS, k, n, v, sizeof(v));
    if (rc != MP_OK)
        return rc;
    if (rewrite) {
        struct mp_relevance_posting now;
        mp_index_posting_decode(it->id, v, sizeof(v), &now);
        return mp_heads_on_rewrite(txn, prefix, plen, meta, it->kind, t->t, t->len, &now, was_held);
    }
    return mp_heads_sampled(s, it->kind, t->t, t->len, it->id)
               ? mp_heads_on_add(txn, prefix, plen, meta, it->kind, t->t, t->len, it->id)
               : MP_OK;
}

uint64_t mp_index_term_hash(enum mp_codec_kind kind, const char *term, size_t len)
{
    /* not FNV's own basis (a digit short), as it always was: a view's
       term cache and the snapshot store's derived postings share it */
    return mp_fnv1a64(1469598103934665603ULL ^ (uint64_t)kind, term, len);
}

int mp_index_posting_decode(uint32_t id, const unsigned char *v, size_t n,
                            struct mp_relevance_posting *out)
{
    if (n != MP_INDEX_POSTING_LEN && n != MP_INDEX_POSTING_LEN_OLD)
        return MP_EIO;
    out->item = id;
    out->tc = (uint32_t)mp_codec_le_get(v, 2);
    out->tk = (uint32_t)mp_codec_le_get(v + 2, 2);
    out->td = v[4] & 1u; /* the date flag; the search keys above it */
    out->ts = (uint32_t)(v[4] >> 1);
    out->has_len = n == MP_INDEX_POSTING_LEN;
    out->len = out->has_len ? (uint32_t)mp_codec_le_get(v + 5, 4) : 0;
    return MP_OK;
}

static int put_encoded(struct mp_store_txn *txn, enum mp_store_table t, const unsigned char *k,
                       size_t klen, unsigned char *buf, size_t n)
{
    if (buf == NULL)
        return MP_ENOMEM;
    int rc = mp_store_backend_put(txn, t, k, klen, buf, n);
    free(buf);
    return rc;
}

static void next_session(struct mp_codec_kind_stats *ks, int64_t at_ms, struct mp_codec_doc *doc)
{
    int64_t gap = at_ms - ks->last_at_ms;
    if (ks->ndocs == 0 || gap > MP_INDEX_SESSION_GAP_MS || gap < -MP_INDEX_SESSION_GAP_MS)
        ks->session++;
    ks->last_at_ms = at_ms;
    doc->session = ks->session;
}

/* The item's terms c: a posting each (and the term filter), then its
 * terms record under k[0..klen). doc_len: the item's content length. */
static int put_terms(struct mp_store_txn *txn, const unsigned char *prefix, size_t plen,
                     struct mp_codec_user *meta, const struct mp_index_item *it,
                     const struct collect *c, const unsigned char *k, size_t klen, uint32_t doc_len,
                     bool rewrite)
{
    int rc = MP_OK;
    for (size_t i = 0; rc == MP_OK && i < c->n; i++) {
        mp_termfilter_add(&meta->filter, it->kind, c->t[i].t, c->t[i].len);
        rc = put_posting(txn, prefix, plen, meta, it, &c->t[i], doc_len, rewrite);
    }
    if (rc != MP_OK)
        return rc;
    size_t n = mp_codec_put_terms(NULL, c->t, c->n);
    unsigned char *buf = malloc(n);
    if (buf != NULL)
        mp_codec_put_terms(buf, c->t, c->n);
    return put_encoded(txn, MP_TABLE_DTERMS, k, klen, buf, n);
}

int mp_index_add(struct mp_store_txn *txn, const unsigned char *prefix, size_t plen,
                 struct mp_codec_user *meta, const struct mp_index_item *it)
{
    struct mp_store *s = txn->store;
    struct collect c = {.field = 0};
    struct mp_codec_doc doc = {0};
    unsigned char k[MP_STORE_KEY_MAX];
    if (s->terms == NULL && mp_terms_new(&s->terms) != MP_OK)
        return MP_ENOMEM;
    int rc = collect_terms(s->terms, it, &c, &doc.timex);
    struct mp_codec_kind_stats *ks = &meta->kinds[it->kind];
    doc.len = c.len;
    doc.bytes = (uint32_t)(it->text_len + (it->key != NULL ? strlen(it->key) : 0));
    doc.at_ms = it->at_ms;
    size_t klen = mp_index_doc_key(k, prefix, plen, it->kind, it->id);
    if (rc == MP_OK)
        rc = put_terms(txn, prefix, plen, meta, it, &c, k, klen, doc.len, false);
    if (rc == MP_OK) {
        next_session(ks, it->at_ms, &doc);
        unsigned char buf[64];
        rc = mp_store_backend_put(txn, MP_TABLE_DOCS, k, klen, buf, mp_codec_put_doc(buf, &doc));
    }
    if (rc == MP_OK) {
        ks->ndocs++;
        ks->total_len += doc.len;
    }
    collect_cleanup(&c);
    return rc;
}

uint8_t mp_index_td_merge(uint8_t a, uint8_t b)
{
    unsigned keys = (unsigned)(a >> 1) + (unsigned)(b >> 1);
    return (uint8_t)(((a | b) & 1) | (keys > 127 ? 127 : keys) << 1);
}

int mp_index_add_keys(struct mp_store_txn *txn, const unsigned char *prefix, size_t plen,
                      struct mp_codec_user *meta, enum mp_codec_kind kind, uint32_t id, int lang,
                      const char *keys, size_t len)
{
    struct mp_store *s = txn->store;
    struct collect c = {.field = 2};
    struct mp_store_plain pv;
    struct mp_codec_term *had = NULL;
    struct mp_codec_doc doc;
    size_t nhad = 0;
    unsigned char k[MP_STORE_KEY_MAX];
    size_t klen = mp_index_doc_key(k, prefix, plen, kind, id);
    if (s->terms == NULL && mp_terms_new(&s->terms) != MP_OK)
        return MP_ENOMEM;
    int rc = mp_store_backend_get_plain(txn, MP_TABLE_DOCS, k, klen, &pv);
    if (rc == MP_OK)
        rc = mp_codec_get_doc(pv.p, pv.n, &doc);
    mp_store_backend_plain_done(&pv);
    if (rc == MP_OK)
        rc = mp_store_backend_get_plain(txn, MP_TABLE_DTERMS, k, klen, &pv);
    if (rc == MP_OK)
        rc = mp_codec_get_terms(pv.p, pv.n, &had, &nhad);
    mp_store_backend_plain_done(&pv);
    c.t = had; /* the item's own terms, then the keys' (merged) */
    c.n = c.cap = nhad;
    if (rc == MP_OK && nhad + MP_INDEX_KEY_TERMS_MAX > MP_INDEX_TERMS_MAX)
        rc = MP_NOTFOUND; /* no room: merge() would drop terms whose postings stay */
    if (rc == MP_OK) {
        seen_init(&c, len);
        rc = mp_terms_each_word_lang(s->terms, keys, len, lang != 0 ? lang : MP_LANG_AUTO, on_word,
                                     &c);
    }
    if (rc == MP_OK)
        merge(&c);
    struct mp_index_item it = {.kind = kind, .id = id};
    if (rc == MP_OK)
        rc = put_terms(txn, prefix, plen, meta, &it, &c, k, klen, doc.len, true);
    collect_cleanup(&c);
    return rc;
}

int mp_index_remove(struct mp_store_txn *txn, const unsigned char *prefix, size_t plen,
                    struct mp_codec_user *meta, enum mp_codec_kind kind, uint32_t id)
{
    unsigned char k[MP_STORE_KEY_MAX], pk[MP_STORE_KEY_MAX];
    struct mp_store_plain pv;
    struct mp_codec_doc doc;
    struct mp_codec_term *t = NULL;
    size_t nt = 0, klen = mp_index_doc_key(k, prefix, plen, kind, id);
    int rc = mp_store_backend_get_plain(txn, MP_TABLE_DOCS, k, klen, &pv);
    if (rc == MP_OK)
        rc = mp_codec_get_doc(pv.p, pv.n, &doc);
    mp_store_backend_plain_done(&pv);
    if (rc == MP_NOTFOUND)
        return MP_OK;
    if (rc == MP_OK)
        rc = mp_store_backend_get_plain(txn, MP_TABLE_DTERMS, k, klen, &pv);
    if (rc == MP_OK)
        rc = mp_codec_get_terms(pv.p, pv.n, &t, &nt);
    mp_store_backend_plain_done(&pv);
    for (size_t i = 0; rc == MP_OK && i < nt; i++) {
        size_t n = mp_index_posting_key(txn->store, pk, prefix, plen, kind, t[i].t, t[i].len, id);
        rc = txn->store->be->del(txn, MP_TABLE_POSTINGS, pk, n);
        if (rc == MP_NOTFOUND)
            rc = MP_OK;
        if (rc == MP_OK)
            rc = mp_heads_on_remove(txn, prefix, plen, kind, t[i].t, t[i].len, id);
    }
    free(t);
    if (rc == MP_OK)
        rc = txn->store->be->del(txn, MP_TABLE_DOCS, k, klen);
    if (rc == MP_OK)
        rc = txn->store->be->del(txn, MP_TABLE_DTERMS, k, klen);
    if (rc == MP_NOTFOUND)
        rc = MP_OK;
    if (rc == MP_OK) {
        struct mp_codec_kind_stats *ks = &meta->kinds[kind];
        ks->ndocs -= ks->ndocs > 0;
        ks->total_len -= ks->total_len >= doc.len ? doc.len : ks->total_len;
    }
    return rc;
}

/* ---- the term filter ---- */

struct term_walk {
    mp_index_term_fn fn;
    void *arg;
    enum mp_codec_kind kind; /* of the item being read */
};

static int on_walked_term(void *arg, const char *term, const struct mp_codec_term *t)
{
    struct term_walk *w = arg;
    return w->fn(w->arg, w->kind, term, t);
}

static int on_walked_item(void *arg, const unsigned char *id, const struct mp_store_plain *pv)
{
    struct term_walk *w = arg;
    if (id[0] >= MP_CODEC_KINDS)
        return MP_EIO;
    w->kind = (enum mp_codec_kind)id[0];
    return mp_codec_each_term(pv->p, pv->n, on_walked_term, w);
}

int mp_index_each_term(struct mp_store_txn *txn, const unsigned char *prefix, size_t plen,
                       mp_index_term_fn fn, void *arg)
{
    struct term_walk w = {fn, arg, MP_CODEC_KIND_FACT};
    return mp_store_backend_scan_plain(txn, MP_TABLE_DTERMS, prefix, plen, plen, 5, on_walked_item,
                                       &w);
}

static int on_filter_term(void *arg, enum mp_codec_kind kind, const char *term,
                          const struct mp_codec_term *t)
{
    mp_termfilter_add(arg, kind, term, t->len);
    return MP_OK;
}

int mp_index_filter_build(struct mp_store_txn *txn, const unsigned char *prefix, size_t plen,
                          struct mp_codec_user *meta)
{
    struct mp_termfilter f;
    uint64_t items =
        (uint64_t)meta->kinds[MP_CODEC_KIND_FACT].ndocs + meta->kinds[MP_CODEC_KIND_MESSAGE].ndocs;
    int rc = MP_OK;
    memset(&f, items > MP_INDEX_FILTER_ITEMS_MAX ? 0xff : 0, sizeof(f));
    if (items <= MP_INDEX_FILTER_ITEMS_MAX)
        rc = mp_index_each_term(txn, prefix, plen, on_filter_term, &f);
    if (rc != MP_OK)
        return rc;
    meta->filter = f;
    meta->filtered = true;
    return MP_OK;
}
