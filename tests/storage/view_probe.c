/* Reading a user's index and archive back through the view (see
 * view_probe.h). Asserts with Check: runs only inside a Check test. */
#include "view_probe.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "status.h"
#include "store_fixture.h"
#include "recall/terms.h"

static struct mp_terms *terms;

void vp_setup(void)
{
    fx_setup_keys();
    ck_assert_int_eq(mp_terms_new(&terms), MP_OK);
}

void vp_teardown(void)
{
    mp_terms_free(terms);
    terms = NULL;
}

/* ---- reading the index through a view ---- */

static int on_first_term(void *arg, const char *term, size_t len, uint32_t pos)
{
    char *out = arg;
    (void)pos;
    memcpy(out, term, len);
    out[len] = '\0';
    return 1; /* the first is enough */
}

const char *vp_term_of(const char *word, char *out)
{
    out[0] = '\0';
    if (word[0] == '@') {
        snprintf(out, MP_TERMS_MAX + 1, "%s", word);
        return out;
    }
    mp_terms_each(terms, word, strlen(word), on_first_term, out);
    ck_assert_msg(out[0] != '\0', "%s makes no term", word);
    return out;
}

struct hit_walk {
    struct vp_hits *h;
    const struct mp_relevance_index *ix;
};

static int on_hit(void *arg, const struct mp_relevance_posting *p)
{
    struct hit_walk *w = arg;
    struct mp_relevance_item it;
    ck_assert_int_eq(w->ix->item(w->ix->ctx, p->item, &it), MP_OK); /* an indexed item */
    if (w->h->n < VP_HITS_MAX)
        w->h->p[w->h->n] = *p;
    w->h->n++;
    return MP_OK;
}

/* vp_view_hits() and vp_view_sample(): whole, df and the postings agree. */
static struct vp_hits view_postings(struct mp_store_view *v, bool facts, const char *word,
                                    bool whole)
{
    char t[MP_TERMS_MAX + 1];
    struct vp_hits h;
    struct mp_relevance_index ix;
    memset(&h, 0, sizeof(h));
    mp_store_view_index(v, facts, &ix);
    vp_term_of(word, t);
    h.df = ix.df(ix.ctx, t, strlen(t));
    struct hit_walk w = {&h, &ix};
    ck_assert_int_eq(ix.postings(ix.ctx, t, strlen(t), on_hit, &w), MP_OK);
    if (whole)
        ck_assert_uint_eq(h.df, h.n);
    else
        ck_assert_uint_le(h.n, ix.sample);
    for (size_t i = 1; i < h.n && i < VP_HITS_MAX; i++)
        ck_assert_uint_lt(h.p[i - 1].item, h.p[i].item);
    return h;
}

struct vp_hits vp_view_hits(struct mp_store_view *v, bool facts, const char *word)
{
    return view_postings(v, facts, word, true);
}

struct vp_hits vp_view_sample(struct mp_store_view *v, bool facts, const char *word)
{
    return view_postings(v, facts, word, false);
}

struct vp_hits vp_hits_of(struct mp_store *store, const char *user, size_t ulen, bool facts,
                          const char *word)
{
    struct mp_store_view *v = NULL;
    struct vp_hits h;
    memset(&h, 0, sizeof(h));
    int rc = mp_store_view_open(store, user, ulen, &v);
    if (rc == MP_NOTFOUND)
        return h;
    ck_assert_int_eq(rc, MP_OK);
    h = vp_view_hits(v, facts, word);
    mp_store_view_close(v);
    return h;
}

uint32_t vp_df(struct mp_store *store, const char *user, size_t ulen, bool facts, const char *word)
{
    return vp_hits_of(store, user, ulen, facts, word).df;
}

struct mp_relevance_posting vp_only_hit(struct mp_store *store, const char *user, size_t ulen,
                                        bool facts, const char *word)
{
    struct vp_hits h = vp_hits_of(store, user, ulen, facts, word);
    ck_assert_msg(h.df == 1, "%s: df %u", word, h.df);
    return h.p[0];
}

struct vp_ixstats vp_stats(struct mp_store *store, const char *user, size_t ulen, bool facts)
{
    struct mp_store_view *v = NULL;
    struct mp_relevance_index ix;
    ck_assert_int_eq(mp_store_view_open(store, user, ulen, &v), MP_OK);
    mp_store_view_index(v, facts, &ix);
    struct vp_ixstats s = {ix.n, ix.avglen};
    mp_store_view_close(v);
    return s;
}

int vp_item(struct mp_store *store, const char *user, size_t ulen, bool facts, uint32_t id,
            struct mp_relevance_item *out)
{
    struct mp_store_view *v = NULL;
    struct mp_relevance_index ix;
    ck_assert_int_eq(mp_store_view_open(store, user, ulen, &v), MP_OK);
    mp_store_view_index(v, facts, &ix);
    int rc = ix.item(ix.ctx, id, out);
    mp_store_view_close(v);
    return rc;
}

