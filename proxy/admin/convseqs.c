/* A conversation's messages by seq (convseqs.h): one pass over the archive
 * in pages, then the buffer, whose messages the archive usually holds
 * already (archive on) and only sometimes not (kept while it was off). */
#include "admin/convseqs.h"

#include <stdbool.h>
#include <stdlib.h>

#include "status.h"

#define PAGE 1000 /* archived messages read at once */

struct seqs {
    uint64_t *v;
    size_t n, cap;
};

static int push(struct seqs *s, uint64_t seq)
{
    if (s->n == s->cap) {
        size_t cap = s->cap > 0 ? 2 * s->cap : 64;
        uint64_t *v = realloc(s->v, cap * sizeof(*v));
        if (v == NULL)
            return MP_ENOMEM;
        s->v = v;
        s->cap = cap;
    }
    s->v[s->n++] = seq;
    return MP_OK;
}

/* Whether the ascending v[0..n) holds seq. */
static bool holds(const uint64_t *v, size_t n, uint64_t seq)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (v[mid] == seq)
            return true;
        if (v[mid] < seq)
            lo = mid + 1;
        else
            hi = mid;
    }
    return false;
}

static bool in_conv(const struct mp_mem_message *m, uint64_t conv)
{
    return (m->conv != 0 || m->conv_kind != 0) && m->conv == conv;
}

static int archived(struct mp_store *store, const char *user, size_t len, uint64_t conv,
                    struct seqs *s)
{
    uint64_t after = 0;
    bool more = true;
    int rc = MP_OK;
    while (rc == MP_OK && more) {
        struct mp_mem_message *page = NULL;
        size_t got = 0;
        rc = mp_store_archive(store, user, len, after, PAGE, &page, &got, &more);
        if (rc == MP_NOTFOUND)
            return MP_OK;
        for (size_t i = 0; rc == MP_OK && i < got; i++) {
            after = page[i].seq;
            if (in_conv(&page[i], conv))
                rc = push(s, page[i].seq);
        }
        mp_store_messages_free(page, got);
    }
    return rc;
}

int mp_convseqs_find(struct mp_store *store, const char *user, size_t user_len, uint64_t conv,
                     uint64_t **out, size_t *n)
{
    struct seqs s = {NULL, 0, 0};
    struct mp_usermem *head = NULL;
    int rc = archived(store, user, user_len, conv, &s);
    size_t nar = s.n;
    if (rc == MP_OK)
        rc = mp_store_get_head(store, user, user_len, &head);
    if (rc == MP_NOTFOUND)
        rc = MP_OK;
    for (size_t i = 0; rc == MP_OK && head != NULL && i < head->nmessages; i++) {
        const struct mp_mem_message *m = &head->messages[i];
        if (in_conv(m, conv) && !holds(s.v, nar, m->seq))
            rc = push(&s, m->seq);
    }
    mp_usermem_free(head);
    if (rc != MP_OK) {
        free(s.v);
        return rc;
    }
    *out = s.v;
    *n = s.n;
    return MP_OK;
}
