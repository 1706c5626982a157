/* The in-memory recall source of the recall suites: see recall_source.h.
 * Lookups are linear scans: the indexes hold a few dozen items. */
#include "recall_source.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "mem_fixture.h"
#include "recall/memblock.h"
#include "recall/relevance.h"
#include "status.h"
#include "recall/terms.h"

struct mp_recall_source fs_src;
struct mp_terms *fs_terms;
struct mp_usermem fs_head;
struct mp_mem_message fs_msgs[FS_MAX_ARCHIVE];
size_t fs_nmsgs;
struct fs_calls fs_calls;

/* One posting: a term of an item, its counts in content and key. */
struct row {
    char term[MP_TERMS_MAX + 1];
    uint32_t item, tc, tk;
};

/* One index: rows in item order, and each item's fields. */
struct fix {
    struct row *rows;
    size_t nrows, cap;
    struct mp_relevance_item *items;
    struct mp_relevance_index view;
};

static struct fix facts_ix, turns_ix;

/* ---- the index view ---- */

static bool row_is(const struct row *r, const char *t, size_t len)
{
    return strlen(r->term) == len && memcmp(r->term, t, len) == 0;
}

static uint32_t v_df(void *ctx, const char *t, size_t len)
{
    const struct fix *x = ctx;
    uint32_t df = 0;
    for (size_t k = 0; k < x->nrows; k++)
        df += row_is(&x->rows[k], t, len);
    return df;
}

static int v_postings(void *ctx, const char *t, size_t len, mp_relevance_posting_fn fn, void *arg)
{
    const struct fix *x = ctx;
    for (size_t k = 0; k < x->nrows; k++) {
        const struct row *r = &x->rows[k];
        struct mp_relevance_posting p = {r->item, r->tc, r->tk, 0, 0, 0, false};
        int rc = row_is(r, t, len) ? fn(arg, &p) : MP_OK;
        if (rc != MP_OK)
            return rc;
    }
    return MP_OK;
}

static int v_item(void *ctx, uint32_t id, struct mp_relevance_item *out)
{
    const struct fix *x = ctx;
    *out = x->items[id];
    return MP_OK;
}

static int v_item_terms(void *ctx, uint32_t id, mp_relevance_term_fn fn, void *arg)
{
    const struct fix *x = ctx;
    for (size_t k = 0; k < x->nrows; k++) {
        const struct row *r = &x->rows[k];
        int rc = r->item == id && r->tc > 0 ? fn(arg, r->term, strlen(r->term), r->tc) : MP_OK;
        if (rc != MP_OK)
            return rc;
    }
    return MP_OK;
}

/* ---- building ---- */

struct adding {
    struct fix *x;
    uint32_t item;
    size_t first; /* the item's first row */
    bool key;     /* counting key terms */
};

static int on_term(void *arg, const char *term, size_t len, uint32_t pos)
{
    struct adding *a = arg;
    struct fix *x = a->x;
    struct row *r = NULL;
    (void)pos;
    for (size_t k = a->first; k < x->nrows && r == NULL; k++)
        r = row_is(&x->rows[k], term, len) ? &x->rows[k] : NULL;
    if (r == NULL) {
        if (x->nrows == x->cap) {
            x->cap = x->cap ? x->cap * 2 : 64;
            x->rows = realloc(x->rows, x->cap * sizeof(*x->rows));
            ck_assert_ptr_nonnull(x->rows);
        }
        r = &x->rows[x->nrows++];
        memset(r, 0, sizeof(*r));
        memcpy(r->term, term, len);
        r->item = a->item;
    }
    if (a->key)
        r->tk++;
    else
        r->tc++;
    return MP_OK;
}

/* Adds item id of session: its key's terms (may be NULL), its content's
 * terms. */
static void add_item(struct fix *x, uint32_t id, uint32_t session, const char *key,
                     const char *text, size_t len, size_t bytes)
{
    struct adding a = {x, id, x->nrows, true};
    if (key != NULL)
        ck_assert_int_eq(mp_terms_each(fs_terms, key, strlen(key), on_term, &a), MP_OK);
    a.key = false;
    ck_assert_int_eq(mp_terms_each(fs_terms, text, len, on_term, &a), MP_OK);
    x->items[id].tokens = mp_memblock_estimate_tokens(bytes);
    x->items[id].session = session;
    for (size_t k = a.first; k < x->nrows; k++)
        x->items[id].len += x->rows[k].tc;
}

