/* A refused import file in words a person reads: where (the file, its
 * line, and for an export the conversation by its place and title and
 * the message by its place) and what is wrong with which field
 * (docs/admin-api.md, "Each refusal says where and what"). Pure text. */
#ifndef MP_CORE_IMPORT_IMPORTWHY_H
#define MP_CORE_IMPORT_IMPORTWHY_H

#include <stddef.h>

#include "import/importitem.h"

/* Writes the refusal of err (a reader's, borrowed) into out[0..cap)
 * (NUL-terminated, cut to fit): "<where>: <what>. Nothing was imported.",
 * where is "<file>, line N[, conversation C[ (\"title\")][, message M]]"
 * for an export (file: its member's name, "conversations.json"; NULL for
 * a file of lines: "Line N"), or "The upload" for a file refused whole
 * (err->line 0: the ZIP's reasons). */
void mp_importwhy_say(const struct mp_import_error *err, const char *file, char *out, size_t cap);

#endif
