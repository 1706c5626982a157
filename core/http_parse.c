/* HTTP/1.1 request head parser and chunked body decoder over plain bytes.
 * It never allocates or copies the head: results point into the caller's
 * buffer. It does not read sockets or decide what a request means.
 *
 * The head parser is stateless. A caller that got MP_AGAIN calls it again
 * on the grown buffer and it starts over, so the incomplete case must be
 * cheap: it first looks for the empty line that ends the head with memchr
 * (a few bytes per cycle) and only then validates every line with table
 * lookups, once. Before that search it checks the method, so a client that
 * speaks TLS or garbage to a plain port is refused at once instead of
 * waiting for max_head bytes or the timeout.
 *
 * Strictness is about request smuggling: a front proxy and this one must
 * never disagree about where a request ends. So every line (request line,
 * field lines, the empty line, chunk-size, chunk-data and trailer line
 * ends) ends only at CRLF: a bare LF or a bare CR is refused, folded lines, blanks before the
 * colon, Content-Length together with Transfer-Encoding, any coding but a
 * single "chunked", and Transfer-Encoding in HTTP/1.0 (RFC 9112 6.1: the
 * framing is faulty) are all refused rather than guessed at.
 *
 * The chunked decoder is a byte-at-a-time state machine for the framing
 * lines and a bulk memmove for chunk data, so input may be cut anywhere.
 * Because the decoded body is never longer than the input consumed, out may
 * be the input buffer itself (in-place decoding). */
#include "http_parse.h"

#include <string.h>

#include "status.h"

/* Character classes, one bit each. */
#define C_TCHAR 1 /* RFC 9110 tchar: method and field names */
#define C_VCHAR 2 /* visible ASCII 0x21-0x7e: request target */
#define C_FIELD 4 /* field value byte: HTAB, SP, VCHAR, obs-text */
#define C_HEX   8 /* hex digit: chunk sizes */

static const unsigned char ctype[256] = {
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

#define MAX_CHUNK_LINE  4096 /* bytes of a size or trailer line, CRLF excluded */
#define MAX_SIZE_DIGITS 16   /* hex digits of a chunk size: fits uint64_t */

static int lower(int ch)
{
    return ch >= 'A' && ch <= 'Z' ? ch + ('a' - 'A') : ch;
}

/* ASCII case-insensitive equality of a[0..n) and b[0..n); locale-free. */
static bool ieq(const char *a, const char *b, size_t n)
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
    return len == n && ieq(s, lit, n);
}

static bool is_blank(unsigned char ch)
{
    return ch == ' ' || ch == '\t';
}

/* ---- request head ---- */

/* What the field lines say about framing and the connection, gathered
 * while they are parsed and checked against each other at the end. */
struct head_facts {
    int64_t content_length;
    bool has_te;
    bool conn_close;
    bool conn_keep_alive;
    bool expect_continue;
};

/* Skips empty lines before the request line (RFC 9112 2.2) and checks the
 * method as far as it has arrived. *start is the request line's offset. */
static int check_start(const unsigned char *p, size_t lim, size_t *start)
{
    size_t i = 0;
    while (i < lim && (p[i] == '\n' || p[i] == '\r')) {
        if (p[i] == '\n')
            return MP_EINVAL; /* a bare LF */
        if (i + 1 == lim)
            return MP_AGAIN;
        if (p[i + 1] != '\n')
            return MP_EINVAL;
        i += 2;
    }
    *start = i;
    while (i < lim && (ctype[p[i]] & C_TCHAR))
        i++;
    if (i == lim)
        return MP_AGAIN;
    if (i == *start || p[i] != ' ')
        return MP_EINVAL;
    return MP_OK;
}

/* Finds the end of the head: the first CRLF followed by an empty line
 * (CRLF). *end is one past that empty line's LF. A LF without its CR
 * fails at once (MP_EINVAL), complete head or not. */
