/* The per-request record of the data plane: one log line and the request
 * metrics, written once per response. It never holds bodies, credentials or
 * raw user ids (only the keyed hash from mp_access_user_hash()). */
#ifndef MP_PROXY_ACCESS_H
#define MP_PROXY_ACCESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct mp_loop;

#define MP_USER_HASH_LEN 16

struct mp_access {
    const char *request_id;          /* borrowed; NULL = none */
    const char *upstream_request_id; /* borrowed; NULL = none */
    const char *method;              /* borrowed, method_len bytes */
    size_t method_len;
    const char *path; /* borrowed, path_len bytes, without the query */
    size_t path_len;
    int status;
    bool stream;
    double duration_s;
    double upstream_s; /* < 0: no upstream call */
    uint64_t bytes_in;
    uint64_t bytes_out;
    /* The request's user key (borrowed, user_len bytes; NULL: none): never
     * logged, only its keyed hash (mp_access_user_hash), made when the
     * line is written. */
    const char *user;
    size_t user_len;
    const char *error; /* short code of what went wrong, or NULL */
};

/* Logs a (level info, msg "request") and counts it in loop's metrics. */
void mp_access_record(struct mp_loop *loop, const struct mp_access *a);

/* Writes HMAC-SHA256(process key, user id) as MP_USER_HASH_LEN hex digits +
 * NUL into out. The key is random per process: hashes correlate requests in
 * one run and reveal nothing about the id. */
void mp_access_user_hash(const char *id, size_t len, char *out);

/* Seconds from a monotonic clock, for durations. */
double mp_access_now(void);

#endif
