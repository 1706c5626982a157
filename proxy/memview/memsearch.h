/* A search of one user's memory (GET /v1/memory/search, GET
 * /admin/users/{id}/search, the MCP search_memory tool): the facts and
 * archived messages that answer a query, ranked by core/recall/recall_search.h
 * (injection's scoring), paged, as JSON (memjson.c's shapes) and, for a
 * model, as the memory block's text (core/recall/memblock.h: the same
 * intro and escaping). It reads the store given; it sends and counts
 * nothing. */
#ifndef MP_PROXY_MEMSEARCH_H
#define MP_PROXY_MEMSEARCH_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "memview/memjson.h"
#include "adminpath.h"
#include "recall/memblock.h"
#include "net/respond.h"
#include "ops/store.h"
#include "recall/terms.h"
#include "config/config.h"

/* Bytes of a next-page cursor with its NUL (a decimal offset). */
#define MP_MEMSEARCH_CURSOR_MAX    24
#define MP_MEMSEARCH_LIMIT_DEFAULT 10

/* What a search asks (all borrowed for the call). */
struct mp_memsearch_query {
    const char *q; /* 1..MP_ADMIN_QUERY_MAX bytes */
    size_t q_len;
    unsigned types; /* MP_ADMIN_TYPE_* bits */
    size_t offset;  /* the page's first result (mp_memsearch_cursor) */
    unsigned limit; /* results in the page, >= 1 */
    /* retrieval by meaning (issue 71): the query's vector (unit, vec_dims
       floats; NULL: by words alone) and the configuration it is fused under */
    const float *vec;
    unsigned vec_dims;
    const struct mp_config *cfg;
};

/* What a search found: doc {"results": [...], "next_cursor": C or null}
 * (owned: json_decref), each result {"id": "fact:<key>" or
 * "message:<seq>", "kind": "fact" or "message", "text" (the value, the
 * content), "time" (observed_at, at), "score", "provenance" (the rest of
 * memjson's item at detail d), and with the query's vector (q->vec) also
 * "lexical_rank", "dense_rank" (1-based; 0: not in that list) and
 * "similarity" (core/recall/recall_fuse.h)}; block (owned: free(); NULL when not
 * asked or nothing was found) the page's items as a memory block. */
struct mp_memsearch_result {
    json_t *doc;
    char *block;
    size_t block_len;
    size_t total;           /* results on every page (at most 2 * MP_RECALL_SEARCH_MAX) */
    enum mp_user_mode mode; /* the user's own setting (auto when nothing is stored) */
};

/* Parses a search cursor: "" (the first page) or the decimal offset a
 * result's next_cursor gave (at most 6 digits). MP_OK with *offset, or
 * MP_EINVAL. */
int mp_memsearch_cursor(const char *cursor, size_t len, size_t *offset);

/* The query a target carries (t from mp_adminpath_parse*, which refused
 * an oversized q): MP_OK with *q filled from t (q borrows t's text), the
 * limit MP_MEMSEARCH_LIMIT_DEFAULT when t gave none; MP_EINVAL with *perr
 * MP_PERR_INVALID_QUERY (q missing or empty) or MP_PERR_INVALID_PARAM (a
 * bad cursor). */
int mp_memsearch_from_target(const struct mp_admin_target *t, struct mp_memsearch_query *q,
                             enum mp_perr *perr);

/* Searches user[0..user_len)'s memory in store with terms (the calling
 * thread's tokenizer). With want_block, also the block. MP_OK with *out
 * (nothing stored: no results); MP_ENOMEM; or the store's error. */
int mp_memsearch_run(struct mp_store *store, struct mp_terms *terms, const char *user,
                     size_t user_len, const struct mp_memsearch_query *q, enum mp_memjson_detail d,
                     bool want_block, struct mp_memsearch_result *out);

/* One fact as a result: {"id": "fact:<key>", "kind": "fact", "text",
 * "time", "score" (only when score >= 0), "provenance"}. New reference,
 * or NULL when out of memory. */
json_t *mp_memsearch_fact_json(const struct mp_mem_entity *e, double score,
                               enum mp_memjson_detail d);

/* The memory block (core/recall/memblock.h) of these parts (borrowed),
 * for a model: MP_OK with *out (caller frees) and *len, or *out NULL when
 * the parts hold nothing; MP_ENOMEM. */
int mp_memsearch_block(const struct mp_memblock_parts *parts, char **out, size_t *len);

/* Frees what out owns; out is then empty. */
void mp_memsearch_result_cleanup(struct mp_memsearch_result *out);

#endif
