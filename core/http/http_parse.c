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
 * The grammar the response parser shares (field lines, Content-Length,
 * Transfer-Encoding, the chunked framing) is in http_lex.c.
 *
 * The chunked decoder is a byte-at-a-time state machine for the framing
 * lines and a bulk memmove for chunk data, so input may be cut anywhere.
 * Because the decoded body is never longer than the input consumed, out may
 * be the input buffer itself (in-place decoding). */
#include "http/http_parse.h"

#include <string.h>

#include "http/http_lex.h"
#include "status.h"

#define ctype mp_http_lex_ctype

/* ---- request head ---- */

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
    while (i < lim && (ctype[p[i]] & MP_HTTP_TCHAR))
        i++;
    if (i == lim)
        return MP_AGAIN;
    if (i == *start || p[i] != ' ')
        return MP_EINVAL;
    return MP_OK;
}

/* The scans below need no bounds checks: they run inside a head whose
 * last byte is LF, and LF is in none of the classes they scan for. */

/* Parses "method SP /target SP HTTP/1.x" at p[s..end); *pos: next line. */
static int parse_request_line(const unsigned char *p, size_t s, size_t end, size_t *pos,
                              struct mp_http_request_head *h)
{
    size_t i = s;
    while (ctype[p[i]] & MP_HTTP_TCHAR)
        i++;
    if (i == s || p[i] != ' ' || p[i + 1] != '/')
        return MP_EINVAL;
    h->method = (const char *)p + s;
    h->method_len = i - s;
    size_t t = ++i;
    while (ctype[p[i]] & MP_HTTP_VCHAR)
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
    *pos = mp_http_lex_line_end(p, i + 8);
    return *pos == 0 ? MP_EINVAL : MP_OK;
}

int mp_http_parse_request_head(const char *buf, size_t len, size_t max_head,
                               struct mp_http_request_head *out)
{
    const unsigned char *p = (const unsigned char *)buf;
    size_t lim = len < max_head ? len : max_head;
    size_t start = 0, end = 0, pos = 0, num = 0;
    struct mp_http_request_head h;
    struct mp_http_lex_facts k;

    int rc = check_start(p, lim, &start);
    if (rc == MP_OK)
        rc = mp_http_lex_head_end(p, start, lim, &end);
    if (rc == MP_AGAIN && len > max_head)
        return MP_ETOOBIG;
    if (rc != MP_OK)
        return rc;
    if (parse_request_line(p, start, end, &pos, &h) != MP_OK)
        return MP_EINVAL;
    /* Fields go to h.headers; only the used part is copied to out. */
    rc = mp_http_lex_fields(p, pos, end, h.headers, &num, &k);
    if (rc != MP_OK)
        return rc;
    if (k.chunked && (k.has_length || h.minor_version == 0))
        return MP_EINVAL;

    out->method = h.method;
    out->method_len = h.method_len;
    out->target = h.target;
    out->target_len = h.target_len;
    out->minor_version = h.minor_version;
    memcpy(out->headers, h.headers, num * sizeof(h.headers[0]));
    out->num_headers = num;
    out->head_len = end;
    out->content_length = k.has_length ? (int64_t)k.content_length : -1;
    out->chunked = k.chunked;
    out->keep_alive = mp_http_lex_keep_alive(h.minor_version, &k);
    /* RFC 9110 10.1.1: a 100-continue expectation in HTTP/1.0 is ignored. */
    out->expect_continue = k.expect_continue && h.minor_version == 1;
    return MP_OK;
}

const struct mp_http_header *mp_http_find_header(const struct mp_http_request_head *head,
                                                 const char *name, size_t name_len)
{
    return mp_http_lex_find(head->headers, head->num_headers, name, name_len);
}

bool mp_http_is_hop_by_hop(const char *name, size_t name_len)
{
    switch (name_len) {
    case 2:
        return mp_http_lex_ieq(name, "te", 2);
    case 7:
        return mp_http_lex_ieq(name, "trailer", 7) || mp_http_lex_ieq(name, "upgrade", 7);
    case 10:
        return mp_http_lex_ieq(name, "connection", 10) || mp_http_lex_ieq(name, "keep-alive", 10);
    case 16:
        return mp_http_lex_ieq(name, "proxy-connection", 16);
    case 17:
        return mp_http_lex_ieq(name, "transfer-encoding", 17);
    case 18:
        return mp_http_lex_ieq(name, "proxy-authenticate", 18);
    case 19:
        return mp_http_lex_ieq(name, "proxy-authorization", 19);
    default:
        return false;
    }
}

