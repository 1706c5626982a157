/* The chat completions wire (wire.h): POST /v1/chat/completions. The request
 * is read by core/chatreq.c, the reply by core/completion.c; the splice is
 * here: one system message with the block, then the replayed messages as
 * ordinary user and assistant messages, at mp_chatreq.insert_at:
 *
 *   {"role":"system","content":"<block>"},{"role":"user","content":"..."},...
 *
 * The output is sized from an upper bound (escaping at most doubles the
 * sanitized block and at most sextuples raw message text) and written once:
 * prefix, elements, suffix. */
#include <stdlib.h>
#include <string.h>

#include "completion.h"
#include "json_write.h"
#include "memblock.h"
#include "status.h"
#include "wire.h"

#define SYSTEM_OPEN    "{\"role\":\"system\",\"content\":\""
#define USER_OPEN      "{\"role\":\"user\",\"content\":\""
#define ASSISTANT_OPEN "{\"role\":\"assistant\",\"content\":\""
#define CLOSE          "\"}"

#define SLEN(lit) (sizeof(lit) - 1)

/* JSON-escapes src[0..n) into out, which has room for grow * n bytes: 6
 * for any text (the most mp_json_escape writes per input byte), 2 for the
 * sanitized block (no control but '\n'). */
static size_t put_escaped(char *out, const char *src, size_t n, size_t grow)
{
    return mp_json_escape(out, grow * n, src, n);
}

static char *put_lit(char *w, const char *s, size_t n)
{
    memcpy(w, s, n);
    return w + n;
}

static int splice(const char *body, size_t len, const struct mp_chatreq *req,
                  const struct mp_wire_memory *mem, char **out, size_t *out_len)
{
    size_t bound = len + 2 + SLEN(SYSTEM_OPEN) + 2 * mem->block_len + SLEN(CLOSE) + 1;
    char *res, *w;
    for (size_t k = 0; k < mem->npicks; k++)
        bound += 1 + SLEN(ASSISTANT_OPEN) + 6 * mem->picks[k].len + MP_MEMBLOCK_ELLIPSIS_LEN +
                 SLEN(CLOSE);
    res = malloc(bound);
    if (res == NULL)
        return MP_ENOMEM;
    w = put_lit(res, body, req->insert_at);
    if (req->insert_needs_comma_before)
        *w++ = ',';
    w = put_lit(w, SYSTEM_OPEN, SLEN(SYSTEM_OPEN));
    w += put_escaped(w, mem->block, mem->block_len, 2);
    w = put_lit(w, CLOSE, SLEN(CLOSE));
    for (size_t k = 0; k < mem->npicks; k++) {
        const struct mp_wire_pick *pk = &mem->picks[k];
        *w++ = ',';
        if (pk->role == MP_ROLE_ASSISTANT)
            w = put_lit(w, ASSISTANT_OPEN, SLEN(ASSISTANT_OPEN));
        else
            w = put_lit(w, USER_OPEN, SLEN(USER_OPEN));
        w += put_escaped(w, pk->text, pk->len, 6);
        if (pk->cut)
            w = put_lit(w, MP_MEMBLOCK_ELLIPSIS, MP_MEMBLOCK_ELLIPSIS_LEN);
        w = put_lit(w, CLOSE, SLEN(CLOSE));
    }
    if (req->insert_needs_comma_after)
        *w++ = ',';
    w = put_lit(w, body + req->insert_at, len - req->insert_at);
    *w = '\0';
    *out = res;
    *out_len = (size_t)(w - res);
    return MP_OK;
}

/* ---- the reply: core/completion.c's accumulator ---- */

static struct mp_wire_reply *reply_new(size_t cap)
{
    return (struct mp_wire_reply *)mp_completion_new(cap);
}

static int reply_feed(struct mp_wire_reply *r, const char *ev, size_t len)
{
    return mp_completion_feed_event((struct mp_completion *)r, ev, len);
}

static bool reply_complete(const struct mp_wire_reply *r)
{
    return mp_completion_complete((const struct mp_completion *)r);
}

static bool reply_overflowed(const struct mp_wire_reply *r)
{
    return mp_completion_overflowed((const struct mp_completion *)r);
}

static const char *reply_text(const struct mp_wire_reply *r, size_t *len)
{
    return mp_completion_text((const struct mp_completion *)r, len);
}

static void reply_free(struct mp_wire_reply *r)
{
    mp_completion_free((struct mp_completion *)r);
}

const struct mp_wire mp_wire_chat = {
    .name = "chat",
    .scan = mp_chatreq_scan,
    .message_text = mp_chatreq_message_text,
    .message_text_equals = mp_chatreq_message_text_equals,
    .splice = splice,
    .reply_new = reply_new,
    .reply_feed = reply_feed,
    .reply_complete = reply_complete,
    .reply_overflowed = reply_overflowed,
    .reply_text = reply_text,
    .reply_free = reply_free,
    .reply_body_text = mp_completion_reply_text,
};
