/* The page's API (pageapi.h): the link checked, the admin target built,
 * the admin API's handler called. What a request may name is the link's
 * user and nothing else: the user goes into the target from the link, and
 * any tenant in the query is refused before the link's is appended. */
#include "page/pageapi.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin/adminapi.h"
#include "adminpath.h"
#include "clock.h"
#include "log.h"
#include "metrics.h"
#include "memory/userkey.h"
#include "net/authfail.h"
#include "net/respond.h"
#include "ops/store.h"
#include "pagelink.h"
#include "page/assets.h"
#include "format/sha256.h"
#include "status.h"

/* An error of the page's own (the admin API counts its own): counted, as
 * the data plane counts its errors, and answered. */
static void send_error(struct mp_conn *c, enum mp_perr e)
{
    const struct mp_perr_info *info = mp_respond_info(e);
    if (info->client_kind >= 0)
        mp_metrics_client_error(mp_conn_loop(c)->shard,
                                (enum mp_client_error_kind)info->client_kind);
    mp_respond_error(c, e, NULL, MP_CONN_KEEP);
}

/* The refusal of a link, logged (never the link) and answered
 * (net/authfail.h: counted, late for a peer that failed too often). */
static void refuse(struct mp_conn *c, enum mp_perr e, const char *verdict)
{
    struct mp_logline l;
    mp_logline_begin(&l, MP_LOG_INFO, "page request refused");
    if (l.enabled) {
        mp_logline_int(&l, "status", 403);
        mp_logline_str(&l, "error", mp_respond_info(e)->code);
        mp_logline_str(&l, "link", verdict);
        mp_logline_end(&l);
    }
    mp_authfail_refuse(c, e, NULL, NULL);
}

/* Whether the user's links issued before link's were revoked (store.h:
 * mp_store_links_void): MP_OK and *revoked, or the store's error. */
static int revoked(struct mp_store *store, const struct mp_pagelink *link, bool *out)
{
    unsigned char tenant[MP_USERKEY_TENANT_LEN];
    char key[MP_USERKEY_MAX];
    int64_t before = 0;
    bool has = link->tenant[0] != '\0' &&
               mp_userkey_tenant_parse(link->tenant, strlen(link->tenant), tenant) == MP_OK;
    size_t n = mp_userkey_make(has ? tenant : NULL, link->user, link->user_len, key);
    int rc = mp_store_links_void(store, key, n, &before);
    if (rc == MP_OK)
        *out = link->issued_ms < before;
    return rc;
}

/* The link of head checked: true with *link when it is good; otherwise
 * the request is answered (403, or 500 when the store cannot say). */
static bool link_ok(struct mp_conn *c, const struct mp_http_request_head *head,
                    struct mp_pagelink *link)
{
    struct mp_loop *loop = mp_conn_loop(c);
    const char *key = loop->cfg->page.link_key;
    const char *tok = NULL;
    size_t tlen = 0;
    bool is_void = false;
    enum mp_pagelink_verdict v = MP_PAGELINK_MALFORMED;
    if (mp_http_find_single(head, MP_PAGEAPI_LINK_HEADER, strlen(MP_PAGEAPI_LINK_HEADER), &tok,
                            &tlen) == MP_OK)
        v = mp_pagelink_verify(tok, tlen, key, strlen(key), mp_hmac_sha256,
                               mp_clock_now_ms() / 1000, link);
    if (v != MP_PAGELINK_OK) {
        refuse(c, v == MP_PAGELINK_EXPIRED ? MP_PERR_EXPIRED_PAGE_LINK : MP_PERR_INVALID_PAGE_LINK,
               mp_pagelink_verdict_name(v));
        return false;
    }
    if (revoked(loop->store, link, &is_void) != MP_OK) {
        mp_respond_error(c, MP_PERR_INTERNAL, NULL, MP_CONN_CLOSE);
        return false;
    }
    if (is_void) {
        refuse(c, MP_PERR_REVOKED_PAGE_LINK, "revoked");
        return false;
    }
    return true;
}

void mp_pageapi_check_head(struct mp_conn *c, const struct mp_http_request_head *head)
{
    struct mp_pagelink link;
    link_ok(c, head, &link);
}

/* Percent-encodes s[0..n) for a path segment: every byte but letters,
 * digits, '-' and '_' (so no '.', '/' or '%' of the id is structure). */
static size_t pct_encode(const char *s, size_t n, char *out)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        bool plain = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                     (ch >= '0' && ch <= '9') || ch == '-' || ch == '_';
        if (plain) {
            out[o++] = (char)ch;
        } else {
            out[o++] = '%';
            out[o++] = hex[ch >> 4];
            out[o++] = hex[ch & 15];
        }
    }
    return o;
}

/* /admin/users/{user}/{rest}[?query][&tenant=T] into a new string (caller
 * frees) and *n: MP_OK; MP_EINVAL when the query is bad or names a tenant
 * (only the link names one); MP_ENOMEM. */
static int build_target(const struct mp_http_request_head *head, const struct mp_pagelink *link,
                        char **out, size_t *n)
{
    const char *rest = head->target + strlen(MP_PAGEAPI_PREFIX);
    size_t rlen = head->target_len - strlen(MP_PAGEAPI_PREFIX);
    const char *q = memchr(rest, '?', rlen);
    struct mp_admin_target scratch;
    const char *param = NULL;
    memset(&scratch, 0, sizeof(scratch));
    if (q != NULL && (mp_adminpath_parse_query(q + 1, rlen - (size_t)(q + 1 - rest), &scratch,
                                               &param) != MP_OK ||
                      scratch.has_tenant))
        return MP_EINVAL;
    size_t cap = 13 + 3 * link->user_len + 1 + rlen + 8 + MP_PAGELINK_TENANT_LEN + 1;
    char *t = malloc(cap);
    if (t == NULL)
        return MP_ENOMEM;
    size_t k = 0;
    memcpy(t, "/admin/users/", 13);
    k = 13 + pct_encode(link->user, link->user_len, t + 13);
    t[k++] = '/';
    memcpy(t + k, rest, rlen);
    k += rlen;
    if (link->tenant[0] != '\0')
        k += (size_t)snprintf(t + k, cap - k, "%stenant=%s", q != NULL ? "&" : "?", link->tenant);
    *out = t;
    *n = k;
    return MP_OK;
}

void mp_pageapi_handle(struct mp_conn *c, const struct mp_http_request_head *head, const char *body,
                       size_t len)
{
    struct mp_pagelink link;
    if (!link_ok(c, head, &link))
        return;
    char *target = NULL;
    size_t n = 0;
    int rc = build_target(head, &link, &target, &n);
    if (rc != MP_OK) {
        send_error(c, rc == MP_EINVAL ? MP_PERR_INVALID_PARAM : MP_PERR_INTERNAL);
        return;
    }
    mp_adminapi_serve(c, head, target, n, body, len, MP_ACTOR_USER, MP_PAGE_SECURITY_HEADERS);
    free(target);
}
