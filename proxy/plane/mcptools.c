/* The MCP tools (mcptools.h). A tool's arguments are read and copied into
 * the call before anything waits (the request's body is gone once it
 * does). A tool's result is data for a model: its text is the memory
 * block (the intro that says so, stored text escaped as in every
 * injection), its structuredContent the JSON of the search API.
 *
 * The user's own setting applies as it does to injection and recording:
 * with "off" the reading tools find nothing, and add_memory is refused
 * with "off" or "read"; delete_memory always runs (forgetting is never
 * refused). */
#include "plane/mcptools.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "fnv1a.h"
#include "json/json_scan.h"
#include "json/jsonrpc.h"
#include "memory/memworker.h"
#include "memory/piipolicy.h"
#include "plane/mcp.h"
#include "plane/memread.h"
#include "status.h"
#include "memory/usermode.h"

#define LIST_MAX    100 /* a page of list_memories, of search_memory */
#define PROFILE_MAX 200 /* facts get_profile shows */
#define NOTHING     "Nothing is remembered for this."

static const char *const tool_names[MP_MCPT_COUNT] = {
    "search_memory", "add_memory", "list_memories", "delete_memory", "get_profile"};

/* ---- definitions ---- */

static json_t *tool(const char *name, const char *description, json_t *props, json_t *required,
                    bool read_only)
{
    json_t *schema = json_pack("{s:s, s:o}", "type", "object", "properties", props);
    if (schema != NULL && required != NULL)
        json_object_set(schema, "required", required);
    json_decref(required);
    return json_pack("{s:s, s:s, s:o, s:{s:b, s:b}}", "name", name, "description", description,
                     "inputSchema", schema, "annotations", "readOnlyHint", read_only,
                     "destructiveHint", !read_only && strcmp(name, "delete_memory") == 0);
}

static json_t *page_props(void)
{
    return json_pack("{s:{s:s, s:i, s:i, s:s}, s:{s:s, s:s}}", "limit", "type", "integer",
                     "minimum", 1, "maximum", LIST_MAX, "description", "Items per page (10).",
                     "cursor", "type", "string", "description",
                     "The next_cursor of the page before.");
}

json_t *mp_mcptools_list(void)
{
    json_t *search = page_props();
    json_object_set_new(search, "query",
                        json_pack("{s:s, s:s}", "type", "string", "description",
                                  "What to look for, in words (1 to 1024 bytes)."));
    json_object_set_new(search, "types",
                        json_pack("{s:s, s:{s:s, s:[s, s]}}", "type", "array", "items", "type",
                                  "string", "enum", "facts", "messages"));
    return json_pack(
        "[o, o, o, o, o]",
        tool("search_memory",
             "Search the user's long-term memory: facts about them and what was said in earlier "
             "conversations, best match first.",
             search, json_pack("[s]", "query"), true),
        tool("add_memory",
             "Remember a fact about the user (key and value, e.g. city = Graz) or a note.",
             json_pack("{s:{s:s}, s:{s:s}, s:{s:s}}", "key", "type", "string", "value", "type",
                       "string", "note", "type", "string"),
             NULL, false),
        tool("list_memories", "List the facts and notes kept about the user, page by page.",
             page_props(), NULL, true),
        tool("delete_memory",
             "Forget a fact or note (by its id fact:<key>, or its key) or a past message (by "
             "its id message:<n>).",
             json_pack("{s:{s:s}, s:{s:s}}", "id", "type", "string", "key", "type", "string"), NULL,
             false),
        tool("get_profile", "The user's profile: every fact kept and the conversation summary.",
             json_object(), NULL, true));
}

/* ---- results ---- */

/* A tool's result: text (borrowed; NULL: NOTHING), structured (stolen,
 * may be NULL). */
static json_t *result(const char *text, size_t len, json_t *structured, bool error)
{
    if (text == NULL) {
        text = NOTHING;
        len = strlen(NOTHING);
    }
    json_t *r = json_pack("{s:[{s:s, s:s%}], s:b}", "content", "type", "text", "text", text, len,
                          "isError", error);
    if (r != NULL && structured != NULL)
        json_object_set(r, "structuredContent", structured);
    json_decref(structured);
    return r;
}

static void reply(struct mp_mcp_call *call, json_t *r, bool ok)
{
    mp_metrics_mcp_tool(call->loop->shard, call->tool.tool, ok);
    mp_mcp_reply(call, r);
}

