/* The HTTP/1.1 grammar shared by the request and the response parsers:
 * what a field line, a Content-Length or a chunk-size line is does not
 * depend on the direction. What differs (the first line, which framing
 * wins, what a combination means) stays in http_parse.c and http_resp.c.
 *
 * Strictness is about smuggling and response splitting: two parsers on the
 * path must never disagree about where a message ends. So every line ends
 * only at CRLF (a bare LF or a bare CR is refused), folded lines and
 * blanks before the colon are refused, and the only transfer coding is a
 * single "chunked", rather than guessed at.
 *
 * The chunked framing is a byte-at-a-time state machine: its lines are a
 * few bytes each, so a table lookup a byte costs little, and any cut of the
 * input gives the same result. Chunk data is never scanned: the callers
 * take it in bulk (mp_http_lex_chunk_take). */
#include "http/http_lex.h"

#include <string.h>

#include "status.h"

const unsigned char mp_http_lex_ctype[256] = {
    0,  0,  0,  0,  0,  0,  0,  0,  0,  4,  0, 0, 0, 0, 0, 0, /* 0x00 */
    0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0, 0, 0, 0, 0, 0, /* 0x10 */
    4,  7,  6,  7,  7,  7,  7,  7,  6,  6,  7, 7, 6, 7, 7, 6, /* 0x20 */
    15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 6, 6, 6, 6, 6, 6, /* 0x30 */
    6,  15, 15, 15, 15, 15, 15, 7,  7,  7,  7, 7, 7, 7, 7, 7, /* 0x40 */
    7,  7,  7,  7,  7,  7,  7,  7,  7,  7,  7, 6, 6, 6, 7, 7, /* 0x50 */
    7,  15, 15, 15, 15, 15, 15, 7,  7,  7,  7, 7, 7, 7, 7, 7, /* 0x60 */
    7,  7,  7,  7,  7,  7,  7,  7,  7,  7,  7, 6, 7, 6, 7, 0, /* 0x70 */
    4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4, 4, 4, 4, 4, 4, /* 0x80 */
    4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4, 4, 4, 4, 4, 4, /* 0x90 */
    4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4, 4, 4, 4, 4, 4, /* 0xa0 */
    4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4, 4, 4, 4, 4, 4, /* 0xb0 */
    4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4, 4, 4, 4, 4, 4, /* 0xc0 */
    4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4, 4, 4, 4, 4, 4, /* 0xd0 */
    4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4, 4, 4, 4, 4, 4, /* 0xe0 */
    4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4, 4, 4, 4, 4, 4, /* 0xf0 */
};

#define ctype mp_http_lex_ctype

#define MAX_CHUNK_LINE  4096  /* bytes of a size or trailer line, CRLF excluded */
#define MAX_TRAILERS    16384 /* bytes of the whole trailer section */
#define MAX_SIZE_DIGITS 16    /* hex digits of a chunk size: fits uint64_t */

static int lower(int ch)
{
    return ch >= 'A' && ch <= 'Z' ? ch + ('a' - 'A') : ch;
}

bool mp_http_lex_ieq(const char *a, const char *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (lower((unsigned char)a[i]) != lower((unsigned char)b[i]))
            return false;
    }
    return true;
}

static bool ieq_lit(const char *s, size_t len, const char *lit)
{
    size_t n = strlen(lit);
    return len == n && mp_http_lex_ieq(s, lit, n);
}

int mp_http_lex_head_end(const unsigned char *p, size_t start, size_t lim, size_t *end)
{
    size_t i = start;
    while (i < lim) {
        const unsigned char *nl = memchr(p + i, '\n', lim - i);
        if (nl == NULL)
            return MP_AGAIN;
        i = (size_t)(nl - p);
        if (i == start || p[i - 1] != '\r')
            return MP_EINVAL;
        i++;
        if (i + 1 < lim && p[i] == '\r' && p[i + 1] == '\n') {
            *end = i + 2;
            return MP_OK;
        }
    }
    return MP_AGAIN;
}

/* ---- field lines ---- */

/* Parses "name: value" at p[*pos..), moving *pos to the next line. A line
 * that starts with a blank (obs-fold) or has one before the colon fails
 * the name; CR anywhere but before LF fails the value. */
static int parse_field(const unsigned char *p, size_t *pos, struct mp_http_header *f)
{
    size_t s = *pos, i = s;
    while (ctype[p[i]] & MP_HTTP_TCHAR)
        i++;
    if (i == s || p[i] != ':')
        return MP_EINVAL;
    f->name = (const char *)p + s;
    f->name_len = i - s;
    i++;
    while (mp_http_lex_blank(p[i]))
        i++;
    size_t vs = i;
    while (ctype[p[i]] & MP_HTTP_FIELD)
        i++;
    size_t ve = i;
    *pos = mp_http_lex_line_end(p, i);
    if (*pos == 0)
        return MP_EINVAL;
    while (ve > vs && mp_http_lex_blank(p[ve - 1]))
        ve--;
    f->value = (const char *)p + vs;
    f->value_len = ve - vs;
    return MP_OK;
}

