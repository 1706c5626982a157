/* The assistant's words of choice 0 in a chat completion (its content, its
 * refusal, its audio's transcript), from a whole body or from stream
 * chunks. Reads with json_scan (no tree, no jansson); does not judge
 * whether the turn is worth recording beyond "complete" and "fits".
 *
 * A stream's text is decoded straight into the accumulator's buffer: each
 * delta's decoded length is bounded by its literal's length, so the buffer
 * is grown to hold that bound (never past cap) before decoding, and a delta
 * that would cross cap fails inside the decoder with nothing committed. */
#include "wire/completion.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "json/json_scan.h"
#include "http/sse.h"
#include "status.h"

struct mp_completion {
    mp_completion_reader read; /* one event's data, a JSON object */
    char *text;                /* NUL-terminated; NULL until the first content */
    size_t len;
    size_t alloc;
    size_t cap;
    char *scratch; /* one event's joined data */
    size_t scratch_alloc;
    int broken; /* MP_OK, or the MP_ETOOBIG / MP_ENOMEM that stopped us */
    bool done;
    bool finished;
    bool failed;
    bool cuts; /* past cap the text is cut (cut set), not overflowed */
    bool cut;
    bool tool_call; /* the reply calls a tool */
};

static bool is_choice0(const char *buf, size_t s, size_t e, size_t position)
{
    size_t is, ie;
    if (mp_json_member_in(buf, s, e, "index", &is, &ie) != MP_OK)
        return position == 0;
    return mp_json_span_is(buf, is, ie, "0");
}

/* Finds choice 0 in the "choices" value buf[as..ae). MP_OK with its span
 * (an object); MP_NOTFOUND when there is no choice 0; MP_EINVAL when the
 * value is not an array or choice 0 is not an object. */
static int find_choice0(const char *buf, size_t as, size_t ae, size_t *cs, size_t *ce)
{
    size_t es, ee;
    size_t cursor = 0;
    size_t position = 0;

    if (buf[as] != '[')
        return MP_EINVAL;
    for (;;) {
        int rc = mp_json_next(buf, as, ae, &cursor, NULL, NULL, &es, &ee);
        if (rc != MP_OK)
            return rc;
        if (buf[es] == '{' && is_choice0(buf, es, ee, position)) {
            *cs = es;
            *ce = ee;
            return MP_OK;
        }
        if (buf[es] != '{' && position == 0)
            return MP_EINVAL;
        position++;
    }
}

/* The kind of the part buf[ps..pe) among kinds[0..nkinds): its words'
 * member, or NULL when it is none of them. */
static const char *part_member(const char *buf, size_t ps, size_t pe,
                               const struct mp_completion_part *kinds, size_t nkinds)
{
    size_t ts, te;
    if (buf[ps] != '{' || mp_json_member_in(buf, ps, pe, "type", &ts, &te) != MP_OK)
        return NULL;
    for (size_t i = 0; i < nkinds; i++) {
        if (mp_json_span_is(buf, ts, te, kinds[i].type))
            return kinds[i].member;
    }
    return NULL;
}

int mp_completion_parts_text(const char *buf, size_t s, size_t e,
                             const struct mp_completion_part *kinds, size_t nkinds, char *out,
                             size_t cap, size_t *n)
{
    size_t cursor = 0;
    size_t ps, pe, ts, te;
    bool first = true;

    for (;;) {
        int rc = mp_json_next(buf, s, e, &cursor, NULL, NULL, &ps, &pe);
        if (rc == MP_NOTFOUND)
            return MP_OK;
        if (rc != MP_OK)
            return rc;
        const char *member = part_member(buf, ps, pe, kinds, nkinds);
        if (member == NULL || mp_json_member_in(buf, ps, pe, member, &ts, &te) != MP_OK ||
            buf[ts] != '"')
            continue;
        if (!first) {
            if (*n >= cap)
                return MP_ETOOBIG;
            out[(*n)++] = '\n';
        }
        size_t got;
        rc = mp_json_text_decode(buf, ts, te, out + *n, cap - *n, &got);
        if (rc != MP_OK)
            return rc;
        *n += got;
        first = false;
    }
}

