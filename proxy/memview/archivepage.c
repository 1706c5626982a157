/* A page of the archive, read with mp_store_archive() and written with
 * mp_memjson_message() (archivepage.h). */
#include "memview/archivepage.h"

#include <stdio.h>

#include "memview/mempage.h"
#include "status.h"

#define STEP 100 /* messages read at a time */

/* Appends m[0..n) to a while the page has room: *left messages and
 * *bytes of text under MP_ARCHIVE_PAGE_BYTES; *last: the seq of the last
 * one taken, *taken how many. */
static int take(json_t *a, const struct mp_mem_message *m, size_t n, enum mp_memjson_detail d,
                unsigned *left, size_t *bytes, uint64_t *last, size_t *taken)
{
    *taken = 0;
    for (size_t i = 0; i<n && * left> 0 && *bytes < MP_ARCHIVE_PAGE_BYTES; i++) {
        if (json_array_append_new(a, mp_memjson_message(&m[i], d)) != 0)
            return MP_ENOMEM;
        *bytes += m[i].content_len;
        *last = m[i].seq;
        (*left)--;
        (*taken)++;
    }
    return MP_OK;
}

int mp_archive_page(struct mp_store *store, const char *user, size_t user_len, const char *cursor,
                    size_t cursor_len, unsigned limit, enum mp_memjson_detail d, json_t **items,
                    char next[MP_ARCHIVE_CURSOR_MAX])
{
    uint64_t after = 0;
    unsigned left = limit > 0 ? limit : 1;
    size_t bytes = 0;
    bool more = true, first = true;
    next[0] = '\0';
    *items = NULL;
    if (mp_mempage_seq(cursor, cursor_len, &after) != MP_OK)
        return MP_EINVAL;
    json_t *a = json_array();
    if (a == NULL)
        return MP_ENOMEM;
    int rc = MP_OK;
    while (rc == MP_OK && more && left > 0 && bytes < MP_ARCHIVE_PAGE_BYTES) {
        struct mp_mem_message *m = NULL;
        size_t n = 0, taken = 0;
        rc = mp_store_archive(store, user, user_len, after, left < STEP ? left : STEP, &m, &n,
                              &more);
        if (rc == MP_NOTFOUND && !first) {
            rc = MP_OK; /* erased meanwhile: the page ends */
            more = false;
        }
        if (rc == MP_OK)
            rc = take(a, m, n, d, &left, &bytes, &after, &taken);
        more = more || taken < n;
        if (n == 0)
            more = false;
        mp_store_messages_free(m, n);
        first = false;
    }
    if (rc == MP_OK && more && after > 0)
        snprintf(next, MP_ARCHIVE_CURSOR_MAX, "%llu", (unsigned long long)after);
    if (rc != MP_OK && rc != MP_NOTFOUND) {
        json_decref(a);
        return rc;
    }
    *items = a;
    return rc;
}
