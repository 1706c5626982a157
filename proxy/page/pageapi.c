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
#include "net/respond.h"
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

/* The refusal of a link, logged (never the link) and answered. */
static void refuse(struct mp_conn *c, enum mp_pagelink_verdict v)
{
    struct mp_logline l;
    enum mp_perr e =
        v == MP_PAGELINK_EXPIRED ? MP_PERR_EXPIRED_PAGE_LINK : MP_PERR_INVALID_PAGE_LINK;
    mp_logline_begin(&l, MP_LOG_INFO, "page request refused");
    if (l.enabled) {
        mp_logline_int(&l, "status", 403);
        mp_logline_str(&l, "error", mp_respond_info(e)->code);
        mp_logline_str(&l, "link", mp_pagelink_verdict_name(v));
        mp_logline_end(&l);
    }
    send_error(c, e);
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
    const struct mp_config *cfg = mp_conn_loop(c)->cfg;
    const char *key = cfg->security.user_signature_key;
    const char *tok = NULL;
    size_t tlen = 0;
    struct mp_pagelink link;
    enum mp_pagelink_verdict v = MP_PAGELINK_MALFORMED;
    if (mp_http_find_single(head, MP_PAGEAPI_LINK_HEADER, strlen(MP_PAGEAPI_LINK_HEADER), &tok,
                            &tlen) == MP_OK)
        v = mp_pagelink_verify(tok, tlen, key, strlen(key), mp_hmac_sha256,
                               mp_clock_now_ms() / 1000, &link);
    if (v != MP_PAGELINK_OK) {
        refuse(c, v);
        return;
    }
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
