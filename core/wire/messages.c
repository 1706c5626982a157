/* Anthropic's Messages API wire (wire.h): POST /v1/messages.
 *
 * Request: core/wire/chatreq.c's mp_chatreq_scan_messages reads "messages" and
 * finds "system". The block goes in appended to the end of "system", so a
 * client's prompt-cache prefix (cache_control on its own system blocks)
 * stays byte-identical: after a string system, "\n\n" and the block inside
 * the same string; after an array, one more {"type":"text","text":...}
 * block; without one, a new "system" string first in the object. The
 * replayed recent messages go first in "messages" (with replay_with_tail:
 * right before the question's message), as the conversation
 * they were, starting with a user message (an assistant message the
 * budget left first is not replayed: a conversation starts with the user;
 * Anthropic merges two user turns in a row). The tail (wire.h) goes as
 * a text block first in the content of the newest user message with text
 * (a string content becomes the array of that block and the string's own
 * text block; an array that starts with tool_result blocks keeps them
 * first, as Anthropic requires, and gets the tail right after them); a
 * message of tool results alone has no text, so in a tool loop the tail
 * stays in the message that began it. Without a user message with text,
 * it joins the block in "system".
 *
 * Reply: the text of the "text" content blocks, joined by '\n' (not
 * thinking, not tool_use); in a stream, the text_delta deltas of
 * content_block_delta events, a '\n' between two text blocks, complete at
 * message_stop, failed at an "error" event. It calls a tool when it has a
 * "tool_use" block (a stream: a content_block_start of one) or its
 * stop_reason is "tool_use" (a stream: message_delta's); a server tool
 * (server_tool_use: Anthropic runs it) is no round of the client's. */
#include <stdlib.h>
#include <string.h>

#include "wire/completion.h"
#include "json/json_scan.h"
#include "wire/splice.h"
#include "status.h"
#include "wire/wire.h"

/* ---- the request ---- */

/* Where the block goes and what comes around it. */
struct system_edit {
    size_t at;
    const char *open, *close; /* written before and after the escaped block */
};

static struct system_edit system_edit(const char *body, const struct mp_chatreq *req)
{
    if (req->system_end == 0) /* a new first member; "messages" follows */
        return (struct system_edit){req->object_start + 1, "\"system\":\"", "\","};
    if (body[req->system_start] == '"') /* inside the string, before its closing quote */
        return (struct system_edit){req->system_end - 1, "\\n\\n", ""};
    size_t i = req->system_start + 1; /* an array: one more block before its ']' */
    while (body[i] == ' ' || body[i] == '\n' || body[i] == '\r' || body[i] == '\t')
        i++;
    return (struct system_edit){req->system_end - 1,
                                body[i] == ']' ? "{\"type\":\"text\",\"text\":\""
                                               : ",{\"type\":\"text\",\"text\":\"",
                                "\"}"};
}

/* The replayed messages from picks[first] on, each followed by a ','
 * unless it ends "messages". */
static char *put_replay(char *w, const struct mp_wire_memory *mem, size_t first,
                        const struct mp_chatreq *req)
{
    for (size_t k = first; k < mem->npicks; k++) {
        w = mp_wire_put_pick(w, &mem->picks[k]);
        if (k + 1 < mem->npicks || req->nmsgs > 0)
            *w++ = ',';
    }
    return w;
}

/* One insertion: where, and which. */
enum edit_kind { EDIT_SYSTEM, EDIT_REPLAY, EDIT_TAIL, EDIT_TAIL_AFTER, EDIT_TAIL_CLOSE };
struct edit {
    size_t at;
    enum edit_kind kind;
};

/* Where the tail goes in an array content [cs..ce): past its '[', or,
 * when the content starts with tool_result blocks (Anthropic wants them
 * first in the message), right after the last of them; *after says the
 * tail follows an element (a ',' goes before it, none after). */
static size_t array_tail_at(const char *body, size_t cs, size_t ce, bool *after)
{
    size_t cursor = 0, es, ee, ts, te, at = cs + 1;
    *after = false;
    while (mp_json_next(body, cs, ce, &cursor, NULL, NULL, &es, &ee) == MP_OK) {
        if (body[es] != '{' || mp_json_member_in(body, es, ee, "type", &ts, &te) != MP_OK ||
            !mp_json_span_is(body, ts, te, "\"tool_result\""))
            break;
        at = ee;
        *after = true;
    }
    return at;
}

/* Where the tail goes: a text block in the content of the question's
 * message (the newest user message with text: a message of tool_result
 * blocks alone has none, so a tool loop's rounds keep it where the loop
 * began), first in an array (after its leading tool_result blocks, see
 * above: one edit) or a string (made the array [tail block,
 * {"type":"text","text":<the string>}]: two edits). Returns how many
 * edits it added to e (0: the tail joins the block). */
