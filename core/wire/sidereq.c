/* A request's shape as a side request's (see sidereq.h). Instruction
 * blocks are found in the raw JSON and printed there, undecoded: a
 * client's instructions are the same bytes in every request it sends, and
 * the request path pays no decode for them. */
#include "wire/sidereq.h"

#include <string.h>

#include "wire/blocks.h"
#include "wire/chatreq.h"
#include "wire/clienttask.h"
#include "json/json_scan.h"
#include "status.h"
#include "wire/wire.h"

/* Calls fn on each instruction block's raw string content (the literal's
 * bytes between its quotes), in order, until it returns false. */
typedef bool (*block_fn)(void *arg, const char *raw, size_t n);

static bool each_string(const char *body, size_t s, size_t e, block_fn fn, void *arg)
{
    if (e - s < 2 || body[s] != '"')
        return true;
    return fn(arg, body + s + 1, e - s - 2);
}

/* A string, or an array of blocks each with a "text" string. */
static bool each_text(const char *body, size_t s, size_t e, block_fn fn, void *arg)
{
    size_t cursor = 0, es, ee, vs, ve;
    if (s == e)
        return true;
    if (body[s] == '"')
        return each_string(body, s, e, fn, arg);
    if (body[s] != '[')
        return true;
    while (mp_json_next(body, s, e, &cursor, NULL, NULL, &es, &ee) == MP_OK)
        if (body[es] == '{' && mp_json_member_in(body, es, ee, "text", &vs, &ve) == MP_OK &&
            !each_string(body, vs, ve, fn, arg))
            return false;
    return true;
}

static void each_block(const struct mp_wire *w, const char *body, const struct mp_chatreq *req,
                       block_fn fn, void *arg)
{
    if (w == &mp_wire_messages && req->system_end > 0 &&
        !each_text(body, req->system_start, req->system_end, fn, arg))
        return;
    if (req->instructions_end > 0 &&
        !each_string(body, req->instructions_start, req->instructions_end, fn, arg))
        return;
    for (size_t i = 0; i < req->nmsgs && req->msgs[i].role != MP_CR_USER; i++) {
        const struct mp_chatreq_msg *m = &req->msgs[i];
        if ((m->role == MP_CR_SYSTEM || m->role == MP_CR_DEVELOPER) &&
            !each_text(body, m->content_start, m->content_end, fn, arg))
            return;
    }
}

static bool has_tools(const char *body, const struct mp_chatreq *req)
{
    size_t vs = req->tools_start, ve = req->tools_end;
    if (ve == 0 || body[vs] == 'n')
        return false;
    return !(body[vs] == '[' && body[mp_json_skip_ws(body, ve, vs + 1)] == ']');
}

static bool is_lone(const char *body, const struct mp_chatreq *req)
{
    bool user = false;
    for (size_t i = 0; i < req->nmsgs; i++) {
        int role = req->msgs[i].role;
        if (role != MP_CR_SYSTEM && role != MP_CR_DEVELOPER && role != MP_CR_USER)
            return false;
        user = user || role == MP_CR_USER;
    }
    return user && !has_tools(body, req);
}

static bool print_block(void *arg, const char *raw, size_t n)
{
    struct mp_sidereq *out = arg;
    if (n < MP_SIDEREQ_INSTR_MIN)
        return true;
    out->instr[out->ninstr++] =
        mp_blocks_print(raw, n < MP_SIDEREQ_PRINT_BYTES ? n : MP_SIDEREQ_PRINT_BYTES);
    return out->ninstr < MP_SIDEREQ_INSTR_MAX;
}

void mp_sidereq_read(const struct mp_wire *w, const char *body, const struct mp_chatreq *req,
                     struct mp_sidereq *out)
{
    memset(out, 0, sizeof(*out));
    out->lone = is_lone(body, req);
    each_block(w, body, req, print_block, out);
}

/* ---- the kind ---- */

static bool holds_ci(const char *raw, size_t n, const char *word)
{
    size_t m = strlen(word);
    for (size_t i = 0; i + m <= n; i++) {
        size_t k = 0;
        while (k < m && (raw[i + k] | 0x20) == word[k])
            k++;
        if (k == m)
            return true;
    }
    return false;
}

struct kind_find {
    int kind;
};

static bool find_kind(void *arg, const char *raw, size_t n)
{
    static const struct {
        const char *word;
        int kind;
    } words[] = {
        {"title", MP_TASK_TITLE},
        {"follow-up", MP_TASK_FOLLOW_UPS},
        {"follow up", MP_TASK_FOLLOW_UPS},
        {"tag", MP_TASK_TAGS},
        {"search quer", MP_TASK_SEARCH_QUERIES},
        {"summar", MP_TASK_COMPACTION},
        {"compact", MP_TASK_COMPACTION},
        {"classif", MP_TASK_CLASSIFIER},
    };
    struct kind_find *k = arg;
    n = n < MP_SIDEREQ_PRINT_BYTES ? n : MP_SIDEREQ_PRINT_BYTES;
    for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
        if (holds_ci(raw, n, words[i].word)) {
            k->kind = words[i].kind;
            return false;
        }
    }
    return true;
}

int mp_sidereq_kind(const struct mp_wire *w, const char *body, const struct mp_chatreq *req)
{
    struct kind_find k = {MP_TASK_OTHER};
    each_block(w, body, req, find_kind, &k);
    return k.kind;
}
