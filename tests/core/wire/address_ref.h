/* The former reading of mp_address_read (address_ref.c), the oracle of
 * test_address's comparison. */
#ifndef MP_TESTS_CORE_WIRE_ADDRESS_REF_H
#define MP_TESTS_CORE_WIRE_ADDRESS_REF_H

#include <stddef.h>

#include "wire/address.h"

/* What mp_address_read read into *out before it read word by word. */
void ref_address_read(const char *text, size_t len, struct mp_address *out);

#endif
