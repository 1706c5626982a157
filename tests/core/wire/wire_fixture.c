/* The wire suites' shared helpers (see wire_fixture.h). */
#include "wire_fixture.h"

#include <check.h>
#include <string.h>

#include "status.h"

struct mp_chatreq_msg wf_msgs[WF_MSGS];

static const struct mp_wire *wire;
static const char *block_text;

void wf_use(const struct mp_wire *w, const char *block)
{
    wire = w;
    block_text = block;
}

int wf_scan(const char *body, struct mp_chatreq *req)
{
    return wire->scan(body, strlen(body), wf_msgs, WF_MSGS, req);
}

char *wf_spliced(const char *body, const struct mp_wire_pick *picks, size_t npicks)
{
    struct mp_chatreq req;
    struct mp_wire_memory mem = {block_text, strlen(block_text), picks, npicks};
    char *out = NULL;
    size_t n = 0;
    ck_assert_int_eq(wf_scan(body, &req), MP_OK);
    ck_assert_int_eq(wire->splice(body, strlen(body), &req, &mem, &out, &n), MP_OK);
    ck_assert_uint_eq(n, strlen(out));
    return out;
}

const char *wf_text_of(const char *body, const struct mp_chatreq_msg *m)
{
    static char buf[256];
    size_t n = 0;
    if (wire->message_text(body, m, buf, sizeof(buf) - 1, &n) != MP_OK)
        return NULL;
    buf[n] = '\0';
    return buf;
}

int wf_body_text(const char *body, char **out)
{
    size_t n = 0;
    int rc = wire->reply_body_text(body, strlen(body), out, &n);
    if (rc == MP_OK)
        ck_assert_uint_eq(n, strlen(*out));
    return rc;
}

struct mp_completion *wf_stream(const char *const *ev, size_t n, size_t cap)
{
    struct mp_completion *c = mp_completion_new_reader(cap, wire->reply_reader);
    ck_assert_ptr_nonnull(c);
    for (size_t i = 0; i < n; i++)
        mp_completion_feed_event(c, ev[i], strlen(ev[i]));
    return c;
}
