/* The user's own words (see ownwords.h).
 *
 * A message is read twice at most: once for its run (does the turn hold a
 * person's words somewhere?), once for its own words. Both decode only a
 * message whose raw JSON may hold something to leave out; the rest, the
 * plain chat message, is its text. When structure leaves nothing out the
 * text is the one the patterns alone leave, byte for byte what memproxy
 * recorded before structure was looked at. */
#include "wire/ownwords.h"

#include <stdlib.h>
#include <string.h>

#include "wire/chatreq.h"
#include "wire/clienttask.h"
#include "findbytes.h"
#include "status.h"
#include "wire/wire.h"

static const char *const how_names[MP_OWN_HOWS] = {"file", "environment", "tagged"};

const char *mp_ownwords_how_name(int how)
{
    return how >= 0 && how < MP_OWN_HOWS ? how_names[how] : "tagged";
}

static bool is_white(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

/* Whether s[0..left) (s[0] a backslash) is key's first byte as a JSON
 * escape, "\\u00XX" in either case (an opening byte is printable ASCII:
 * its high nibble a digit), then the key's other bytes. */
static bool escaped_key(const char *s, size_t left, const struct mp_inserted_key *key)
{
    static const char hex[] = "0123456789abcdef";
    unsigned char c = (unsigned char)key->b[0];
    return left >= 5u + key->len && s[1] == 'u' && s[2] == '0' && s[3] == '0' &&
           s[4] == hex[c >> 4] && (s[5] | 0x20) == hex[c & 15] &&
           memcmp(s + 6, key->b + 1, key->len - 1u) == 0;
}

/* Whether raw[0..n) holds, at a backslash, "\\u003c" in either case or
 * one of p's keys escaped: one memchr pass for them all. */
static bool escape_in(const struct mp_inserted_patterns *p, const char *raw, size_t n)
{
    static const struct mp_inserted_key lt = {.len = 1, .b = {'<'}};
    const char *end = raw + n;
    for (const char *bs = memchr(raw, '\\', n); bs != NULL;
         bs = memchr(bs + 1, '\\', (size_t)(end - bs - 1))) {
        size_t left = (size_t)(end - bs);
        if (escaped_key(bs, left, &lt))
            return true;
        for (uint32_t k = 0; p != NULL && k < p->nkeys; k++)
            if (escaped_key(bs, left, &p->keys[k]))
                return true;
    }
    return false;
}

/* The pattern keys' checks and those of a '<', a fence and "},", each
 * byte looked for in one pass: a '<' in any form (a key that opens with
 * one among them), every escape in one. */
bool mp_ownwords_may_differ(const struct mp_inserted_patterns *p, const char *body,
                            const struct mp_chatreq_msg *m)
{
    const char *raw = body + m->start;
    size_t n = m->end - m->start;
    bool patterns = p != NULL && p->n > 0;
    if (patterns && p->nkeys == 0)
        return true; /* no prefilter: every message is decoded */
    if (memchr(raw, '<', n) != NULL || mp_find_bytes(raw, n, "```", 3) != NULL ||
        mp_find_bytes(raw, n, "},", 2) != NULL) /* parts: each is looked at alone */
        return true;
    for (uint32_t k = 0; patterns && k < p->nkeys; k++)
        if (p->keys[k].b[0] != '<' && mp_find_bytes(raw, n, p->keys[k].b, p->keys[k].len) != NULL)
            return true;
    return escape_in(patterns ? p : NULL, raw, n);
}

/* A message's text decoded, with its parts' ends. */
struct decoded {
    char *text;
    size_t len;
    size_t ends[MP_OWNWORDS_PARTS_MAX];
    size_t nparts;
};

static int decode(const struct mp_wire *w, const char *body, const struct mp_chatreq_msg *m,
                  char *out, size_t cap, struct decoded *d)
{
    (void)w; /* every wire's text is mp_chatreq_message_text's */
    d->text = out;
    int rc = mp_chatreq_message_parts(body, m, out, cap, &d->len, d->ends, MP_OWNWORDS_PARTS_MAX,
                                      &d->nparts);
    if (rc == MP_OK && d->nparts > MP_OWNWORDS_PARTS_MAX)
        d->nparts = MP_OWNWORDS_PARTS_MAX; /* the last end kept runs on */
    return rc;
}

/* Part k's span in d: [*s, *e). */
static void part_span(const struct decoded *d, size_t k, size_t *s, size_t *e)
{
    *s = k == 0 ? 0 : d->ends[k - 1] + 1;
    *e = d->ends[k];
}

/* Stages 1 and 2 over text[0..len) in place: the new length. */
static size_t strip_known(const struct mp_inserted_patterns *p, char *text, size_t len,
                          struct mp_inserted_count *stripped)
{
    len = mp_clienttask_strip_memory_context(text, len);
    return mp_inserted_strip(p, text, len, stripped);
}

static bool has_words(const struct mp_block *b, size_t nb)
{
    for (size_t i = 0; i < nb; i++)
        if (b[i].kind == MP_BLOCK_WORDS)
            return true;
    return false;
}

static bool all_white(const char *t, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!is_white(t[i]))
            return false;
    return true;
}

