/* A user record decoded for the views (view_user.h): the decode of
 * mp_codec_get_user_packed (its texts in one block) and a copy of the
 * stored value it came from, in one allocation with the prefix. */
#include "view/view_user.h"

#include <stdlib.h>
#include <string.h>

#include "ops/store_backend.h"
#include "recall/userlang.h"
#include "status.h"

struct mp_view_user {
    unsigned refs;
    struct mp_codec_user meta;
    struct mp_usermem *head;
    char *texts;    /* head's texts (mp_codec_get_user_packed) */
    int lang;       /* mp_codec_user_lang of meta */
    uint64_t langs; /* mp_userlang_held_counts of meta's tally */
    size_t plen, n;
    unsigned char prefix[MP_STORE_USER_PREFIX_MAX];
    unsigned char stored[]; /* n bytes */
};

int mp_view_user_decode(const unsigned char *prefix, size_t plen, const unsigned char *stored,
                        size_t n, const unsigned char *plain, size_t pn, struct mp_view_user **out)
{
    if (plen > MP_STORE_USER_PREFIX_MAX)
        return MP_EINVAL;
    struct mp_view_user *u = malloc(sizeof(*u) + n);
    if (u == NULL)
        return MP_ENOMEM;
    int rc = mp_codec_get_user_packed(plain, pn, &u->meta, &u->head, &u->texts);
    if (rc != MP_OK) {
        free(u);
        return rc;
    }
    u->refs = 1;
    u->lang = mp_codec_user_lang(&u->meta);
    u->langs = mp_userlang_held_counts(u->meta.langs);
    u->plen = plen;
    u->n = n;
    memcpy(u->prefix, prefix, plen);
    if (n > 0)
        memcpy(u->stored, stored, n);
    *out = u;
    return MP_OK;
}

const unsigned char *mp_view_user_prefix(const struct mp_view_user *u, size_t *plen)
{
    *plen = u->plen;
    return u->prefix;
}

bool mp_view_user_same(const struct mp_view_user *u, const unsigned char *stored, size_t n)
{
    return u->n == n && memcmp(u->stored, stored, n) == 0;
}

size_t mp_view_user_bytes(const struct mp_view_user *u)
{
    /* texts: at most the record's bytes (mp_codec_get_user_packed) */
    return sizeof(*u) + 2 * u->n + sizeof(*u->head) +
           (u->head->nmessages + 1) * sizeof(*u->head->messages);
}

const struct mp_codec_user *mp_view_user_meta(const struct mp_view_user *u)
{
    return &u->meta;
}

const struct mp_usermem *mp_view_user_head(const struct mp_view_user *u)
{
    return u->head;
}

int mp_view_user_lang(const struct mp_view_user *u, uint64_t *langs)
{
    *langs = u->langs;
    return u->lang;
}

struct mp_view_user *mp_view_user_ref(struct mp_view_user *u)
{
    u->refs++;
    return u;
}

void mp_view_user_release(struct mp_view_user *u)
{
    if (u == NULL || --u->refs > 0)
        return;
    mp_codec_free_packed(u->head, u->texts);
    free(u);
}
