/* A client connection: reads HTTP/1.1 requests off a socket, hands each
 * complete request to a handler, and writes what the handler appends to its
 * output, with keep-alive, timeouts, limits and a lingering close. Shared by
 * the data plane and the admin plane. It knows nothing of upstreams or memory.
 *
 * Lifecycle of one request: the connection reads and parses the head,
 * lets handler->on_head() refuse it before any of its body is read, reads
 * the body (answering 400/408/413/431 itself), then calls handler->on_request()
 * with the request; the handler attaches its own request object with
 * mp_conn_attach(), appends response bytes to mp_conn_output() and calls
 * mp_conn_flush() as it goes, and ends with exactly one mp_conn_finish().
 * If the client goes away first, the abort function given to mp_conn_attach()
 * is called once instead;
 * the handler must release its request there and never touch the
 * connection again. */
#ifndef MP_PROXY_CONN_H
#define MP_PROXY_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/queue.h>

#include "http/http_parse.h"
#include "net/loop.h"

struct evbuffer;
struct mp_conn;

struct mp_conn_handler {
    /* The head of a request was parsed; none of its body has been read (and
     * no 100 Continue sent). NULL: no check. To refuse the request it
     * answers with mp_conn_respond() (or mp_respond_error()) ending in
     * MP_CONN_CLOSE: the body is then never read into memory (a lingering
     * close discards what the client still sends). head is the
     * connection's, valid while this runs. Returning without an answer
     * lets the request go on to on_request(). */
    void (*on_head)(struct mp_conn *c, const struct mp_http_request_head *head);
    /* A complete request arrived. head and body[0..body_len) are owned by
     * the connection and valid until mp_conn_finish() or the abort. It may
     * answer at once, but must not end the request with MP_CONN_CUT before
     * returning (the connection is still reading). */
    void (*on_request)(struct mp_conn *c, const struct mp_http_request_head *head, const char *body,
                       size_t body_len);
    /* The output was written whole (after mp_conn_want_drain()) while req
     * was attached. */
    void (*on_drain)(struct mp_conn *c, void *req);
};

/* Limits the connection enforces. */
struct mp_conn_limits {
    size_t max_header_bytes;
    size_t max_body_bytes;
    unsigned client_timeout_ms; /* whole request, from its first byte */
    unsigned idle_timeout_ms;   /* keep-alive idle, between requests */
    unsigned send_timeout_ms;   /* a blocked write making no progress */
};

/* Returns the limits to apply now (re-read for every request). */
typedef void (*mp_conn_limits_fn)(const struct mp_loop *loop, struct mp_conn_limits *out);

/* Why the connection itself refuses a request (it answers these before any
 * handler sees the request, then closes). */
enum mp_conn_refusal {
    MP_CONN_REFUSE_BAD_REQUEST,       /* malformed HTTP */
    MP_CONN_REFUSE_CLIENT_TIMEOUT,    /* the request did not arrive in time */
    MP_CONN_REFUSE_BODY_TOO_LARGE,    /* over max_body_bytes */
    MP_CONN_REFUSE_HEADERS_TOO_LARGE, /* over max_header_bytes */
    MP_CONN_REFUSE_OVERLOADED,        /* over max_connections */
    MP_CONN_REFUSE_INTERNAL           /* out of memory */
};

/* Answers the connection's current request with the refusal why and
 * finishes it with MP_CONN_CLOSE (the error's shape is the kind's
 * business: the connection knows no error bodies). */
typedef void (*mp_conn_refuse_fn)(struct mp_conn *c, enum mp_conn_refusal why);

/* The listener side a connection belongs to. Borrowed by connections;
 * outlives them. */
struct mp_conn_kind {
    const struct mp_conn_handler *handler;
    mp_conn_limits_fn limits;
    mp_conn_refuse_fn refuse;
    bool data_plane; /* counted in the open-connection gauge and limit */
};

enum mp_conn_end {
    MP_CONN_KEEP,  /* response complete; keep the connection if the client allows */
    MP_CONN_CLOSE, /* response complete; close after sending it */
    MP_CONN_CUT,   /* response broken: what was appended still goes out, then the
                      connection closes, so the client sees the framing (chunks,
                      Content-Length) unfinished */
    MP_CONN_RESET  /* response broken and a close would look like its end (a
                      close-delimited body): drop pending output, reset now */
};

#define MP_CONN_HIGH_WATER (256 * 1024) /* handler should pause its producer above */