static void fix_free(struct fix *x)
{
    free(x->rows);
    free(x->items);
    memset(x, 0, sizeof(*x));
}

/* Starts an index of n items; its view, or NULL when it has none. */
static const struct mp_relevance_index *fix_view(struct fix *x, uint32_t n)
{
    double total = 0;
    if (n == 0)
        return NULL;
    for (uint32_t i = 0; i < n; i++)
        total += x->items[i].len;
    x->view = (struct mp_relevance_index){x,
                                          n,
                                          total > 0 ? total / n : 1.0,
                                          v_df,
                                          v_postings,
                                          NULL,
                                          v_item,
                                          v_item_terms,
                                          NULL,
                                          0,
                                          0,
                                          NULL,
                                          NULL,
                                          0};
    return &x->view;
}

static void fix_start(struct fix *x, size_t n)
{
    fix_free(x);
    x->items = calloc(n + 1, sizeof(*x->items));
    ck_assert_ptr_nonnull(x->items);
}

/* ---- the source ---- */

static double conf0(const struct mp_mem_entity *e)
{
    return e->confidence == e->confidence ? e->confidence : 0.0;
}

/* The recent order, written out again: trust, confidence, time, key. */
static int ranked_cmp(const void *pa, const void *pb)
{
    const struct mp_mem_entity *a = *(const struct mp_mem_entity *const *)pa;
    const struct mp_mem_entity *b = *(const struct mp_mem_entity *const *)pb;
    if (a->trust != b->trust)
        return a->trust > b->trust ? -1 : 1;
    if (conf0(a) != conf0(b))
        return conf0(a) > conf0(b) ? -1 : 1;
    if (a->observed_at_ms != b->observed_at_ms)
        return a->observed_at_ms > b->observed_at_ms ? -1 : 1;
    return strcmp(a->key, b->key);
}

static int s_ranked(void *ctx, int (*fn)(void *arg, const struct mp_mem_entity *e), void *arg)
{
    const struct mp_mem_entity *order[FX_MAX_FACTS];
    int rc = MP_OK;
    (void)ctx;
    fs_calls.ranked_walks++;
    if (fs_calls.fail_ranked != 0)
        return fs_calls.fail_ranked;
    for (size_t i = 0; i < fx_um.nentities; i++)
        order[i] = &fx_ents[i];
    qsort(order, fx_um.nentities, sizeof(*order), ranked_cmp);
    for (size_t i = 0; i < fx_um.nentities && rc == 0; i++) {
        fs_calls.ranked_facts++;
        rc = fn(arg, order[i]);
    }
    return rc > 0 ? MP_OK : rc;
}

static int s_fact(void *ctx, uint32_t id, const struct mp_mem_entity **out)
{
    (void)ctx;
    fs_calls.facts++;
    if (fs_calls.fail_fact != 0)
        return fs_calls.fail_fact;
    if (id >= fx_um.nentities || (long)id == fs_calls.missing_fact)
        return MP_NOTFOUND;
    *out = &fx_ents[id];
    return MP_OK;
}

static int s_message(void *ctx, uint32_t id, struct mp_mem_message *out)
{
    (void)ctx;
    fs_calls.messages++;
    if (fs_calls.fail_message != 0)
        return fs_calls.fail_message;
    if (id >= fs_nmsgs)
        return MP_NOTFOUND;
    *out = fs_msgs[id];
    out->content = fx_dup(fs_msgs[id].content, fs_msgs[id].content_len);
    return MP_OK;
}

void fs_setup(void)
{
    fx_setup();
    memset(fs_msgs, 0, sizeof(fs_msgs));
    memset(&fs_calls, 0, sizeof(fs_calls));
    memset(&fs_src, 0, sizeof(fs_src));
    fs_calls.missing_fact = -1;
    fs_nmsgs = 0;
    ck_assert_int_eq(mp_terms_new(&fs_terms), MP_OK);
}

void fs_teardown(void)
{
    for (size_t i = 0; i < fs_nmsgs; i++)
        free(fs_msgs[i].content);
    fs_nmsgs = 0;
    fix_free(&facts_ix);
    fix_free(&turns_ix);
    mp_terms_free(fs_terms);
    fs_terms = NULL;
    fx_teardown();
}

