/* The memory page's API on the page listener (docs/memory-page.md): a
 * person's own memory, named by their signed link, through the admin
 * API's handlers (admin/adminapi.h: mp_adminapi_serve), never code of its
 * own. /api/{rest} is /admin/users/{the link's user}/{rest} with the
 * link's tenant: the same routes, methods, answers and errors, acting as
 * the user.
 *
 * The link (core/pagelink.h) comes in the X-Memory-Link header on every
 * request (the page's script reads it from the URL's fragment, which no
 * browser sends anywhere), is verified under [page] link_key, against the
 * user's revocation in the store (a link issued before the user's
 * "links void before" time, store.h: mp_store_links_void), and names the
 * only user the request can reach: the path holds no user, and a tenant
 * parameter is refused. A missing, altered, expired or revoked link is
 * 403 with nothing of any user, at the request's head, before any of its
 * body is read (mp_pageapi_check_head); it is logged without the link,
 * counted in memproxy_client_errors_total{kind="page_link"} and answered
 * late to a peer that failed too often (net/authfail.h). */
#ifndef MP_PROXY_PAGEAPI_H
#define MP_PROXY_PAGEAPI_H

#include <stddef.h>

#include "net/conn.h"

#define MP_PAGEAPI_PREFIX      "/api/"
#define MP_PAGEAPI_LINK_HEADER "x-memory-link"

/* At the head of a request whose target starts with MP_PAGEAPI_PREFIX:
 * refuses it (403, the connection closed, its body never read) unless its
 * link is good; does nothing otherwise. */
void mp_pageapi_check_head(struct mp_conn *c, const struct mp_http_request_head *head);

/* Answers a request whose target starts with MP_PAGEAPI_PREFIX (head and
 * body borrowed from c). Runs on the admin loop, as the admin API does. */
void mp_pageapi_handle(struct mp_conn *c, const struct mp_http_request_head *head, const char *body,
                       size_t len);

#endif