/* Appends the text of the content value buf[s..e) to out[0..cap) at *n.
 * MP_NOTFOUND for null; MP_EINVAL for a type that is not text. */
static int content_text(const char *buf, size_t s, size_t e, char *out, size_t cap, size_t *n)
{
    static const struct mp_completion_part text = {"\"text\"", "text"};
    size_t got;
    int rc;

    if (buf[s] == '[')
        return mp_completion_parts_text(buf, s, e, &text, 1, out, cap, n);
    if (buf[s] != '"')
        return mp_json_span_is(buf, s, e, "null") ? MP_NOTFOUND : MP_EINVAL;
    rc = mp_json_text_decode(buf, s, e, out + *n, cap - *n, &got);
    if (rc == MP_OK)
        *n += got;
    return rc;
}

/* The words of a message (or delta) object buf[s..e) besides its content
 * (chat completions' own members, not parts): its refusal, its audio's
 * transcript. Each sets *vs, *ve to its string; false when it has none. */
static bool refusal_of(const char *buf, size_t s, size_t e, size_t *vs, size_t *ve)
{
    return mp_json_member_in(buf, s, e, "refusal", vs, ve) == MP_OK && buf[*vs] == '"';
}

static bool transcript_of(const char *buf, size_t s, size_t e, size_t *vs, size_t *ve)
{
    size_t as, ae;
    return mp_json_member_in(buf, s, e, "audio", &as, &ae) == MP_OK && buf[as] == '{' &&
           mp_json_member_in(buf, as, ae, "transcript", vs, ve) == MP_OK && buf[*vs] == '"';
}

/* Appends the words of the message buf[s..e) to out[0..cap) at *n: its
 * content's text, then (words) its refusal and its audio's transcript.
 * MP_OK (perhaps none); MP_EINVAL for content of another type; MP_ETOOBIG. */
static int message_words(const char *buf, size_t s, size_t e, bool words, char *out, size_t cap,
                         size_t *n)
{
    size_t vs, ve;
    int rc = MP_OK;
    if (mp_json_member_in(buf, s, e, "content", &vs, &ve) == MP_OK)
        rc = content_text(buf, vs, ve, out, cap, n);
    if (rc == MP_NOTFOUND)
        rc = MP_OK; /* null */
    if (rc == MP_OK && words && refusal_of(buf, s, e, &vs, &ve))
        rc = content_text(buf, vs, ve, out, cap, n);
    if (rc == MP_OK && words && transcript_of(buf, s, e, &vs, &ve))
        rc = content_text(buf, vs, ve, out, cap, n);
    return rc;
}

/* mp_completion_reply_text, or with words mp_completion_reply_words. */
static int reply_text(const char *body, size_t len, bool words, char **out, size_t *out_len)
{
    size_t as, ae, cs, ce, ms, me;
    size_t n = 0;
    char *text = NULL;
    int rc = mp_json_find_member(body, len, "choices", 7, &as, &ae);

    if (rc != MP_OK)
        return MP_EINVAL;
    rc = find_choice0(body, as, ae, &cs, &ce);
    if (rc != MP_OK)
        return rc;
    if (mp_json_member_in(body, cs, ce, "message", &ms, &me) != MP_OK || body[ms] != '{')
        return MP_EINVAL;
    /* Decoded text never outgrows the literals that hold it. */
    text = malloc(me - ms + 1);
    if (text == NULL)
        return MP_ENOMEM;
    rc = message_words(body, ms, me, words, text, me - ms, &n);
    if (rc == MP_OK && n == 0)
        rc = MP_NOTFOUND;
    if (rc != MP_OK)
        goto out;
    text[n] = '\0';
    *out = text;
    *out_len = n;
    text = NULL;
out:
    free(text);
    return rc;
}

int mp_completion_reply_text(const char *body, size_t len, char **out, size_t *out_len)
{
    return reply_text(body, len, false, out, out_len);
}