/* A result with isError: what the model did wrong, or what was refused. */
static void tool_error(struct mp_mcp_call *call, const char *why)
{
    reply(call, result(why, strlen(why), NULL, true), false);
}

/* ---- reads ---- */

static int store_read(void *arg, struct mp_store *store);

static void read_done(struct mp_mcp_call *call, int status);

static void on_read_done(void *arg, int status)
{
    struct mp_mcp_call *call = arg;
    call->tool.read = NULL;
    read_done(call, status);
}

/* Reads with store_read (memread.h): answers now or once it is done. */
static void start_read(struct mp_mcp_call *call)
{
    struct mp_mcptool *t = &call->tool;
    int rc = mp_memread_start(call->loop, call->user, call->user_len, store_read, on_read_done,
                              call, &t->read);
    if (rc == MP_AGAIN)
        return;
    t->read = NULL;
    read_done(call, rc);
}

static int by_key(const void *a, const void *b)
{
    const struct mp_mem_entity *const *x = a, *const *y = b;
    return strcmp((*x)->key, (*y)->key);
}

/* The facts of um (sorted by key) from offset, at most limit, as items and
 * as the block (with the summary when summary). */
static int facts_page(struct mp_mcptool *t, const struct mp_usermem *um, size_t offset,
                      unsigned limit, bool summary)
{
    size_t n = um != NULL ? um->nentities : 0;
    const struct mp_mem_entity **all = calloc(n + 1, sizeof(*all));
    json_t *list = json_array();
    int rc = all != NULL && list != NULL ? MP_OK : MP_ENOMEM;
    for (size_t i = 0; i < n; i++)
        all[i] = &um->entities[i];
    if (all != NULL)
        qsort(all, n, sizeof(*all), by_key);
    size_t end = offset + limit < n ? offset + limit : n;
    for (size_t i = offset; rc == MP_OK && i < end; i++)
        rc = json_array_append_new(list, mp_memsearch_fact_json(all[i], -1, MP_MEMJSON_USER)) == 0
                 ? MP_OK
                 : MP_ENOMEM;
    const struct mp_mem_summary *s = summary && um != NULL ? &um->summary : NULL;
    struct mp_memblock_parts parts = {.facts = all + (offset < end ? offset : 0),
                                      .nfacts = end > offset ? end - offset : 0,
                                      .summary = s,
                                      .summary_keep =
                                          s != NULL && s->text != NULL ? s->text_len : 0};
    if (rc == MP_OK)
        rc = mp_memsearch_block(&parts, &t->found.block, &t->found.block_len);
    char next[MP_MEMSEARCH_CURSOR_MAX];
    snprintf(next, sizeof(next), "%zu", end);
    if (rc == MP_OK && summary)
        t->doc = json_pack("{s:O, s:o}", "facts", list, "summary",
                           mp_memjson_summary(s, MP_MEMJSON_USER));
    else if (rc == MP_OK)
        t->doc = json_pack("{s:O, s:o}", "memories", list, "next_cursor",
                           end < n ? json_string(next) : json_null());
    json_decref(list);
    free(all);
    return rc == MP_OK && t->doc == NULL ? MP_ENOMEM : rc;
}

/* One run of a tool's read over store (memread.h). */
static int store_read(void *arg, struct mp_store *store)
{
    struct mp_mcp_call *call = arg;
    struct mp_mcptool *t = &call->tool;
    struct mp_usermem *um = NULL;
    mp_memsearch_result_cleanup(&t->found);
    json_decref(t->doc);
    t->doc = NULL;
    t->mode = MP_USER_MODE_AUTO;
    if (t->tool == MP_MCPT_SEARCH) {
        int rc = mp_memsearch_run(store, mp_loop_terms(call->loop), call->user, call->user_len,
                                  &t->query, MP_MEMJSON_USER, true, &t->found);
        t->mode = t->found.mode;
        return rc;
    }
    int rc = mp_store_user_mode(store, call->user, call->user_len, &t->mode, NULL);
    if (rc != MP_OK && rc != MP_NOTFOUND)
        return rc;
    if (t->tool == MP_MCPT_ADD)
        return MP_OK; /* only the setting */
    rc = mp_store_get(store, call->user, call->user_len, &um);
    if (rc != MP_OK && rc != MP_NOTFOUND)
        return rc;
    rc = facts_page(t, um, t->offset, t->tool == MP_MCPT_PROFILE ? PROFILE_MAX : t->limit,
                    t->tool == MP_MCPT_PROFILE);
    mp_usermem_free(um);
    return rc;
}

