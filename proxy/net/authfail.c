/* The admin loop's failure table and its refusals (authfail.h). The
 * answer closes the connection: a guesser gets one try per connection,
 * and the connection caps ([admin] and [page] max_connections) bound how
 * many wait at once. */
#include "net/authfail.h"

#include "backoff.h"
#include "clock.h"
#include "metrics.h"
#include "wire/errbody.h"

static struct mp_backoff failures; /* the admin loop's; zero is empty */

void mp_authfail_refuse(struct mp_conn *c, enum mp_perr e, const char *extra_headers)
{
    struct mp_loop *loop = mp_conn_loop(c);
    const struct mp_perr_info *info = mp_respond_info(e);
    unsigned char peer[MP_BACKOFF_ADDR_LEN];
    char body[512];
    mp_conn_peer(c, peer);
    uint32_t ms =
        mp_backoff_fail(&failures, peer, mp_clock_now_ms(), loop->cfg->security.auth_backoff_ms);
    if (info->client_kind >= 0)
        mp_metrics_client_error(loop->shard, (enum mp_client_error_kind)info->client_kind);
    if (ms > 0) {
        mp_metrics_client_error(loop->shard, MP_CLERR_AUTH_BACKOFF);
        mp_conn_hold(c, ms);
    }
    size_t n = mp_errbody_format(body, sizeof(body), info->message, info->type, info->code);
    mp_conn_respond(c, info->status, info->reason, "application/json", extra_headers, body, n,
                    MP_CONN_CLOSE);
}
