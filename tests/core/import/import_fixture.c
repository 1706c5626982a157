/* The import suites' fixture files and look-ups (import_fixture.h). */
#include "import_fixture.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *fx_read(const char *name, size_t *len)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/%s", MP_IMPORT_DATA, name);
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "cannot open %s", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    ck_assert_ptr_nonnull(buf);
    ck_assert_uint_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    buf[n] = '\0';
    *len = (size_t)n;
    return buf;
}

const struct mp_import_item *fx_item(const struct mp_import_batch *b, const char *text)
{
    for (size_t i = 0; i < b->n; i++)
        if (b->items[i].text != NULL && strcmp(b->items[i].text, text) == 0)
            return &b->items[i];
    return NULL;
}
