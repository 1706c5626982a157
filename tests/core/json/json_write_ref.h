/* The former JSON string escaper (json_write_ref.c), for the differential
 * test of core/json/json_write.c. */
#ifndef MP_TESTS_CORE_JSON_JSON_WRITE_REF_H
#define MP_TESTS_CORE_JSON_JSON_WRITE_REF_H

#include <stddef.h>

/* mp_json_escape as it was: the same contract. */
size_t mp_json_escape_ref(char *out, size_t cap, const char *src, size_t len);

#endif
