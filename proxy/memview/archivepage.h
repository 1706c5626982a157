/* One page of a user's episodic archive as JSON, for GET /v1/memory, the
 * admin memory and the export (docs/admin-api.md, "The archive"): messages
 * oldest first, at most limit, after the page the cursor names. The
 * cursor is opaque to clients (today the decimal seq of the last message
 * of the previous page); a cursor this code did not write is refused. */
#ifndef MP_PROXY_ARCHIVEPAGE_H
#define MP_PROXY_ARCHIVEPAGE_H

#include <jansson.h>
#include <stddef.h>

#include "memview/memjson.h"
#include "ops/store.h"

#define MP_ARCHIVE_CURSOR_MAX 24 /* bytes of a cursor with its NUL */
/* A page also ends once its messages hold this much text (long messages:
 * 1000 of 16 KiB would be 16 MB); its cursor goes on after the last. */
#define MP_ARCHIVE_PAGE_BYTES (4u * 1024 * 1024)

/* The page after cursor[0..cursor_len) (0: the first), at most limit
 * messages and MP_ARCHIVE_PAGE_BYTES of their text (the message that
 * reaches it is the page's last; read 100 at a time): MP_OK with *items
 * (a new JSON array, caller owns) and next (the next page's cursor, "" on
 * the last page); MP_NOTFOUND (nothing stored: *items an empty array);
 * MP_EINVAL (a bad cursor); MP_EIO; MP_ENOMEM. */
int mp_archive_page(struct mp_store *store, const char *user, size_t user_len, const char *cursor,
                    size_t cursor_len, unsigned limit, enum mp_memjson_detail d, json_t **items,
                    char next[MP_ARCHIVE_CURSOR_MAX]);

#endif
