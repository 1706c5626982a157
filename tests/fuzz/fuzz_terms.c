/* libFuzzer target for core/recall/terms.c: any bytes give terms that are short,
 * valid UTF-8, with positions that only grow, in any language identified; read
 * as English, never English stop words. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#include "recall/lang.h"
#include "status.h"
#include "recall/terms.h"
#include "json/utf8.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond))                                                                               \
            abort();                                                                               \
    } while (0)

struct seen {
    int64_t last_pos;
    bool english; /* read as English: no term is an English stop word */
};

static int check_term(void *arg, const char *term, size_t len, uint32_t pos)
{
    struct seen *s = arg;
    CHECK(len > 0 && len <= MP_TERMS_MAX);
    CHECK((int64_t)pos > s->last_pos);
    s->last_pos = pos;
    CHECK(!s->english || !mp_terms_is_stop(term, len));
    for (size_t i = 0; i < len;) {
        size_t k = mp_utf8_decode((const unsigned char *)term + i, len - i, NULL);
        CHECK(k > 0);
        i += k;
    }
    return MP_OK;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct mp_terms *t;
    struct seen s = {-1, false};
    if (t == NULL && mp_terms_new(&t) != MP_OK)
        abort();
    CHECK(mp_terms_each(t, (const char *)data, size, check_term, &s) == MP_OK);
    s = (struct seen){-1, true};
    CHECK(mp_terms_each_lang(t, (const char *)data, size, MP_LANG_EN, check_term, &s) == MP_OK);
    return 0;
}