static size_t tail_edits(const char *body, const struct mp_chatreq *req,
                         const struct mp_wire_memory *mem, struct edit *e)
{
    size_t newest, previous;
    if (mem->tail_len == 0)
        return 0;
    mp_chatreq_question(req, &newest, &previous);
    if (newest == req->nmsgs)
        return 0;
    const struct mp_chatreq_msg *m = &req->msgs[newest];
    if (body[m->content_start] == '[') {
        bool after;
        size_t at = array_tail_at(body, m->content_start, m->content_end, &after);
        e[0] = (struct edit){at, after ? EDIT_TAIL_AFTER : EDIT_TAIL};
        return 1;
    }
    e[0] = (struct edit){m->content_start, EDIT_TAIL};
    e[1] = (struct edit){m->content_end, EDIT_TAIL_CLOSE};
    return 2;
}

#define TEXT_OPEN "{\"type\":\"text\",\"text\":"

/* The tail's text block at at: past an array's '[' (a ',' after it
 * unless the array is empty), after an element of it (after: a ','
 * before it), or at a string (which it opens an array before). */
static char *put_tail(char *w, const char *body, const struct mp_wire_memory *mem, size_t at,
                      bool after)
{
    bool array = body[at] != '"';
    if (after)
        *w++ = ',';
    else if (!array)
        *w++ = '[';
    w = mp_wire_put(w, TEXT_OPEN "\"", sizeof(TEXT_OPEN));
    w = mp_wire_put_tail(w, mem);
    w = mp_wire_put(w, "\"}", 2);
    if (after)
        return w;
    if (!array)
        return mp_wire_put(w, "," TEXT_OPEN, sizeof(TEXT_OPEN));
    size_t i = at; /* an empty array gets no ',' */
    while (body[i] == ' ' || body[i] == '\n' || body[i] == '\r' || body[i] == '\t')
        i++;
    if (body[i] != ']')
        *w++ = ',';
    return w;
}

static char *put_edit(char *w, const char *body, const struct mp_chatreq *req,
                      const struct mp_wire_memory *mem, const struct system_edit *se, size_t first,
                      const struct edit *e, bool joined)
{
    switch (e->kind) {
    case EDIT_SYSTEM:
        if (!mp_wire_has_block(mem, joined))
            return w; /* no head: "system" as the client sent it */
        w = mp_wire_put(w, se->open, strlen(se->open));
        w = joined ? mp_wire_put_joined(w, mem) : mp_wire_put_block(w, mem);
        return mp_wire_put(w, se->close, strlen(se->close));
    case EDIT_REPLAY:
        return put_replay(w, mem, first, req);
    case EDIT_TAIL:
    case EDIT_TAIL_AFTER:
        return put_tail(w, body, mem, e->at, e->kind == EDIT_TAIL_AFTER);
    case EDIT_TAIL_CLOSE:
        break;
    }
    return mp_wire_put(w, "}]", 2);
}

/* The edits in body order, stably: on a tie the system's stays first. */
static void sort_edits(struct edit *e, size_t n)
{
    for (size_t i = 1; i < n; i++) {
        struct edit x = e[i];
        size_t j = i;
        for (; j > 0 && e[j - 1].at > x.at; j--)
            e[j] = e[j - 1];
        e[j] = x;
    }
}

/* Where the replay goes: first in "messages", or, with replay_with_tail,
 * right before the question's message (its tail's), as the conversation
 * they are memory for goes on before them. */
static size_t replay_at(const struct mp_chatreq *req, const struct mp_wire_memory *mem)
{
    size_t newest, previous;
    mp_chatreq_question(req, &newest, &previous);
    if (!mem->replay_with_tail || newest == req->nmsgs)
        return req->messages_start + 1;
    return req->msgs[newest].start;
}

static int splice(const char *body, size_t len, const struct mp_chatreq *req,
                  const struct mp_wire_memory *mem, struct mp_splice *out)
{
    struct system_edit se = system_edit(body, req);
    struct edit edits[4] = {{se.at, EDIT_SYSTEM}, {replay_at(req, mem), EDIT_REPLAY}};
    size_t first = 0, nedits = 2 + tail_edits(body, req, mem, edits + 2);
    while (first < mem->npicks && mem->picks[first].role == MP_ROLE_ASSISTANT)
        first++; /* the replay starts with the user */
    size_t bound = strlen(se.open) + mp_wire_joined_bound(mem) + strlen(se.close) + 1 +
                   2 * sizeof(TEXT_OPEN) + 2 * mem->tail_len + 8;
    for (size_t k = first; k < mem->npicks; k++)
        bound += mp_wire_pick_bound(&mem->picks[k]);
    int rc = mp_splice_init(out, bound);
    if (rc != MP_OK)
        return rc;
    sort_edits(edits, nedits);
    size_t pos = 0;
    for (size_t k = 0; k < nedits; k++) {
        mp_splice_take(out, pos, edits[k].at - pos);
        pos = edits[k].at;
        mp_splice_wrote(
            out, put_edit(mp_splice_gen(out), body, req, mem, &se, first, &edits[k], nedits == 2));
    }
    mp_splice_take(out, pos, len - pos);
    return MP_OK;
}

/* ---- the reply ---- */

