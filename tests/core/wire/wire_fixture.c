/* The wire suites' shared helpers (see wire_fixture.h). */
#include "wire_fixture.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include "status.h"

struct mp_chatreq_msg wf_msgs[WF_MSGS];

static const struct mp_wire *wire;
static const char *block_text;
static const char *tail_text = "";
static bool replay_with_tail;

void wf_use(const struct mp_wire *w, const char *block)
{
    wire = w;
    block_text = block;
    tail_text = "";
    replay_with_tail = false;
}

void wf_use_tail(const char *tail)
{
    tail_text = tail;
}

void wf_use_replay_with_tail(bool with)
{
    replay_with_tail = with;
}

int wf_scan(const char *body, struct mp_chatreq *req)
{
    return wire->scan(body, strlen(body), wf_msgs, WF_MSGS, req);
}

void wf_splice(const char *body, const struct mp_wire_pick *picks, size_t npicks,
               struct mp_splice *out)
{
    struct mp_chatreq req;
    struct mp_wire_memory mem = {block_text, strlen(block_text), picks,           npicks,
                                 tail_text,  strlen(tail_text),  replay_with_tail};
    ck_assert_int_eq(wf_scan(body, &req), MP_OK);
    ck_assert_int_eq(wire->splice(body, strlen(body), &req, &mem, out), MP_OK);
}

char *wf_joined(const struct mp_splice *s, const char *body)
{
    struct iovec iov[MP_SPLICE_PIECES_MAX];
    size_t n = mp_splice_iov(s, body, iov, MP_SPLICE_PIECES_MAX), len = 0;
    char *out = malloc(s->total_len + 1);
    ck_assert_uint_le(n, MP_SPLICE_PIECES_MAX);
    ck_assert_ptr_nonnull(out);
    for (size_t i = 0; i < n; i++) {
        memcpy(out + len, iov[i].iov_base, iov[i].iov_len);
        len += iov[i].iov_len;
    }
    ck_assert_uint_eq(len, s->total_len);
    out[len] = '\0';
    return out;
}

char *wf_spliced(const char *body, const struct mp_wire_pick *picks, size_t npicks)
{
    struct mp_splice s;
    char *out = NULL, *joined;
    size_t n = 0;
    wf_splice(body, picks, npicks, &s);
    ck_assert_int_eq(mp_splice_flatten(&s, body, &out, &n), MP_OK);
    ck_assert_uint_eq(n, strlen(out));
    joined = wf_joined(&s, body);
    ck_assert_str_eq(out, joined);
    free(joined);
    mp_splice_cleanup(&s);
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
