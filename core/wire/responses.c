/* The Responses API wire (wire.h): POST /v1/responses.
 *
 * Request: core/wire/chatreq.c's mp_chatreq_scan_input reads "input" (a string,
 * or an array of items). Where memory goes depends on whether the upstream
 * stores the request (req->stored: "store" absent or not false, or a
 * "previous_response_id"/"conversation" chain). A stored request's input
 * items are kept upstream and carried into every later turn of its chain,
 * and memory erased or corrected later would stay there; "instructions"
 * is not carried over. So memory goes into "instructions" and "input" is
 * not touched, on every turn, the first included:
 *
 *   "instructions":"<client's>"  ->  "instructions":"<client's>\n\n<head>\n\n<tail>"
 *
 * after a string, "\n\n" and the block (the head, then "\n\n" and the
 * tail: core/wire/splice.h mp_wire_put_joined) inside the same string, the
 * client's bytes as they were; null becomes the block's string; without
 * one, a new "instructions" string first in the object. The head's bytes
 * come first and are the same every turn; the tail (per question) ends
 * the string. Nothing is replayed as items then (core/wire/inject.c gives
 * no picks; the splice writes none). The API takes only a string or null
 * there: any other value is MP_EUNSUPPORTED, and the body goes upstream
 * as it came, without memory.
 *
 * A request the upstream does not store ("store":false, no chain) gets
 * memory in "input" instead, as one developer item at its start, after
 * any leading system/developer items, followed by the replayed messages;
 * a string input becomes the equivalent array:
 *
 *   "input":"hi"  ->  "input":[{"role":"developer","content":"<block>"},...,
 *                              {"role":"developer","content":"<tail>"},
 *                              {"role":"user","content":"hi"}]
 *
 * (the string's own bytes unchanged; the tail its own item right before
 * the user's, where the conversation's later turns have it, so that the
 * head's item stays their prefix), and "instructions" is not touched.
 *
 * Reply: the words of the parts of the "message" items of "output", joined
 * by '\n': an "output_text" part's text, a "refusal" part's refusal, an
 * "output_audio" part's transcript (function calls, reasoning and the
 * hosted tools' items are not words), from a body whose "status" is
 * "completed" (a queued, in-progress, incomplete or failed response
 * records nothing); in a stream, the "delta"s of
 * response.output_text.delta, response.refusal.delta and
 * response.audio.transcript.delta events, complete at response.completed
 * (whose full response gives the words when no delta came), failed at an
 * "error", response.failed or response.incomplete event. It calls a tool
 * when "output" holds an item the client runs ("function_call",
 * "custom_tool_call", "computer_call", "local_shell_call", "shell_call",
 * "apply_patch_call"; a stream: such an item in response.output_item.added
 * or .done, or in the response of response.completed); the hosted tools'
 * items (web_search_call, mcp_call...) are OpenAI's own rounds, not the
 * client's. */
#include <stdlib.h>
#include <string.h>

#include "wire/completion.h"
#include "json/json_scan.h"
#include "wire/splice.h"
#include "status.h"
#include "wire/wire.h"

#define SLEN(lit) (sizeof(lit) - 1)

/* ---- the request ---- */

/* A stored request: the block into "instructions" (see the top). The
 * splice point and what goes around the escaped block; MP_EUNSUPPORTED
 * when "instructions" is neither a string nor null. */
static int instructions_edit(const char *body, const struct mp_chatreq *req, size_t *at,
                             size_t *skip, const char **open, const char **close)
{
    size_t is = req->instructions_start, ie = req->instructions_end;
    *skip = 0;
    if (ie == 0) { /* a new first member; "input" follows */
        *at = req->object_start + 1;
        *open = "\"instructions\":\"";
        *close = "\",";
    } else if (body[is] == 'n') { /* null: replaced by the block's string */
        *at = is;
        *skip = ie - is;
        *open = *close = "\"";
    } else if (body[is] == '"') { /* inside the string, before its closing quote */
        *at = ie - 1;
        *open = "\\n\\n";
        *close = "";
    } else {
        return MP_EUNSUPPORTED;
    }
    return MP_OK;
}

static int splice_instructions(const char *body, size_t len, const struct mp_chatreq *req,
                               const struct mp_wire_memory *mem, struct mp_splice *out)
{
    size_t at, skip;
    const char *open, *close;
    int rc = instructions_edit(body, req, &at, &skip, &open, &close);
    if (rc == MP_OK)
        rc = mp_splice_init(out, strlen(open) + mp_wire_joined_bound(mem) + strlen(close));
    if (rc != MP_OK)
        return rc;
    mp_splice_take(out, 0, at);
    char *w = mp_wire_put(mp_splice_gen(out), open, strlen(open));
    w = mp_wire_put_joined(w, mem); /* input is stored upstream: the tail goes here too */
    mp_splice_wrote(out, mp_wire_put(w, close, strlen(close)));
    mp_splice_take(out, at + skip, len - at - skip);
    return MP_OK;
}

