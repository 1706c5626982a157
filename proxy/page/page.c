/* The page listener's handler (page.h) and the operator's page on the
 * admin listener: files, then the API, then 404. */
#include "page/page.h"

#include <string.h>

#include "admin/adminapi.h"
#include "net/respond.h"
#include "page/assets.h"
#include "page/pageapi.h"

static bool is_api(const struct mp_http_request_head *head)
{
    size_t n = strlen(MP_PAGEAPI_PREFIX);
    return head->target_len >= n && memcmp(head->target, MP_PAGEAPI_PREFIX, n) == 0;
}

/* The link is checked before any of the body is read (an upload of 32
 * MiB costs nothing to one who holds no link). */
static void on_head(struct mp_conn *c, const struct mp_http_request_head *head)
{
    if (is_api(head))
        mp_pageapi_check_head(c, head);
}

static void on_request(struct mp_conn *c, const struct mp_http_request_head *head, const char *body,
                       size_t body_len)
{
    if (is_api(head)) {
        mp_pageapi_handle(c, head, body, body_len);
        return;
    }
    if (!mp_page_asset_serve(c, head, "/", "index.html", "admin.html"))
        mp_respond_error(c, MP_PERR_NOT_FOUND, NULL, MP_CONN_KEEP);
}

/* A streamed export page goes on (admin/adminapi.h). */
static void on_drain(struct mp_conn *c, void *req)
{
    mp_adminapi_drain(c, req);
}

static const struct mp_conn_handler page_handler = {
    .on_head = on_head,
    .on_request = on_request,
    .on_drain = on_drain,
};

static void page_limits(const struct mp_loop *loop, struct mp_conn_limits *out)
{
    out->max_header_bytes = 16384;
    out->max_body_bytes = loop->cfg->page.max_body_bytes; /* an upload: an import's file */
    out->client_timeout_ms = 30000;
    out->idle_timeout_ms = 10000;
    out->send_timeout_ms = 10000;
}

const struct mp_conn_kind mp_page_kind = {
    .handler = &page_handler,
    .limits = page_limits,
    .refuse = mp_respond_refusal,
    .data_plane = false,
};

bool mp_page_admin_serve(struct mp_conn *c, const struct mp_http_request_head *head)
{
    if (mp_conn_loop(c)->cfg->admin.token[0] == '\0')
        return false; /* no admin API: no operator's page either */
    return mp_page_asset_serve(c, head, MP_PAGE_ADMIN_PREFIX, "admin.html", "index.html");
}
