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

/* The largest request body the admin listener takes (an import's JSON
 * Lines): 32 MiB; above it, 413. */
#define MP_ADMIN_BODY_MAX (32u * 1024 * 1024)

/* Answers a request whose target starts with "/admin/" (head and body
 * borrowed from c, valid until the request ends). The connection's loop
 * must have a store and a memory worker (the admin loop has both). */
void mp_adminapi_handle(struct mp_conn *c, const struct mp_http_request_head *head,
                        const char *body, size_t len);

#endif