/* The next element of the list s[*pos..len): the blanks around it
 * trimmed, empty elements skipped. False when none is left. */
static bool list_next(const char *s, size_t len, size_t *pos, const char **el, size_t *el_len)
{
    while (*pos < len) {
        const char *comma = memchr(s + *pos, ',', len - *pos);
        size_t b = *pos, e = comma != NULL ? (size_t)(comma - s) : len;
        *pos = e + 1;
        while (b < e && mp_http_lex_blank((unsigned char)s[b]))
            b++;
        while (e > b && mp_http_lex_blank((unsigned char)s[e - 1]))
            e--;
        if (e > b) {
            *el = s + b;
            *el_len = e - b;
            return true;
        }
    }
    return false;
}

bool mp_http_connection_lists(const char *conn_value, size_t conn_len, const char *name,
                              size_t name_len)
{
    const char *el;
    size_t pos = 0, n;
    while (list_next(conn_value, conn_len, &pos, &el, &n))
        if (n == name_len && mp_http_lex_ieq(el, name, n))
            return true;
    return false;
}

void mp_http_values_init(struct mp_http_values *it, const struct mp_http_request_head *head,
                         const char *name, size_t name_len, bool list)
{
    *it = (struct mp_http_values){
        .head = head, .name = name, .name_len = name_len, .field = 0, .cur = NULL, .list = list};
}

/* The next line named it->name, or NULL; the search goes on after it. */
static const struct mp_http_header *next_field(struct mp_http_values *it)
{
    const struct mp_http_request_head *h = it->head;
    const struct mp_http_header *f = NULL;
    if (it->field < h->num_headers)
        f = mp_http_lex_find(h->headers + it->field, h->num_headers - it->field, it->name,
                             it->name_len);
    it->field = f != NULL ? (size_t)(f - h->headers) + 1 : h->num_headers;
    return f;
}

bool mp_http_values_next(struct mp_http_values *it, const char **value, size_t *len)
{
    for (;;) {
        if (it->cur != NULL && list_next(it->cur->value, it->cur->value_len, &it->pos, value, len))
            return true;
        it->cur = next_field(it);
        it->pos = 0;
        if (it->cur == NULL)
            return false;
        if (it->list && list_next(it->cur->value, it->cur->value_len, &it->pos, value, len))
            return true; /* the line's first element; the others on the next calls */
        *value = it->cur->value;
        *len = it->list ? 0 : it->cur->value_len;
        it->cur = NULL;
        return true;
    }
}

int mp_http_find_single(const struct mp_http_request_head *head, const char *name, size_t name_len,
                        const char **value, size_t *len)
{
    struct mp_http_values it;
    const char *v, *w;
    size_t n, m;
    mp_http_values_init(&it, head, name, name_len, false);
    if (!mp_http_values_next(&it, &v, &n))
        return MP_NOTFOUND;
    while (mp_http_values_next(&it, &w, &m))
        if (m != n || memcmp(w, v, n) != 0)
            return MP_EINVAL;
    *value = v;
    *len = n;
    return MP_OK;
}

/* ---- chunked body ---- */

void mp_http_chunked_init(struct mp_http_chunked *c)
{
    mp_http_lex_chunk_init(c);
}

/* A chunk that cannot fit what is left of out is refused as soon as its
 * size line ends, before its bytes are read (mp_http_lex_chunk_frame). */
int mp_http_chunked_decode(struct mp_http_chunked *c, const char *in, size_t in_len,
                           size_t *consumed, char *out, size_t out_cap, size_t *produced)
{
    size_t i = 0, o = 0;
    int rc;

    for (;;) {
        rc = mp_http_lex_chunk_frame(c, in, in_len, &i, out_cap - o);
        size_t n = rc == MP_AGAIN ? mp_http_lex_chunk_take(c, in_len - i) : 0;
        if (n == 0)
            break;
        memmove(out + o, in + i, n);
        i += n;
        o += n;
    }
    *consumed = i;
    *produced = o;
    return rc;
}
