/* SHA-256 and HMAC-SHA256 without OpenSSL's EVP layer (see sha256.c for
 * why): the digests the request path and the store take of ids, keys and
 * bodies. */
#ifndef MP_STORAGE_SHA256_H
#define MP_STORAGE_SHA256_H

#include <stddef.h>

#define MP_SHA256_LEN 32

/* One piece of a digest's input: n bytes at p (p may be NULL when n is 0). */
struct mp_sha256_part {
    const void *p;
    size_t n;
};

/* SHA-256 of parts[0..nparts) one after the other, into out. Borrowed
 * inputs; cannot fail (no allocation). */
void mp_sha256(const struct mp_sha256_part *parts, size_t nparts, unsigned char out[MP_SHA256_LEN]);

/* HMAC-SHA256 of data[0..len) under key[0..key_len), into out. Both inputs
 * are borrowed; either may be NULL when its length is 0. Cannot fail: no
 * allocation, no provider. Key material on the stack is wiped. */
void mp_hmac_sha256(const void *key, size_t key_len, const void *data, size_t len,
                    unsigned char out[MP_SHA256_LEN]);

#endif