struct mp_mem_message *fs_archive(enum mp_role role, const char *text, int64_t at_ms,
                                  const char *request_id)
{
    struct mp_mem_message *m;
    ck_assert_uint_lt(fs_nmsgs, FS_MAX_ARCHIVE);
    m = &fs_msgs[fs_nmsgs];
    m->role = role;
    m->content = fx_dup(text, strlen(text));
    m->content_len = strlen(text);
    m->at_ms = at_ms;
    m->seq = fs_nmsgs++;
    strncpy(m->request_id, request_id, MP_REQUEST_ID_MAX);
    return m;
}

void fs_build(void)
{
    fix_start(&facts_ix, fx_um.nentities);
    for (uint32_t i = 0; i < fx_um.nentities; i++) {
        const struct mp_mem_entity *e = &fx_ents[i];
        fx_ents[i].id = i; /* the source's ids, as a store view sets them */
        fx_ents[i].has_id = true;
        add_item(&facts_ix, i, i, e->key, e->value, e->value_len,
                 mp_memblock_fact_bytes(e, false, true, SIZE_MAX));
    }
    fix_start(&turns_ix, fs_nmsgs);
    for (uint32_t i = 0; i < fs_nmsgs; i++) {
        const struct mp_mem_message *m = &fs_msgs[i];
        add_item(&turns_ix, i, (uint32_t)(m->at_ms / 86400000), NULL, m->content, m->content_len,
                 mp_memblock_past_bytes(m, false, true, SIZE_MAX));
    }
    fs_src = (struct mp_recall_source){NULL,
                                       s_ranked,
                                       fix_view(&facts_ix, (uint32_t)fx_um.nentities),
                                       fix_view(&turns_ix, (uint32_t)fs_nmsgs),
                                       s_fact,
                                       s_message,
                                       0,
                                       0,
                                       NULL,
                                       NULL};
    fs_head = fx_um;
    fs_head.entities = NULL;
    fs_head.nentities = 0;
}

struct mp_mem_entity *fs_extracted(struct mp_mem_entity *e, const char *request_id)
{
    strncpy(e->request_id, request_id, MP_REQUEST_ID_MAX);
    strcpy(e->model, "extractor-1");
    return e;
}

void fs_pets(void)
{
    fx_fact_n("name", "Ada", 3, MP_TRUST_ADMIN, 1, MAY1);
    fs_extracted(fx_fact("pet", "a beagle named Rex"), "r-pet");
    fs_extracted(fx_fact("job", "data engineer at Acme"), "r-job");
    fs_extracted(fx_fact("city", "Lisbon"), "r-city");
    fs_extracted(fx_fact_n("hobby", "bouldering", 10, MP_TRUST_INFERRED, 0.8, MAY1), "r-hobby");
    fs_archive(MP_ROLE_USER, "I adopted a beagle puppy, his name is Rex", FS_MAY8, "r-pet");
    fs_archive(MP_ROLE_ASSISTANT, "Congratulations! Beagles are curious dogs.", FS_MAY8, "r-pet");
    fs_archive(MP_ROLE_USER, "The pipeline migration at work slipped again", FS_MAY8 + DAY,
               "r-work");
    fs_archive(MP_ROLE_USER, "Rex chewed my climbing shoes", FS_JUN1, "r-shoes");
    fs_archive(MP_ROLE_ASSISTANT, "Maybe keep the shoes on a high shelf.", FS_JUN1, "r-shoes");
    fs_build();
}

char *fs_render(const struct mp_recall_plan *plan, const struct mp_mem_summary *sm)
{
    struct mp_memblock_parts parts = {plan->facts,       plan->nfacts, sm,
                                      plan->summary_len, plan->past,   plan->npast,
                                      plan->past_ahead};
    char *block = malloc(plan->block_len + 1);
    ck_assert_ptr_nonnull(block);
    ck_assert_uint_eq(mp_memblock_render(block, plan->block_len, &parts), plan->block_len);
    block[plan->block_len] = '\0';
    if (plan->past_ahead != NULL) { /* the texts written ahead are what rendering writes */
        char *anew = malloc(plan->block_len + 1);
        ck_assert_ptr_nonnull(anew);
        parts.past_ahead = NULL;
        ck_assert_uint_eq(mp_memblock_render(anew, plan->block_len, &parts), plan->block_len);
        ck_assert_mem_eq(anew, block, plan->block_len);
        free(anew);
    }
    return block;
}
