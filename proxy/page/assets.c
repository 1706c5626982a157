/* Serving the page's compiled-in files (assets.h). The table is a few
 * entries long: a linear lookup by name is all it needs. */
#include "page/assets.h"

#include <string.h>

#include "net/respond.h"

const struct mp_page_asset *mp_page_asset_find(const char *name, size_t len)
{
    for (size_t i = 0; i < mp_page_nassets; i++) {
        const struct mp_page_asset *a = &mp_page_assets[i];
        if (strlen(a->name) == len && memcmp(a->name, name, len) == 0)
            return a;
    }
    return NULL;
}

static bool method_is(const struct mp_http_request_head *h, const char *m)
{
    return h->method_len == strlen(m) && memcmp(h->method, m, h->method_len) == 0;
}

bool mp_page_asset_serve(struct mp_conn *c, const struct mp_http_request_head *head,
                         const char *prefix, const char *index, const char *index_other)
{
    size_t plen = strlen(prefix), len = head->target_len;
    const char *q = memchr(head->target, '?', len);
    if (q != NULL)
        len = (size_t)(q - head->target);
    if (len < plen || memcmp(head->target, prefix, plen) != 0)
        return false;
    const char *name = head->target + plen;
    size_t n = len - plen;
    if (n == 0) {
        name = index;
        n = strlen(index);
    } else if (memchr(name, '/', n) != NULL ||
               (n == strlen(index_other) && memcmp(name, index_other, n) == 0)) {
        return false;
    }
    const struct mp_page_asset *a = mp_page_asset_find(name, n);
    if (a == NULL)
        return false;
    if (!method_is(head, "GET") && !method_is(head, "HEAD")) {
        const struct mp_respond_with w = {.headers = "Allow: GET, HEAD\r\n"};
        mp_respond_error_with(c, MP_PERR_METHOD_NOT_ALLOWED, &w, MP_CONN_KEEP);
        return true;
    }
    mp_conn_respond(c, 200, "OK", a->type, MP_PAGE_SECURITY_HEADERS, a->data, a->len, MP_CONN_KEEP);
    return true;
}