int mp_completion_reply_words(const char *body, size_t len, char **out, size_t *out_len)
{
    return reply_text(body, len, true, out, out_len);
}

struct mp_completion *mp_completion_new_reader(size_t cap, mp_completion_reader read)
{
    struct mp_completion *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return NULL;
    c->cap = cap;
    c->read = read;
    return c;
}

struct mp_completion *mp_completion_new_cutting(size_t cap, mp_completion_reader read)
{
    struct mp_completion *c = mp_completion_new_reader(cap, read);
    if (c != NULL)
        c->cuts = true;
    return c;
}

bool mp_completion_cut(const struct mp_completion *c)
{
    return c->cut;
}

struct mp_completion *mp_completion_new(size_t cap)
{
    return mp_completion_new_reader(cap, mp_completion_read_chat);
}

void mp_completion_free(struct mp_completion *c)
{
    if (c == NULL)
        return;
    free(c->text);
    free(c->scratch);
    free(c);
}

/* Makes room for len + want bytes of text and a NUL. */
static int text_reserve(struct mp_completion *c, size_t want)
{
    size_t need = c->len + want + 1;
    if (need <= c->alloc)
        return MP_OK;
    size_t alloc = c->alloc > 0 ? c->alloc : 256;
    while (alloc < need)
        alloc = alloc > SIZE_MAX / 2 ? need : alloc * 2;
    if (alloc - 1 > c->cap)
        alloc = c->cap + 1;
    char *p = realloc(c->text, alloc);
    if (p == NULL)
        return MP_ENOMEM;
    c->text = p;
    c->alloc = alloc;
    return MP_OK;
}

int mp_completion_append(struct mp_completion *c, const char *buf, size_t s, size_t e)
{
    if (c->cut)
        return MP_OK;
    size_t room = c->cap - c->len;
    size_t bound = e - s < room ? e - s : room;
    size_t n = c->len;

    int rc = text_reserve(c, bound);
    if (rc != MP_OK)
        return rc;
    rc = content_text(buf, s, e, c->text, c->len + bound, &n);
    if (rc == MP_ETOOBIG && c->cuts) {
        c->cut = true; /* the text ends here: what it holds is kept */
        rc = MP_OK;
    } else if (rc == MP_NOTFOUND || rc == MP_EINVAL) {
        rc = MP_OK; /* null or a non-text content adds nothing */
    } else if (rc == MP_OK) {
        c->len = n;
    }
    c->text[c->len] = '\0';
    return rc;
}

/* A finish_reason value buf[s..e) that says the model called a tool. */
static bool tool_finish(const char *buf, size_t s, size_t e)
{
    return mp_json_span_is(buf, s, e, "\"tool_calls\"") ||
           mp_json_span_is(buf, s, e, "\"function_call\"");
}

/* A message or delta object buf[s..e) with a tool call: a non-empty
 * "tool_calls" array or a "function_call" object. */
static bool has_tool_call(const char *buf, size_t s, size_t e)
{
    size_t vs, ve, cursor = 0, es, ee;
    if (mp_json_member_in(buf, s, e, "function_call", &vs, &ve) == MP_OK && buf[vs] == '{')
        return true;
    return mp_json_member_in(buf, s, e, "tool_calls", &vs, &ve) == MP_OK && buf[vs] == '[' &&
           mp_json_next(buf, vs, ve, &cursor, NULL, NULL, &es, &ee) == MP_OK;
}

bool mp_completion_reply_calls_tool(const char *body, size_t len)
{
    size_t as, ae, cs, ce, vs, ve;
    if (mp_json_find_member(body, len, "choices", 7, &as, &ae) != MP_OK ||
        find_choice0(body, as, ae, &cs, &ce) != MP_OK)
        return false;
    if (mp_json_member_in(body, cs, ce, "finish_reason", &vs, &ve) == MP_OK &&
        tool_finish(body, vs, ve))
        return true;
    return mp_json_member_in(body, cs, ce, "message", &vs, &ve) == MP_OK && body[vs] == '{' &&
           has_tool_call(body, vs, ve);
}

