/* A search of one user's memory (memsearch.h). The store view is open for
 * the whole run: the facts the page shows are the view's, and the JSON and
 * the block are made before it closes (a read run keeps no pointer into
 * the store). Only the page's items are read beyond the index. */
#include "memview/memsearch.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "memview/meaning.h"
#include "recall/memblock.h"
#include "recall/recall_search.h"
#include "status.h"
#include "recall/userlang.h"

int mp_memsearch_cursor(const char *cursor, size_t len, size_t *offset)
{
    size_t v = 0;
    if (len > 6)
        return MP_EINVAL;
    for (size_t i = 0; i < len; i++) {
        if (cursor[i] < '0' || cursor[i] > '9')
            return MP_EINVAL;
        v = v * 10 + (size_t)(cursor[i] - '0');
    }
    *offset = v;
    return MP_OK;
}

int mp_memsearch_from_target(const struct mp_admin_target *t, struct mp_memsearch_query *q,
                             enum mp_perr *perr)
{
    size_t offset = 0;
    if (!t->has_q || t->q_len == 0) {
        *perr = MP_PERR_INVALID_QUERY;
        return MP_EINVAL;
    }
    if (mp_memsearch_cursor(t->cursor, t->cursor_len, &offset) != MP_OK) {
        *perr = MP_PERR_INVALID_PARAM;
        return MP_EINVAL;
    }
    *q = (struct mp_memsearch_query){.q = t->q,
                                     .q_len = t->q_len,
                                     .types = t->types,
                                     .offset = offset,
                                     .limit = t->has_limit ? t->limit : MP_MEMSEARCH_LIMIT_DEFAULT};
    return MP_OK;
}

/* Moves member from of item's JSON to result as to. */
static int move(json_t *result, const char *to, json_t *item, const char *from)
{
    json_t *v = json_object_get(item, from);
    if (v == NULL || json_object_set(result, to, v) != 0)
        return -1;
    return json_object_del(item, from);
}

/* One result: prov (stolen) is memjson's item, its text and time taken
 * out; score < 0: none. */
static json_t *result_json(const char *id, bool fact, double score, json_t *prov)
{
    json_t *r = json_object();
    int f = r == NULL || prov == NULL;
    f = f || json_object_set_new(r, "id", json_string(id)) != 0;
    f = f || json_object_set_new(r, "kind", json_string(fact ? "fact" : "message")) != 0;
    f = f || move(r, "text", prov, fact ? "value" : "content") != 0;
    f = f || move(r, "time", prov, fact ? "observed_at" : "at") != 0;
    f = f || (score >= 0 && json_object_set_new(r, "score", json_real(score)) != 0);
    f = f || json_object_set(r, "provenance", prov) != 0;
    json_decref(prov);
    if (f) {
        json_decref(r);
        return NULL;
    }
    return r;
}

/* The page's items, read from the view, as JSON and as block parts. */
struct page {
    json_t *list;
    const struct mp_mem_entity **facts;
    size_t nfacts;
    struct mp_mem_message *msgs;
    const struct mp_mem_message **past;
    size_t npast;
};

json_t *mp_memsearch_fact_json(const struct mp_mem_entity *e, double score,
                               enum mp_memjson_detail d)
{
    char id[8 + MP_ENTITY_KEY_MAX];
    snprintf(id, sizeof(id), "fact:%s", e->key);
    return result_json(id, true, score, mp_memjson_entity(e, d));
}

/* r with where each list put the item, when the search was fused. */
static json_t *ranked(json_t *r, const struct mp_recall_source *src,
                      const struct mp_recall_found *it)
{
    if (r == NULL || src->dense == NULL)
        return r;
    if (json_object_set_new(r, "lexical_rank", json_integer(it->lex_rank)) != 0 ||
        json_object_set_new(r, "dense_rank", json_integer(it->dense_rank)) != 0 ||
        json_object_set_new(r, "similarity", json_real(it->sim)) != 0) {
        json_decref(r);
        return NULL;
    }
    return r;
}

static int add_fact(struct page *pg, const struct mp_recall_source *src,
                    const struct mp_recall_found *it, enum mp_memjson_detail d)
{
    const struct mp_mem_entity *e = NULL;
    int rc = src->fact(src->ctx, it->id, &e);
    if (rc != MP_OK)
        return rc == MP_NOTFOUND ? MP_OK : rc;
    pg->facts[pg->nfacts++] = e;
    json_t *r = ranked(mp_memsearch_fact_json(e, it->score, d), src, it);
    return r != NULL && json_array_append_new(pg->list, r) == 0 ? MP_OK : MP_ENOMEM;
}

static int add_message(struct page *pg, const struct mp_recall_source *src,
                       const struct mp_recall_found *it, enum mp_memjson_detail d)
{
    struct mp_mem_message *m = &pg->msgs[pg->npast];
    char id[32];
    int rc = src->message(src->ctx, it->id, m);
    if (rc != MP_OK)
        return rc == MP_NOTFOUND ? MP_OK : rc;
    pg->past[pg->npast++] = m;
    snprintf(id, sizeof(id), "message:%llu", (unsigned long long)m->seq);
    json_t *r = ranked(result_json(id, false, it->score, mp_memjson_message(m, d)), src, it);
    return r != NULL && json_array_append_new(pg->list, r) == 0 ? MP_OK : MP_ENOMEM;
}

