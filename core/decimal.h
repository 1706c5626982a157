/* Decimal digits of a whole number, written without printf: the numbers
 * every request writes (a port, a Content-Length, a status, a count).
 * Reading decimals is core/json/json_num.h's and the parsers' own. */
#ifndef MP_CORE_DECIMAL_H
#define MP_CORE_DECIMAL_H

#include <stddef.h>
#include <stdint.h>

/* The most digits mp_decimal_u64 writes (UINT64_MAX's 20). */
#define MP_DECIMAL_U64_MAX 20

/* Writes v as decimal digits without leading zeros ("0" for 0), no sign
 * and no NUL, to out, which holds at least MP_DECIMAL_U64_MAX bytes:
 * what printf's %llu writes. Returns the digits written. */
size_t mp_decimal_u64(uint64_t v, char *out);

#endif
