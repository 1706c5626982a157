/* Bearer tokens (bearer.h). */
#include "net/bearer.h"

#include <pthread.h>
#include <string.h>
#include <strings.h>

#include "format/seal.h"
#include "format/sha256.h"
#include "status.h"

static unsigned char auth_key[MP_SEAL_KEY_LEN];
static bool auth_key_ok;
static pthread_once_t auth_once = PTHREAD_ONCE_INIT;

static void init_auth_key(void)
{
    auth_key_ok = mp_seal_random(auth_key, sizeof(auth_key)) == MP_OK;
}

/* Exactly one Authorization field, "Bearer" (any case), one or more spaces,
 * then the token. Comparing keyed digests rather than the strings makes the
 * comparison's time independent of where they differ and of the token's
 * length. */
bool mp_bearer_ok(const struct mp_http_request_head *head, const char *token)
{
    const struct mp_http_header *h = NULL;
    unsigned char want[32], got[32];
    for (size_t i = 0; i < head->num_headers; i++) {
        const struct mp_http_header *f = &head->headers[i];
        if (f->name_len != 13 || strncasecmp(f->name, "authorization", 13) != 0)
            continue;
        if (h != NULL)
            return false;
        h = f;
    }
    pthread_once(&auth_once, init_auth_key);
    if (!auth_key_ok || h == NULL || h->value_len < 8 || strncasecmp(h->value, "bearer ", 7) != 0)
        return false;
    const char *v = h->value + 7;
    size_t n = h->value_len - 7;
    while (n > 0 && *v == ' ') {
        v++;
        n--;
    }
    if (n == 0)
        return false;
    mp_hmac_sha256(auth_key, MP_SEAL_KEY_LEN, v, n, got);
    mp_hmac_sha256(auth_key, MP_SEAL_KEY_LEN, token, strlen(token), want);
    return mp_seal_equal(want, got, sizeof(want));
}
