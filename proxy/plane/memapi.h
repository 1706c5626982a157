/* The user's own memory on the data plane (docs/http-api.md): GET and DELETE
 * /v1/memory, PUT and DELETE /v1/memory/entities/{key}. Reads come straight
 * from the store on the request's thread; changes go through the memory
 * worker and are answered when committed. The user id follows the chat
 * rules (header, else the body's "user"); none gives 400. */
#ifndef MP_PROXY_MEMAPI_H
#define MP_PROXY_MEMAPI_H

#include <stddef.h>

#include "net/conn.h"

/* Answers a request under /v1/memory (head and body borrowed from c). */
void mp_memapi_handle(struct mp_conn *c, const struct mp_http_request_head *head, const char *body,
                      size_t len);

/* Records the answer of a memproxy route (status, the request id and its
 * path template, borrowed) in the access log and the metrics; t0 is when
 * the request began (mp_access_now()). user (borrowed, user_len bytes; 0:
 * none yet) is the request's user key: the line holds its hash. */
void mp_memapi_record(struct mp_conn *c, const char *id, const char *path, const char *user,
                      size_t user_len, int status, double t0);

/* The client went away while call waited for the memory worker. */
void mp_memapi_abort(struct mp_conn *c, void *call);

#endif