static int find_end(const unsigned char *p, size_t start, size_t lim, size_t *end)
{
    size_t i = start;
    for (;;) {
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
}

/* Ends a line at p[i]: "\r\n" only. Returns the next line's offset, or 0
 * (never a valid next offset) when p[i] is anything else. */
static size_t line_end(const unsigned char *p, size_t i)
{
    return p[i] == '\r' && p[i + 1] == '\n' ? i + 2 : 0;
}

/* The scans below need no bounds checks: they run inside a head whose
 * last byte is LF, and LF is in none of the classes they scan for. */

/* Parses "method SP /target SP HTTP/1.x" at p[s..end); *pos: next line. */
static int parse_request_line(const unsigned char *p, size_t s, size_t end, size_t *pos,
                              struct mp_http_request_head *h)
{
    size_t i = s;
    while (ctype[p[i]] & C_TCHAR)
        i++;
    if (i == s || p[i] != ' ' || p[i + 1] != '/')
        return MP_EINVAL;
    h->method = (const char *)p + s;
    h->method_len = i - s;
    size_t t = ++i;
    while (ctype[p[i]] & C_VCHAR)
        i++;
    if (p[i] != ' ')
        return MP_EINVAL;
    h->target = (const char *)p + t;
    h->target_len = i - t;
    i++;
    /* "HTTP/1.x" and at least the LF: the memcmp stays inside the head. */
    if (end - i < 9 || memcmp(p + i, "HTTP/1.", 7) != 0)
        return MP_EINVAL;
    if (p[i + 7] != '0' && p[i + 7] != '1')
        return MP_EINVAL;
    h->minor_version = p[i + 7] - '0';
    *pos = line_end(p, i + 8);
    return *pos == 0 ? MP_EINVAL : MP_OK;
}

/* Parses "name: value" at p[*pos..), moving *pos to the next line. A line
 * that starts with a blank (obs-fold) or has one before the colon fails
 * the name; CR anywhere but before LF fails the value. */
static int parse_field(const unsigned char *p, size_t *pos, struct mp_http_header *f)
{
    size_t s = *pos, i = s;
    while (ctype[p[i]] & C_TCHAR)
        i++;
    if (i == s || p[i] != ':')
        return MP_EINVAL;
    f->name = (const char *)p + s;
    f->name_len = i - s;
    i++;
    while (is_blank(p[i]))
        i++;
    size_t vs = i;
    while (ctype[p[i]] & C_FIELD)
        i++;
    size_t ve = i;
    *pos = line_end(p, i);
    if (*pos == 0)
        return MP_EINVAL;
    while (ve > vs && is_blank(p[ve - 1]))
        ve--;
    f->value = (const char *)p + vs;
    f->value_len = ve - vs;
    return MP_OK;
}

/* 1*DIGIT into an int64_t: no sign, no blanks, no list, no overflow. */
static int parse_length(const char *s, size_t len, int64_t *out)
{
    int64_t v = 0;
    if (len == 0)
        return MP_EINVAL;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return MP_EINVAL;
        int d = s[i] - '0';
        if (v > (INT64_MAX - d) / 10)
            return MP_EINVAL;
        v = v * 10 + d;
    }
    *out = v;
    return MP_OK;
}

/* Records what one field says about framing and the connection. Names
 * are dispatched on length first so most fields cost one switch. */
static int note_field(const struct mp_http_header *f, struct head_facts *k)
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
        int64_t v;
        if (!ieq_lit(f->name, 14, "content-length"))
            return MP_OK;
        if (parse_length(f->value, f->value_len, &v) != MP_OK)
            return MP_EINVAL;
        if (k->content_length >= 0 && k->content_length != v)
            return MP_EINVAL;
        k->content_length = v;
        return MP_OK;
    }
    case 17:
        if (!ieq_lit(f->name, 17, "transfer-encoding"))
            return MP_OK;
        /* A second field would make it "chunked, chunked": refused too. */
        if (k->has_te || !ieq_lit(f->value, f->value_len, "chunked"))
            return MP_EINVAL;
        k->has_te = true;
        return MP_OK;
    default:
        return MP_OK;
    }
}

/* Parses the field lines from p[i] up to and including the empty line,
 * which find_end placed at the end of the head. */
static int parse_fields(const unsigned char *p, size_t i, size_t end, struct mp_http_header *hdrs,
                        size_t *num, struct head_facts *k)
{
    size_t n = 0;
    for (;;) {
        size_t next = line_end(p, i);
        if (next != 0) {
            /* The empty line; find_end saw the same one. */
            if (next != end)
                return MP_EINVAL;
            break;
        }
        if (n == MP_HTTP_MAX_HEADERS)
            return MP_ETOOBIG;
        if (parse_field(p, &i, &hdrs[n]) != MP_OK || note_field(&hdrs[n], k) != MP_OK)
            return MP_EINVAL;
        n++;
    }
    *num = n;
    return MP_OK;
}

