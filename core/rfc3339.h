/* RFC 3339 date-times ("2023-05-08T13:56:00Z", "2023-05-08T13:56:00.25+02:00")
 * to milliseconds since the epoch, without the C library's time zone state. */
#ifndef MP_CORE_RFC3339_H
#define MP_CORE_RFC3339_H

#include <stddef.h>
#include <stdint.h>

/* Parses s[0..len): full-date "T" (or "t" or one space) partial-time
 * (fraction of any length, cut to milliseconds) and "Z"/"z" or "+HH:MM" /
 * "-HH:MM"; years 1970..9999, a valid calendar day, hours 0..23, minutes
 * 0..59, seconds 0..60 (a leap second counts as :59.999). MP_OK with *ms;
 * MP_EINVAL for anything else (nothing may follow). */
int mp_rfc3339_parse(const char *s, size_t len, int64_t *ms);

#endif
