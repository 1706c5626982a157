/* Writing a short, human-readable error message into a caller's buffer
 * (the "why" out-parameters of config and key parsing). Formatting only:
 * nothing here decides what a message says or where it goes. */
#ifndef MP_CORE_ERRTEXT_H
#define MP_CORE_ERRTEXT_H

#include <stddef.h>

/* printf-formats into dst[0..cap) (borrowed), cutting to fit, always
 * NUL-terminated; an encoding error leaves an empty string. dst == NULL or
 * cap == 0 writes nothing, so callers may pass an optional buffer as is. */
__attribute__((format(printf, 3, 4))) void mp_errtext_format(char *dst, size_t cap, const char *fmt,
                                                             ...);

#endif
