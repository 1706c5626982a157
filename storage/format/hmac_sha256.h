/* HMAC-SHA256 without OpenSSL's EVP layer (see hmac_sha256.c for why). */
#ifndef MP_STORAGE_HMAC_SHA256_H
#define MP_STORAGE_HMAC_SHA256_H

#include <stddef.h>

#define MP_HMAC_SHA256_LEN 32

/* HMAC-SHA256 of data[0..len) under key[0..key_len), into out. Both inputs
 * are borrowed; either may be NULL when its length is 0. Cannot fail: no
 * allocation, no provider. Key material on the stack is wiped. */
void mp_hmac_sha256(const void *key, size_t key_len, const void *data, size_t len,
                    unsigned char out[MP_HMAC_SHA256_LEN]);

#endif
