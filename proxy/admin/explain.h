/* Explain (POST /admin/users/{id}/explain, docs/admin-api.md): what memproxy
 * would inject into a chat request for a user, and why, without calling
 * the upstream or recording anything. The choice is injection's own
 * (core/wire/inject.h: mp_inject_choose, with the parameters a chat
 * request gets: plane/reqmem.h); the scores are relevance's for the same
 * question (core/recall/recall_search.h). It reads the store given; it
 * sends nothing and logs nothing of the request or the memory. */
#ifndef MP_PROXY_EXPLAIN_H
#define MP_PROXY_EXPLAIN_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "adminpath.h"
#include "config.h"
#include "net/respond.h"
#include "store.h"
#include "terms.h"

/* Explains the request body[0..len) (borrowed) of api for the user with
 * store key user[0..user_len) in store, under cfg, with the calling
 * thread's tokenizer terms, at now_ms. MP_OK with *out (new reference):
 *   {"user", "api", "question", "retrieval", "mode", "user_mode",
 *    "budget_tokens", "tokens", "injected": bool, "why" (when nothing is),
 *    "sections": {"head", "tail", "profile", "past", "summary", "buffer"}}
 * each section {"applies": bool, "why"?, "items": [{"id", "kind", "text",
 * "score" (null when not scored), "terms": [question terms it holds],
 * "taken": bool, "why", "cut"?}]}; MP_EINVAL with *perr when the body is
 * no request of api; MP_ENOMEM or the store's error (*perr internal). */
int mp_explain_run(const struct mp_config *cfg, struct mp_store *store, struct mp_terms *terms,
                   const char *user, size_t user_len, enum mp_admin_api api, const char *body,
                   size_t len, int64_t now_ms, json_t **out, enum mp_perr *perr);

/* mp_explain_run() over a view already open (NULL: nothing is stored for
 * the user) and a request already scanned (req, by api's wire, over body;
 * both borrowed): for a chat request that asked for its explanation
 * (X-Memory-Explain). MP_OK with *out, MP_ENOMEM, or a source's error. */
struct mp_chatreq;
struct mp_wire;
int mp_explain_view(const struct mp_config *cfg, struct mp_store_view *view, struct mp_terms *terms,
                    const char *user, size_t user_len, enum mp_admin_api api, const char *body,
                    const struct mp_chatreq *req, int64_t now_ms, json_t **out);

/* The api of a chat request's wire (core/wire/wire.h). */
enum mp_admin_api mp_explain_api_of(const struct mp_wire *w);

#endif
