/* The memory page's files, compiled into the binary (proxy/page/embed.py
 * over proxy/page/www/ at build time): the only bytes the page rooms
 * serve besides the API's answers, and the security headers every one of
 * them carries. Nothing is read from disk at run time. */
#ifndef MP_PROXY_PAGE_ASSETS_H
#define MP_PROXY_PAGE_ASSETS_H

#include <stdbool.h>
#include <stddef.h>

#include "net/conn.h"

struct mp_page_asset {
    const char *name; /* the file's base name: "index.html", "page.js" */
    const char *type; /* its Content-Type */
    const char *data; /* its bytes (static) */
    size_t len;
};

extern const struct mp_page_asset mp_page_assets[];
extern const size_t mp_page_nassets;

/* What every response of the page rooms carries (static files and the
 * API's answers alike): a Content-Security-Policy that allows nothing
 * but this origin's own scripts, styles, images and fetches (no inline
 * script or style, no frame, no form target elsewhere), no framing, no
 * sniffing, no Referer, no caching. "Name: value\r\n" lines. */
#define MP_PAGE_SECURITY_HEADERS                                                                   \
    "Content-Security-Policy: default-src 'self'; script-src 'self'; style-src 'self'; "           \
    "img-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; "                     \
    "form-action 'self'; frame-ancestors 'none'\r\n"                                               \
    "X-Frame-Options: DENY\r\n"                                                                    \
    "X-Content-Type-Options: nosniff\r\n"                                                          \
    "Referrer-Policy: no-referrer\r\n"                                                             \
    "Cross-Origin-Opener-Policy: same-origin\r\n"                                                  \
    "Cross-Origin-Resource-Policy: same-origin\r\n"                                                \
    "Cache-Control: no-store\r\n"

/* The asset named name[0..len) (a base name, no '/'), or NULL. */
const struct mp_page_asset *mp_page_asset_find(const char *name, size_t len);

/* Answers a GET or HEAD for the asset the path names, below prefix
 * (path[0..len) borrowed, without the query): prefix itself is index,
 * prefix + name an asset whose name is not index_other (the other
 * page's entry file: the person's page does not serve the operator's
 * and the other way round). True when it answered (200 with the file, or
 * 405 for another method); false when the path names no asset (the
 * caller answers). */
bool mp_page_asset_serve(struct mp_conn *c, const struct mp_http_request_head *head,
                         const char *prefix, const char *index, const char *index_other);

#endif
