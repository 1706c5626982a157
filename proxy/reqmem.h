/* The memory side of one chat completion request: what it reads before the
 * upstream call (the user's memory spliced into the body) and what it
 * records after (the turn, handed to the memory worker). Owned by the
 * request (struct mp_request embeds one); runs on the request's thread.
 * A memory failure never fails the chat: it is reported in X-Memory-Error
 * and counted, and the request goes on without memory. */
#ifndef MP_PROXY_REQMEM_H
#define MP_PROXY_REQMEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "loop.h"
#include "user_id.h"

struct mp_completion;

struct mp_reqmem {
    enum mp_memory_mode mode; /* applied; MP_MEMORY_OFF when none */
    bool reads, writes;       /* per mode, X-Memory and the user id */
    char user[MP_USER_ID_MAX];
    size_t user_len;
    const char *error; /* static X-Memory-Error code, or NULL */
    uint32_t injected_tokens;
    char *body; /* the body with memory injected (owned), or NULL: send the client's */
    size_t body_len;
    struct mp_completion *completion; /* a stream's reply, as relayed */
    struct mp_buf capture;            /* a non-stream reply's bytes, as relayed */
    bool capture_failed;
};

struct mp_http_request_head;

/* The request's user id per CONTRACT §3: the [memory] user_header, else
 * (user_from_body) the body's "user" string; validated. Writes it to out
 * (MP_USER_ID_MAX bytes). Returns MP_OK with *out_len; MP_NOTFOUND when the
 * request names no user; MP_EINVAL when the id it names is invalid. */
int mp_reqmem_user_id(const struct mp_config *cfg, const struct mp_http_request_head *head,
                      const char *body, size_t len, char *out, size_t *out_len);

/* Sets what applies (m zeroed by the caller): mode and X-Memory control
 * (0 auto, 1 read, 2 write, 3 off: enum mp_memory_control) and the user id
 * (borrowed; NULL when none). */
void mp_reqmem_init(struct mp_reqmem *m, enum mp_memory_mode mode, int control, const char *user,
                    size_t user_len);

/* Checks the body is a chat request memory can work with (else
 * X-Memory-Error: invalid_json, and neither read nor record), then reads the
 * user's memory and builds the injected body (on success m->body). body is
 * the client's request body (borrowed). */
void mp_reqmem_inject(struct mp_reqmem *m, struct mp_loop *loop, const char *body, size_t len);

/* Appends the X-Memory-* response header lines ("Name: value\r\n") to out
 * (cap bytes, NUL-terminated). Returns the length written. */
size_t mp_reqmem_headers(const struct mp_reqmem *m, char *out, size_t cap);

/* The upstream answered status with this content type: prepare the capture. */
void mp_reqmem_start_reply(struct mp_reqmem *m, int status, bool sse);
/* Relayed reply bytes (non-stream) or one whole SSE event (stream). */
void mp_reqmem_on_reply(struct mp_reqmem *m, struct mp_loop *loop, const char *data, size_t len,
                        bool sse_event);

/* The response completed: hands the turn to the memory worker if the reply
 * is complete and recording applies. body is the client's request body and
 * auth its Authorization value (both borrowed; auth may be NULL). */
void mp_reqmem_record(struct mp_reqmem *m, struct mp_loop *loop, const char *request_id,
                      const char *body, size_t len, const char *auth, size_t auth_len);

/* Releases what m owns. */
void mp_reqmem_cleanup(struct mp_reqmem *m, struct mp_loop *loop);

#endif
