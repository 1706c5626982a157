/* A question's vector (issue 71, docs/memory-retrieval.md): the text a
 * request's relevance scores, embedded as a query by the configured
 * embeddings server ([embeddings]: net/embcall.h), on the calling loop,
 * within [embeddings] timeout_ms. Whoever asked goes on either way: with
 * the vector, or by words alone (X-Memory-Retrieval: lexical) when no
 * usable answer came in time. One client per loop, made on first use. */
#ifndef MP_PROXY_PLANE_QVEC_H
#define MP_PROXY_PLANE_QVEC_H

#include <stdbool.h>
#include <stddef.h>

#include "config/config.h"
#include "metrics.h"

struct event_base;
struct mp_qvec_client;
struct mp_qvec_call;

/* The end of a call: r MP_EMBQ_OK with vec[0..dims) (unit length,
 * borrowed during the call), else vec NULL. Called from the loop, never
 * from inside mp_qvec_start(); the call is gone after it. */
typedef void (*mp_qvec_done_fn)(void *arg, enum mp_embed_query_result r, const float *vec,
                                unsigned dims);

/* A client on base (borrowed). NULL when out of memory. */
struct mp_qvec_client *mp_qvec_client_new(struct event_base *base);
/* No call may be in progress. NULL: nothing. */
void mp_qvec_client_free(struct mp_qvec_client *c);

/* Asks for the vector of text[0..len) (borrowed during the call only; cut
 * to its first 2 KiB on a UTF-8 boundary) under cfg (borrowed during the
 * call only: URL, key, model, prefixes, timeout_ms). MP_OK with *out
 * (done will be called exactly once, unless mp_qvec_cancel); MP_EINVAL
 * (embeddings off, or an empty text); MP_ENOMEM or MP_EUPSTREAM (done
 * not called). */
int mp_qvec_start(struct mp_qvec_client *c, const struct mp_config *cfg, const char *text,
                  size_t len, mp_qvec_done_fn done, void *arg, struct mp_qvec_call **out);
/* Ends a call without calling done. NULL: nothing. */
void mp_qvec_cancel(struct mp_qvec_call *call);

/* One question's vector as the request paths ask for it (a chat request,
 * a search, the MCP search tool): on the loop's client, counted in
 * memproxy_embeddings_queries_total, then the caller's next step. Zero
 * it before the first use. */
struct mp_qvec_ask {
    struct mp_qvec_call *call; /* in flight, or NULL */
    float *vec;                /* owned: the vector once had; NULL: none */
    unsigned dims;
    bool asked; /* false: not asked (a zeroed ask) */
    enum mp_embed_query_result result;
    void (*then)(void *arg);
    void *arg;
    struct mp_metrics *metrics; /* where the result is counted */
};

/* With [embeddings] on and text non-empty: MP_AGAIN, and then(arg) runs
 * once the call ends, whatever it came to (a->vec set on success); else
 * MP_OK at once (not asked; or the call could not start: asked, result
 * error, counted). text borrowed during the call only. */
struct mp_loop;
int mp_qvec_ask(struct mp_qvec_ask *a, struct mp_loop *loop, const char *text, size_t len,
                void (*then)(void *arg), void *arg);
/* X-Memory-Retrieval's value for what the ask came to ("hybrid",
 * "lexical; reason=timeout", "lexical; reason=error"); NULL: not asked. */
const char *mp_qvec_ask_retrieval(const struct mp_qvec_ask *a);
/* Cancels a call in flight and frees the vector. */
void mp_qvec_ask_cleanup(struct mp_qvec_ask *a);

#endif
