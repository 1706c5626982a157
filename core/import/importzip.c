/* A ZIP member inflated from memory (importzip.h). libzip reads the
 * archive through a buffer source that does not copy nor free the bytes;
 * the member is read in pieces up to the bound, whatever size its
 * directory entry claims. */
#include "import/importzip.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zip.h>

#include "status.h"

#define PIECE 65536

bool mp_importzip_is_zip(const char *buf, size_t len)
{
    return len >= 4 && buf[0] == 'P' && buf[1] == 'K' &&
           ((buf[2] == 3 && buf[3] == 4) || (buf[2] == 5 && buf[3] == 6));
}

/* Whether the entry's name is name or ends in "/" name. */
static bool names(const char *entry, const char *name)
{
    size_t n = strlen(entry), k = strlen(name);
    return n >= k && strcasecmp(entry + n - k, name) == 0 && (n == k || entry[n - k - 1] == '/');
}

/* The index of the member named name: MP_OK, or MP_NOTFOUND. */
static int find(zip_t *za, const char *name, zip_uint64_t *index)
{
    zip_int64_t n = zip_get_num_entries(za, 0);
    for (zip_int64_t i = 0; i < n; i++) {
        const char *entry = zip_get_name(za, (zip_uint64_t)i, ZIP_FL_ENC_GUESS);
        if (entry != NULL && names(entry, name)) {
            *index = (zip_uint64_t)i;
            return MP_OK;
        }
    }
    return MP_NOTFOUND;
}

/* Reads the open member zf whole, at most max bytes: the buffer grows by
 * doubling up to max + 1 bytes and no read goes past that, so a member
 * that inflates further costs max + 1 bytes, never more. */
static int read_all(zip_file_t *zf, size_t max, char **out, size_t *out_len)
{
    size_t cap = PIECE < max + 1 ? PIECE : max + 1, n = 0;
    char *buf = malloc(cap + 1);
    for (;;) {
        if (buf == NULL)
            return MP_ENOMEM;
        if (n == cap && cap > max) {
            free(buf);
            return MP_ETOOBIG;
        }
        if (n == cap) {
            size_t grow = cap * 2 < max + 1 ? cap * 2 : max + 1;
            char *more = realloc(buf, grow + 1);
            if (more == NULL)
                free(buf);
            buf = more;
            cap = grow;
            continue;
        }
        zip_int64_t got = zip_fread(zf, buf + n, cap - n);
        if (got < 0) {
            free(buf);
            return MP_EINVAL;
        }
        if (got == 0)
            break;
        n += (size_t)got;
    }
    buf[n] = '\0';
    *out = buf;
    *out_len = n;
    return MP_OK;
}

int mp_importzip_member(const char *buf, size_t len, const char *name, size_t max, char **out,
                        size_t *out_len)
{
    zip_error_t err;
    zip_error_init(&err);
    zip_source_t *src = zip_source_buffer_create(buf, len, 0, &err);
    zip_t *za = src != NULL ? zip_open_from_source(src, ZIP_RDONLY, &err) : NULL;
    int rc = za != NULL ? MP_OK : MP_EINVAL;
    if (za == NULL && zip_error_code_zip(&err) == ZIP_ER_MEMORY)
        rc = MP_ENOMEM;
    if (za == NULL)
        zip_source_free(src); /* the archive did not take it */
    zip_error_fini(&err);
    zip_uint64_t index = 0;
    if (rc == MP_OK)
        rc = find(za, name, &index);
    zip_file_t *zf = rc == MP_OK ? zip_fopen_index(za, index, 0) : NULL;
    if (rc == MP_OK && zf == NULL)
        rc = MP_EINVAL;
    if (rc == MP_OK)
        rc = read_all(zf, max, out, out_len);
    if (zf != NULL)
        zip_fclose(zf);
    if (za != NULL)
        zip_discard(za);
    return rc;
}