static void submit(struct mp_mcp_call *call);

/* A read is over (status: MP_OK, or why the store could not answer). */
static void read_done(struct mp_mcp_call *call, int status)
{
    struct mp_mcptool *t = &call->tool;
    if (t->tool == MP_MCPT_SEARCH)
        mp_metrics_search(call->loop->shard, status != MP_OK      ? MP_SEARCH_ERROR
                                             : t->found.total > 0 ? MP_SEARCH_HIT
                                                                  : MP_SEARCH_MISS);
    if (status != MP_OK) {
        mp_mcp_fail(call, 500, MP_JSONRPC_INTERNAL_ERROR, "The memory store could not answer.",
                    NULL);
        return;
    }
    if (t->tool == MP_MCPT_ADD && t->mode != MP_USER_MODE_AUTO) {
        tool_error(call, "The user's memory setting does not allow adding memory.");
        return;
    }
    if (t->tool == MP_MCPT_ADD) {
        submit(call);
        return;
    }
    if (t->mode == MP_USER_MODE_OFF) {
        static const char off[] = "The user turned memory off: nothing is recalled.";
        reply(call, result(off, sizeof(off) - 1, NULL, false), true);
        return;
    }
    json_t *doc = t->tool == MP_MCPT_SEARCH ? t->found.doc : t->doc;
    const char *by = mp_qvec_ask_retrieval(&t->qask);
    if (t->tool == MP_MCPT_SEARCH && doc != NULL && by != NULL) /* as the search route says it */
        json_object_set_new(doc, "retrieval", json_string(by));
    json_incref(doc);
    reply(call, result(t->found.block, t->found.block_len, doc, false), true);
}

/* ---- changes ---- */

static void on_committed(struct mp_memticket *tk, void *arg, int status)
{
    struct mp_mcp_call *call = arg;
    struct mp_mcptool *t = &call->tool;
    char text[MP_ENTITY_KEY_MAX + 32];
    (void)tk;
    t->ticket = NULL;
    if (status != MP_OK) {
        mp_mcp_fail(call, 500, MP_JSONRPC_INTERNAL_ERROR, "The change was not stored.", NULL);
    } else if (t->op.result == MP_NOTFOUND) {
        tool_error(call, t->op.kind == MP_OP_DELETE_MESSAGE
                             ? "No message is kept under this id."
                             : "Nothing is remembered under this key.");
    } else if (t->op.result == MP_ETOOBIG) {
        tool_error(call, "The user's memory is full: forget something first.");
    } else if (t->op.result != MP_OK) {
        tool_error(call, "A value an administrator set for this key is kept.");
    } else if (t->tool == MP_MCPT_ADD) {
        snprintf(text, sizeof(text), "Remembered fact:%s.", t->op.u.entity.key);
        reply(call,
              result(text, strlen(text),
                     mp_memsearch_fact_json(&t->op.u.entity, -1, MP_MEMJSON_USER), false),
              true);
    } else if (t->op.kind == MP_OP_DELETE_MESSAGE) {
        snprintf(text, sizeof(text), "message:%llu", (unsigned long long)t->op.u.seq);
        reply(call, result("Forgotten.", 10, json_pack("{s:s}", "deleted", text), false), true);
    } else {
        snprintf(text, sizeof(text), "fact:%s", t->op.u.key);
        reply(call, result("Forgotten.", 10, json_pack("{s:s}", "deleted", text), false), true);
    }
}

static void submit(struct mp_mcp_call *call)
{
    struct mp_mcptool *t = &call->tool;
    struct mp_loop *loop = call->loop;
    t->op.user = call->user;
    t->op.user_len = call->user_len;
    t->op.actor = MP_ACTOR_USER;
    if (loop->memworker == NULL || mp_memworker_submit(loop->memworker, &t->op, 1, loop->base,
                                                       on_committed, call, &t->ticket) != MP_OK)
        mp_mcp_fail(call, 500, MP_JSONRPC_INTERNAL_ERROR, "The change could not be queued.", NULL);
}

/* ---- arguments ---- */

/* Arguments of add_memory: a key and a value, or a note (its key
 * "note_" and 8 hex digits of its text). NULL, or why not. */
