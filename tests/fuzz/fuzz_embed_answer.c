/* libFuzzer target for core/embed/embed_answer.c (an embeddings server's
 * answer is network input) and the request builder beside it. The first
 * byte gives the texts (1 to 4), the second the dimensions (1 to 8), the
 * rest is the answer body, capped at a few KiB. Whatever the bytes: a
 * verdict with a name; on MP_EMBED_OK every vector finite and of unit
 * length, and the model a NUL-terminated name without control bytes. The
 * body, as the text of a request, always builds valid JSON. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "embed/embed_answer.h"
#include "embed/embed_request.h"
#include "json/json_scan.h"
#include "status.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond))                                                                               \
            abort();                                                                               \
    } while (0)

#define CAP 4096

static void check_answer(const char *body, size_t len, size_t n, unsigned dims)
{
    float vecs[4 * 8];
    struct mp_embed_answer ans;
    enum mp_embed_verdict v = mp_embed_answer_parse(body, len, CAP, n, dims, vecs, &ans);

    CHECK(strcmp(mp_embed_answer_verdict_name(v), "unknown") != 0);
    CHECK(len <= CAP || v == MP_EMBED_TOO_BIG);
    if (v != MP_EMBED_OK)
        return;
    for (size_t i = 0; i < n; i++) {
        double sum = 0.0;
        for (unsigned d = 0; d < dims; d++) {
            CHECK(isfinite(vecs[i * dims + d]));
            sum += (double)vecs[i * dims + d] * vecs[i * dims + d];
        }
        CHECK(fabs(sum - 1.0) < 1e-4);
    }
    CHECK(ans.model_len <= MP_EMBED_MODEL_MAX && ans.model[ans.model_len] == '\0');
    CHECK(strlen(ans.model) == ans.model_len);
    for (size_t i = 0; i < ans.model_len; i++)
        CHECK((unsigned char)ans.model[i] >= 0x20 && ans.model[i] != 0x7F);
    CHECK(ans.has_tokens || ans.prompt_tokens == 0);
}

static void check_request(const char *text, size_t len, unsigned dims)
{
    const struct mp_embed_server srv = {
        .model = "m", .dimensions = dims, .query_prefix = "query: ", .type_field = "input_type"};
    const char *texts[2] = {text, text};
    size_t lens[2] = {len, len};
    char *body = NULL;
    size_t blen = 0, s, e;

    if (mp_embed_request_build(&srv, MP_EMBED_QUERY, texts, lens, 2, &body, &blen) != MP_OK)
        return;
    CHECK(strlen(body) == blen);
    CHECK(mp_json_find_member(body, blen, "input", 5, &s, &e) == MP_OK);
    free(body);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    size_t n = 1 + data[0] % 4;
    unsigned dims = 1 + data[1] % 8;
    const char *body = (const char *)data + 2;
    size_t len = size - 2;

    check_answer(body, len, n, dims);
    if (len <= CAP)
        check_request(body, len, dims);
    return 0;
}
