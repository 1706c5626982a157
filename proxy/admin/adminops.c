/* GET /admin/status and POST /admin/reload: what the admin plane reads of
 * the process through struct mp_admin_host, never through the server. */
#include "admin/adminops.h"

#include <string.h>

#include "admin/admin.h"
#include "memview/memjson.h"
#include "clock.h"
#include "config/config.h"
#include "memory/memworker.h"
#include "metrics.h"
#include "mp_commit.h"
#include "mp_version.h"
#include "net/loop.h"
#include "status.h"
#include "ops/store.h"

/* A host's static reason ("draining\n") without its line feed; null when
 * there is none. */
static json_t *reason(const char *why)
{
    if (why == NULL)
        return json_null();
    size_t n = strlen(why);
    while (n > 0 && why[n - 1] == '\n')
        n--;
    return json_stringn(why, n);
}

static json_t *store_json(struct mp_store *store)
{
    struct mp_store_stats st;
    if (store == NULL || mp_store_stats(store, &st) != MP_OK)
        return json_null();
    return json_pack("{s:s, s:I, s:I, s:I, s:I, s:I}", "backend", mp_store_backend(store),
                     "used_bytes", (json_int_t)st.map_used, "map_bytes", (json_int_t)st.map_size,
                     "map_max_bytes", (json_int_t)st.map_size_max, "readers",
                     (json_int_t)st.readers_used, "readers_max", (json_int_t)st.readers_max);
}

/* The memory jobs held for a credential: how many, how long the oldest has
 * waited (null: none), and their bounds in force ([memory] held_jobs_*). */
static json_t *held_json(const struct mp_loop *loop)
{
    const struct mp_config *cfg = loop->cfg;
    int64_t since = 0, now = mp_clock_now_ms();
    unsigned n = loop->memworker != NULL ? mp_memworker_held_jobs(loop->memworker, &since) : 0;
    json_t *oldest =
        n > 0 && since > 0 ? json_integer((now > since ? now - since : 0) / 1000) : json_null();
    return json_pack("{s:I, s:o, s:I, s:I, s:I}", "count", (json_int_t)n, "oldest_seconds", oldest,
                     "max", (json_int_t)cfg->memory.held_jobs_max, "per_user_max",
                     (json_int_t)cfg->memory.held_jobs_per_user, "ttl_seconds",
                     (json_int_t)cfg->memory.held_jobs_ttl_seconds);
}

/* The embeddings backfill: whether it is on, the items waiting for a
 * vector (null: not counted yet, or off) and the vectors stored (any
 * model) with their bytes. */
static json_t *embeddings_json(const struct mp_loop *loop)
{
    uint64_t pending =
        loop->memworker != NULL ? mp_memworker_embed_pending(loop->memworker) : UINT64_MAX;
    uint64_t count = 0, bytes = 0;
    if (mp_store_vectors_size(loop->store, NULL, 0, &count, &bytes) != MP_OK)
        count = bytes = 0;
    return json_pack("{s:b, s:o, s:I, s:I}", "enabled",
                     loop->cfg->embeddings.base_url.text[0] != '\0', "pending",
                     pending == UINT64_MAX ? json_null() : json_integer((json_int_t)pending),
                     "vectors", (json_int_t)count, "vector_bytes", (json_int_t)bytes);
}

json_t *mp_adminops_status(const struct mp_loop *loop)
{
    const struct mp_admin_host *host = loop->app;
    const struct mp_config *cfg = loop->cfg;
    const char *not_ready = host->not_ready(host->owner);
    int64_t up_ms = mp_clock_monotonic_ms() - host->started_mono_ms;
    unsigned depth = loop->memworker != NULL ? mp_memworker_depth(loop->memworker) : 0;
    unsigned failed = loop->memworker != NULL ? mp_memworker_failed_jobs(loop->memworker) : 0;
    json_t *body;
    body = json_pack(
        "{s:s, s:s, s:s, s:s, s:I, s:o, s:b, s:o, s:o, s:I, s:{s:I, s:I, s:I}, s:o, "
        "s:{s:I, s:I, s:I}}",
        "version", MP_VERSION, "commit", MP_COMMIT, "mode", mp_config_mode_name(cfg->memory.mode),
        "retrieval", mp_config_retrieval_name(cfg->memory.retrieval), "uptime_seconds",
        (json_int_t)(up_ms > 0 ? up_ms / 1000 : 0), "started_at", mp_memjson_time(host->started_ms),
        "ready", not_ready == NULL, "not_ready", reason(not_ready), "degraded",
        reason(host->degraded(host->owner)), "workers", (json_int_t)host->workers, "queue", "depth",
        (json_int_t)depth, "max", (json_int_t)cfg->memory.queue_max, "failed_jobs",
        (json_int_t)failed, "store", store_json(loop->store), "connections", "open",
        (json_int_t)mp_metrics_open_connections(loop->metrics), "max",
        (json_int_t)cfg->server.max_connections, "open_files_limit",
        (json_int_t)host->open_files_limit);
    if (body != NULL && (json_object_set_new(body, "held_jobs", held_json(loop)) != 0 ||
                         json_object_set_new(body, "embeddings", embeddings_json(loop)) != 0)) {
        json_decref(body);
        return NULL;
    }
    return body;
}

int mp_adminops_reload(const struct mp_loop *loop)
{
    const struct mp_admin_host *host = loop->app;
    return host->reload(host->owner);
}