static const char *add_args(struct mp_mcp_call *call, const char *body, size_t as, size_t ae)
{
    struct mp_mcptool *t = &call->tool;
    char raw[MP_ENTITY_VALUE_MAX + 64], key[MP_ENTITY_KEY_MAX * 3 + 1];
    size_t n = 0, klen = 0, vlen = 0;
    int krc = mp_jsonrpc_string(body, as, ae, "key", key, sizeof(key), &klen);
    const char *what = krc == MP_OK ? "value" : "note";
    if (krc != MP_OK && krc != MP_NOTFOUND)
        return "key must be a string of 1 to 64 letters, digits and separators.";
    if (mp_jsonrpc_string(body, as, ae, what, raw, sizeof(raw), &n) != MP_OK)
        return "Give a key and a value, or a note (strings).";
    const char *v = mp_usermem_clean_value(raw, n, &vlen);
    if (v == NULL)
        return "The value must be 1 to 512 bytes of text.";
    memcpy(t->value, v, vlen);
    t->value[vlen] = '\0';
    if (krc != MP_OK) {
        uint32_t h = mp_fnv1a32(MP_FNV1A32_BASIS, v, vlen); /* the same note, the same key */
        klen = (size_t)snprintf(key, sizeof(key), "note_%08x", (unsigned)h);
    }
    if (mp_usermem_normalize_key(key, klen, t->op.u.entity.key) != MP_OK)
        return "key must be a string of 1 to 64 letters, digits and separators.";
    t->op.kind = MP_OP_UPSERT_ENTITY;
    t->op.now_ms = mp_clock_now_ms();
    enum mp_perr perr = MP_PERR_INTERNAL;
    int rc = mp_piipolicy_correction(call->loop->cfg->governance.pii_mode, &t->op.u.entity,
                                     t->value, vlen, sizeof(t->value), MP_TRUST_AGENT,
                                     call->request_id, t->op.now_ms);
    if (rc != MP_OK) {
        perr = mp_respond_correction_refusal(rc);
        return mp_respond_info(perr)->message;
    }
    return NULL;
}

/* The seq of an id "message:<seq>" (decimal, 1 or more, no sign or
 * leading zero): MP_OK, or MP_EINVAL. */
static int message_seq(const char *id, size_t n, uint64_t *seq)
{
    uint64_t v = 0;
    if (n <= 8 || n > 8 + 20 || id[8] == '0')
        return MP_EINVAL;
    for (size_t i = 8; i < n; i++) {
        if (id[i] < '0' || id[i] > '9' || v > (UINT64_MAX - (uint64_t)(id[i] - '0')) / 10)
            return MP_EINVAL;
        v = v * 10 + (uint64_t)(id[i] - '0');
    }
    *seq = v;
    return MP_OK;
}

/* Arguments of delete_memory: an id "fact:<key>" or "message:<seq>", or a
 * fact's key. */
static const char *delete_args(struct mp_mcp_call *call, const char *body, size_t as, size_t ae)
{
    struct mp_mcptool *t = &call->tool;
    char raw[MP_ENTITY_KEY_MAX * 3 + 16];
    size_t n = 0;
    const char *k = raw;
    t->op.now_ms = mp_clock_now_ms();
    if (mp_jsonrpc_string(body, as, ae, "id", raw, sizeof(raw), &n) == MP_OK) {
        if (strncmp(raw, "message:", 8) == 0) {
            t->op.kind = MP_OP_DELETE_MESSAGE;
            return message_seq(raw, n, &t->op.u.seq) == MP_OK ? NULL
                                                              : "No message can have this id.";
        }
        if (strncmp(raw, "fact:", 5) != 0)
            return "Unknown id: ids are fact:<key> or message:<n> (search_memory and "
                   "list_memories give them).";
        k += 5;
        n -= 5;
    } else if (mp_jsonrpc_string(body, as, ae, "key", raw, sizeof(raw), &n) != MP_OK) {
        return "Give the id or the key of what to forget.";
    }
    if (mp_usermem_normalize_key(k, n, t->op.u.key) != MP_OK)
        return "No fact can have this key.";
    t->op.kind = MP_OP_DELETE_ENTITY;
    return NULL;
}