/* Whether message m has words (see mp_ownwords_run), with scratch s. */
static int message_words(const struct mp_wire *w, const char *body, const struct mp_chatreq_msg *m,
                         const struct mp_inserted_patterns *p, char **s, size_t *scap, bool *words)
{
    struct decoded d;
    struct mp_block b[MP_BLOCKS_MAX];
    *words = false;
    if (!m->has_text)
        return MP_OK;
    if (!mp_ownwords_may_differ(p, body, m)) {
        *words = m->text_len > 0;
        return MP_OK;
    }
    if (*scap < m->text_len + 1) {
        char *grown = realloc(*s, m->text_len + 1);
        if (grown == NULL)
            return MP_ENOMEM;
        *s = grown;
        *scap = m->text_len + 1;
    }
    if (decode(w, body, m, *s, *scap, &d) != MP_OK)
        return MP_OK;
    for (size_t k = 0; k < d.nparts && !*words; k++) {
        size_t ps, pe;
        part_span(&d, k, &ps, &pe);
        size_t n = strip_known(p, d.text + ps, pe - ps, NULL);
        size_t nb = mp_blocks_split(d.text + ps, n, b, MP_BLOCKS_MAX);
        *words = has_words(b, nb);
    }
    return MP_OK;
}

void mp_ownwords_run_bounds(const struct mp_chatreq *req, size_t i, size_t *from, size_t *to)
{
    size_t f = i, t = i + 1;
    while (f > 0 && req->msgs[f - 1].role == MP_CR_USER)
        f--;
    while (t < req->nmsgs && req->msgs[t].role == MP_CR_USER)
        t++;
    *from = f;
    *to = t;
}

int mp_ownwords_run(const struct mp_wire *w, const char *body, const struct mp_chatreq *req,
                    size_t from, size_t to, const struct mp_inserted_patterns *p,
                    struct mp_ownwords_run *out)
{
    char *s = NULL;
    size_t scap = 0;
    int rc = MP_OK;
    *out = (struct mp_ownwords_run){false, 0};
    for (size_t i = from; i < to && rc == MP_OK; i++) {
        const struct mp_chatreq_msg *m = &req->msgs[i];
        bool words = false;
        if (m->role != MP_CR_USER || !m->has_text)
            continue;
        out->nmsgs++;
        if (!out->words)
            rc = message_words(w, body, m, p, &s, &scap, &words);
        out->words = out->words || words;
    }
    free(s);
    return rc;
}

/* ---- one message ---- */

static void add_count(struct mp_inserted_count *to, const struct mp_inserted_count *c)
{
    if (to == NULL)
        return;
    for (int i = 0; i < MP_INSERTED_CLIENTS; i++)
        to->blocks[i] += c->blocks[i];
    to->total += c->total;
}

/* What structure does with block b of a part of nb blocks, in a message of
 * nparts parts, under run: the how it leaves it out by, or -1 (kept). A
 * block is a client's only when it is a whole unit the client assembled
 * (its part's only block, in a message of several parts or one of several
 * messages) and the person's words are elsewhere: inside a person's own
 * text, a file, an environment or a tagged block is what they pasted. */
static int left_out(const struct mp_block *b, size_t nb, size_t nparts,
                    const struct mp_ownwords_run *run)
{
    if (run == NULL || !run->words || nb != 1 || (nparts < 2 && run->nmsgs < 2))
        return -1; /* no words elsewhere, or inside the person's own text */
    switch (b->kind) {
    case MP_BLOCK_FILE:
        return MP_OWN_FILE;
    case MP_BLOCK_ENVIRONMENT:
        return MP_OWN_ENVIRONMENT;
    case MP_BLOCK_TAGGED:
        return MP_OWN_TAGGED;
    default:
        return -1;
    }
}

/* The parts of a message as structure sees them: each part's remainder
 * after stages 1 and 2 (in place in the copy) and its blocks. */
struct parts {
    char *copy; /* the decoded text, stripped part by part */
    size_t start[MP_OWNWORDS_PARTS_MAX], len[MP_OWNWORDS_PARTS_MAX];
    struct mp_block blocks[MP_OWNWORDS_PARTS_MAX][MP_BLOCKS_MAX];
    size_t nblocks[MP_OWNWORDS_PARTS_MAX];
    int8_t how[MP_OWNWORDS_PARTS_MAX][MP_BLOCKS_MAX]; /* left_out's answer per block */
    size_t n;
    bool any_out;
};

