/* Error bodies for the errors memproxy makes itself, in OpenAI's shape:
 * {"error":{"message":"...","type":"...","param":null,"code":"..."}}, and
 * on Anthropic's routes in Anthropic's:
 * {"type":"error","error":{"type":"...","message":"...","code":"..."}}
 * (its error type from the HTTP status; "code" is memproxy's own code, the
 * same as in the OpenAI shape). Formatting only; choosing the HTTP status
 * is the proxy's job. */
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

/* The same in Anthropic's shape for an error of HTTP status: its "type"
 * by mp_errbody_anthropic_type(status), code may be NULL (then absent). */
size_t mp_errbody_format_anthropic(char *out, size_t cap, const char *message, int status,
                                   const char *code);

/* Anthropic's error type for an HTTP status: 401 authentication_error, 403
 * permission_error, 404 not_found_error, 408 and 504 timeout_error, 413
 * and 431 request_too_large, 429 rate_limit_error, 503 and 529
 * overloaded_error, other 5xx api_error, other 4xx invalid_request_error. */
const char *mp_errbody_anthropic_type(int status);

#endif
