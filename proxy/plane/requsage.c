/* Usage of a chat reply (see requsage.h). A stream is read event by event
 * (core/wire/tokenuse.c skips the text deltas with one memmem); a JSON body
 * comes in any number of pieces: it is read from the copy memory keeps
 * when it records the turn, else copied here. */
#include "plane/requsage.h"

#include <string.h>

#include "json/json_scan.h"
#include "metrics.h"
#include "status.h"
#include "wire/wire.h"

void mp_requsage_start(struct mp_requsage *q, const struct mp_wire *wire, int status, bool borrow)
{
    q->on = wire != NULL && status >= 200 && status < 300 &&
            mp_tokenuse_api_of(wire->name, &q->api) == MP_OK;
    q->borrows = borrow;
}

void mp_requsage_event(struct mp_requsage *q, const char *ev, size_t len)
{
    if (q->on)
        mp_tokenuse_read_event(&q->u, q->api, ev, len);
}

void mp_requsage_body(struct mp_requsage *q, struct mp_loop *loop, const char *data, size_t len)
{
    struct mp_buf *b = &q->body;
    if (!q->on || q->borrows || q->overflow)
        return;
    if (b->len + len > MP_REQUSAGE_BODY_MAX || mp_buf_reserve(loop, b, b->len + len) != MP_OK) {
        q->overflow = true;
        return;
    }
    memcpy(b->data + b->len, data, len);
    b->len += len;
}

void mp_requsage_count(struct mp_requsage *q, struct mp_loop *loop, const char *reply,
                       size_t reply_len, const char *req, size_t len)
{
    size_t vs, ve, n = 0;
    char model[MP_TOKENUSE_MODEL_MAX];
    if (!q->on)
        return;
    q->on = false;
    if (!q->borrows) {
        reply = q->overflow ? NULL : q->body.data;
        reply_len = q->body.len;
    }
    if (reply != NULL && reply_len > 0)
        mp_tokenuse_read_body(&q->u, q->api, reply, reply_len);
    if (q->u.model[0] == '\0' && mp_json_find_member(req, len, "model", 5, &vs, &ve) == MP_OK &&
        req[vs] == '"' && mp_json_string_decode(req, vs, ve, model, sizeof(model), &n) != MP_OK)
        n = 0;
    mp_metrics_tokens(loop->metrics, loop->shard, q->api, &q->u, model, n);
}

void mp_requsage_cleanup(struct mp_requsage *q, struct mp_loop *loop)
{
    mp_buf_release(loop, &q->body);
}