int mp_memsearch_block(const struct mp_memblock_parts *parts, char **out, size_t *len)
{
    size_t cap = MP_MEMBLOCK_INTRO_LEN + 256 +
                 parts->nfacts * (MP_MEMBLOCK_FACT_DAY_MAX + MP_MEMBLOCK_FACT_TEXT_MAX + 8) +
                 parts->npast * (4 * MP_MEMBLOCK_PAST_TEXT_MAX + 64) +
                 (parts->summary_keep > 0 ? 3 * parts->summary_keep : 0);
    *out = NULL;
    *len = 0;
    if (parts->nfacts + parts->npast == 0 && parts->summary_keep == 0)
        return MP_OK;
    char *text = malloc(cap);
    if (text == NULL)
        return MP_ENOMEM;
    size_t n = mp_memblock_render(text, cap, parts);
    if (n == 0) {
        free(text);
        return MP_ENOMEM;
    }
    *out = text;
    *len = n;
    return MP_OK;
}

/* The page's block: the intro, the profile line, the past line. */
static int render(const struct page *pg, struct mp_memsearch_result *out)
{
    struct mp_memblock_parts parts = {
        .facts = pg->facts, .nfacts = pg->nfacts, .past = pg->past, .npast = pg->npast};
    return mp_memsearch_block(&parts, &out->block, &out->block_len);
}

static int fill_page(const struct mp_recall_source *src, const struct mp_recall_found *found,
                     size_t n, const struct mp_memsearch_query *q, enum mp_memjson_detail d,
                     struct page *pg)
{
    size_t end = q->offset + q->limit < n ? q->offset + q->limit : n;
    size_t want = end > q->offset ? end - q->offset : 0;
    pg->facts = calloc(want + 1, sizeof(*pg->facts));
    pg->msgs = calloc(want + 1, sizeof(*pg->msgs));
    pg->past = calloc(want + 1, sizeof(*pg->past));
    if (pg->facts == NULL || pg->msgs == NULL || pg->past == NULL)
        return MP_ENOMEM;
    for (size_t i = q->offset; i < end; i++) {
        int rc =
            found[i].fact ? add_fact(pg, src, &found[i], d) : add_message(pg, src, &found[i], d);
        if (rc != MP_OK)
            return rc;
    }
    return MP_OK;
}

static void page_cleanup(struct page *pg)
{
    for (size_t i = 0; pg->msgs != NULL && i < pg->npast; i++)
        free(pg->msgs[i].content);
    free(pg->facts);
    free(pg->msgs);
    free(pg->past);
    json_decref(pg->list);
}

/* Keeps the results that score (a dense hit under its floor is listed by
 * recall_search.h for explain, not for a search): their number. */
static size_t scored(struct mp_recall_found *found, size_t n)
{
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (found[i].score > 0)
            found[m++] = found[i];
    return m;
}

/* The search over an open view of store's user. */
static int search_view(struct mp_store *store, const char *user, size_t user_len,
                       struct mp_store_view *view, struct mp_terms *terms,
                       const struct mp_memsearch_query *q, enum mp_memjson_detail d,
                       bool want_block, struct page *pg, struct mp_memsearch_result *out)
{
    struct mp_recall_source src;
    struct mp_relevance_index ix[2];
    struct mp_recall_found *found = NULL;
    size_t n = 0;
    struct mp_meaning mn = {0};
    mp_store_view_source(view, &src, ix);
    if (q->vec != NULL && mp_meaning_find(&mn, q->cfg, store, user, user_len, q->vec, q->vec_dims,
                                          mp_store_view_head(view)->next_seq) == MP_OK) {
        src.dense = mp_meaning_dense(&mn);
        src.fuse = mp_meaning_fuse(&mn);
    }
    out->mode = mp_store_view_user_mode(view);
    /* the query's language against the user's usual one: the head and the
       tally the view holds already */
    struct mp_userlang_prior prior =
        MP_USERLANG_PRIOR_HELD(mp_store_view_head(view), src.lang, src.langs);
    int rc = mp_recall_search(terms, &src, q->q, q->q_len, NULL, 0, &prior,
                              (q->types & MP_ADMIN_TYPE_FACTS) != 0,
                              (q->types & MP_ADMIN_TYPE_MESSAGES) != 0, &found, &n);
    n = rc == MP_OK ? scored(found, n) : 0;
    if (rc == MP_OK)
        rc = fill_page(&src, found, n, q, d, pg);
    if (rc == MP_OK && want_block)
        rc = render(pg, out);
    out->total = n;
    free(found);
    mp_meaning_cleanup(&mn);
    return rc;
}

int mp_memsearch_run(struct mp_store *store, struct mp_terms *terms, const char *user,
                     size_t user_len, const struct mp_memsearch_query *q, enum mp_memjson_detail d,
                     bool want_block, struct mp_memsearch_result *out)
{
    struct mp_store_view *view = NULL;
    struct page pg = {.list = json_array()};
    struct mp_memsearch_result res = {0};
    char next[MP_MEMSEARCH_CURSOR_MAX];
    int rc = pg.list != NULL ? mp_store_view_open(store, user, user_len, &view) : MP_ENOMEM;
    if (rc == MP_OK) {
        rc = search_view(store, user, user_len, view, terms, q, d, want_block, &pg, &res);
        mp_store_view_close(view);
    } else if (rc == MP_NOTFOUND) {
        rc = MP_OK; /* nothing stored: nothing found */
    }
    if (rc != MP_OK)
        goto out;
    snprintf(next, sizeof(next), "%zu", q->offset + q->limit);
    res.doc = json_pack("{s:O, s:o}", "results", pg.list, "next_cursor",
                        q->offset + q->limit < res.total ? json_string(next) : json_null());
    rc = res.doc != NULL ? MP_OK : MP_ENOMEM;
out:
    page_cleanup(&pg);
    if (rc != MP_OK) {
        mp_memsearch_result_cleanup(&res);
        return rc;
    }
    *out = res;
    return MP_OK;
}

void mp_memsearch_result_cleanup(struct mp_memsearch_result *out)
{
    json_decref(out->doc);
    free(out->block);
    memset(out, 0, sizeof(*out));
}