static int reply_body_text(const char *body, size_t len, char **out, size_t *out_len)
{
    static const struct mp_completion_part text_part = {"\"text\"", "text"};
    size_t vs, ve, n = 0;
    int rc = mp_json_find_member(body, len, "content", 7, &vs, &ve);
    if (rc != MP_OK || body[vs] != '[')
        return MP_EINVAL;
    char *text = malloc(ve - vs + 1); /* decoded text never outgrows its literals */
    if (text == NULL)
        return MP_ENOMEM;
    rc = mp_completion_parts_text(body, vs, ve, &text_part, 1, text, ve - vs, &n);
    if (rc == MP_OK && n == 0)
        rc = MP_NOTFOUND;
    if (rc != MP_OK) {
        free(text);
        return rc;
    }
    text[n] = '\0';
    *out = text;
    *out_len = n;
    return MP_OK;
}

static bool tool_use_block(const char *buf, size_t s, size_t e)
{
    size_t ts, te;
    return buf[s] == '{' && mp_json_member_in(buf, s, e, "type", &ts, &te) == MP_OK &&
           mp_json_span_is(buf, ts, te, "\"tool_use\"");
}

static bool stop_tool_use(const char *buf, size_t s, size_t e)
{
    size_t vs, ve;
    return mp_json_member_in(buf, s, e, "stop_reason", &vs, &ve) == MP_OK &&
           mp_json_span_is(buf, vs, ve, "\"tool_use\"");
}

static bool reply_body_calls_tool(const char *body, size_t len)
{
    size_t vs, ve, cursor = 0, bs, be;
    if (mp_json_find_member(body, len, "stop_reason", 11, &vs, &ve) == MP_OK &&
        mp_json_span_is(body, vs, ve, "\"tool_use\""))
        return true;
    if (mp_json_find_member(body, len, "content", 7, &vs, &ve) != MP_OK || body[vs] != '[')
        return false;
    while (mp_json_next(body, vs, ve, &cursor, NULL, NULL, &bs, &be) == MP_OK) {
        if (tool_use_block(body, bs, be))
            return true;
    }
    return false;
}

/* content_block_start: a text block after text already gathered starts a
 * new line (as the blocks of a body are joined); its initial text counts;
 * a tool_use block is a call. */
static int block_start(struct mp_completion *c, const char *d, size_t n)
{
    size_t bs, be, ts, te, len = 0;
    if (mp_json_find_member(d, n, "content_block", 13, &bs, &be) != MP_OK || d[bs] != '{')
        return MP_OK;
    if (tool_use_block(d, bs, be))
        mp_completion_mark_tool_call(c);
    if (mp_json_member_in(d, bs, be, "type", &ts, &te) != MP_OK ||
        !mp_json_span_is(d, ts, te, "\"text\""))
        return MP_OK;
    mp_completion_text(c, &len);
    int rc = len > 0 ? mp_completion_append_text(c, "\n", 1) : MP_OK;
    if (rc == MP_OK && mp_json_member_in(d, bs, be, "text", &ts, &te) == MP_OK && d[ts] == '"')
        rc = mp_completion_append(c, d, ts, te);
    return rc;
}

static int read_event(struct mp_completion *c, const char *d, size_t n)
{
    size_t ts, te, ds, de, vs, ve;
    if (mp_json_find_member(d, n, "type", 4, &ts, &te) != MP_OK)
        return MP_OK;
    if (mp_json_span_is(d, ts, te, "\"content_block_start\""))
        return block_start(c, d, n);
    if (mp_json_span_is(d, ts, te, "\"content_block_delta\"")) {
        if (mp_json_find_member(d, n, "delta", 5, &ds, &de) != MP_OK || d[ds] != '{' ||
            mp_json_member_in(d, ds, de, "type", &vs, &ve) != MP_OK ||
            !mp_json_span_is(d, vs, ve, "\"text_delta\"") ||
            mp_json_member_in(d, ds, de, "text", &vs, &ve) != MP_OK || d[vs] != '"')
            return MP_OK;
        return mp_completion_append(c, d, vs, ve);
    }
    if (mp_json_span_is(d, ts, te, "\"message_delta\"") &&
        mp_json_find_member(d, n, "delta", 5, &ds, &de) == MP_OK && d[ds] == '{' &&
        stop_tool_use(d, ds, de))
        mp_completion_mark_tool_call(c);
    if (mp_json_span_is(d, ts, te, "\"message_stop\""))
        mp_completion_mark(c, true, false);
    else if (mp_json_span_is(d, ts, te, "\"error\""))
        mp_completion_mark(c, false, true);
    return MP_OK;
}

const struct mp_wire mp_wire_messages = {
    .name = "messages",
    .scan = mp_chatreq_scan_messages,
    .message_text = mp_chatreq_message_text,
    .message_text_equals = mp_chatreq_message_text_equals,
    .splice = splice,
    .reply_reader = read_event,
    .reply_body_text = reply_body_text,
    .reply_body_calls_tool = reply_body_calls_tool,
};
