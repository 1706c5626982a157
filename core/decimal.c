/* Decimal digits (decimal.h). */
#include "decimal.h"

#include <string.h>

size_t mp_decimal_u64(uint64_t v, char *out)
{
    char d[MP_DECIMAL_U64_MAX];
    size_t i = sizeof(d);
    do {
        d[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v > 0);
    memcpy(out, d + i, sizeof(d) - i);
    return sizeof(d) - i;
}
