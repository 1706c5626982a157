/* The page listener ([page] listen, docs/memory-page.md): where people
 * reach their memory page through the link their app gives them. It
 * serves the page's compiled-in files (page/assets.h) and its API
 * (page/pageapi.h), and nothing else: no chat route, no admin route, no
 * metrics. Its connections run on the admin loop (the main thread), as
 * the admin plane's do: a page is a person's occasional request, never a
 * worker's time taken from chat traffic, and the admin API's handlers it
 * calls were written for that loop. */
#ifndef MP_PROXY_PAGE_H
#define MP_PROXY_PAGE_H

#include "net/conn.h"

/* The person's page: "/" is index.html, "/{file}" the other files but
 * admin.html, "/api/..." the API. */
extern const struct mp_conn_kind mp_page_kind;

/* On the admin listener: the operator's page under MP_PAGE_ADMIN_PREFIX
 * ("/page/" is admin.html, "/page/{file}" the other files but
 * index.html). True when it answered; false when target is not the
 * page's (the admin plane answers). */
#define MP_PAGE_ADMIN_PREFIX "/page/"
bool mp_page_admin_serve(struct mp_conn *c, const struct mp_http_request_head *head);

#endif