int mp_http_lex_length(const char *s, size_t len, uint64_t *out)
{
    uint64_t v = 0;
    if (len == 0)
        return MP_EINVAL;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return MP_EINVAL;
        uint64_t d = (uint64_t)(s[i] - '0');
        if (v > ((uint64_t)INT64_MAX - d) / 10)
            return MP_EINVAL;
        v = v * 10 + d;
    }
    *out = v;
    return MP_OK;
}

/* Records what one field says about framing and the connection. Names
 * are dispatched on length first so most fields cost one switch. */
static int note_field(const struct mp_http_header *f, struct mp_http_lex_facts *k)
{
    switch (f->name_len) {
    case 6:
        if (ieq_lit(f->name, 6, "expect") && ieq_lit(f->value, f->value_len, "100-continue"))
            k->expect_continue = true;
        return MP_OK;
    case 10:
        if (!ieq_lit(f->name, 10, "connection"))
            return MP_OK;
        if (mp_http_connection_lists(f->value, f->value_len, "close", 5))
            k->conn_close = true;
        if (mp_http_connection_lists(f->value, f->value_len, "keep-alive", 10))
            k->conn_keep_alive = true;
        return MP_OK;
    case 14: {
        uint64_t v;
        if (!ieq_lit(f->name, 14, "content-length"))
            return MP_OK;
        if (mp_http_lex_length(f->value, f->value_len, &v) != MP_OK)
            return MP_EINVAL;
        if (k->has_length && k->content_length != v)
            return MP_EINVAL;
        k->content_length = v;
        k->has_length = true;
        return MP_OK;
    }
    case 17:
        if (!ieq_lit(f->name, 17, "transfer-encoding"))
            return MP_OK;
        /* A second field would make it "chunked, chunked": refused too. */
        if (k->chunked || !ieq_lit(f->value, f->value_len, "chunked"))
            return MP_EINVAL;
        k->chunked = true;
        return MP_OK;
    default:
        return MP_OK;
    }
}

int mp_http_lex_fields(const unsigned char *p, size_t i, size_t end, struct mp_http_header *hdrs,
                       size_t *num, struct mp_http_lex_facts *k)
{
    struct mp_http_lex_facts facts = {0};
    size_t n = 0;
    for (;;) {
        size_t next = mp_http_lex_line_end(p, i);
        if (next != 0) {
            /* The empty line; mp_http_lex_head_end saw the same one. */
            if (next != end)
                return MP_EINVAL;
            break;
        }
        if (n == MP_HTTP_MAX_HEADERS)
            return MP_ETOOBIG;
        if (parse_field(p, &i, &hdrs[n]) != MP_OK || note_field(&hdrs[n], &facts) != MP_OK)
            return MP_EINVAL;
        n++;
    }
    *num = n;
    *k = facts;
    return MP_OK;
}

bool mp_http_lex_keep_alive(int minor_version, const struct mp_http_lex_facts *k)
{
    return minor_version == 1 ? !k->conn_close : k->conn_keep_alive && !k->conn_close;
}

const struct mp_http_header *mp_http_lex_find(const struct mp_http_header *fields, size_t n,
                                              const char *name, size_t name_len)
{
    for (size_t i = 0; i < n; i++) {
        const struct mp_http_header *f = &fields[i];
        if (f->name_len == name_len && mp_http_lex_ieq(f->name, name, name_len))
            return f;
    }
    return NULL;
}

/* ---- chunked framing ---- */

enum {
    CH_SIZE = 0,     /* hex digits of the chunk size; line_len counts them */
    CH_SIZE_BWS,     /* blanks after the size: only ';' may follow */
    CH_EXT,          /* chunk extensions, ignored up to the line end */
    CH_SIZE_LF,      /* CR ended the size line: LF must follow */
    CH_DATA,         /* remaining bytes of chunk data, taken by the caller */
    CH_DATA_END,     /* after the data: CR */
    CH_DATA_LF,      /* CR after the data: LF must follow */
    CH_TRAILER,      /* start of a trailer line or of the final empty line */
    CH_TRAILER_LINE, /* inside a trailer field, discarded */
    CH_TRAILER_LF,   /* CR ended a trailer line: LF must follow */
    CH_END_LF,       /* CR of the final empty line: LF must follow */
    CH_DONE,
    CH_FAILED,
};

void mp_http_lex_chunk_init(struct mp_http_chunked *c)
{
    c->state = CH_SIZE;
    c->remaining = 0;
    c->line_len = 0;
    c->trailer_len = 0;
}

static int hex_value(unsigned char ch)
{
    return ch <= '9' ? ch - '0' : lower(ch) - 'a' + 10;
}

/* The size line is complete: go to the data, or to the trailers after the
 * last chunk. */
static int end_size_line(struct mp_http_chunked *c)
{
    c->line_len = 0;
    c->state = c->remaining == 0 ? CH_TRAILER : CH_DATA;
    return MP_AGAIN;
}

