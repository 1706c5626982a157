/* The admin API on the admin listener (docs/admin-api.md; routes, JSON and status
 * codes in docs/admin-api.md): users, their memory with full provenance,
 * export, change history, fact edits with If-Match, erasure, compaction and
 * retention on demand. Runs on the admin loop (the main thread): reads come
 * straight from the store, changes go through the memory worker and are
 * answered once committed. It does not serve /livez, /readyz or /metrics
 * (proxy/admin/admin.c does, and routes every /admin/ target here).
 *
 * Access: with [admin] token empty every /admin/ target is 404, as if the
 * API did not exist. Otherwise the request needs Authorization: Bearer
 * <token> (scheme in any case), checked before the route so that an
 * unauthenticated client learns nothing of the routes: 401 with
 * WWW-Authenticate: Bearer. The token is compared as HMAC-SHA256 digests
 * under a per-process random key, in constant time; it is never logged.
 * Every answered request logs one "admin request" line (route template,
 * status, request id; a keyed hash for a user, never the id). */
#ifndef MP_PROXY_ADMINAPI_H
#define MP_PROXY_ADMINAPI_H

#include <stddef.h>

#include "net/conn.h"
#include "ops/store.h"

/* The largest request body the admin listener takes (an import's JSON
 * Lines): 32 MiB; above it, 413. */
#define MP_ADMIN_BODY_MAX (32u * 1024 * 1024)

/* Answers a request whose target starts with "/admin/" (head and body
 * borrowed from c, valid until the request ends). The connection's loop
 * must have a store and a memory worker (the admin loop has both). */
void mp_adminapi_handle(struct mp_conn *c, const struct mp_http_request_head *head,
                        const char *body, size_t len);

/* Answers a request for one user's memory that the caller has already
 * authorized (the memory page: proxy/page/pageapi.h): target[0..target_len)
 * (borrowed) is the admin API target the caller built for it, which must
 * name a user route (/admin/users/{id}/...; any other answers 404 as an
 * unknown route does). actor is who acts: MP_ACTOR_USER, the person (a
 * value they set is a correction, trust corrected, as PUT
 * /v1/memory/entities/{key} makes it; their changes are the user's in
 * the history), or MP_ACTOR_ADMIN (an operator's page: as the admin API).
 * headers (borrowed, static; NULL: none) are "Name: value\r\n" lines every
 * answer carries instead of Cache-Control: no-store (which they must hold,
 * with the page's security headers).
 * Everything else (answers, errors, metrics) is the admin API's; its log
 * line says "page request". The token is not checked: the caller did. */
void mp_adminapi_serve(struct mp_conn *c, const struct mp_http_request_head *head,
                       const char *target, size_t target_len, const char *body, size_t len,
                       enum mp_actor actor, const char *headers);

/* The connection's output drained while req (the request the admin API
 * attached to c) was under way: a streamed export page (GET .../export)
 * writes its next steps; any other request ignores it. The admin and page
 * listeners' on_drain call it. */
void mp_adminapi_drain(struct mp_conn *c, void *req);

#endif