#define TERMS_KEPT 64

struct term_list {
    char s[TERMS_KEPT][MP_TERMS_MAX + 16];
    size_t n, all;
};

static int on_item_term(void *arg, const char *term, size_t len, uint32_t tc)
{
    struct term_list *l = arg;
    if (l->n < TERMS_KEPT)
        snprintf(l->s[l->n++], sizeof(l->s[0]), "%.*s:%u", (int)len, term, tc);
    l->all++;
    return MP_OK;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(a, b);
}

size_t vp_view_item_terms(const struct mp_relevance_index *ix, uint32_t id, char *out, size_t cap)
{
    static struct term_list l;
    size_t at = 0;
    memset(&l, 0, sizeof(l));
    ck_assert_int_eq(ix->item_terms(ix->ctx, id, on_item_term, &l), MP_OK);
    qsort(l.s, l.n, sizeof(l.s[0]), cmp_str);
    out[0] = '\0';
    for (size_t i = 0; i < l.n && at < cap; i++)
        at += (size_t)snprintf(out + at, cap - at, "%s%s", i > 0 ? " " : "", l.s[i]);
    return l.all;
}

const char *vp_item_terms(struct mp_store *store, const char *user, size_t ulen, bool facts,
                          uint32_t id, char *out, size_t cap)
{
    struct mp_store_view *v = NULL;
    struct mp_relevance_index ix;
    ck_assert_int_eq(mp_store_view_open(store, user, ulen, &v), MP_OK);
    mp_store_view_index(v, facts, &ix);
    vp_view_item_terms(&ix, id, out, cap);
    mp_store_view_close(v);
    return out;
}

void vp_item_is(struct mp_store *store, const char *user, size_t ulen, bool facts, uint32_t id,
                uint32_t len, uint32_t session, bool timex, size_t text_bytes)
{
    struct mp_relevance_item it;
    ck_assert_int_eq(vp_item(store, user, ulen, facts, id, &it), MP_OK);
    ck_assert_uint_eq(it.len, len);
    ck_assert_uint_eq(it.session, session);
    ck_assert_int_eq(it.timex, timex);
    ck_assert_uint_ge(it.tokens, text_bytes / 4);
    ck_assert_uint_le(it.tokens, text_bytes / 4 + 16);
}

/* ---- the index agrees with itself ---- */

struct all_items {
    uint32_t ids[512];
    size_t n;
};

static int on_all(void *arg, const struct mp_relevance_posting *p)
{
    struct all_items *a = arg;
    ck_assert_uint_lt(a->n, 512);
    a->ids[a->n++] = p->item;
    return MP_OK;
}

struct back_check {
    const struct mp_relevance_index *ix;
    uint32_t id;
};

struct find_posting {
    uint32_t id, tc;
    bool found;
};

static int on_find(void *arg, const struct mp_relevance_posting *p)
{
    struct find_posting *f = arg;
    if (p->item == f->id) {
        f->found = true;
        f->tc = p->tc;
    }
    return MP_OK;
}

static int on_back_term(void *arg, const char *term, size_t len, uint32_t tc)
{
    struct back_check *b = arg;
    struct find_posting f = {b->id, 0, false};
    ck_assert_int_eq(b->ix->postings(b->ix->ctx, term, len, on_find, &f), MP_OK);
    ck_assert_msg(f.found, "item %u: %.*s has no posting", b->id, (int)len, term);
    ck_assert_uint_eq(f.tc, tc);
    return MP_OK;
}

void vp_index_consistent(struct mp_store *store, const char *user, size_t ulen, bool facts,
                         const char *year)
{
    static struct all_items a;
    struct mp_store_view *v = NULL;
    struct mp_relevance_index ix;
    double sum = 0;
    a.n = 0;
    ck_assert_int_eq(mp_store_view_open(store, user, ulen, &v), MP_OK);
    mp_store_view_index(v, facts, &ix);
    ck_assert_int_eq(ix.postings(ix.ctx, year, strlen(year), on_all, &a), MP_OK);
    ck_assert_uint_eq(ix.n, a.n);
    for (size_t i = 0; i < a.n; i++) {
        struct mp_relevance_item it;
        const struct mp_mem_entity *e;
        struct mp_mem_message m;
        ck_assert_int_eq(ix.item(ix.ctx, a.ids[i], &it), MP_OK);
        sum += it.len;
        if (facts) {
            ck_assert_int_eq(mp_store_view_fact_ref(v, a.ids[i], &e), MP_OK);
        } else {
            ck_assert_int_eq(mp_store_view_message(v, a.ids[i], &m), MP_OK);
            free(m.content);
        }
        struct back_check b = {&ix, a.ids[i]};
        ck_assert_int_eq(ix.item_terms(ix.ctx, a.ids[i], on_back_term, &b), MP_OK);
    }
    if (a.n > 0)
        ck_assert_double_eq_tol(ix.avglen, sum / (double)a.n, 1e-9);
    mp_store_view_close(v);
}