/* Takes ownership of the connected socket fd, which must be non-blocking
 * (accept4 with SOCK_NONBLOCK) and have TCP_NODELAY (inherited from a
 * listener of mp_listen_bind()). With reject set, the connection answers 503
 * overloaded and closes. Otherwise what the client has sent already is read
 * at once: a connection accepted from a backlog (a burst of new clients)
 * usually has its request waiting, and reading it now saves a loop pass
 * before the request is handled. The connection belongs to the loop and may
 * be gone when this returns (the client closed, a whole request answered at
 * once); out of memory, fd is closed. */
void mp_conn_new(struct mp_loop *loop, int fd, const struct mp_conn_kind *kind, bool reject);

/* The client went away (or its socket failed) while req was attached: the
 * owner releases req. The connection is freed right after this returns. */
typedef void (*mp_conn_abort_fn)(struct mp_conn *c, void *req);

/* Attaches the handler's request object (borrowed) with the function that
 * aborts it (each kind of request brings its own). */
void mp_conn_attach(struct mp_conn *c, void *req, mp_conn_abort_fn on_abort);

/* The output buffer, owned by the connection; append response bytes. */
struct evbuffer *mp_conn_output(struct mp_conn *c);
/* Bytes appended and not yet written to the socket. */
size_t mp_conn_pending(const struct mp_conn *c);
/* Writes the output at the end of this loop pass (coalescing appends). */
void mp_conn_flush(struct mp_conn *c);
/* Writes the output now, as far as the socket takes it without waiting,
 * for a relayed event that should not wait for the rest of the loop pass;
 * what remains (the socket full, a write error, a drain to report) is left
 * to the end of the pass, as mp_conn_flush() does. It calls nothing back
 * and never frees the connection, so a handler may call it from inside
 * its own callbacks. */
void mp_conn_write_now(struct mp_conn *c);
/* Asks for handler->on_drain() once the output has been written whole. */
void mp_conn_want_drain(struct mp_conn *c);

/* True when the response must end with the connection closed: the client
 * asked for it, HTTP/1.0 without keep-alive, or the proxy is draining. */
bool mp_conn_wants_close(const struct mp_conn *c);
/* True when the request was HTTP/1.0 (no chunked responses). */
bool mp_conn_is_http10(const struct mp_conn *c);
struct mp_loop *mp_conn_loop(const struct mp_conn *c);
bool mp_conn_is_data_plane(const struct mp_conn *c);
/* The parsed head of the request being read or handled, or NULL. */
const struct mp_http_request_head *mp_conn_head(const struct mp_conn *c);

/* Ends the current request (detaches the handler's request). With
 * MP_CONN_RESET, or MP_CONN_CUT and no output pending, the connection is
 * closed and freed before this returns. */
void mp_conn_finish(struct mp_conn *c, enum mp_conn_end end);

/* Holds the output: nothing appended is written, and nothing more is read,
 * for ms milliseconds from now (then the output goes out as usual). For
 * an answer that must come late (a peer that failed authentication too
 * often, core/backoff.h) without blocking the loop; call it before the
 * response that should wait, which then ends with MP_CONN_CLOSE. */
void mp_conn_hold(struct mp_conn *c, unsigned ms);

/* The peer's address as 16 bytes (an IPv4 one mapped into IPv6, a Unix
 * socket's all zero). */
void mp_conn_peer(const struct mp_conn *c, unsigned char out[16]);

/* How many connections of kind loop holds now. */
unsigned mp_conn_count_kind(const struct mp_loop *loop, const struct mp_conn_kind *kind);

/* Appends a complete response with a body (Content-Length framing) and
 * finishes the request; extra_headers (borrowed, may be NULL) is a block of
 * "Name: value\r\n" lines. */
void mp_conn_respond(struct mp_conn *c, int status, const char *reason, const char *content_type,
                     const char *extra_headers, const char *body, size_t body_len,
                     enum mp_conn_end end);

/* Closes idle connections and marks busy ones to close after their response
 * (used when draining). */
void mp_conn_drain_all(struct mp_loop *loop);
/* At max_connections: closes the data-plane connection of this loop that
 * has waited longest for its next head without completing it (idle
 * keep-alive, a silent connection, or a head still dribbling in: a
 * slowloris), counted as client error "displaced", so that a client that
 * sends whole requests can be served. Connections with a request in
 * progress are never displaced. False when none waits. */
bool mp_conn_displace_oldest(struct mp_loop *loop);

/* Closes every connection now, aborting attached requests. */
void mp_conn_close_all(struct mp_loop *loop);

/* Runs deferred work of the connections on loop->dirty (flushes, queued
 * pipelined requests). Called by the loop's flush event only. */
void mp_conn_run_dirty(struct mp_loop *loop);

#endif
