/* libcurl's multi interface driven by one thread's libevent loop: curl tells
 * us which sockets and timeouts to watch, we tell curl when they fire. Easy
 * handles are pooled so a request reuses one with its constant options set
 * and the multi's connection cache keeps upstream connections alive.
 * It does not build requests or read responses: proxy/plane/request.c does.
 * libcurl is loaded and the multi made with the first easy handle asked for
 * (ondemand/curl_lib.h), so a loop that never uses curl never maps it. */
#ifndef MP_PROXY_UPSTREAM_H
#define MP_PROXY_UPSTREAM_H

#include <stdbool.h>
#include <stddef.h>

#include "curl_lib.h"

#include "net/xfer.h"

struct event_base;
struct mp_upstream;

/* Called once per finished transfer, outside any curl callback, after the
 * handle left the multi. req is the transfer's CURLOPT_PRIVATE. */
typedef void (*mp_upstream_done_fn)(void *req, CURLcode result);

/* Creates the glue on base (borrowed), without touching libcurl. Returns
 * NULL when out of memory.
 * Caller frees with mp_upstream_free() after every transfer ended. */
struct mp_upstream *mp_upstream_new(struct event_base *base, mp_upstream_done_fn done);
void mp_upstream_free(struct mp_upstream *up);

/* A pooled easy handle with the constant options set (no signals, TCP
 * nodelay, HTTP/1.1, path as is, TLS peer and host verification, no content
 * decoding). ca_file (borrowed, "" for none) is a PEM bundle to trust
 * instead of the system CA store. Returns NULL when out of memory or when
 * libcurl cannot be loaded (logged once per process, as an error). */
CURL *mp_upstream_easy_get(struct mp_upstream *up, const char *ca_file);
/* Returns a handle that is not in the multi to the pool. */
void mp_upstream_easy_put(struct mp_upstream *up, CURL *easy);

/* Starts a transfer (the handle's CURLOPT_PRIVATE must be set). Returns
 * MP_OK, or MP_EUPSTREAM when curl refuses it. */
int mp_upstream_start(struct mp_upstream *up, CURL *easy);
/* Stops a started transfer without calling done. Never from a curl callback. */
void mp_upstream_cancel(struct mp_upstream *up, CURL *easy);

/* What a finished transfer's result says, in the terms both clients use. */
enum mp_xfer_end mp_upstream_end_of(CURLcode result);

/* Transfers in progress. */
unsigned mp_upstream_active(const struct mp_upstream *up);

/* An answer's body as a write callback gathers it: data, NUL-terminated
 * (owned; NULL until the first byte), at most max bytes. */
struct mp_upstream_body {
    char *data;
    size_t len, cap, max;
    bool too_big; /* a write would have passed max: the transfer stops */
};

/* Sets easy up as a JSON POST of body[0..len) (borrowed until the transfer
 * ends) to url with the header list headers, its answer gathered into
 * *answer, priv its CURLOPT_PRIVATE, with the connect and whole-transfer
 * timeouts. Start it with mp_upstream_start(). */
void mp_upstream_post_setup(CURL *easy, const char *url, struct curl_slist *headers,
                            const char *body, size_t len, struct mp_upstream_body *answer,
                            void *priv, long connect_ms, long timeout_ms);

/* Appends p[0..n) to b: n, or 0 (the transfer stops) past b->max (too_big
 * set) or out of memory. */
size_t mp_upstream_body_add(struct mp_upstream_body *b, const char *p, size_t n);

#endif