static void read_parts(const struct decoded *d, const struct mp_inserted_patterns *p,
                       const struct mp_ownwords_run *run, struct parts *ps,
                       struct mp_inserted_count *stripped)
{
    ps->n = d->nparts;
    ps->any_out = false;
    for (size_t k = 0; k < d->nparts; k++) {
        size_t s, e;
        part_span(d, k, &s, &e);
        ps->start[k] = s;
        ps->len[k] = strip_known(p, ps->copy + s, e - s, stripped);
        ps->nblocks[k] = mp_blocks_split(ps->copy + s, ps->len[k], ps->blocks[k], MP_BLOCKS_MAX);
        for (size_t j = 0; j < ps->nblocks[k]; j++) {
            int how = left_out(&ps->blocks[k][j], ps->nblocks[k], d->nparts, run);
            ps->how[k][j] = (int8_t)how;
            ps->any_out = ps->any_out || how >= 0;
        }
    }
}

static void add_print(struct mp_ownwords_text *res, const char *text, size_t at, size_t len)
{
    res->nkept++;
    if (len < MP_BLOCK_PRINT_MIN || res->nprints == MP_OWNWORDS_PRINTS_MAX) {
        res->unprinted = true;
        return;
    }
    res->prints[res->nprints++] =
        (struct mp_ownwords_print){(uint32_t)at, (uint32_t)len, mp_blocks_print(text + at, len)};
}

/* The own words when structure left blocks out: each part's kept blocks,
 * with the blanks between two that were next to each other (a "\n" where
 * a block between them went), the non-empty parts joined by "\n", into
 * out. The blocks cover every non-blank byte of a part, so what lies
 * between two of them is blank. */
static size_t join_kept(const struct parts *ps, char *out, struct mp_ownwords_text *res)
{
    size_t n = 0;
    for (size_t k = 0; k < ps->n; k++) {
        const char *t = ps->copy + ps->start[k];
        size_t w = n + (n > 0), prev_end = 0; /* after the "\n" that joins it */
        bool any = false, went = false;
        for (size_t j = 0; j < ps->nblocks[k]; j++) {
            const struct mp_block *b = &ps->blocks[k][j];
            if (ps->how[k][j] >= 0) {
                res->structure[ps->how[k][j]]++;
                went = true;
                continue;
            }
            if (any && went) {
                out[w++] = '\n';
            } else if (any) {
                memcpy(out + w, t + prev_end, b->start - prev_end);
                w += b->start - prev_end;
            }
            memcpy(out + w, t + b->start, b->len);
            w += b->len;
            prev_end = b->start + b->len;
            any = true;
            went = false;
        }
        if (!any)
            continue; /* nothing kept of the part */
        size_t at = n + (n > 0);
        add_print(res, out, at, w - at); /* a part is printed whole */
        if (n > 0)
            out[n] = '\n';
        n = w;
    }
    return n;
}

/* The prints of the own words out[0..len) when structure left nothing
 * out: each part whole (its blocks are the person's, or the client's only
 * as a whole), found in it, in order. */
static void find_prints(const struct parts *ps, const char *out, size_t len,
                        struct mp_ownwords_text *res)
{
    size_t cursor = 0;
    for (size_t k = 0; k < ps->n; k++) {
        const char *t = ps->copy + ps->start[k];
        size_t s = 0, e = ps->len[k];
        while (s < e && is_white(t[s]))
            s++;
        while (e > s && is_white(t[e - 1]))
            e--;
        if (e == s)
            continue;
        const char *at = mp_find_bytes(out + cursor, len - cursor, t + s, e - s);
        if (at == NULL) {
            res->nkept++;
            res->unprinted = true;
            continue;
        }
        add_print(res, out, (size_t)(at - out), e - s);
        cursor = (size_t)(at - out) + (e - s);
    }
}

