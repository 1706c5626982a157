/* The spliced body as pieces, and memory as message objects (see
 * splice.h). The splice never holds the client's body: a piece of it is an
 * offset, read again from the body the sender passes. */
#include "wire/splice.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "json/json_write.h"
#include "recall/memblock.h"
#include "status.h"

#define ROLE_OPEN      "{\"role\":\""
#define CONTENT_OPEN   "\",\"content\":\""
#define USER_OPEN      "{\"role\":\"user\",\"content\":\""
#define ASSISTANT_OPEN "{\"role\":\"assistant\",\"content\":\""
#define CLOSE          "\"}"

#define SLEN(lit) (sizeof(lit) - 1)

char *mp_wire_put(char *w, const char *s, size_t n)
{
    memcpy(w, s, n);
    return w + n;
}

/* ---- the pieces ---- */

int mp_splice_init(struct mp_splice *s, size_t gen_cap)
{
    char *gen = malloc(gen_cap > 0 ? gen_cap : 1);
    if (gen == NULL)
        return MP_ENOMEM;
    memset(s, 0, sizeof(*s));
    s->gen = gen;
    s->gen_cap = gen_cap;
    return MP_OK;
}

/* Appends len bytes at off, growing the last piece when they follow it. */
static void append(struct mp_splice *s, bool generated, size_t off, size_t len)
{
    struct mp_splice_piece *last = s->npieces > 0 ? &s->pieces[s->npieces - 1] : NULL;
    if (len == 0)
        return;
    s->total_len += len;
    if (last != NULL && last->generated == generated && last->off + last->len == off) {
        last->len += len;
        return;
    }
    /* the pieces follow the wire's code, not the request: a fixed few */
    assert(s->npieces < MP_SPLICE_PIECES_MAX);
    s->pieces[s->npieces++] = (struct mp_splice_piece){generated, off, len};
}

void mp_splice_take(struct mp_splice *s, size_t off, size_t len)
{
    append(s, false, off, len);
}

char *mp_splice_gen(struct mp_splice *s)
{
    return s->gen + s->gen_len;
}

void mp_splice_wrote(struct mp_splice *s, const char *end)
{
    size_t n = (size_t)(end - mp_splice_gen(s));
    assert(s->gen_len + n <= s->gen_cap); /* the wire's bound held */
    append(s, true, s->gen_len, n);
    s->gen_len += n;
}

void mp_splice_put(struct mp_splice *s, const char *bytes, size_t n)
{
    mp_splice_wrote(s, mp_wire_put(mp_splice_gen(s), bytes, n));
}

/* Where body's opening '{' ends (the offset after it), blanks before it
 * skipped; 0 when body does not start with one. */
static size_t after_open(const char *body, size_t len)
{
    size_t i = 0;
    while (i < len && (body[i] == ' ' || body[i] == '\t' || body[i] == '\n' || body[i] == '\r'))
        i++;
    return i < len && body[i] == '{' ? i + 1 : 0;
}

int mp_splice_open_member(struct mp_splice *s, const char *body, size_t len, const char *member,
                          size_t n)
{
    size_t at = after_open(body, len);
    const struct mp_splice_piece *first = &s->pieces[0];
    if (at == 0 || n == 0 || s->npieces + 2 > MP_SPLICE_PIECES_MAX)
        return MP_EINVAL;
    if (s->npieces > 0 && (first->generated || first->off != 0 || first->len < at))
        return MP_EINVAL; /* every wire's splice begins with the client's first bytes */
    if (s->gen_cap - s->gen_len < n) {
        /* the pieces hold offsets into gen, never pointers: it may move */
        char *gen = realloc(s->gen, s->gen_len + n);
        if (gen == NULL)
            return MP_ENOMEM;
        s->gen = gen;
        s->gen_cap = s->gen_len + n;
    }
    if (s->npieces == 0)
        mp_splice_take(s, 0, len);
    size_t rest = s->pieces[0].len - at;
    size_t shift = rest > 0 ? 2 : 1;
    memmove(&s->pieces[1 + shift], &s->pieces[1], (s->npieces - 1) * sizeof(s->pieces[0]));
    s->pieces[0].len = at;
    s->pieces[1] = (struct mp_splice_piece){true, s->gen_len, n};
    if (rest > 0)
        s->pieces[2] = (struct mp_splice_piece){false, at, rest};
    memcpy(s->gen + s->gen_len, member, n);
    s->gen_len += n;
    s->npieces += shift;
    s->total_len += n;
    return MP_OK;
}

