/* libFuzzer target for core/wire/tokenuse.c: the input is read as a whole
 * reply body of the chat API its first byte picks, then framed into SSE
 * events and fed to the same API's event reader. The model stays a
 * NUL-terminated string within its buffer, Anthropic's whole prompt is the
 * sum of its parts, and nothing is read past the input. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http/sse.h"
#include "status.h"
#include "wire/tokenuse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond))                                                                               \
            abort();                                                                               \
    } while (0)

static void check_use(const struct mp_tokenuse *u, enum mp_tokenuse_api api)
{
    CHECK(memchr(u->model, '\0', sizeof(u->model)) != NULL);
    if (api == MP_TOKENUSE_MESSAGES && u->seen)
        CHECK(u->input == u->a_input + u->cached + u->creation);
    if (!u->seen)
        CHECK(u->input == 0 && u->cached == 0 && u->creation == 0 && u->output == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    enum mp_tokenuse_api api = (enum mp_tokenuse_api)(data[0] % MP_TOKENUSE_API_COUNT);
    const char *buf = (const char *)(data + 1);
    size_t len = size - 1;
    struct mp_tokenuse u;

    memset(&u, 0, sizeof(u));
    mp_tokenuse_read_body(&u, api, buf, len);
    check_use(&u, api);

    struct mp_sse s;
    size_t pos = 0, ev = 0;
    memset(&u, 0, sizeof(u));
    mp_sse_init(&s);
    while (mp_sse_next_event(&s, buf + pos, len - pos, &ev) == MP_OK) {
        mp_tokenuse_read_event(&u, api, buf + pos, ev);
        check_use(&u, api);
        pos += ev;
    }
    return 0;
}
