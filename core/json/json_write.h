/* JSON text writing: escaping text into a JSON string's body. Writes
 * into the caller's buffer, never allocates; reading JSON is json_scan.h. */
#ifndef MP_CORE_JSON_WRITE_H
#define MP_CORE_JSON_WRITE_H

#include <stddef.h>

/* Writes src[0..len) JSON-escaped (no quotes) into out[0..cap), invalid UTF-8
 * replaced by U+FFFD. Returns bytes written, or (size_t)-1 when it does not
 * fit. At most 6 output bytes per input byte ("\u00XX"); valid UTF-8 and
 * printable ASCII but '"' and '\\' are copied as they are. */
size_t mp_json_escape(char *out, size_t cap, const char *src, size_t len);

#endif