/* ---- the whole of a view, as text ---- */

static int on_dump_fact(void *arg, const struct mp_mem_entity *e)
{
    fprintf(arg, "fact %s=%s rev %u\n", e->key, e->value, e->revision);
    return 0;
}

static void dump_kind(FILE *f, struct mp_store_view *v, bool facts, const char *const *words,
                      size_t nwords)
{
    struct mp_relevance_index ix;
    char line[4096];
    mp_store_view_index(v, facts, &ix);
    fprintf(f, "%s n=%u avglen=%.9g\n", facts ? "facts" : "archive", ix.n, ix.avglen);
    for (size_t w = 0; w < nwords; w++) {
        struct vp_hits h = vp_view_hits(v, facts, words[w]);
        fprintf(f, " %s df=%u\n", words[w], h.df);
        for (size_t i = 0; i < h.n && i < VP_HITS_MAX; i++) {
            const struct mp_relevance_posting *p = &h.p[i];
            struct mp_relevance_item it;
            const struct mp_mem_entity *e;
            struct mp_mem_message m;
            ck_assert_int_eq(ix.item(ix.ctx, p->item, &it), MP_OK);
            vp_view_item_terms(&ix, p->item, line, sizeof(line));
            fprintf(f, "  %u %u/%u/%u len %u session %u tokens %u timex %d [%s]", p->item, p->tc,
                    p->tk, p->td, it.len, it.session, it.tokens, it.timex, line);
            if (facts) {
                ck_assert_int_eq(mp_store_view_fact_ref(v, p->item, &e), MP_OK);
                fprintf(f, " %s=%s\n", e->key, e->value);
            } else {
                ck_assert_int_eq(mp_store_view_message(v, p->item, &m), MP_OK);
                fprintf(f, " %s\n", m.content);
                free(m.content);
            }
        }
    }
}

char *vp_dump(struct mp_store *store, const char *user, size_t ulen, const char *const *words,
              size_t nwords)
{
    char *buf = NULL;
    size_t len = 0;
    struct mp_store_view *v = NULL;
    FILE *f = open_memstream(&buf, &len);
    ck_assert_ptr_nonnull(f);
    int rc = mp_store_view_open(store, user, ulen, &v);
    fprintf(f, "open %d\n", rc);
    if (rc == MP_OK) {
        const struct mp_usermem *h = mp_store_view_head(v);
        fprintf(f, "summary %s\n", h->summary.text != NULL ? h->summary.text : "-");
        for (size_t i = 0; i < h->nmessages; i++)
            fprintf(f, "buffer %llu %s\n", (unsigned long long)h->messages[i].seq,
                    h->messages[i].content);
        ck_assert_int_eq(mp_store_view_ranked_facts(v, on_dump_fact, f), MP_OK);
        dump_kind(f, v, true, words, nwords);
        dump_kind(f, v, false, words, nwords);
        mp_store_view_close(v);
    }
    ck_assert_int_eq(fclose(f), 0);
    return buf;
}

/* ---- the archive ---- */

size_t vp_archive_seqs(struct mp_store *store, const char *user, size_t ulen, size_t limit,
                       uint64_t *seqs, size_t cap)
{
    uint64_t after = 0;
    size_t total = 0;
    for (;;) {
        struct mp_mem_message *m = NULL;
        size_t n = 0;
        bool more = false;
        ck_assert_int_eq(mp_store_archive(store, user, ulen, after, limit, &m, &n, &more), MP_OK);
        ck_assert_uint_le(n, limit);
        ck_assert_uint_le(total + n, cap);
        for (size_t i = 0; i < n; i++) {
            ck_assert_uint_gt(m[i].seq, after);
            after = m[i].seq;
            seqs[total++] = m[i].seq;
        }
        mp_store_messages_free(m, n);
        if (!more)
            return total;
        ck_assert_uint_eq(n, limit);
    }
}

void vp_archive_is(struct mp_store *store, const char *user, size_t ulen, const uint64_t *want)
{
    uint64_t got[64];
    size_t n = vp_archive_seqs(store, user, ulen, 3, got, 64), k = 0;
    for (; want[k] != 0; k++) {
        ck_assert_uint_lt(k, n);
        ck_assert_uint_eq(got[k], want[k]);
    }
    ck_assert_uint_eq(n, k);
}
