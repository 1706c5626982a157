/* HTTP/1.1 response parsing for the upstream side of the proxy: the
 * response head (status line + header fields), how its body is framed, and
 * an incremental body decoder, over plain bytes. Zero-copy and allocation
 * free: results point into the caller's buffer. It does not read sockets,
 * send requests or decide what a response means. */
#ifndef MP_CORE_HTTP_RESP_H
#define MP_CORE_HTTP_RESP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "http/http_parse.h"

enum mp_http_framing {
    MP_HTTP_BODY_NONE,    /* no body: 1xx, 204, 304, or a response to HEAD */
    MP_HTTP_BODY_LENGTH,  /* Content-Length bytes */
    MP_HTTP_BODY_CHUNKED, /* Transfer-Encoding: chunked (last coding) */
    MP_HTTP_BODY_CLOSE    /* until the server closes the connection */
};

struct mp_http_response_head {
    int minor_version;  /* HTTP/1.<minor>: 0 or 1 */
    int status;         /* 100..999 */
    const char *reason; /* borrowed, not NUL-terminated, may be empty; as sent */
    size_t reason_len;
    struct mp_http_header headers[MP_HTTP_MAX_HEADERS]; /* borrowed; first num_headers */
    size_t num_headers;
    size_t head_len; /* bytes of status line + fields + empty line */
    enum mp_http_framing framing;
    uint64_t content_length; /* MP_HTTP_BODY_LENGTH only (0 otherwise) */
    bool keep_alive;         /* the connection may carry another request after this
                                response's body: HTTP/1.1 without "Connection: close",
                                or HTTP/1.0 with "Connection: keep-alive"; always false
                                for MP_HTTP_BODY_CLOSE, for a 101 and when both
                                Content-Length and Transfer-Encoding were sent */
};

/* Parses a response head at buf[0..len) (borrowed: out points into it).
 * head_request: the request was HEAD (no body whatever the fields say).
 *
 * Accepts: "HTTP/1.1" or "HTTP/1.0", SP, a three-digit status 100..999,
 * then SP and a reason phrase (HTAB, SP, VCHAR, obs-text; possibly empty),
 * or no SP and no reason at all ("HTTP/1.1 200"); CRLF line ends only.
 * Fields as the request parser takes them: token names, OWS around values
 * trimmed, empty values and repeated fields kept in order.
 *
 * Framing, by RFC 9112 6.3: a response to HEAD, any 1xx, 204 and 304 have
 * no body (Content-Length and Transfer-Encoding are still checked, but
 * ignored); then Transfer-Encoding: chunked; then Content-Length; else the
 * body runs until the server closes (keep_alive false).
 *
 * Decisions on the RFC's open cases:
 *   - Both Transfer-Encoding and Content-Length: chunked wins (RFC 9112 6.3
 *     item 3), content_length is 0 and keep_alive is false, so a framing
 *     that another hop may have read otherwise never shares a connection.
 *     The Content-Length field stays in headers: the caller must not
 *     forward it (nor Transfer-Encoding, which is hop-by-hop).
 *   - The only transfer coding accepted is a single "chunked" (any case,
 *     one field). Any other coding, chunked not last ("chunked, gzip", for
 *     which RFC 9112 6.3 reads the body until close) or not alone ("gzip,
 *     chunked"), or chunked twice is MP_EINVAL: memproxy decodes no other
 *     coding and cannot pass one on, as Transfer-Encoding is hop-by-hop.
 *     So is Transfer-Encoding in an HTTP/1.0 response (RFC 9112 6.1: the
 *     framing is faulty).
 *   - Content-Length repeated with the same value (in separate fields) is
 *     that value, as RFC 9110 8.6 allows; differing values, a list in one
 *     field ("5, 5"), a sign, blanks inside or a value over INT64_MAX are
 *     MP_EINVAL.
 *   - Versions other than 1.0 and 1.1 are refused, 1.2 included (RFC 9112
 *     2.3 would read it as 1.1): the upstream is configured, not arbitrary.
 *   - 101 Switching Protocols is returned like a final response (framing
 *     NONE, keep_alive false): the bytes after it are the new protocol's,
 *     so the caller must not treat it as interim and parse another head.
 *     Any other 1xx is interim: framing NONE, and the final response's head
 *     follows at buf + head_len.
 *
 * Returns MP_OK (*out filled; the head is buf[0..out->head_len)), MP_AGAIN
 * (incomplete and within max_head: call again on the grown buffer; the
 * parser keeps no state and starts over), MP_EINVAL (malformed; also at
 * once when the first bytes are not "HTTP/1."), MP_ETOOBIG (no end of head
 * within max_head bytes, or more than MP_HTTP_MAX_HEADERS fields). *out is
 * written only on MP_OK. */
int mp_http_response_parse(const char *buf, size_t len, bool head_request, size_t max_head,
                           struct mp_http_response_head *out);

/* The first field named name (NUL-terminated, case-insensitive), or NULL.
 * Points into h. */
const struct mp_http_header *mp_http_response_find(const struct mp_http_response_head *h,
                                                   const char *name);

/* The body decoder: bytes of the connection in, body bytes out. The caller
 * embeds it; its fields are private. */
struct mp_http_body {
    enum mp_http_framing framing;   /* private */
    int status;                     /* private: MP_AGAIN while running, MP_OK when
                                       complete, else the error that stopped it */
    uint64_t remaining;             /* private: LENGTH: bytes left */
    struct mp_http_chunked chunked; /* private: CHUNKED: the framing's state */
};

/* Starts decoding the body that follows head h (read only during the call). */
void mp_http_body_init(struct mp_http_body *b, const struct mp_http_response_head *h);

/* Called with each run of body bytes p[0..n) (n > 0; p points into the fed
 * buffer, valid during the call), in order. MP_OK goes on; any other
 * status (not MP_AGAIN) stops the feed and is returned by it. */
typedef int (*mp_http_body_fn)(void *arg, const char *p, size_t n);

/* Feeds in[0..n) (connection bytes after the head; borrowed). *used is
 * always set: how many of them were consumed, including a run whose fn
 * failed and, on MP_EINVAL, the offending byte.
 * Returns MP_OK when the body is complete (bytes after *used belong to the
 * next response, or are garbage: the caller decides), MP_AGAIN when all n
 * were consumed and more is needed, MP_EINVAL for a malformed chunked
 * framing (bad chunk size, missing CRLF after chunk data, a chunk size over
 * 2^62 or 16 hex digits, a chunk-size line with its extensions or a trailer
 * line over 4096 bytes, a trailer section over 16384 bytes), or fn's own
 * status. Trailers are read and discarded. Any split of the input gives the
 * same runs' bytes and result. A CLOSE body takes everything and returns
 * MP_AGAIN. Once complete it returns MP_OK, and once failed that error,
 * with *used 0. A LENGTH feed is two comparisons and one fn call. */
int mp_http_body_feed(struct mp_http_body *b, const char *in, size_t n, size_t *used,
                      mp_http_body_fn fn, void *arg);

/* The connection ended (EOF). MP_OK when that ends the body properly (CLOSE
 * framing; or the body was already complete), MP_EIO when the body was cut
 * short (LENGTH with bytes left, CHUNKED before the end of the trailer
 * section, or a feed had failed). */
int mp_http_body_eof(const struct mp_http_body *b);

/* True once the body is complete: a feed returned MP_OK, or framing NONE
 * or a Content-Length of 0 (complete from the start). Never for CLOSE: the
 * EOF ends it. */
bool mp_http_body_done(const struct mp_http_body *b);

#endif