static int splice(const char *body, size_t len, const struct mp_chatreq *req,
                  const struct mp_wire_memory *mem, struct mp_splice *out)
{
    static const char user_open[] = ",{\"role\":\"user\",\"content\":";
    if (req->stored)
        return splice_instructions(body, len, req, mem, out);
    if (!req->text_input)
        return mp_wire_splice_messages(body, len, req, mem, "developer", 9, out);
    /* "input":"..." -> "input":[<memory>,{"role":"user","content":"..."}] */
    size_t s = req->messages_start, e = req->messages_end;
    int rc = mp_splice_init(out, 1 + mp_wire_messages_bound(mem, 9) + SLEN(user_open) + 2);
    if (rc != MP_OK)
        return rc;
    mp_splice_take(out, 0, s);
    /* the head's item, then the tail and (replay_with_tail) the replay right
       before the user item, as the turns after it have them */
    struct mp_wire_memory head = *mem, question = *mem;
    head.tail_len = 0;
    if (mem->replay_with_tail)
        head.npicks = 0;
    else
        question.npicks = 0;
    char *w = mp_splice_gen(out), *start = w + 1;
    *w++ = '[';
    w = mp_wire_put_messages(w, &head, "developer", 9, false);
    if (question.tail_len > 0 || question.npicks > 0) {
        if (w != start)
            *w++ = ',';
        w = mp_wire_put_question_part(w, &question, "developer", 9);
    }
    mp_splice_wrote(out, mp_wire_put(w, user_open, SLEN(user_open)));
    mp_splice_take(out, s, e - s); /* the string, its bytes as they were */
    mp_splice_put(out, "}]", 2);
    mp_splice_take(out, e, len - e);
    return MP_OK;
}

/* ---- the reply ---- */

/* The parts of a message item that hold words (see the top). */
static const struct mp_completion_part word_parts[] = {
    {"\"output_text\"", "text"},
    {"\"refusal\"", "refusal"},
    {"\"output_audio\"", "transcript"},
};

/* The words of the response object buf[s..e) into out[0..cap) at *n (see
 * the top). MP_OK (possibly none); MP_EUPSTREAM when its status is not
 * "completed"; MP_EINVAL when it has no "output" array; MP_ETOOBIG. */
static int response_text(const char *buf, size_t s, size_t e, char *out, size_t cap, size_t *n)
{
    size_t vs, ve, cursor = 0, is, ie, ts, te;
    if (mp_json_member_in(buf, s, e, "status", &vs, &ve) != MP_OK ||
        !mp_json_span_is(buf, vs, ve, "\"completed\""))
        return MP_EUPSTREAM;
    if (mp_json_member_in(buf, s, e, "output", &vs, &ve) != MP_OK || buf[vs] != '[')
        return MP_EINVAL;
    for (;;) {
        int rc = mp_json_next(buf, vs, ve, &cursor, NULL, NULL, &is, &ie);
        if (rc == MP_NOTFOUND)
            return MP_OK;
        if (rc != MP_OK)
            return rc;
        if (buf[is] != '{' || mp_json_member_in(buf, is, ie, "type", &ts, &te) != MP_OK ||
            !mp_json_span_is(buf, ts, te, "\"message\"") ||
            mp_json_member_in(buf, is, ie, "content", &ts, &te) != MP_OK || buf[ts] != '[')
            continue;
        size_t before = *n;
        if (*n > 0) { /* the separator, taken back when the item has no text */
            if (*n >= cap)
                return MP_ETOOBIG;
            out[(*n)++] = '\n';
        }
        rc = mp_completion_parts_text(buf, ts, te, word_parts,
                                      sizeof(word_parts) / sizeof(word_parts[0]), out, cap, n);
        if (rc != MP_OK)
            return rc;
        if (*n == before + (before > 0))
            *n = before;
    }
}

/* The item types of the calls a client runs (see the top). */
static const char *const client_calls[] = {
    "\"function_call\"",    "\"custom_tool_call\"", "\"computer_call\"",
    "\"local_shell_call\"", "\"shell_call\"",       "\"apply_patch_call\"",
};

/* Whether the item buf[s..e) is a call the client runs. */
static bool client_call(const char *buf, size_t s, size_t e)
{
    size_t ts, te;
    if (buf[s] != '{' || mp_json_member_in(buf, s, e, "type", &ts, &te) != MP_OK)
        return false;
    for (size_t i = 0; i < sizeof(client_calls) / sizeof(client_calls[0]); i++) {
        if (mp_json_span_is(buf, ts, te, client_calls[i]))
            return true;
    }
    return false;
}

