/* libFuzzer target for core/import/claude.c (an uploaded export is network
 * input): whatever the bytes, the reader refuses them with a reason and a
 * line, or gives messages the import path stores as they are
 * (fuzz_import_check.h); nothing leaks, nothing reads past the input. */
#include <stddef.h>
#include <stdint.h>

#include "import/claude.h"
#include "fuzz_import_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct mp_import_batch b = {0};
    struct mp_import_error err;
    int rc = mp_claude_read((const char *)data, size, FUZZ_NOW, &b, &err);
    fuzz_import_check(rc, &b, &err, MP_MESSAGE_CONTENT_MAX);
    mp_importitem_free(&b);
    return 0;
}
