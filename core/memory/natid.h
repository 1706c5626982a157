/* Detectors for national identity numbers that mix letters and digits: the
 * UK National Insurance number and the Spanish DNI and NIE. The US SSN, an
 * all-digit shape, is judged with the other numbers in core/memory/pii.c. Shapes
 * and check letters only; no registry lookups. */
#ifndef MP_CORE_NATID_H
#define MP_CORE_NATID_H

#include <stdbool.h>
#include <stddef.h>

/* True when a national id starts at s[i] (s[0..len) borrowed), with
 * *end the offset just past it (untouched otherwise). The byte before s[i]
 * and the byte after the id may not be ASCII letters or digits. Accepted,
 * case-insensitive for letters:
 * - UK NINO: two prefix letters, six digits, a suffix letter A-D, unbroken
 *   ("AB123456C") or as "AB 12 34 56 C" with single spaces. The first
 *   letter is not D, F, I, Q, U or V; the second not D, F, I, O, Q, U or V;
 *   the prefix not BG, GB, KN, NK, NT, TN or ZZ.
 * - Spanish DNI: eight digits, an optional '-' or ' ', then the check letter
 *   "TRWAGMYFPDXBNJZSQVHLCKE"[number % 23] ("12345678Z").
 * - Spanish NIE: X, Y or Z (read as 0, 1, 2), seven digits, an optional '-'
 *   or ' ', and the DNI check letter of the eight-digit number
 *   ("X1234567L"). */
bool mp_natid_at(const char *s, size_t len, size_t i, size_t *end);

#endif
