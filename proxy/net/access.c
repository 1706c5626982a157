/* Request log lines and request metrics. */
#include "net/access.h"

#include <pthread.h>
#include <sys/random.h>
#include <time.h>

#include "log.h"
#include "net/loop.h"
#include "metrics.h"
#include "format/sha256.h"

static unsigned char hash_key[32];
static pthread_once_t hash_key_once = PTHREAD_ONCE_INIT;

static void init_hash_key(void)
{
    if (getrandom(hash_key, sizeof(hash_key), 0) != sizeof(hash_key)) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        for (size_t i = 0; i < sizeof(hash_key); i++)
            hash_key[i] = (unsigned char)(ts.tv_nsec >> (i % 8));
    }
}

void mp_access_user_hash(const char *id, size_t len, char *out)
{
    static const char hex[] = "0123456789abcdef";
    unsigned char mac[MP_SHA256_LEN];
    pthread_once(&hash_key_once, init_hash_key);
    mp_hmac_sha256(hash_key, sizeof(hash_key), id, len, mac);
    for (int i = 0; i < MP_USER_HASH_LEN / 2; i++) {
        out[2 * i] = hex[mac[i] >> 4];
        out[2 * i + 1] = hex[mac[i] & 15];
    }
    out[MP_USER_HASH_LEN] = '\0';
}

double mp_access_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void mp_access_record(struct mp_loop *loop, const struct mp_access *a)
{
    struct mp_logline l;
    mp_metrics_request(loop->shard, a->status, a->stream, a->duration_s);
    mp_logline_begin(&l, MP_LOG_INFO, "request");
    if (!l.enabled)
        return;
    mp_logline_str(&l, "request_id", a->request_id != NULL ? a->request_id : "");
    if (a->upstream_request_id != NULL)
        mp_logline_str(&l, "upstream_request_id", a->upstream_request_id);
    mp_logline_strn(&l, "method", a->method != NULL ? a->method : "", a->method_len);
    mp_logline_strn(&l, "path", a->path != NULL ? a->path : "", a->path_len);
    mp_logline_int(&l, "status", a->status);
    mp_logline_double(&l, "duration_ms", a->duration_s * 1000.0);
    mp_logline_double(&l, "upstream_ms", a->upstream_s < 0 ? 0 : a->upstream_s * 1000.0);
    mp_logline_bool(&l, "stream", a->stream);
    mp_logline_int(&l, "bytes_in", (int64_t)a->bytes_in);
    mp_logline_int(&l, "bytes_out", (int64_t)a->bytes_out);
    char user_hash[MP_USER_HASH_LEN + 1] = "";
    if (a->user != NULL)
        mp_access_user_hash(a->user, a->user_len, user_hash);
    mp_logline_str(&l, "user", user_hash);
    if (a->error != NULL)
        mp_logline_str(&l, "error", a->error);
    mp_logline_end(&l);
}
