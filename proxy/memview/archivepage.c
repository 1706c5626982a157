/* A page of the archive, read with mp_store_archive() and written with
 * mp_memjson_message() (archivepage.h). */
#include "memview/archivepage.h"

#include <stdio.h>

#include "memview/mempage.h"
#include "status.h"

int mp_archive_page(struct mp_store *store, const char *user, size_t user_len, const char *cursor,
                    size_t cursor_len, unsigned limit, enum mp_memjson_detail d, json_t **items,
                    char next[MP_ARCHIVE_CURSOR_MAX])
{
    struct mp_mem_message *m = NULL;
    size_t n = 0;
    bool more = false;
    uint64_t after = 0;
    next[0] = '\0';
    *items = NULL;
    if (mp_mempage_seq(cursor, cursor_len, &after) != MP_OK)
        return MP_EINVAL;
    json_t *a = json_array();
    if (a == NULL)
        return MP_ENOMEM;
    int rc = mp_store_archive(store, user, user_len, after, limit > 0 ? limit : 1, &m, &n, &more);
    for (size_t i = 0; rc == MP_OK && i < n; i++)
        if (json_array_append_new(a, mp_memjson_message(&m[i], d)) != 0)
            rc = MP_ENOMEM;
    if (rc == MP_OK && more && n > 0)
        snprintf(next, MP_ARCHIVE_CURSOR_MAX, "%llu", (unsigned long long)m[n - 1].seq);
    mp_store_messages_free(m, n);
    if (rc != MP_OK && rc != MP_NOTFOUND) {
        json_decref(a);
        return rc;
    }
    *items = a;
    return rc;
}
