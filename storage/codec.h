/* The store's record encodings, the same for every backend (the layout is
 * described at the top of store_backend.h): plain bytes in, plain bytes
 * out, no backend and no crypto.
 * Encoders write into a caller's buffer sized by a counting call (p NULL);
 * decoders check every length, enum and order and refuse leftovers, so a
 * corrupt record is MP_EIO, never a crash or an over-allocation. */
#ifndef MP_STORAGE_CODEC_H
#define MP_STORAGE_CODEC_H

#include <stddef.h>
#include <stdint.h>

#include "store.h"

#define MP_CODEC_USER_VERSION 2u

/* What a user record holds besides the memory itself. */
struct mp_codec_user {
    char user[MP_USER_KEY_MAX]; /* the user key, as the caller gave it */
    size_t user_len;
    int64_t updated_at_ms; /* the last change */
    uint64_t next_hist;    /* the seq the user's next history entry gets */
};

/* Encoders: write the record to p (NULL: only count) and return its size. */
size_t mp_codec_put_user(unsigned char *p, const struct mp_codec_user *meta,
                         const struct mp_usermem *um);
size_t mp_codec_put_history(unsigned char *p, const struct mp_history_item *h);
size_t mp_codec_put_job(unsigned char *p, const struct mp_job *j);

/* Decoders over p[0..n) (borrowed). MP_OK; MP_EIO for a malformed record
 * (outputs then hold nothing to free); MP_ENOMEM. */
int mp_codec_get_user(const unsigned char *p, size_t n, struct mp_codec_user *meta,
                      struct mp_usermem **um); /* *um: caller frees; um NULL: meta only */
int mp_codec_get_history(const unsigned char *p, size_t n, struct mp_history_item *h);
int mp_codec_get_job(const unsigned char *p, size_t n, struct mp_job *j); /* id untouched */

/* Fixed-width integers: big-endian in keys (memcmp order is numeric
 * order), little-endian in values. */
void mp_codec_be_put(unsigned char *p, uint64_t v, size_t width);
uint64_t mp_codec_be_get(const unsigned char *p, size_t width);
void mp_codec_le_put(unsigned char *p, uint64_t v, size_t width);
uint64_t mp_codec_le_get(const unsigned char *p, size_t width);

#endif
