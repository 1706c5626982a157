/* libFuzzer target for core/user_id.c: whatever the bytes, the check
 * returns MP_OK or MP_EINVAL, and an accepted id has none of the bytes the
 * rules forbid and survives JSON escaping unchanged apart from escapes. */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "json/json_write.h"
#include "status.h"
#include "user_id.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_accepted(const uint8_t *data, size_t size)
{
    char esc[MP_USER_ID_MAX * 6];
    assert(size >= 1 && size <= MP_USER_ID_MAX);
    for (size_t i = 0; i < size; i++)
        assert(data[i] >= 0x20 && data[i] != 0x7F && data[i] != 0xC0 && data[i] < 0xF5);
    assert(memmem(data, size, "{{", 2) == NULL && memmem(data, size, "}}", 2) == NULL);
    /* Valid UTF-8 with no controls: escaping only adds backslashes. */
    size_t n = mp_json_escape(esc, sizeof(esc), (const char *)data, size);
    size_t quotes = 0;
    for (size_t i = 0; i < size; i++)
        quotes += data[i] == '"' || data[i] == '\\';
    assert(n == size + quotes);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int rc = mp_user_id_validate((const char *)data, size);
    assert(rc == MP_OK || rc == MP_EINVAL);
    if (rc == MP_OK)
        check_accepted(data, size);
    return 0;
}