static const char *piece_bytes(const struct mp_splice *s, const char *client_body, size_t i)
{
    const struct mp_splice_piece *p = &s->pieces[i];
    return (p->generated ? s->gen : client_body) + p->off;
}

size_t mp_splice_iov(const struct mp_splice *s, const char *client_body, struct iovec *out,
                     size_t cap)
{
    for (size_t i = 0; i < s->npieces && i < cap; i++) {
        /* iov_base is not const, but nothing writes through a sent iovec */
        out[i].iov_base = (void *)piece_bytes(s, client_body, i);
        out[i].iov_len = s->pieces[i].len;
    }
    return s->npieces;
}

void mp_splice_write(const struct mp_splice *s, const char *client_body, char *dst)
{
    for (size_t i = 0; i < s->npieces; i++)
        dst = mp_wire_put(dst, piece_bytes(s, client_body, i), s->pieces[i].len);
}

int mp_splice_flatten(const struct mp_splice *s, const char *client_body, char **out,
                      size_t *out_len)
{
    char *res = malloc(s->total_len + 1);
    if (res == NULL)
        return MP_ENOMEM;
    mp_splice_write(s, client_body, res);
    res[s->total_len] = '\0';
    *out = res;
    *out_len = s->total_len;
    return MP_OK;
}

void mp_splice_cleanup(struct mp_splice *s)
{
    free(s->gen);
    memset(s, 0, sizeof(*s));
}

/* ---- the generated pieces ---- */

char *mp_wire_put_block(char *w, const struct mp_wire_memory *mem)
{
    /* the sanitized block has no control byte but '\n': at most 2 per byte */
    return w + mp_json_escape(w, 2 * mem->block_len, mem->block, mem->block_len);
}

char *mp_wire_put_tail(char *w, const struct mp_wire_memory *mem)
{
    return w + mp_json_escape(w, 2 * mem->tail_len, mem->tail, mem->tail_len);
}

char *mp_wire_put_joined(char *w, const struct mp_wire_memory *mem)
{
    w = mp_wire_put_block(w, mem);
    if (mem->tail_len == 0)
        return w;
    if (mem->block_len > 0)
        w = mp_wire_put(w, "\\n\\n", 4);
    return mp_wire_put_tail(w, mem);
}

size_t mp_wire_joined_bound(const struct mp_wire_memory *mem)
{
    return 2 * mem->block_len + (mem->tail_len > 0 ? 4 + 2 * mem->tail_len : 0);
}

size_t mp_wire_pick_bound(const struct mp_wire_pick *pk)
{
    return 1 + SLEN(ASSISTANT_OPEN) + 6 * pk->len + MP_MEMBLOCK_ELLIPSIS_LEN + SLEN(CLOSE);
}

size_t mp_wire_messages_bound(const struct mp_wire_memory *mem, size_t role_len)
{
    /* the tail as its own message, or joined: the larger of the two */
    size_t bound = 2 * (SLEN(ROLE_OPEN) + role_len + SLEN(CONTENT_OPEN) + SLEN(CLOSE) + 1) +
                   mp_wire_joined_bound(mem);
    for (size_t k = 0; k < mem->npicks; k++)
        bound += mp_wire_pick_bound(&mem->picks[k]);
    return bound;
}

char *mp_wire_put_pick(char *w, const struct mp_wire_pick *pk)
{
    if (pk->role == MP_ROLE_ASSISTANT)
        w = mp_wire_put(w, ASSISTANT_OPEN, SLEN(ASSISTANT_OPEN));
    else
        w = mp_wire_put(w, USER_OPEN, SLEN(USER_OPEN));
    w += mp_json_escape(w, 6 * pk->len, pk->text, pk->len);
    if (pk->cut)
        w = mp_wire_put(w, MP_MEMBLOCK_ELLIPSIS, MP_MEMBLOCK_ELLIPSIS_LEN);
    return mp_wire_put(w, CLOSE, SLEN(CLOSE));
}