int mp_ownwords_message(const struct mp_wire *w, const char *body, const struct mp_chatreq_msg *m,
                        const struct mp_inserted_patterns *p, const struct mp_ownwords_run *run,
                        char *out, size_t cap, struct mp_ownwords_text *res,
                        struct mp_inserted_count *stripped)
{
    struct decoded d;
    memset(res, 0, sizeof(*res));
    if (!m->has_text)
        return MP_NOTFOUND;
    if (cap < m->text_len + 1)
        return MP_ETOOBIG;
    int rc = decode(w, body, m, out, cap, &d);
    if (rc != MP_OK)
        return rc;
    if (!mp_ownwords_may_differ(p, body, m)) {
        res->len = d.len;
        if (!all_white(out, d.len))
            add_print(res, out, 0, d.len);
        return MP_OK;
    }
    struct parts *ps = malloc(sizeof(*ps));
    char *copy = malloc(d.len + 1);
    if (ps == NULL || copy == NULL) {
        free(ps);
        free(copy);
        return MP_ENOMEM;
    }
    memcpy(copy, out, d.len);
    ps->copy = copy;
    struct mp_inserted_count parts_count = {{0}, 0, 0};
    read_parts(&d, p, run, ps, &parts_count);
    if (ps->any_out) {
        res->len = join_kept(ps, out, res);
        res->changed = true;
        add_count(stripped, &parts_count);
    } else {
        size_t n = strip_known(p, out, d.len, stripped);
        res->changed = n != d.len;
        res->len = n;
        find_prints(ps, out, n, res);
    }
    free(copy);
    free(ps);
    return MP_OK;
}

/* ---- a request's user messages ---- */

/* A decoding buffer that grows. */
struct scratch {
    char *buf;
    size_t cap;
};

/* Message i of req into out's next entry when its own words differ from
 * its text. MP_OK or MP_ENOMEM. */
static int look(const struct mp_wire *w, const char *body, const struct mp_chatreq *req, size_t i,
                const struct mp_inserted_patterns *p, struct scratch *s, struct mp_ownwords *out)
{
    const struct mp_chatreq_msg *m = &req->msgs[i];
    struct mp_ownwords_run run;
    struct mp_ownwords_text res;
    size_t from, to;
    if (!mp_ownwords_may_differ(p, body, m))
        return MP_OK; /* nothing in its bytes to leave out: nothing to decode */
    if (m->text_len + 1 > s->cap) {
        char *grown = realloc(s->buf, m->text_len + 1);
        if (grown == NULL)
            return MP_ENOMEM;
        s->buf = grown;
        s->cap = m->text_len + 1;
    }
    mp_ownwords_run_bounds(req, i, &from, &to);
    int rc = mp_ownwords_run(w, body, req, from, to, p, &run);
    if (rc == MP_OK)
        rc = mp_ownwords_message(w, body, m, p, &run, s->buf, s->cap, &res, NULL);
    if (rc == MP_OK && res.changed)
        out->items[out->n++] = (struct mp_ownwords_item){
            .msg = i, .len = res.len, .hash = mp_chatreq_hash_text(MP_CR_USER, s->buf, res.len)};
    return rc == MP_ENOMEM ? MP_ENOMEM : MP_OK;
}

static bool may_hold(const struct mp_chatreq_msg *m)
{
    return m->role == MP_CR_USER && m->has_text && m->text_len >= MP_INSERTED_MARKER_MIN * 2;
}

int mp_ownwords_request(const struct mp_wire *w, const char *body, const struct mp_chatreq *req,
                        const struct mp_inserted_patterns *p, struct mp_ownwords *out)
{
    struct scratch s = {0};
    size_t first = 0, seen = 0, i = req->nmsgs;
    int rc = MP_OK;
    out->n = 0;
    while (first < req->nmsgs && req->msgs[first].role != MP_CR_USER)
        first++;
    out->lead = first;
    if (first < req->nmsgs && may_hold(&req->msgs[first])) /* the conversation's lead */
        rc = look(w, body, req, first, p, &s, out);
    /* the newest, then a bounded part of the rest; every message from i on
       is looked at (one that cannot hold a block is clean unread) */
    while (rc == MP_OK && i > first + 1 && out->n < MP_OWNWORDS_MAX) {
        const struct mp_chatreq_msg *m = &req->msgs[i - 1];
        if (may_hold(m)) {
            if (seen > 0 && seen + m->text_len > MP_OWNWORDS_BYTES)
                break;
            seen += m->text_len;
            rc = look(w, body, req, i - 1, p, &s, out);
        }
        i--;
    }
    out->from = i;
    free(s.buf);
    if (rc != MP_OK) {
        out->n = 0;
        out->lead = out->from = SIZE_MAX;
    }
    return rc;
}

const struct mp_ownwords_item *mp_ownwords_of(const struct mp_ownwords *owns, size_t msg)
{
    for (size_t i = 0; owns != NULL && i < owns->n; i++) {
        if (owns->items[i].msg == msg)
            return &owns->items[i];
    }
    return NULL;
}

bool mp_ownwords_clean(const struct mp_ownwords *owns, size_t msg)
{
    return owns != NULL && (msg == owns->lead || msg >= owns->from) &&
           mp_ownwords_of(owns, msg) == NULL;
}