int mp_http_parse_request_head(const char *buf, size_t len, size_t max_head,
                               struct mp_http_request_head *out)
{
    const unsigned char *p = (const unsigned char *)buf;
    size_t lim = len < max_head ? len : max_head;
    size_t start = 0, end = 0, pos = 0, num = 0;
    struct mp_http_request_head h;
    struct head_facts k = {.content_length = -1};

    int rc = check_start(p, lim, &start);
    if (rc == MP_OK)
        rc = find_end(p, start, lim, &end);
    if (rc == MP_AGAIN && len > max_head)
        return MP_ETOOBIG;
    if (rc != MP_OK)
        return rc;
    if (parse_request_line(p, start, end, &pos, &h) != MP_OK)
        return MP_EINVAL;
    /* Fields go to h.headers; only the used part is copied to out. */
    rc = parse_fields(p, pos, end, h.headers, &num, &k);
    if (rc != MP_OK)
        return rc;
    if (k.has_te && (k.content_length >= 0 || h.minor_version == 0))
        return MP_EINVAL;

    out->method = h.method;
    out->method_len = h.method_len;
    out->target = h.target;
    out->target_len = h.target_len;
    out->minor_version = h.minor_version;
    memcpy(out->headers, h.headers, num * sizeof(h.headers[0]));
    out->num_headers = num;
    out->head_len = end;
    out->content_length = k.content_length;
    out->chunked = k.has_te;
    out->keep_alive = h.minor_version == 1 ? !k.conn_close : k.conn_keep_alive && !k.conn_close;
    /* RFC 9110 10.1.1: a 100-continue expectation in HTTP/1.0 is ignored. */
    out->expect_continue = k.expect_continue && h.minor_version == 1;
    return MP_OK;
}

const struct mp_http_header *mp_http_find_header(const struct mp_http_request_head *head,
                                                 const char *name, size_t name_len)
{
    for (size_t i = 0; i < head->num_headers; i++) {
        const struct mp_http_header *f = &head->headers[i];
        if (f->name_len == name_len && ieq(f->name, name, name_len))
            return f;
    }
    return NULL;
}

bool mp_http_is_hop_by_hop(const char *name, size_t name_len)
{
    switch (name_len) {
    case 2:
        return ieq(name, "te", 2);
    case 7:
        return ieq(name, "trailer", 7) || ieq(name, "upgrade", 7);
    case 10:
        return ieq(name, "connection", 10) || ieq(name, "keep-alive", 10);
    case 16:
        return ieq(name, "proxy-connection", 16);
    case 17:
        return ieq(name, "transfer-encoding", 17);
    case 18:
        return ieq(name, "proxy-authenticate", 18);
    case 19:
        return ieq(name, "proxy-authorization", 19);
    default:
        return false;
    }
}

bool mp_http_connection_lists(const char *conn_value, size_t conn_len, const char *name,
                              size_t name_len)
{
    size_t i = 0;
    if (name_len == 0)
        return false;
    while (i < conn_len) {
        const char *comma = memchr(conn_value + i, ',', conn_len - i);
        size_t e = comma != NULL ? (size_t)(comma - conn_value) : conn_len;
        size_t s = i, te = e;
        while (s < te && is_blank((unsigned char)conn_value[s]))
            s++;
        while (te > s && is_blank((unsigned char)conn_value[te - 1]))
            te--;
        if (te - s == name_len && ieq(conn_value + s, name, name_len))
            return true;
        i = e + 1;
    }
    return false;
}

/* ---- chunked body ---- */

enum {
    CH_SIZE = 0,     /* hex digits of the chunk size; line_len counts them */
    CH_SIZE_BWS,     /* blanks after the size: only ';' may follow */
    CH_EXT,          /* chunk extensions, ignored up to the line end */
    CH_SIZE_LF,      /* CR ended the size line: LF must follow */
    CH_DATA,         /* remaining bytes of chunk data */
    CH_DATA_END,     /* after the data: CR */
    CH_DATA_LF,      /* CR after the data: LF must follow */
    CH_TRAILER,      /* start of a trailer line or of the final empty line */
    CH_TRAILER_LINE, /* inside a trailer field, discarded */
    CH_TRAILER_LF,   /* CR ended a trailer line: LF must follow */
    CH_END_LF,       /* CR of the final empty line: LF must follow */
    CH_DONE,
    CH_FAILED,
};

