/* HTTP/1.1 request parsing for the client side of the proxy: the request
 * head (request line + header fields) and the chunked transfer coding of a
 * request body, over plain bytes. Zero-copy: results point into the caller's
 * buffer. It does not read sockets, build responses or interpret routes. */
#ifndef MP_CORE_HTTP_PARSE_H
#define MP_CORE_HTTP_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MP_HTTP_MAX_HEADERS 128

struct mp_http_header {
    const char *name; /* borrowed from the parsed buffer; not NUL-terminated */
    size_t name_len;
    const char *value; /* leading and trailing blanks removed */
    size_t value_len;
};

struct mp_http_request_head {
    const char *method; /* borrowed, not NUL-terminated */
    size_t method_len;
    const char *target; /* origin-form "/path?query", borrowed */
    size_t target_len;
    int minor_version; /* HTTP/1.<minor_version>: 0 or 1 */
    struct mp_http_header headers[MP_HTTP_MAX_HEADERS];
    size_t num_headers;
    size_t head_len;        /* bytes of request line + fields + empty line */
    int64_t content_length; /* -1 when absent */
    bool chunked;           /* Transfer-Encoding: chunked */
    bool keep_alive;        /* from the version and the Connection header */
    bool expect_continue;   /* Expect: 100-continue */
};

/* Parses a request head at the start of buf[0..len).
 * Accepts: a token method, an origin-form target of visible ASCII starting
 * with '/', "HTTP/1.1" or "HTTP/1.0", CRLF line ends only (a bare LF or CR is
 * refused: request smuggling), empty lines (CRLF)
 * before the request line (skipped, counted in head_len).
 * Rejects (MP_EINVAL): obs-fold continuation lines, a space before the colon,
 * control characters in names or values (HTAB allowed in values), both
 * Content-Length and Transfer-Encoding, a Transfer-Encoding other than exactly
 * "chunked", differing or non-numeric Content-Length values, other versions.
 * Returns MP_OK with *out filled; MP_AGAIN when the head is incomplete and
 * still within max_head; MP_ETOOBIG when the head exceeds max_head bytes or
 * MP_HTTP_MAX_HEADERS fields (answer 431); MP_EINVAL when malformed (400).
 * *out is written only on MP_OK. */
int mp_http_parse_request_head(const char *buf, size_t len, size_t max_head,
                               struct mp_http_request_head *out);

/* Finds a header by case-insensitive name; returns the first match or NULL. */
const struct mp_http_header *mp_http_find_header(const struct mp_http_request_head *head,
                                                 const char *name, size_t name_len);

/* The values of one header across all its field lines, in order, for the
 * headers whose every line counts (docs/http-api.md "Repeated headers").
 * RFC 9110 5.3: a field sent on several lines is one field, its value the
 * lines' values joined by commas; so for a list field (list = true:
 * X-Memory, Connection) each line is also split at its commas into
 * elements, the blanks around them trimmed and empty elements skipped
 * (RFC 9110 5.6.1), and a line without any element gives one empty value,
 * so that a caller can refuse a field sent empty. Quoted strings are not
 * understood: it is for lists of tokens. For a field that is not a list
 * each line's value is one value, commas and all (a user id may hold a
 * comma). head and name are borrowed for the walk; the values point into
 * head's buffer. */
struct mp_http_values {
    const struct mp_http_request_head *head; /* private */
    const char *name;                        /* private */
    size_t name_len;                         /* private */
    size_t field;                            /* private: where the next line is looked for */
    const struct mp_http_header *cur;        /* private: list: the line being split */
    size_t pos;                              /* private: list: where its next element starts */
    bool list;                               /* private */
};

void mp_http_values_init(struct mp_http_values *it, const struct mp_http_request_head *head,
                         const char *name, size_t name_len, bool list);

/* The next value: true with *value (borrowed from the head's buffer, not
 * NUL-terminated) and *len; false when there is none left. */
bool mp_http_values_next(struct mp_http_values *it, const char **value, size_t *len);

/* The one value of a field that is not a list (a user id, a signature, an
 * API key, a conversation id): its line's value, or the value its every
 * line repeats byte for byte. MP_OK with *value (borrowed) and *len;
 * MP_NOTFOUND when the head has no such field; MP_EINVAL when two of its
 * lines differ (the caller refuses the request, or acts as if the field
 * were absent). Outputs are written on MP_OK only. */
int mp_http_find_single(const struct mp_http_request_head *head, const char *name, size_t name_len,
                        const char **value, size_t *len);

/* True for the hop-by-hop fields a proxy must not forward: Connection,
 * Keep-Alive, Proxy-Connection, Proxy-Authorization, Proxy-Authenticate, TE,
 * Trailer, Transfer-Encoding, Upgrade (case-insensitive). */
bool mp_http_is_hop_by_hop(const char *name, size_t name_len);

/* True when name appears as a token in the comma-separated value of a
 * Connection header (such fields are hop-by-hop too). */
bool mp_http_connection_lists(const char *conn_value, size_t conn_len, const char *name,
                              size_t name_len);

/* Incremental decoder for a chunked request body. */
struct mp_http_chunked {
    int state;          /* private */
    uint64_t remaining; /* private: bytes left in the current chunk */
    size_t line_len;    /* private: bytes of the current size/trailer line */
    size_t trailer_len; /* private: bytes of the trailer section */
};

void mp_http_chunked_init(struct mp_http_chunked *c);

/* Decodes in[0..in_len) into out[0..out_cap). Chunk extensions are ignored,
 * trailer fields are read and discarded; size and trailer lines are capped
 * at 4096 bytes, the trailer section at 16384 (MP_EINVAL past that).
 * *consumed: input bytes used; *produced: body bytes written to out.
 * Returns MP_OK when the last chunk and its trailers were consumed (bytes
 * after that, e.g. a pipelined request, are left unconsumed); MP_AGAIN when
 * more input is needed (all input consumed); MP_ETOOBIG when the decoded body
 * would exceed out_cap (answer 413); MP_EINVAL when malformed. */
int mp_http_chunked_decode(struct mp_http_chunked *c, const char *in, size_t in_len,
                           size_t *consumed, char *out, size_t out_cap, size_t *produced);

#endif
