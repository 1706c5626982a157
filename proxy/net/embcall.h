/* One call to the embeddings server (docs/memory-embeddings.md): POST
 * {[embeddings] base_url}/embeddings of a body built by
 * core/embed/embed_request.h, with memproxy's own key as a bearer token
 * sent to that host only, on a curl multi of the caller's
 * (net/upstream.h), and what its end says in the terms both callers
 * count: the memory worker's backfill (proxy/memory/embjob.c) and a chat
 * request's question (proxy/plane/qvec.c). The body's vectors are read
 * with core/embed/embed_answer.h by the caller. */
#ifndef MP_PROXY_NET_EMBCALL_H
#define MP_PROXY_NET_EMBCALL_H

#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "net/upstream.h"

/* One call's state: owned by its caller, zeroed before the first
 * mp_embcall_start and handed back with mp_embcall_end. */
struct mp_embcall {
    CURL *easy;                   /* NULL: no call */
    char *body;                   /* the request body (taken by start) */
    struct mp_upstream_body resp; /* the answer, at most resp.max bytes */
    char auth[MP_CONFIG_SECRET_MAX + 32];
    struct curl_slist nodes[4];
    char url[MP_CONFIG_URL_MAX + 16];
};

/* How a call ended (no answer body read yet): a 2xx within the size cap,
 * or why not. */
enum mp_embcall_end {
    MP_EMBCALL_ANSWERED = 0,
    MP_EMBCALL_TOO_BIG,      /* the answer passed resp.max */
    MP_EMBCALL_NO_ANSWER,    /* no connection, or no whole answer in time */
    MP_EMBCALL_TIMED_OUT,    /* ... and curl says the time ran out */
    MP_EMBCALL_RATE_LIMITED, /* 429 */
    MP_EMBCALL_SERVER_ERROR, /* 5xx */
    MP_EMBCALL_REJECTED,     /* any other status */
};

/* Starts c: body[0..len) (takes ownership of body, malloc'd, whatever
 * the result) POSTed to cfg's embeddings URL with cfg's key (when set)
 * and upstream ca_file, the answer taken up to max bytes, priv the
 * transfer's CURLOPT_PRIVATE (what up's done callback gets), the whole
 * call within timeout_ms. MP_OK, MP_ENOMEM (no handle), MP_EUPSTREAM
 * (curl refused it); on failure c holds nothing (mp_embcall_end is
 * still safe). */
int mp_embcall_start(struct mp_embcall *c, struct mp_upstream *up, const struct mp_config *cfg,
                     char *body, size_t len, size_t max, void *priv, long timeout_ms);

/* How the finished transfer of c ended (result: what up's done callback
 * got); *retry_after_ms the server's Retry-After (0: none). */
enum mp_embcall_end mp_embcall_result(const struct mp_embcall *c, CURLcode result,
                                      int64_t *retry_after_ms);

/* Returns c's handle to up (after its transfer ended, or cancels it when
 * cancel), frees its body and answer and wipes the key. c is empty after. */
void mp_embcall_end(struct mp_embcall *c, struct mp_upstream *up, bool cancel);

#endif
