/* libFuzzer target for core/http/sse.c: the stream is read in two parts split at
 * a position taken from the first byte; the event bytes returned must add up
 * to those of a one-shot scan, and each event must parse without harm. */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "http/sse.h"
#include "status.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Frames buf[0..len) as delivered in reads ending at 'split' and 'len';
 * returns the bytes in complete events. */
static size_t framed_bytes(const char *buf, size_t len, size_t split)
{
    static char out[1 << 16];
    struct mp_sse s;
    size_t start = 0;
    size_t avail[2] = {split, len};

    mp_sse_init(&s);
    for (int r = 0; r < 2; r++) {
        size_t ev;
        while (mp_sse_next_event(&s, buf + start, avail[r] - start, &ev) == MP_OK) {
            size_t out_len = 0;
            assert(ev > 0 && ev <= avail[r] - start);
            (void)mp_sse_is_done(buf + start, ev);
            if (mp_sse_event_data(buf + start, ev, out, sizeof(out), &out_len) == MP_OK)
                assert(out_len <= ev);
            start += ev;
        }
    }
    return start;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const char *buf = (const char *)(data + 1);
    size_t len = size - 1;
    size_t split = len > 0 ? data[0] % (len + 1) : 0;

    size_t once = framed_bytes(buf, len, len);
    size_t twice = framed_bytes(buf, len, split);
    assert(once == twice);
    return 0;
}
