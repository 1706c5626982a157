/* The fake upstream's misbehaviour: X-Fake-Behavior directives, and the
 * response they produce as a plan (bytes + where to pause + how to end) that
 * the server then plays on the socket. What the bytes say is each chat API's
 * own (a struct fake_wire: fake_chat.c, fake_responses.c, fake_messages.c);
 * how they are framed, timed and cut is here, the same for every API. It
 * does not do any I/O itself. */
#ifndef MP_TESTS_FAKE_BEHAVIOR_H
#define MP_TESTS_FAKE_BEHAVIOR_H

#include "fake_cache.h"
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
    long close_after; /* a close-delimited answer: a clean close (FIN) after N events / bytes */
    long body_bytes;
    long end_delay_ms;
    long event_bytes;
    long error_after; /* stream: the API's error event after this many text pieces */
    bool crlf;
    bool no_done;
    bool stall;
    bool reset_before_headers;
    bool chunked;
    bool echo;
    bool inside;   /* a stream's cut (stall_after, reset_after, close_after) inside event N */
    bool failed;   /* Responses: response.failed instead of response.completed */
    bool thinking; /* Messages: a thinking block before the text */
    bool tool_use; /* a tool call after the text (fake_reply.h: which) */
    /* the reply's words in another shape (fake_reply.h: fake_reply_words) */
    bool audio;    /* a voice reply: the words in the audio's transcript */
    bool refusal;  /* a refusal: the words in the API's refusal */
    bool no_text;  /* no words at all: a content filter, reasoning, an image */
    char err[160]; /* non-empty: the header was bad, answer 400 */
};

void fake_behavior_init(struct fake_behavior *b);

/* Adds the directives of one X-Fake-Behavior value (comma-separated,
 * blanks ignored, names case-insensitive). Unknown names, bad or
 * out-of-range numbers: returns -1 and sets b->err (JSON-safe text). */
int fake_behavior_parse(struct fake_behavior *b, const char *s, size_t len);

/* The text pieces a stream sends: `events`, or `error_after` when it is
 * smaller (the error event then follows the last of them); none with
 * `no_text`. */
size_t fake_behavior_pieces(const struct fake_behavior *b);

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

struct fake_wire;
struct fake_call;

/* What the builder needs from a /v1 request; pointers borrowed for the call. */
struct fake_v1_req {
    const struct fake_wire *wire; /* the API the path names */
    uint64_t n;                   /* request number, from 1 */
    const char *body;
    size_t body_len;
    const char *ctype; /* NULL when the request had no Content-Type */
    size_t ctype_len;
    const char *model; /* raw JSON string content; NULL: "fake" */
    size_t model_len;
    const char *content; /* the message content as a JSON value; NULL: the default text */
    size_t content_len;
    const char *error; /* an error status's body (a refusal, fake_validate.h); NULL: the wire's */
    size_t error_len;
    bool stream;
    bool background;              /* top-level "background" is the literal true */
    bool close;                   /* the client asked to close after this response */
    struct fake_usage usage;      /* the prompt's tokens and what the cache served (fake_cache.h) */
    const struct fake_call *call; /* the call `tool_use` makes (fake_reply.h); NULL: get_weather */
};

/* A stream being built: the wire writes one event at a time, the builder
 * frames it (a chunk of its own), pads it, times it and cuts the stream. */
struct fake_sse;

/* Starts an event: "event: <type>" (no such line when type is NULL), then
 * "data: ". Returns the buffer to append the data to, valid until
 * fake_sse_end. */
struct fake_buf *fake_sse_begin(struct fake_sse *s, const char *type);

/* Starts an event as the Responses and Messages APIs name theirs:
 * "event: <type>", then "data: " and a JSON object whose first member is
 * "type":"<type>", left open for the wire's members and its closing brace
 * (type: plain ASCII, not escaped). Returns as fake_sse_begin. */
struct fake_buf *fake_sse_begin_typed(struct fake_sse *s, const char *type);

/* Ends the event begun last. content: it is one of the reply's text pieces
 * (the `events` of X-Fake-Behavior), which event_bytes pads: its data must
 * then end with the closing brace of a JSON object. */
void fake_sse_end(struct fake_sse *s, bool content);

/* One chat API's bytes. Each function appends to its buffer and reports
 * running out of memory through its oom flag. */
struct fake_wire {
    /* The 200 answer that is one body: a JSON object. */
    void (*put_reply)(struct fake_buf *o, const struct fake_v1_req *r,
                      const struct fake_behavior *b);
    /* The body of an HTTP error status (not 200): the API's error JSON. */
    void (*put_error)(struct fake_buf *o, long status);
    /* The events of a stream, through fake_sse_begin/fake_sse_end. NULL:
     * the API never streams (a "stream":true request gets one body). */
    void (*put_stream)(struct fake_sse *s, const struct fake_v1_req *r,
                       const struct fake_behavior *b);
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