/* Whether the "output" array buf[s..e) holds a call the client runs. */
static bool output_calls(const char *buf, size_t s, size_t e)
{
    size_t cursor = 0, is, ie;
    if (buf[s] != '[')
        return false;
    while (mp_json_next(buf, s, e, &cursor, NULL, NULL, &is, &ie) == MP_OK) {
        if (client_call(buf, is, ie))
            return true;
    }
    return false;
}

static bool reply_body_calls_tool(const char *body, size_t len)
{
    size_t vs, ve;
    return mp_json_find_member(body, len, "output", 6, &vs, &ve) == MP_OK &&
           output_calls(body, vs, ve);
}

/* An event with a call the client runs: response.output_item.added or
 * .done with such an item, or response.completed whose response's output
 * holds one. */
static bool event_calls(const char *d, size_t n, size_t ts, size_t te)
{
    size_t vs, ve, os, oe;
    if (mp_json_span_is(d, ts, te, "\"response.output_item.added\"") ||
        mp_json_span_is(d, ts, te, "\"response.output_item.done\""))
        return mp_json_find_member(d, n, "item", 4, &vs, &ve) == MP_OK && client_call(d, vs, ve);
    return mp_json_span_is(d, ts, te, "\"response.completed\"") &&
           mp_json_find_member(d, n, "response", 8, &vs, &ve) == MP_OK && d[vs] == '{' &&
           mp_json_member_in(d, vs, ve, "output", &os, &oe) == MP_OK && output_calls(d, os, oe);
}

static int reply_body_text(const char *body, size_t len, char **out, size_t *out_len)
{
    size_t vs, ve, n = 0;
    if (mp_json_find_member(body, len, "output", 6, &vs, &ve) == MP_EINVAL)
        return MP_EINVAL;         /* not a JSON object */
    char *text = malloc(len + 1); /* decoded text never outgrows the body */
    if (text == NULL)
        return MP_ENOMEM;
    int rc = response_text(body, 0, len, text, len, &n);
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

/* response.completed without deltas: the full response's words. */
static int completed_text(struct mp_completion *c, const char *d, size_t s, size_t e)
{
    size_t n = 0;
    char *text = malloc(e - s + 1);
    if (text == NULL)
        return MP_ENOMEM;
    int rc = response_text(d, s, e, text, e - s, &n);
    if (rc == MP_OK)
        rc = mp_completion_append_text(c, text, n);
    else
        mp_completion_mark(c, false, true); /* not completed after all, or unreadable */
    free(text);
    return rc == MP_EUPSTREAM || rc == MP_EINVAL ? MP_OK : rc;
}

/* Whether the event type d[ts..te) brings a piece of the words: the
 * delta of an output_text, a refusal or an audio's transcript. */
static bool words_delta(const char *d, size_t ts, size_t te)
{
    return mp_json_span_is(d, ts, te, "\"response.output_text.delta\"") ||
           mp_json_span_is(d, ts, te, "\"response.refusal.delta\"") ||
           mp_json_span_is(d, ts, te, "\"response.audio.transcript.delta\"");
}

static int read_event(struct mp_completion *c, const char *d, size_t n)
{
    size_t ts, te, vs, ve;
    if (mp_json_find_member(d, n, "type", 4, &ts, &te) != MP_OK)
        return MP_OK;
    if (event_calls(d, n, ts, te))
        mp_completion_mark_tool_call(c);
    if (words_delta(d, ts, te)) {
        if (mp_json_find_member(d, n, "delta", 5, &vs, &ve) != MP_OK || d[vs] != '"')
            return MP_OK;
        return mp_completion_append(c, d, vs, ve);
    }
    if (mp_json_span_is(d, ts, te, "\"response.completed\"")) {
        size_t len = 0;
        mp_completion_mark(c, true, false);
        mp_completion_text(c, &len);
        if (len > 0 || mp_json_find_member(d, n, "response", 8, &vs, &ve) != MP_OK || d[vs] != '{')
            return MP_OK;
        return completed_text(c, d, vs, ve);
    }
    if (mp_json_span_is(d, ts, te, "\"error\"") ||
        mp_json_span_is(d, ts, te, "\"response.failed\"") ||
        mp_json_span_is(d, ts, te, "\"response.incomplete\""))
        mp_completion_mark(c, false, true);
    return MP_OK;
}

const struct mp_wire mp_wire_responses = {
    .name = "responses",
    .scan = mp_chatreq_scan_input,
    .message_text = mp_chatreq_message_text,
    .message_text_equals = mp_chatreq_message_text_equals,
    .splice = splice,
    .reply_reader = read_event,
    .reply_body_text = reply_body_text,
    .reply_body_calls_tool = reply_body_calls_tool,
};
