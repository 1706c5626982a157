/* The admin loop's failure table and its refusals (authfail.h). The
 * answer closes the connection: a guesser gets one try per connection,
 * and the connection caps ([admin] and [page] max_connections) bound how
 * many wait at once. */
#include "net/authfail.h"

#include <stdio.h>

#include "backoff.h"
#include "clock.h"
#include "log.h"
#include "metrics.h"
#include "wire/errbody.h"

static struct mp_backoff failures; /* the admin loop's; zero is empty */

static void log_refusal(const char *msg, const struct mp_conn *c, const char *request_id,
                        const struct mp_perr_info *info, uint32_t ms)
{
    struct mp_logline l;
    const struct mp_http_request_head *head = mp_conn_head(c);
    mp_logline_begin(&l, MP_LOG_INFO, msg);
    if (!l.enabled)
        return;
    mp_logline_str(&l, "request_id", request_id);
    if (head != NULL)
        mp_logline_strn(&l, "method", head->method, head->method_len);
    mp_logline_int(&l, "status", info->status);
    mp_logline_str(&l, "error", info->code);
    mp_logline_int(&l, "backoff_ms", ms);
    mp_logline_end(&l);
}

void mp_authfail_refuse(struct mp_conn *c, enum mp_perr e, const char *extra_headers,
                        const char *log_msg)
{
    struct mp_loop *loop = mp_conn_loop(c);
    const struct mp_perr_info *info = mp_respond_info(e);
    unsigned char peer[MP_BACKOFF_ADDR_LEN];
    char body[512], headers[512], id[MP_REQUEST_ID_LEN + 1];
    mp_conn_peer(c, peer);
    uint32_t ms =
        mp_backoff_fail(&failures, peer, mp_clock_now_ms(), loop->cfg->security.auth_backoff_ms);
    if (info->client_kind >= 0)
        mp_metrics_client_error(loop->shard, (enum mp_client_error_kind)info->client_kind);
    if (ms > 0) {
        mp_metrics_client_error(loop->shard, MP_CLERR_AUTH_BACKOFF);
        mp_conn_hold(c, ms);
    }
    mp_loop_request_id(loop, id);
    if (log_msg != NULL)
        log_refusal(log_msg, c, id, info, ms);
    snprintf(headers, sizeof(headers), "x-request-id: %s\r\nCache-Control: no-store\r\n%s", id,
             extra_headers != NULL ? extra_headers : "");
    size_t n = mp_errbody_format(body, sizeof(body), info->message, info->type, info->code);
    mp_conn_respond(c, info->status, info->reason, "application/json", headers, body, n,
                    MP_CONN_CLOSE);
}
