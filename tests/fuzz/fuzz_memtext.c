/* libFuzzer target for core/import/memtext.c (an uploaded memory text is
 * network input): refused with a reason and a line, or facts whose keys
 * are normalized keys and whose values the user API would take. */
#include <stddef.h>
#include <stdint.h>

#include "fuzz_import_check.h"
#include "import/memtext.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct mp_import_batch b = {0};
    struct mp_import_error err;
    int rc = mp_memtext_read((const char *)data, size, FUZZ_NOW, &b, &err);
    fuzz_import_check(rc, &b, &err, MP_ENTITY_VALUE_MAX);
    for (size_t i = 0; rc == MP_OK && i < b.n; i++) {
        char key[MP_ENTITY_KEY_MAX + 1];
        size_t n = 0;
        assert(mp_usermem_normalize_key(b.items[i].key, strlen(b.items[i].key), key) == MP_OK);
        assert(strcmp(key, b.items[i].key) == 0);
        assert(mp_usermem_clean_value(b.items[i].text, b.items[i].text_len, &n) != NULL);
    }
    mp_importitem_free(&b);
    return 0;
}
