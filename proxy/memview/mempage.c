/* Pages of facts and history (mempage.h). A fact page's cursor is its last
 * key, base64url (keys may hold any letter), so that a fact added or
 * erased between pages moves no other fact across a page boundary; a
 * history page's is its last entry's seq, which only grows. The store
 * reads keep only the page (storage/ops/store_pages.c). */
#include "memview/mempage.h"

#include <stdio.h>
#include <string.h>

#include "status.h"

static const char b64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

void mp_mempage_encode(const unsigned char *in, size_t len, char *out)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16;
        size_t k = len - i < 3 ? len - i : 3;
        if (k > 1)
            v |= (uint32_t)in[i + 1] << 8;
        if (k > 2)
            v |= in[i + 2];
        for (size_t j = 0; j <= k; j++)
            out[n++] = b64url[(v >> (18 - 6 * j)) & 63];
    }
    out[n] = '\0';
}

int mp_mempage_decode(const char *in, size_t len, unsigned char *out, size_t cap, size_t *out_len)
{
    size_t n = 0;
    if (len % 4 == 1 || len / 4 * 3 + (len % 4 > 0 ? len % 4 - 1 : 0) > cap)
        return MP_EINVAL;
    for (size_t i = 0; i < len; i += 4) {
        size_t k = len - i < 4 ? len - i : 4;
        uint32_t v = 0;
        for (size_t j = 0; j < 4; j++) {
            const char *p = j >= k ? b64url : in[i + j] != '\0' ? strchr(b64url, in[i + j]) : NULL;
            if (p == NULL)
                return MP_EINVAL;
            v = v << 6 | (uint32_t)(p - b64url);
        }
        if ((k == 2 && (v & 0xFFFF) != 0) || (k == 3 && (v & 0xFF) != 0))
            return MP_EINVAL;
        for (size_t j = 0; j + 1 < k; j++)
            out[n++] = (unsigned char)(v >> (16 - 8 * j));
    }
    *out_len = n;
    return MP_OK;
}

int mp_mempage_seq(const char *cursor, size_t cursor_len, uint64_t *after)
{
    uint64_t v = 0;
    if (cursor_len > 20 || (cursor_len > 0 && cursor[0] == '0'))
        return MP_EINVAL;
    for (size_t i = 0; i < cursor_len; i++) {
        unsigned d = (unsigned)(cursor[i] - '0');
        if (cursor[i] < '0' || cursor[i] > '9' || v > (UINT64_MAX - d) / 10)
            return MP_EINVAL;
        v = v * 10 + d;
    }
    *after = v;
    return MP_OK;
}

int mp_mempage_facts(struct mp_store *store, const char *user, size_t user_len, const char *cursor,
                     size_t cursor_len, unsigned limit, struct mp_factpage *out)
{
    char after[MP_ENTITY_KEY_MAX + 1];
    size_t after_len = 0;
    bool more = false;
    memset(out, 0, sizeof(*out));
    if (cursor_len > 0 && (mp_mempage_decode(cursor, cursor_len, (unsigned char *)after,
                                             MP_ENTITY_KEY_MAX, &after_len) != MP_OK ||
                           after_len == 0 || memchr(after, '\0', after_len) != NULL))
        return MP_EINVAL;
    after[after_len] = '\0';
    int rc = mp_store_facts_page(store, user, user_len, after,
                                 limit > 0 ? limit : MP_MEMPAGE_FACTS_DEFAULT, &out->facts, &out->n,
                                 &more);
    if (rc == MP_OK && more && out->n > 0) {
        const char *last = out->facts[out->n - 1].key;
        mp_mempage_encode((const unsigned char *)last, strlen(last), out->next);
    }
    return rc;
}

void mp_mempage_facts_cleanup(struct mp_factpage *p)
{
    mp_store_facts_free(p->facts, p->n);
    memset(p, 0, sizeof(*p));
}

int mp_mempage_history(struct mp_store *store, const char *user, size_t user_len,
                       const char *cursor, size_t cursor_len, unsigned limit,
                       struct mp_histpage *out)
{
    uint64_t after = 0;
    bool more = false;
    memset(out, 0, sizeof(*out));
    if (mp_mempage_seq(cursor, cursor_len, &after) != MP_OK || after == UINT64_MAX)
        return MP_EINVAL;
    int rc =
        mp_store_history_page(store, user, user_len, after, limit > 0 ? limit : 1, &out->h, &more);
    if (rc == MP_OK && more && out->h->nitems > 0)
        snprintf(out->next, sizeof(out->next), "%llu",
                 (unsigned long long)out->h->items[out->h->nitems - 1].seq);
    return rc;
}

void mp_mempage_history_cleanup(struct mp_histpage *p)
{
    mp_history_free(p->h);
    memset(p, 0, sizeof(*p));
}
