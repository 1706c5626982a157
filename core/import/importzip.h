/* The ZIP of a data export (ChatGPT's, Claude's): finds one member by its
 * name and inflates it, from bytes in memory, with libzip (Debian
 * libzip-dev). Decompression, not I/O: no file is opened, so core/ may
 * link it (as it links ICU). It judges nothing of what the member holds. */
#ifndef MP_CORE_IMPORT_IMPORTZIP_H
#define MP_CORE_IMPORT_IMPORTZIP_H

#include <stdbool.h>
#include <stddef.h>

/* Whether buf[0..len) starts as a ZIP archive does ("PK\3\4", or the
 * end record alone of an empty one, "PK\5\6"). */
bool mp_importzip_is_zip(const char *buf, size_t len);

/* The member of the archive buf[0..len) (borrowed) whose name is name, or
 * ends in "/" name (the first such in the archive's order; letter case
 * ignored), inflated: MP_OK with *out (malloc'd, NUL-terminated at
 * *out_len; the caller frees); MP_NOTFOUND when there is no such member;
 * MP_ETOOBIG when it inflates to more than max bytes (it is never held
 * whole then: a ZIP bomb costs max bytes); MP_EINVAL when buf is no
 * archive libzip reads, or the member is damaged or encrypted; MP_ENOMEM. */
int mp_importzip_member(const char *buf, size_t len, const char *name, size_t max, char **out,
                        size_t *out_len);

#endif