int mp_completion_read_chat(struct mp_completion *c, const char *data, size_t len)
{
    size_t as, ae, cs, ce, vs, ve, ds, de;

    if (mp_json_find_member(data, len, "error", 5, &vs, &ve) == MP_OK)
        c->failed = true;
    if (mp_json_find_member(data, len, "choices", 7, &as, &ae) != MP_OK ||
        find_choice0(data, as, ae, &cs, &ce) != MP_OK)
        return MP_OK;
    if (mp_json_member_in(data, cs, ce, "finish_reason", &vs, &ve) == MP_OK &&
        !mp_json_span_is(data, vs, ve, "null")) {
        c->finished = true;
        c->tool_call = c->tool_call || tool_finish(data, vs, ve);
    }
    if (mp_json_member_in(data, cs, ce, "delta", &ds, &de) != MP_OK || data[ds] != '{')
        return MP_OK;
    c->tool_call = c->tool_call || has_tool_call(data, ds, de);
    int rc = MP_OK;
    if (mp_json_member_in(data, ds, de, "content", &vs, &ve) == MP_OK)
        rc = mp_completion_append(c, data, vs, ve);
    if (rc == MP_OK && refusal_of(data, ds, de, &vs, &ve))
        rc = mp_completion_append(c, data, vs, ve);
    if (rc == MP_OK && transcript_of(data, ds, de, &vs, &ve))
        rc = mp_completion_append(c, data, vs, ve);
    return rc;
}

int mp_completion_feed_event(struct mp_completion *c, const char *ev, size_t len)
{
    size_t dlen, vs, ve;
    int rc;

    if (c->scratch_alloc < len) {
        char *p = realloc(c->scratch, len);
        if (p == NULL) {
            c->broken = MP_ENOMEM; /* this event's text is lost */
            return MP_ENOMEM;
        }
        c->scratch = p;
        c->scratch_alloc = len;
    }
    /* The joined data is never longer than the event. */
    rc = mp_sse_event_data(ev, len, c->scratch, c->scratch_alloc, &dlen);
    if (rc == MP_NOTFOUND)
        return c->broken;
    if (dlen == 6 && memcmp(c->scratch, "[DONE]", 6) == 0) {
        c->done = true;
        return c->broken;
    }
    /* Validates the whole object; "type" itself may be absent. */
    if (mp_json_find_member(c->scratch, dlen, "type", 4, &vs, &ve) == MP_EINVAL)
        return MP_EINVAL;
    if (c->broken != MP_OK)
        return c->broken;
    rc = c->read(c, c->scratch, dlen);
    if (rc != MP_OK)
        c->broken = rc;
    return rc;
}

int mp_completion_append_text(struct mp_completion *c, const char *text, size_t len)
{
    if (c->broken != MP_OK)
        return c->broken;
    if (c->cut)
        return MP_OK;
    if (len > c->cap - c->len && c->cuts) {
        c->cut = true;
        return MP_OK;
    }
    if (len > c->cap - c->len) {
        c->broken = MP_ETOOBIG;
        return MP_ETOOBIG;
    }
    int rc = text_reserve(c, len);
    if (rc != MP_OK) {
        c->broken = rc;
        return rc;
    }
    memcpy(c->text + c->len, text, len);
    c->len += len;
    c->text[c->len] = '\0';
    return MP_OK;
}

void mp_completion_mark(struct mp_completion *c, bool finished, bool failed)
{
    c->finished = c->finished || finished;
    c->failed = c->failed || failed;
}

void mp_completion_mark_tool_call(struct mp_completion *c)
{
    c->tool_call = true;
}

bool mp_completion_calls_tool(const struct mp_completion *c)
{
    return c->tool_call;
}

bool mp_completion_complete(const struct mp_completion *c)
{
    return (c->done || c->finished) && !c->failed;
}

bool mp_completion_overflowed(const struct mp_completion *c)
{
    return c->broken != MP_OK;
}

const char *mp_completion_text(const struct mp_completion *c, size_t *len)
{
    if (len != NULL)
        *len = c->len;
    return c->text != NULL ? c->text : "";
}