/* A page's limit and cursor into t. NULL, or why not. */
static const char *page_args(struct mp_mcptool *t, const char *body, size_t as, size_t ae)
{
    char cursor[MP_MEMSEARCH_CURSOR_MAX];
    uint64_t limit = 10;
    size_t n = 0;
    int rc = mp_jsonrpc_uint(body, as, ae, "limit", LIST_MAX, &limit);
    if ((rc != MP_OK && rc != MP_NOTFOUND) || limit == 0)
        return "limit must be an integer from 1 to 100.";
    rc = mp_jsonrpc_string(body, as, ae, "cursor", cursor, sizeof(cursor), &n);
    if ((rc != MP_OK && rc != MP_NOTFOUND) ||
        (rc == MP_OK && mp_memsearch_cursor(cursor, n, &t->offset) != MP_OK))
        return "cursor must be a next_cursor this tool gave.";
    t->limit = (unsigned)limit;
    return NULL;
}

/* Arguments of search_memory. NULL, or why not. */
static const char *search_args(struct mp_mcptool *t, const char *body, size_t as, size_t ae)
{
    static const char *const types[] = {"facts", "messages"};
    size_t n = 0;
    unsigned bits = MP_ADMIN_TYPES_ALL;
    int rc = mp_jsonrpc_string(body, as, ae, "query", t->text, sizeof(t->text), &n);
    if (rc != MP_OK || n == 0)
        return "query must be a string of 1 to 1024 bytes.";
    rc = mp_jsonrpc_names(body, as, ae, "types", types, 2, &bits);
    if ((rc != MP_OK && rc != MP_NOTFOUND) || bits == 0)
        return "types must be a list of \"facts\" and \"messages\".";
    const char *why = page_args(t, body, as, ae);
    if (why != NULL)
        return why;
    t->query = (struct mp_memsearch_query){
        .q = t->text, .q_len = n, .types = bits, .offset = t->offset, .limit = t->limit};
    return NULL;
}

/* search_memory's query vector came (or not): the read, fused with it. */
static void on_search_vector(void *arg)
{
    struct mp_mcp_call *call = arg;
    struct mp_mcptool *t = &call->tool;
    t->query.vec = t->qask.vec;
    t->query.vec_dims = t->qask.dims;
    t->query.cfg = call->loop->cfg;
    start_read(call);
}

static int tool_of(const char *name)
{
    for (int i = 0; i < MP_MCPT_COUNT; i++) {
        if (strcmp(name, tool_names[i]) == 0)
            return i;
    }
    return -1;
}

void mp_mcptools_call(struct mp_mcp_call *call, const char *body, size_t ps, size_t pe)
{
    struct mp_mcptool *t = &call->tool;
    char name[32];
    size_t n = 0, as = 0, ae = 0;
    int which = mp_jsonrpc_string(body, ps, pe, "name", name, sizeof(name), &n) == MP_OK
                    ? tool_of(name)
                    : -1;
    int rc = mp_jsonrpc_object(body, ps, pe, "arguments", &as, &ae);
    if (which < 0 || rc == MP_EINVAL) {
        mp_mcp_fail(call, 200, MP_JSONRPC_INVALID_PARAMS,
                    which < 0 ? "Unknown tool." : "arguments must be an object.", NULL);
        return;
    }
    t->tool = (enum mp_mcp_tool)which;
    const char *why = NULL;
    if (t->tool == MP_MCPT_SEARCH)
        why = search_args(t, body, as, ae);
    else if (t->tool == MP_MCPT_LIST)
        why = page_args(t, body, as, ae);
    else if (t->tool == MP_MCPT_ADD)
        why = add_args(call, body, as, ae);
    else if (t->tool == MP_MCPT_DELETE)
        why = delete_args(call, body, as, ae);
    if (why != NULL) {
        if (t->tool == MP_MCPT_SEARCH)
            mp_metrics_search(call->loop->shard, MP_SEARCH_INVALID);
        tool_error(call, why);
    } else if (t->tool == MP_MCPT_DELETE) {
        submit(call);
    } else if (t->tool != MP_MCPT_SEARCH ||
               mp_qvec_ask(&t->qask, call->loop, t->query.q, t->query.q_len, on_search_vector,
                           call) != MP_AGAIN) {
        start_read(call); /* add_memory reads the user's setting first */
    }
}

bool mp_mcptools_abort(struct mp_mcp_call *call)
{
    struct mp_mcptool *t = &call->tool;
    /* a change being applied answers (and frees) when committed */
    return t->ticket == NULL;
}

void mp_mcptools_cleanup(struct mp_mcptool *t)
{
    mp_memread_cancel(t->read);
    t->read = NULL;
    mp_qvec_ask_cleanup(&t->qask);
    mp_memsearch_result_cleanup(&t->found);
    json_decref(t->doc);
    t->doc = NULL;
}
