/* libFuzzer target for core/wire/completion.c and the wires' reply readers: the
 * input is read as a whole reply body of the wire its first byte picks
 * (chat completions, Responses or Anthropic's Messages), then framed into SSE events and fed to
 * that wire's stream accumulator, whose cap comes from the first byte. Text never passes the
 * cap, is NUL-terminated, and stops changing once MP_ETOOBIG was returned. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wire/completion.h"
#include "http/sse.h"
#include "status.h"
#include "wire/wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond))                                                                               \
            abort();                                                                               \
    } while (0)

static void check_body(const struct mp_wire *w, const char *buf, size_t len)
{
    char *out = NULL;
    size_t out_len = 0;
    int rc = w->reply_body_text(buf, len, &out, &out_len);

    CHECK(rc == MP_OK || rc == MP_NOTFOUND || rc == MP_EUPSTREAM || rc == MP_EINVAL);
    if (rc != MP_OK) {
        CHECK(out == NULL);
        return;
    }
    /* Decoded text is shorter than the body, non-empty, without NULs. */
    CHECK(out_len > 0 && out_len < len);
    CHECK(strlen(out) == out_len);
    free(out);
}

static void check_stream(const struct mp_wire *w, const char *buf, size_t len, size_t cap)
{
    struct mp_completion *c = mp_completion_new_reader(cap, w->reply_reader);
    struct mp_sse s;
    size_t pos = 0;
    size_t ev;
    bool stopped = false;
    size_t stopped_len = 0;

    CHECK(c != NULL);
    mp_sse_init(&s);
    while (mp_sse_next_event(&s, buf + pos, len - pos, &ev) == MP_OK) {
        size_t tlen;
        int rc = mp_completion_feed_event(c, buf + pos, ev);
        const char *text = mp_completion_text(c, &tlen);
        CHECK(rc == MP_OK || rc == MP_EINVAL || rc == MP_ETOOBIG);
        CHECK(tlen <= cap && text[tlen] == '\0');
        CHECK(!stopped || rc == MP_ETOOBIG || rc == MP_EINVAL);
        CHECK(!stopped || tlen == stopped_len);
        if (rc == MP_ETOOBIG && !stopped) {
            stopped = true;
            stopped_len = tlen;
        }
        CHECK(mp_completion_overflowed(c) == stopped);
        (void)mp_completion_complete(c);
        pos += ev;
    }
    mp_completion_free(c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const char *buf = (const char *)(data + 1);
    size_t len = size - 1;

    static const struct mp_wire *const wires[] = {&mp_wire_chat, &mp_wire_responses,
                                                  &mp_wire_messages, &mp_wire_chat};
    const struct mp_wire *w = wires[data[0] >> 6];
    check_body(w, buf, len);
    check_stream(w, buf, len, data[0] % 64);
    return 0;
}
