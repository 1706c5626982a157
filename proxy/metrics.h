/* The metrics registry: one shard of counters per event-loop thread, each
 * written only by its own thread (relaxed atomics, no lock on the request
 * path), summed when /metrics is scraped. Labels never carry user ids. */
#ifndef MP_PROXY_METRICS_H
#define MP_PROXY_METRICS_H

#include <stdbool.h>
#include <stddef.h>

enum mp_upstream_error_kind {
    MP_UPERR_CONNECT,
    MP_UPERR_TIMEOUT,
    MP_UPERR_RESET,
    MP_UPERR_TLS,
    MP_UPERR_DNS,
    MP_UPERR_OTHER,
    MP_UPERR_COUNT
};

enum mp_client_error_kind {
    MP_CLERR_BAD_REQUEST,
    MP_CLERR_INVALID_USER_ID,
    MP_CLERR_INVALID_MEMORY_HEADER,
    MP_CLERR_NOT_FOUND,
    MP_CLERR_CLIENT_TIMEOUT,
    MP_CLERR_BODY_TOO_LARGE,
    MP_CLERR_HEADERS_TOO_LARGE,
    MP_CLERR_OVERLOADED,
    MP_CLERR_COUNT
};

struct mp_metrics;
struct mp_metrics_shard;

/* Creates a registry with nshards shards. Caller frees with mp_metrics_free(). */
struct mp_metrics *mp_metrics_new(unsigned nshards);
void mp_metrics_free(struct mp_metrics *m);

/* Shard i (< nshards), owned by the registry; one thread writes it. */
struct mp_metrics_shard *mp_metrics_shard(struct mp_metrics *m, unsigned i);

void mp_metrics_request(struct mp_metrics_shard *s, int http_status, bool stream, double seconds);
void mp_metrics_upstream_error(struct mp_metrics_shard *s, enum mp_upstream_error_kind kind);
void mp_metrics_client_error(struct mp_metrics_shard *s, enum mp_client_error_kind kind);
void mp_metrics_client_disconnect(struct mp_metrics_shard *s);

/* Registry-wide values, any thread. */
void mp_metrics_reload(struct mp_metrics *m, bool ok);
/* Adds delta to the open data-plane connections; returns the new count. */
long mp_metrics_conn_add(struct mp_metrics *m, long delta);
long mp_metrics_open_connections(struct mp_metrics *m);

/* Renders the Prometheus text exposition (version 0.0.4). Returns a
 * malloc'd NUL-terminated string with *len set (caller frees), or NULL when
 * out of memory. */
char *mp_metrics_render(struct mp_metrics *m, size_t *len);

#endif
