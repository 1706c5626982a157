/* Per-user memory values: allocation, release and the entity key rule.
 * Persistence lives in storage/, policy in core/recall/recall.c; this file does
 * neither, and it folds case only for ASCII (no Unicode tables in core/). */
#include "memory/usermem.h"

#include <stdlib.h>
#include <string.h>

#include "json/ascii.h"
#include "status.h"
#include "json/utf8.h"

struct mp_usermem *mp_usermem_new(void)
{
    return calloc(1, sizeof(struct mp_usermem));
}

void mp_usermem_free(struct mp_usermem *um)
{
    if (um == NULL)
        return;
    for (size_t i = 0; i < um->nmessages; i++)
        free(um->messages[i].content);
    for (size_t i = 0; i < um->nentities; i++)
        free(um->entities[i].value);
    free(um->messages);
    free(um->entities);
    free(um->summary.text);
    free(um);
}

static int ascii_alnum(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* Non-ASCII code points that are spacing or punctuation, not letters: the
 * ones a model or a user plausibly puts inside a key ("Vector\u00A0DB",
 * "vector\u2014db", an ideographic space). Everything else above U+007F is
 * kept as a letter: without Unicode tables that is the safe side, since a
 * kept symbol only makes two keys differ, never merges them. */
static int unicode_separator(uint32_t c)
{
    return c == 0xA0 || (c >= 0x2000 && c <= 0x206F) || c == 0x3000 || c == 0xFEFF;
}

int mp_usermem_normalize_key(const char *key, size_t len, char *out)
{
    const unsigned char *s = (const unsigned char *)key;
    char buf[MP_ENTITY_KEY_MAX + 1];
    size_t o = 0;
    int sep = 0; /* a separator run is pending: emitted only before a kept character */
    size_t i = 0;

    while (i < len) {
        uint32_t c;
        size_t n = mp_utf8_decode(s + i, len - i, &c);
        if (n == 0)
            return MP_EINVAL;
        if ((n == 1 && !ascii_alnum(s[i])) || (n > 1 && unicode_separator(c))) {
            sep = 1;
            i += n;
            continue;
        }
        if (o + (sep && o > 0) + n > MP_ENTITY_KEY_MAX)
            return MP_EINVAL;
        if (sep && o > 0)
            buf[o++] = '_';
        sep = 0;
        if (n == 1 && s[i] >= 'A' && s[i] <= 'Z')
            buf[o] = (char)(s[i] - 'A' + 'a');
        else
            memcpy(buf + o, s + i, n);
        o += n;
        i += n;
    }
    if (o == 0)
        return MP_EINVAL;
    buf[o] = '\0';
    memcpy(out, buf, o + 1);
    return MP_OK;
}

enum mp_trust mp_usermem_trust_of_role(enum mp_role role)
{
    return role == MP_ROLE_ASSISTANT ? MP_TRUST_INFERRED : MP_TRUST_STATED;
}

bool mp_usermem_trust_given(enum mp_trust t)
{
    return t == MP_TRUST_AGENT || t == MP_TRUST_CORRECTED || t == MP_TRUST_ADMIN;
}

const char *mp_usermem_fact_turn(const struct mp_mem_entity *e)
{
    return e->model[0] != '\0' ? e->request_id : "";
}

void mp_usermem_set_correction(struct mp_mem_entity *e, char *value, size_t len,
                               enum mp_trust trust, const char *request_id, int64_t now_ms,
                               bool pii)
{
    size_t id_len = strnlen(request_id, MP_REQUEST_ID_MAX);
    e->value = value;
    e->value_len = len;
    e->confidence = 1.0;
    e->observed_at_ms = now_ms;
    e->recorded_at_ms = now_ms;
    e->trust = trust;
    e->source_role = MP_ROLE_USER;
    e->pii = pii;
    memcpy(e->request_id, request_id, id_len);
    e->request_id[id_len] = '\0';
    e->model[0] = '\0';
}

const char *mp_usermem_clean_value(const char *s, size_t len, size_t *out_len)
{
    const unsigned char *u = (const unsigned char *)s;
    while (len > 0 && mp_ascii_is_space(*u)) {
        u++;
        len--;
    }
    while (len > 0 && mp_ascii_is_space(u[len - 1]))
        len--;
    if (len == 0 || len > MP_ENTITY_VALUE_MAX)
        return NULL;
    for (size_t i = 0; i < len;) {
        uint32_t cp = 0;
        size_t k = mp_utf8_decode(u + i, len - i, &cp);
        if (k == 0 || cp < 0x20 || (cp >= 0x7F && cp <= 0x9F))
            return NULL;
        i += k;
    }
    *out_len = len;
    return (const char *)u;
}

bool mp_usermem_time_ok(int64_t at_ms, int64_t now_ms)
{
    return at_ms >= 0 && at_ms <= now_ms + MP_USERMEM_FUTURE_SKEW_MS;
}
