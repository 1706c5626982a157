/* What every import reader's fuzz target asserts of a batch it made
 * (core/import/importitem.h): a refusal says why and where; an accepted
 * file gives items that the import path can store as they are. */
#ifndef MP_TESTS_FUZZ_IMPORT_CHECK_H
#define MP_TESTS_FUZZ_IMPORT_CHECK_H

#include <assert.h>
#include <string.h>

#include "import/importitem.h"
#include "status.h"

#define FUZZ_NOW 1735689600000LL

static inline void fuzz_import_check(int rc, const struct mp_import_batch *b,
                                     const struct mp_import_error *err, size_t max_text)
{
    assert(rc == MP_OK || rc == MP_EINVAL || rc == MP_ENOMEM);
    if (rc == MP_EINVAL) {
        assert(err->why != NULL && err->why[0] != '\0');
        assert(err->line >= 1);
        assert(strlen(err->title) <= MP_IMPORT_TITLE_MAX + 3);
        return;
    }
    if (rc != MP_OK)
        return;
    for (size_t i = 0; i < b->n; i++) {
        const struct mp_import_item *it = &b->items[i];
        assert(it->text != NULL && it->text_len > 0 && it->text_len <= max_text);
        assert(it->text[it->text_len] == '\0');
        assert(mp_usermem_time_ok(it->at_ms, FUZZ_NOW));
        assert(it->role == MP_ROLE_USER || it->role == MP_ROLE_ASSISTANT);
        assert(it->conv_ref <= b->nconvs);
        assert(!it->has_id || strlen(it->id) <= MP_IMPORT_ID_MAX);
    }
}

#endif
