/* The fake upstream's byte handling: a growable buffer, a small HTTP/1.1
 * request parser (head, chunked body) and a top-level JSON member scan for
 * "stream", "model" and the few others the fake reads. Positions are
 * offsets, so the caller may realloc the buffer between calls. It does not
 * validate JSON or touch sockets. */
#ifndef MP_TESTS_FAKE_HTTP_H
#define MP_TESTS_FAKE_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A growable byte buffer. A failed allocation sets oom and turns every later
 * append into a no-op, so builders check once at the end. */
struct fake_buf {
    char *p;
    size_t len;
    size_t cap;
    bool oom;
};

/* Makes room for extra more bytes; 0 or -1 (oom set). */
int fake_buf_reserve(struct fake_buf *b, size_t extra);
void fake_buf_put(struct fake_buf *b, const void *p, size_t n);
void fake_buf_puts(struct fake_buf *b, const char *s);
void fake_buf_put_u64(struct fake_buf *b, uint64_t v);
void fake_buf_put_hex(struct fake_buf *b, uint64_t v);
/* s[0..n) as a JSON string, quotes included. Valid UTF-8 is copied (only
 * '"', '\\' and controls escaped); each byte of invalid UTF-8 becomes
 * U+FFFD, so the output is always valid JSON whatever the input. */
void fake_buf_put_json_string(struct fake_buf *b, const char *s, size_t n);
void fake_buf_free(struct fake_buf *b);

enum fake_http_result {
    FAKE_HTTP_OK = 0,
    FAKE_HTTP_AGAIN = 1,  /* need more bytes */
    FAKE_HTTP_BAD = -1,   /* malformed: 400 */
    FAKE_HTTP_TOOBIG = -2 /* head or body over its cap: 431 / 413 */
};

enum fake_route {
    FAKE_ROUTE_V1,
    FAKE_ROUTE_LAST,
    FAKE_ROUTE_STATS,
    FAKE_ROUTE_RESET,
    FAKE_ROUTE_REQUESTS,
    FAKE_ROUTE_JOBS,
    FAKE_ROUTE_JOBMODE,
    FAKE_ROUTE_CACHE,
    FAKE_ROUTE_STORED, /* GET /_fake/stored?id=: a stored Responses response */
    FAKE_ROUTE_REPLY,
    FAKE_ROUTE_HOLD,
    FAKE_ROUTE_RELEASE,
    FAKE_ROUTE_ROUTING,
    FAKE_ROUTE_EMBEDDINGS, /* GET /_fake/embeddings: the embeddings log */
    FAKE_ROUTE_EMBEDMODE,  /* /_fake/embedmode: the embeddings' misbehaviour */
    FAKE_ROUTE_ROOT,       /* "/": a client's probe of the base URL */
    FAKE_ROUTE_OTHER
};

#define FAKE_HTTP_MAX_BEHAVIOR 8

/* A span of the request buffer. */
struct fake_span {
    size_t off;
    size_t len;
};

struct fake_head {
    enum fake_route route;
    struct fake_span method; /* request line: method */
    struct fake_span target; /* request line: target, query included */
    size_t head_len;         /* request line + fields + empty line */
    int64_t content_length;  /* -1 when absent */
    bool chunked;
    bool keep_alive;
    bool expect_continue;
    bool has_ctype;
    struct fake_span ctype; /* Content-Type value */
    size_t num_behavior;    /* X-Fake-Behavior values, in order */
    struct fake_span behavior[FAKE_HTTP_MAX_BEHAVIOR];
    bool has_tool_call;         /* an X-Fake-Tool-Call field (the first one counts) */
    struct fake_span tool_call; /* its value */
    bool has_now;               /* an X-Fake-Now-Ms field (the first one counts) */
    struct fake_span now;       /* its value */
};

/* Looks for a complete request head at buf[0..len), which must not start
 * with CR or LF. *scan_pos (0 for a new request) remembers how far complete
 * lines were already searched, so feeding a head byte by byte stays linear.
 * Accepts CRLF or bare LF line ends and HTTP/1.0 and 1.1; rejects obs-fold,
 * a blank in a field name, a bad request line or Content-Length.
 * Returns FAKE_HTTP_OK with *out filled, AGAIN, BAD, or TOOBIG when no head
 * ends within max_head bytes. */
int fake_http_parse_head(const char *buf, size_t len, size_t *scan_pos, size_t max_head,
                         struct fake_head *out);

/* Incremental decoder of a chunked body that stays in the caller's buffer. */
struct fake_chunked {
    int state;
    size_t pos; /* offset in the caller's buffer: next byte to decode */
    uint64_t remaining;
};

/* Starts decoding at offset start (the end of the head). */
void fake_http_chunked_init(struct fake_chunked *c, size_t start);

/* Decodes buf[c->pos..len), appending the data to body (at most cap bytes).
 * Returns FAKE_HTTP_OK when the last chunk and the trailers were read
 * (c->pos is then the end of the request), AGAIN, BAD, or TOOBIG (body over
 * cap, a size or trailer line over 4096 bytes, or out of memory). */
int fake_http_chunked_feed(struct fake_chunked *c, const char *buf, size_t len,
                           struct fake_buf *body, size_t cap);

struct fake_body_info {
    bool stream;                    /* top-level "stream" is the literal true */
    bool background;                /* top-level "background" is the literal true */
    bool has_model;                 /* top-level "model" is a string */
    struct fake_span model;         /* its raw content between the quotes, escapes kept */
    bool response_format;           /* top-level "response_format" is present and not null */
    bool has_first_message;         /* top-level "messages" is an array with an element */
    struct fake_span first_message; /* that first element, raw */
    bool has_system;                /* top-level "system" is present (Messages) */
    struct fake_span system;        /* its raw value */
};

/* Scans the top-level members of a JSON object in linear time, without
 * validating. Anything that is not an object yields stream false, no model. */
void fake_http_scan_body(const char *b, size_t n, struct fake_body_info *out);

/* Finds the member name (compared raw, no escapes) of the JSON object
 * b[0..n), in linear time without validating: true with its value's span
 * (raw, quotes included), false when absent or when b is not an object. */
bool fake_json_member(const char *b, size_t n, const char *name, struct fake_span *value);

#endif
