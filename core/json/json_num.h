/* The value of a JSON number literal, read by hand: strtod follows the
 * process locale and takes hex, "inf" and "nan". Validating the literal is
 * json_scan's job; this only converts. */
#ifndef MP_CORE_JSON_NUM_H
#define MP_CORE_JSON_NUM_H

#include <stddef.h>

/* The value of the number literal s[0..n), which mp_json_scan_value has
 * already accepted as a number (n >= 1). 19 significant digits are kept;
 * up to 19 digits with an exponent within 22 of zero come out correctly
 * rounded (85 / 100, -0.0123). A magnitude past the double range is
 * +-infinity (1e999), one below it is zero (1e-999): the caller judges. */
double mp_json_num_value(const char *s, size_t n);

#endif
