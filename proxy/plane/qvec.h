/* A question's vector (issue 71, docs/memory-retrieval.md): the text a
 * request's relevance scores, embedded as a query by the configured
 * embeddings server ([embeddings]: net/embcall.h), on the calling loop,
 * within [embeddings] timeout_ms. Whoever asked goes on either way: with
 * the vector, or by words alone (X-Memory-Retrieval: lexical) when no
 * usable answer came in time. One client per loop, made on first use. */
#ifndef MP_PROXY_PLANE_QVEC_H
#define MP_PROXY_PLANE_QVEC_H

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

#endif
