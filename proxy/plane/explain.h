/* Explain (POST /admin/users/{id}/explain, docs/admin-api.md): what memproxy
 * would inject into a chat request for a user, and why, without calling
 * the upstream or recording anything. The choice is injection's own in
 * the request's conversation (core/wire/inject.h: mp_inject_choose_conv,
 * with the parameters a chat request gets, plane/reqmem.h, the
 * conversation the data plane's resolver finds, plane/convlook.h, and the
 * head the store keeps for it); the scores are relevance's for the same
 * question (core/recall/recall_search.h). It reads the store given; it
 * sends nothing and logs nothing of the request or the memory. */
#ifndef MP_PROXY_EXPLAIN_H
#define MP_PROXY_EXPLAIN_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "adminpath.h"
#include "config/config.h"
#include "wire/convid.h"
#include "wire/inject.h"
#include "net/respond.h"
#include "ops/store.h"
#include "recall/terms.h"

/* A request's conversation as explain sees it (plane/convlook.h). */
struct mp_explain_conv {
    bool known;                        /* identified (its key could be made) */
    bool session;                      /* a session's: the head holds the summary alone */
    const char *rule;                  /* static: mp_convid_rule's name */
    const struct mp_inject_head *kept; /* its kept head (borrowed); NULL: none */
    uint64_t own_conv;                 /* its turns are there already (plane/convlook.h:
                                          mp_convlook_own_turns); 0: none */
};

/* Explains the request body[0..len) (borrowed) of api for the user with
 * store key user[0..user_len) in store, under cfg, with the calling
 * thread's tokenizer terms, at now_ms. The request's conversation is
 * found as the data plane finds it (mp_convlook_resolve, with the client's
 * id headers hd, NULL: none) and its head as the store keeps it, without
 * changing anything.
 * MP_OK with *out (new reference):
 *   {"user", "api", "question", "retrieval", "mode", "user_mode",
 *    "budget_tokens", "tokens", "injected": bool, "why" (when nothing is),
 *    "conversation": {"identified", "rule", "session", "kept_head", "reused"},
 *    "sections": {"head", "tail", "profile", "past", "summary", "buffer"}}
 * each section {"applies": bool, "why"?, "items": [{"id", "kind", "text",
 * "score" (null when not scored), "terms": [question terms it holds],
 * "taken": bool, "why", "part"? ("head" or "tail": where a taken item
 * goes), "cut"?, and with retrieval by meaning "lexical_rank",
 * "dense_rank" (1-based; 0: not in that list) and "similarity"}]}, the head's also "reused",
 * "tokens" and "block" (its text as sent, null when none is); MP_EINVAL with *perr when the body is
 * no request of api; MP_ENOMEM or the store's error (*perr internal). */
int mp_explain_run(const struct mp_config *cfg, struct mp_store *store, struct mp_terms *terms,
                   const char *user, size_t user_len, enum mp_admin_api api, const char *body,
                   size_t len, const struct mp_convid_headers *hd, int64_t now_ms, json_t **out,
                   enum mp_perr *perr);

/* mp_explain_run() over a view already open (NULL: nothing is stored for
 * the user), a request already scanned (req, by api's wire, over body)
 * and its conversation found (conv; NULL: none; all borrowed), with the
 * question's dense hits and their fusion (dense, fuse: NULL: by words
 * alone; core/recall/recall_fuse.h): for a chat request that asked for
 * its explanation (X-Memory-Explain). MP_OK with
 * *out, MP_ENOMEM, or a source's error. */
struct mp_chatreq;
struct mp_wire;
struct mp_recall_dense;
struct mp_recall_fuse_params;
int mp_explain_view(const struct mp_config *cfg, struct mp_store_view *view, struct mp_terms *terms,
                    const char *user, size_t user_len, enum mp_admin_api api, const char *body,
                    const struct mp_chatreq *req, const struct mp_explain_conv *conv,
                    const struct mp_recall_dense *dense, const struct mp_recall_fuse_params *fuse,
                    int64_t now_ms, json_t **out);

/* The api of a chat request's wire (core/wire/wire.h). */
enum mp_admin_api mp_explain_api_of(const struct mp_wire *w);

#endif
