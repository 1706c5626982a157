/* The upstream's token usage of one chat request's reply, for the metrics
 * (memproxy_upstream_*_tokens_total): read from the stream's events as they
 * are relayed, or from a copy of a JSON body, whether or not memory reads
 * or records anything, and counted when the reply ended whole. Owned by
 * the request (struct mp_request embeds one, zeroed); runs on its thread. */
#ifndef MP_PROXY_REQUSAGE_H
#define MP_PROXY_REQUSAGE_H

#include <stdbool.h>
#include <stddef.h>

#include "net/loop.h"
#include "wire/tokenuse.h"

struct mp_wire;

#define MP_REQUSAGE_BODY_MAX (1 << 20) /* a longer JSON reply counts as without usage */

struct mp_requsage {
    bool on;      /* a 2xx reply of a chat API */
    bool borrows; /* a JSON reply's bytes are memory's (mp_reqmem_keeps_body): not copied */
    bool overflow;
    enum mp_tokenuse_api api;
    struct mp_tokenuse u;
    struct mp_buf body; /* a JSON reply's bytes so far */
};

/* The upstream's head is in: usage is read when status is 2xx and wire
 * (borrowed; NULL: not a chat request) is a chat API's. With borrow, a
 * JSON reply's bytes are not copied here: mp_requsage_count() is given
 * them (the copy memory keeps to record the turn). */
void mp_requsage_start(struct mp_requsage *q, const struct mp_wire *wire, int status, bool borrow);

/* One whole SSE event ev[0..len) as relayed (borrowed for the call). */
void mp_requsage_event(struct mp_requsage *q, const char *ev, size_t len);

/* Bytes of a JSON reply, in order: copied up to MP_REQUSAGE_BODY_MAX. */
void mp_requsage_body(struct mp_requsage *q, struct mp_loop *loop, const char *data, size_t len);

/* The reply ended whole: counts its usage on the loop's shard. reply is
 * the JSON reply's bytes when they were borrowed (NULL: not kept whole),
 * ignored otherwise. The model label is the reply's, else the "model" of
 * the request body req[0..len) (borrowed). Counting twice counts once. */
void mp_requsage_count(struct mp_requsage *q, struct mp_loop *loop, const char *reply,
                       size_t reply_len, const char *req, size_t len);

/* Releases the copy. */
void mp_requsage_cleanup(struct mp_requsage *q, struct mp_loop *loop);

#endif