/* One byte of a chunk-size line: 1*HEXDIG [ BWS ";" ext ] CRLF. */
static int size_step(struct mp_http_chunked *c, unsigned char ch)
{
    if (c->state == CH_SIZE_LF)
        return ch == '\n' ? end_size_line(c) : MP_EINVAL;
    if (ch == '\n' || ch == '\r') {
        if (c->line_len == 0 || c->state == CH_SIZE_BWS || ch == '\n')
            return MP_EINVAL; /* no digits, blanks without an extension, a bare LF */
        c->state = CH_SIZE_LF;
        return MP_AGAIN;
    }
    if (++c->line_len > MAX_CHUNK_LINE)
        return MP_EINVAL;
    if (c->state == CH_SIZE && (ctype[ch] & MP_HTTP_HEX)) {
        if (c->line_len > MAX_SIZE_DIGITS)
            return MP_EINVAL;
        c->remaining = c->remaining << 4 | (uint64_t)hex_value(ch);
        return MP_AGAIN;
    }
    if (c->line_len == 1)
        return MP_EINVAL; /* the line does not start with a digit */
    if (c->state == CH_EXT)
        return (ctype[ch] & MP_HTTP_FIELD) ? MP_AGAIN : MP_EINVAL;
    if (ch == ';')
        c->state = CH_EXT;
    else if (mp_http_lex_blank(ch))
        c->state = CH_SIZE_BWS;
    else
        return MP_EINVAL;
    return MP_AGAIN;
}

/* One byte of the trailer section: field lines, then an empty line. */
static int trailer_step(struct mp_http_chunked *c, unsigned char ch)
{
    if (++c->trailer_len > MAX_TRAILERS)
        return MP_EINVAL;
    switch (c->state) {
    case CH_TRAILER:
        if (ch == '\n')
            return MP_EINVAL; /* a bare LF */
        if (ch == '\r') {
            c->state = CH_END_LF;
            return MP_AGAIN;
        }
        if (!(ctype[ch] & MP_HTTP_TCHAR)) /* a field name, and not obs-fold */
            return MP_EINVAL;
        c->line_len = 1;
        c->state = CH_TRAILER_LINE;
        return MP_AGAIN;
    case CH_TRAILER_LINE:
        if (ch == '\n')
            return MP_EINVAL; /* a bare LF */
        if (ch == '\r') {
            c->line_len = 0;
            c->state = CH_TRAILER_LF;
            return MP_AGAIN;
        }
        if (!(ctype[ch] & MP_HTTP_FIELD) || ++c->line_len > MAX_CHUNK_LINE)
            return MP_EINVAL;
        return MP_AGAIN;
    case CH_TRAILER_LF:
        c->state = CH_TRAILER;
        return ch == '\n' ? MP_AGAIN : MP_EINVAL;
    default: /* CH_END_LF */
        c->state = CH_DONE;
        return ch == '\n' ? MP_OK : MP_EINVAL;
    }
}

/* One byte of framing outside chunk data. */
static int frame_step(struct mp_http_chunked *c, unsigned char ch)
{
    switch (c->state) {
    case CH_SIZE:
    case CH_SIZE_BWS:
    case CH_EXT:
    case CH_SIZE_LF:
        return size_step(c, ch);
    case CH_DATA_END:
    case CH_DATA_LF:
        if (ch == '\r' && c->state == CH_DATA_END) {
            c->state = CH_DATA_LF;
            return MP_AGAIN;
        }
        if (ch != '\n' || c->state != CH_DATA_LF) /* CRLF only: no bare LF or CR */
            return MP_EINVAL;
        c->state = CH_SIZE;
        c->remaining = 0;
        c->line_len = 0;
        return MP_AGAIN;
    default:
        return trailer_step(c, ch);
    }
}

int mp_http_lex_chunk_frame(struct mp_http_chunked *c, const char *in, size_t n, size_t *pos,
                            uint64_t max_size)
{
    size_t i = *pos;
    int rc = MP_AGAIN;

    if (c->state == CH_DONE)
        return MP_OK;
    if (c->state == CH_FAILED)
        return MP_EINVAL;
    while (rc == MP_AGAIN && c->state != CH_DATA && i < n)
        rc = frame_step(c, (unsigned char)in[i++]);
    /* Checked on every call, not only at the size line: the caller's
     * room may shrink between calls. */
    if (rc == MP_AGAIN && c->state == CH_DATA && c->remaining > max_size)
        rc = MP_ETOOBIG;
    if (rc != MP_OK && rc != MP_AGAIN)
        c->state = CH_FAILED;
    *pos = i;
    return rc;
}

size_t mp_http_lex_chunk_take(struct mp_http_chunked *c, size_t avail)
{
    if (c->state != CH_DATA)
        return 0;
    size_t n = avail < c->remaining ? avail : (size_t)c->remaining;
    c->remaining -= n;
    if (c->remaining == 0)
        c->state = CH_DATA_END;
    return n;
}
