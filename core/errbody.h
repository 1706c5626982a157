/* OpenAI-shaped error bodies for the errors memproxy makes itself:
 * {"error":{"message":"...","type":"...","param":null,"code":"..."}}.
 * Formatting only; choosing the HTTP status is the proxy's job. */
#ifndef MP_CORE_ERRBODY_H
#define MP_CORE_ERRBODY_H

#include <stddef.h>

/* Writes the error body into out[0..cap) with message, type and code
 * JSON-escaped (control characters as \u00XX, invalid UTF-8 replaced by
 * U+FFFD); code may be NULL for "code":null. Returns the body length, or 0
 * when it did not fit (out then holds nothing usable). Never writes past
 * cap; the body is NUL-terminated when it fits. */
size_t mp_errbody_format(char *out, size_t cap, const char *message, const char *type,
                         const char *code);

#endif
