/* The fake upstream's misbehaviour: X-Fake-Behavior directives, and the
 * response they produce as a plan (bytes + where to pause + how to end) that
 * the server then plays on the socket. It does not do any I/O itself. */
#ifndef MP_TESTS_FAKE_BEHAVIOR_H
#define MP_TESTS_FAKE_BEHAVIOR_H

#include "fake_http.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Parsed directives; -1 means "not given" for the numeric ones. */
struct fake_behavior {
    long status;
    long events;
    long split;
    long drip_ms;
    long event_delay_ms;
    long delay_ms;
    long stall_after;
    long reset_after;
    long body_bytes;
    long end_delay_ms;
    long event_bytes;
    bool crlf;
    bool no_done;
    bool stall;
    bool reset_before_headers;
    bool chunked;
    bool echo;
    char err[160]; /* non-empty: the header was bad, answer 400 */
};

void fake_behavior_init(struct fake_behavior *b);

/* Adds the directives of one X-Fake-Behavior value (comma-separated,
 * blanks ignored, names case-insensitive). Unknown names, bad or
 * out-of-range numbers: returns -1 and sets b->err (JSON-safe text). */
int fake_behavior_parse(struct fake_behavior *b, const char *s, size_t len);

/* Before writing the byte at off, wait delay_ms (0: just start a new write). */
struct fake_brk {
    size_t off;
    uint32_t delay_ms;
};

enum fake_end {
    FAKE_END_KEEP,  /* response complete, connection reusable */
    FAKE_END_CLOSE, /* response complete, then close */
    FAKE_END_STALL, /* send nothing more, keep the connection open */
    FAKE_END_RST    /* close with RST */
};

/* A response to play. Buffers are reused from one request to the next. */
struct fake_plan {
    struct fake_buf out; /* every byte to send */
    struct fake_buf tmp; /* scratch for building */
    struct fake_brk *brk;
    size_t nbrk;
    size_t brk_cap;
    bool brk_oom;
    size_t body_off; /* where the head ends */
    long drip_ms;    /* >= 0: the body goes one byte per write, this far apart */
    bool bad;        /* a 400 for bad directives: nothing else asked for applies */
    enum fake_end end;
};

/* What the builder needs from a /v1 request; pointers borrowed for the call. */
struct fake_v1_req {
    uint64_t n; /* request number, from 1 */
    const char *body;
    size_t body_len;
    const char *ctype; /* NULL when the request had no Content-Type */
    size_t ctype_len;
    const char *model; /* raw JSON string content; NULL: "fake" */
    size_t model_len;
    const char *content; /* the message content as a JSON value; NULL: the default text */
    size_t content_len;
    bool stream;
    bool close; /* the client asked to close after this response */
};

void fake_plan_free(struct fake_plan *p);

/* Builds the response to a /v1 request. Returns 0, or -1 when out of memory. */
int fake_behavior_build(const struct fake_behavior *b, const struct fake_v1_req *r,
                        struct fake_plan *p);

/* Builds a plain response (control endpoints, protocol errors) without the
 * /v1 headers. Returns 0, or -1 when out of memory. */
int fake_plan_simple(struct fake_plan *p, int status, const char *ctype, const char *body,
                     size_t len, bool close);

#endif
