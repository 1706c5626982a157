/* The native HTTP/1.1 upstream client ([upstream] client = native): one per
 * worker loop, on libevent bufferevents (bufferevent_openssl for https, with
 * peer and host name verification and SNI), with a keep-alive pool per
 * origin. It does not build requests or read what responses mean:
 * proxy/plane/request.c does, as it does over libcurl (net/upstream.h).
 *
 * Why it exists: libcurl 7.88's connection cache walks every connection to
 * a host when a transfer starts and again when one ends past
 * CURLMOPT_MAXCONNECTS, so thousands of open streams cost a square; and
 * every reuse costs liveness polls. Here every step is O(1): an idle
 * connection waits in a LIFO list with its read event armed, so a close by
 * the upstream while idle takes it out of the pool when it happens (no poll
 * before reuse), and starting an exchange pops the list.
 *
 * An exchange writes the caller's request head and body pieces (body bytes
 * are referenced, never copied: the whole request leaves in one writev when
 * the socket takes it), then parses the response (core/http/http_resp.h): interim
 * 1xx heads are skipped, the final head goes to on_head, body bytes (dechunked)
 * to on_body, and on_done ends it exactly once. A reused connection that
 * fails before a byte of the request left the process is retried once on a
 * new connection; once anything was sent, nothing is retried (a POST may not
 * run twice). */
#ifndef MP_PROXY_NET_H1CLIENT_H
#define MP_PROXY_NET_H1CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "net/xfer.h"

struct event_base;
struct evbuffer;
struct mp_h1client;
struct mp_h1xfer;
struct mp_http_response_head;

/* What the client tells its caller. Called from the loop (never from inside
 * mp_h1_start() or mp_h1_resume()); after on_done, and after mp_h1_cancel(),
 * nothing more is called and the exchange is gone. */
struct mp_h1_callbacks {
    /* The final response head (valid during the call). false fails the
     * exchange with MP_XFER_PROTOCOL. */
    bool (*on_head)(void *arg, const struct mp_http_response_head *h);
    /* Body bytes, in order, valid during the call. MP_OK, or a failure that
     * ends the exchange (MP_XFER_OTHER). */
    int (*on_body)(void *arg, const char *p, size_t n);
    /* Optional: every byte read from the upstream so far went to on_body
     * (or is a partial chunk line), and the body goes on: the end of one
     * read's bytes, once per read that did not end the body (a read that
     * ends it goes on to on_done instead). It must not cancel or pause the
     * exchange. */
    void (*on_read_end)(void *arg);
    void (*on_done)(void *arg, enum mp_xfer_end end);
};

/* One request. What it points to is borrowed until on_done or
 * mp_h1_cancel(), but for the array of body pieces itself (copied) and the
 * head, which is read no more once on_head has been called (nothing is sent
 * again after the response began). */
struct mp_h1_request {
    const char *host; /* a DNS name or an IP literal (no brackets) */
    uint16_t port;
    bool https;
    const char *ca_file; /* "" for the system's CA store */
    /* The request line and header fields, each ending in CRLF, the empty
     * line included; Host, Content-Length and Connection are the caller's
     * to write. */
    const char *head;
    size_t head_len;
    const struct iovec *body; /* the body's pieces, sent in order after the head */
    size_t nbody;
    bool head_request; /* HEAD: no body whatever the answer says */
    uint32_t connect_timeout_ms;
};

/* A client on base (borrowed). NULL when out of memory. */
struct mp_h1client *mp_h1client_new(struct event_base *base);
/* Closes every connection. No exchange may be in progress. NULL: nothing. */
void mp_h1client_free(struct mp_h1client *c);

/* Starts an exchange: MP_OK with *out (valid until on_done or cancel), or
 * MP_ENOMEM, MP_EINVAL (no TLS context for ca_file). */
int mp_h1_start(struct mp_h1client *c, const struct mp_h1_request *rq,
                const struct mp_h1_callbacks *cb, void *arg, struct mp_h1xfer **out);
/* Stops reading the response (backpressure) / starts again. */
void mp_h1_pause(struct mp_h1xfer *x);
void mp_h1_resume(struct mp_h1xfer *x);
/* Ends an exchange without a callback; its connection is closed. */
void mp_h1_cancel(struct mp_h1xfer *x);

/* Exchanges in progress. */
unsigned mp_h1client_active(const struct mp_h1client *c);

#endif