void mp_http_chunked_init(struct mp_http_chunked *c)
{
    c->state = CH_SIZE;
    c->remaining = 0;
    c->line_len = 0;
}

static int hex_value(unsigned char ch)
{
    return ch <= '9' ? ch - '0' : lower(ch) - 'a' + 10;
}

/* The size line is complete: go to the data, or to the trailers after the
 * last chunk. room is what is left of out; a chunk that cannot fit is
 * refused now, before its bytes are read. */
static int end_size_line(struct mp_http_chunked *c, size_t room)
{
    c->line_len = 0;
    if (c->remaining == 0) {
        c->state = CH_TRAILER;
        return MP_AGAIN;
    }
    if (c->remaining > room)
        return MP_ETOOBIG;
    c->state = CH_DATA;
    return MP_AGAIN;
}

/* One byte of a chunk-size line: 1*HEXDIG [ BWS ";" ext ] CRLF. */
static int size_step(struct mp_http_chunked *c, unsigned char ch, size_t room)
{
    if (c->state == CH_SIZE_LF)
        return ch == '\n' ? end_size_line(c, room) : MP_EINVAL;
    if (ch == '\n' || ch == '\r') {
        if (c->line_len == 0 || c->state == CH_SIZE_BWS || ch == '\n')
            return MP_EINVAL; /* no digits, blanks without an extension, a bare LF */
        c->state = CH_SIZE_LF;
        return MP_AGAIN;
    }
    if (++c->line_len > MAX_CHUNK_LINE)
        return MP_EINVAL;
    if (c->state == CH_SIZE && (ctype[ch] & C_HEX)) {
        if (c->line_len > MAX_SIZE_DIGITS)
            return MP_EINVAL;
        c->remaining = c->remaining << 4 | (uint64_t)hex_value(ch);
        return MP_AGAIN;
    }
    if (c->line_len == 1)
        return MP_EINVAL; /* the line does not start with a digit */
    if (c->state == CH_EXT)
        return (ctype[ch] & C_FIELD) ? MP_AGAIN : MP_EINVAL;
    if (ch == ';')
        c->state = CH_EXT;
    else if (is_blank(ch))
        c->state = CH_SIZE_BWS;
    else
        return MP_EINVAL;
    return MP_AGAIN;
}

/* One byte of the trailer section: field lines, then an empty line. */
static int trailer_step(struct mp_http_chunked *c, unsigned char ch)
{
    switch (c->state) {
    case CH_TRAILER:
        if (ch == '\n')
            return MP_EINVAL; /* a bare LF */
        if (ch == '\r') {
            c->state = CH_END_LF;
            return MP_AGAIN;
        }
        if (!(ctype[ch] & C_TCHAR)) /* a field name, and not obs-fold */
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
        if (!(ctype[ch] & C_FIELD) || ++c->line_len > MAX_CHUNK_LINE)
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
static int frame_step(struct mp_http_chunked *c, unsigned char ch, size_t room)
{
    switch (c->state) {
    case CH_SIZE:
    case CH_SIZE_BWS:
    case CH_EXT:
    case CH_SIZE_LF:
        return size_step(c, ch, room);
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

int mp_http_chunked_decode(struct mp_http_chunked *c, const char *in, size_t in_len,
                           size_t *consumed, char *out, size_t out_cap, size_t *produced)
{
    size_t i = 0, o = 0;
    int rc = MP_AGAIN;

    if (c->state == CH_DONE)
        rc = MP_OK;
    else if (c->state == CH_FAILED)
        rc = MP_EINVAL;
    while (rc == MP_AGAIN && i < in_len) {
        if (c->state != CH_DATA) {
            rc = frame_step(c, (unsigned char)in[i++], out_cap - o);
            continue;
        }
        size_t n = in_len - i;
        if (n > c->remaining)
            n = (size_t)c->remaining;
        if (n > out_cap - o) {
            rc = MP_ETOOBIG; /* out shrank between calls */
            break;
        }
        memmove(out + o, in + i, n);
        i += n;
        o += n;
        c->remaining -= n;
        if (c->remaining == 0)
            c->state = CH_DATA_END;
    }
    if (rc != MP_OK && rc != MP_AGAIN)
        c->state = CH_FAILED;
    *consumed = i;
    *produced = o;
    return rc;
}
