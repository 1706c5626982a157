/* Error message formatting for the why-buffers of parsers; see errtext.h. */
#include "errtext.h"

#include <stdarg.h>
#include <stdio.h>

void mp_errtext_format(char *dst, size_t cap, const char *fmt, ...)
{
    va_list ap;
    if (dst == NULL || cap == 0)
        return;
    va_start(ap, fmt);
    if (vsnprintf(dst, cap, fmt, ap) < 0)
        dst[0] = '\0';
    va_end(ap);
}
