/* What the import readers' suites share: the fixture files of data/
 * (README.md there) read whole, and the messages of a batch found by
 * their text. */
#ifndef MP_TESTS_CORE_IMPORT_FIXTURE_H
#define MP_TESTS_CORE_IMPORT_FIXTURE_H

#include <stddef.h>

#include "import/importitem.h"

/* data/name, whole, NUL-terminated (free it); the test fails when it
 * cannot be read. */
char *fx_read(const char *name, size_t *len);

/* The item of b whose text is text, or NULL. */
const struct mp_import_item *fx_item(const struct mp_import_batch *b, const char *text);

#endif
