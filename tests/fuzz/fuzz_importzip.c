/* libFuzzer target for core/import/importzip.c (an uploaded ZIP is
 * network input): libzip over bytes in memory finds the member or says
 * why not, and never hands back more than the bound. */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "import/importzip.h"
#include "status.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX 65536

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *out = NULL;
    size_t n = 0;
    int rc = mp_importzip_member((const char *)data, size, "conversations.json", MAX, &out, &n);
    assert(rc == MP_OK || rc == MP_NOTFOUND || rc == MP_ETOOBIG || rc == MP_EINVAL ||
           rc == MP_ENOMEM);
    assert(rc == MP_OK ? out != NULL && n <= MAX && out[n] == '\0' : out == NULL);
    free(out);
    return 0;
}