char *mp_wire_put_tail_message(char *w, const struct mp_wire_memory *mem, const char *role,
                               size_t role_len)
{
    w = mp_wire_put(w, ROLE_OPEN, SLEN(ROLE_OPEN));
    w = mp_wire_put(w, role, role_len);
    w = mp_wire_put(w, CONTENT_OPEN, SLEN(CONTENT_OPEN));
    w = mp_wire_put_tail(w, mem);
    return mp_wire_put(w, CLOSE, SLEN(CLOSE));
}

bool mp_wire_has_block(const struct mp_wire_memory *mem, bool join_tail)
{
    return mem->block_len > 0 || (join_tail && mem->tail_len > 0);
}

char *mp_wire_put_messages(char *w, const struct mp_wire_memory *mem, const char *role,
                           size_t role_len, bool join_tail)
{
    bool block = mp_wire_has_block(mem, join_tail);
    if (block) {
        w = mp_wire_put(w, ROLE_OPEN, SLEN(ROLE_OPEN));
        w = mp_wire_put(w, role, role_len);
        w = mp_wire_put(w, CONTENT_OPEN, SLEN(CONTENT_OPEN));
        w = join_tail ? mp_wire_put_joined(w, mem) : mp_wire_put_block(w, mem);
        w = mp_wire_put(w, CLOSE, SLEN(CLOSE));
    }
    for (size_t k = 0; k < mem->npicks; k++) {
        if (block || k > 0)
            *w++ = ',';
        w = mp_wire_put_pick(w, &mem->picks[k]);
    }
    return w;
}

/* Where the tail goes (and the replay, with replay_with_tail): the start
 * of the question's message (the newest user message with text:
 * mp_chatreq_question), when it is at or after req->insert_at and there
 * is something to put there; 0 when there is not (the tail joins the
 * block, the replay follows it). A tool loop's rounds (assistant tool
 * calls and tool results after it) keep it there, never between a call
 * and its result. */
static size_t tail_at(const struct mp_chatreq *req, const struct mp_wire_memory *mem)
{
    size_t newest, previous;
    if (mem->tail_len == 0 && !(mem->replay_with_tail && mem->npicks > 0))
        return 0;
    mp_chatreq_question(req, &newest, &previous);
    if (newest == req->nmsgs || req->msgs[newest].start < req->insert_at)
        return 0;
    return req->msgs[newest].start;
}

char *mp_wire_put_question_part(char *w, const struct mp_wire_memory *mem, const char *role,
                                size_t role_len)
{
    bool any = false;
    if (mem->tail_len > 0) {
        w = mp_wire_put_tail_message(w, mem, role, role_len);
        any = true;
    }
    for (size_t k = 0; k < mem->npicks; k++) {
        if (any)
            *w++ = ',';
        w = mp_wire_put_pick(w, &mem->picks[k]);
        any = true;
    }
    return w;
}

int mp_wire_splice_messages(const char *body, size_t len, const struct mp_chatreq *req,
                            const struct mp_wire_memory *mem, const char *role, size_t role_len,
                            struct mp_splice *out)
{
    size_t at = tail_at(req, mem);
    struct mp_wire_memory first = *mem, second = *mem; /* at insert_at, and at the question */
    if (at == 0) {
        second.tail_len = second.npicks = 0;
    } else {
        first.tail_len = 0;
        if (mem->replay_with_tail)
            first.npicks = 0;
        else
            second.npicks = 0;
    }
    int rc = mp_splice_init(out, 2 + mp_wire_messages_bound(mem, role_len));
    if (rc != MP_OK)
        return rc;
    mp_splice_take(out, 0, req->insert_at);
    if (mp_wire_has_block(&first, at == 0) || first.npicks > 0) {
        char *w = mp_splice_gen(out);
        if (req->insert_needs_comma_before)
            *w++ = ',';
        w = mp_wire_put_messages(w, &first, role, role_len, at == 0);
        if (req->insert_needs_comma_after)
            *w++ = ',';
        mp_splice_wrote(out, w);
    }
    if (at == 0) {
        mp_splice_take(out, req->insert_at, len - req->insert_at);
        return MP_OK;
    }
    /* the tail {"role":"<role>","content":"<tail>"} and the replay, before the question */
    mp_splice_take(out, req->insert_at, at - req->insert_at);
    char *w = mp_wire_put_question_part(mp_splice_gen(out), &second, role, role_len);
    *w++ = ',';
    mp_splice_wrote(out, w);
    mp_splice_take(out, at, len - at);
    return MP_OK;
}
