/* Pattern detectors for what should not be stored as an ordinary fact:
 * personal data (to flag, redact or drop per [governance] pii_mode) and text
 * that reads as instructions to the model (memory poisoning). Heuristics on
 * bytes, ASCII patterns only: no names, addresses or free-text health data,
 * no look-alike Unicode. What to do with a hit is the caller's policy. */
#ifndef MP_CORE_PII_H
#define MP_CORE_PII_H

#include <stdbool.h>
#include <stddef.h>

enum mp_pii_kind {
    MP_PII_EMAIL = 1,
    MP_PII_PHONE,
    MP_PII_CARD,
    MP_PII_IBAN,
    MP_PII_SSN,
    MP_PII_NATIONAL_ID, /* UK NINO, Spanish DNI/NIE: core/memory/natid.h */
};

/* The detectors, each on a maximal token: a span never starts or ends in the
 * middle of a run of letters and digits.
 * - EMAIL: local part of 1 to 64 of [A-Za-z0-9._%+-], '@', a domain of at
 *   least two dot-separated labels of [A-Za-z0-9-] (1 to 63, no '-' at
 *   either end), the last one 2 or more letters. "a@localhost" is not one.
 * - Numbers: an optional '+', then groups of digits separated by one ' ',
 *   '-' or '.' each; one group may be in parentheses ("(555) 123-4567").
 *   The number is maximal: a separator is taken whenever a group follows
 *   it, and it fails past 48 bytes. The byte before it may not be a letter,
 *   digit, '_', '.', '-', '+', '/' or '@' ("v1.2.3", "ab-123" hold no
 *   number), nor a space after a digit or ')' (the tail of a longer
 *   number is not judged alone); the byte after it not a letter, digit,
 *   '_', '/' or '@' (a sentence's final '.' is fine). Then, first match
 *   wins:
 *   - CARD: no '+' or parentheses, 13 to 19 digits, one kind of separator,
 *     groups of 3 or more digits when separated, Luhn valid, not all zeros;
 *   - SSN: exactly ddd-dd-dddd; area not 000, 666 or 900-999, group not
 *     00, serial not 0000;
 *   - PHONE: 7 to 15 digits; without separators only with '+' or 10 or more
 *     digits; every group but the first (and the second after a '+') has 2
 *     or more digits; dotted only as +... or 3.3.4 ("555.123.4567"), so IP
 *     addresses and versions are not phones; not a date shape (4-2-2,
 *     2-2-4 without '+').
 * - IBAN: two letters, two digits, then letters and digits to a total of 15
 *   to 34, unbroken or in groups of four separated by single spaces (the
 *   last group 1 to 4), case-insensitive, ISO 13616 mod-97 check == 1.
 * - NATIONAL_ID: a UK National Insurance number or a Spanish DNI or NIE
 *   with its check letter, as mp_natid_at() in core/memory/natid.h accepts. */

/* Finds the first PII span starting at or after from in text[0..len)
 * (borrowed): the span with the smallest start; at one start EMAIL is tried
 * first, then IBAN, then NATIONAL_ID, then the number kinds. Returns its
 * kind with [*start, *end), or 0 when there is none (outputs untouched).
 * Linear in len: each detector looks at a bounded number of bytes per
 * start. */
int mp_pii_find(const char *text, size_t len, size_t from, size_t *start, size_t *end);

/* True when text[0..len) (borrowed) holds any span mp_pii_find() finds. */
bool mp_pii_detect(const char *text, size_t len);

/* Copies text[0..len) (borrowed) to out[0..cap) with each span mp_pii_find()
 * finds replaced by "[redacted]", and a NUL after it. out must not overlap
 * text. Returns MP_OK with *out_len (without the NUL); MP_ETOOBIG when the
 * result and its NUL do not fit in cap (out's contents are then unspecified,
 * *out_len untouched). cap >= len + 1 is not always enough: a span shorter
 * than 10 bytes grows; cap >= 2 * len + 11 always is. */
int mp_pii_redact(const char *text, size_t len, char *out, size_t cap, size_t *out_len);

/* True when text[0..len) (borrowed) reads as instructions to the model or
 * tries to forge the prompt's structure rather than state a fact. The exact
 * rule, case-insensitive for ASCII letters:
 * 1. Words (maximal runs of ASCII letters, digits and bytes >= 0x80; any
 *    other bytes, however many, separate them) contain one of:
 *    - ignore|disregard|forget|override, then 0 to 3 of
 *      all|any|the|your|my|of|these|those|every|everything, then
 *      previous|prior|above|earlier|preceding|foregoing|former
 *      ("ignore all previous instructions", "disregard the above");
 *    - "you are now"; "from now on you"; "system prompt(s)".
 * 2. With all ASCII whitespace removed, the text contains one of: a special
 *    token "<|" [a-z0-9_]{1,32} "|>" ("<|im_start|>", "<|system|>",
 *    "<| endoftext |>"); "[inst]", "[/inst]", "<<sys>>", "<</sys>>", "</s>";
 *    the memory block's own delimiters "[userprofile]",
 *    "[conversationhistorysummary]" or "[memory".
 * 3. A line (the text's start or after LF/CR) is, after optional spaces or
 *    tabs, "system", "assistant" or "developer", optional spaces or tabs,
 *    then ':' (a forged transcript or chat role line).
 * Ordinary facts with these words in other orders ("works at Instructure",
 * "prefers system design", "ignores linters") do not match. */
bool mp_pii_looks_like_instruction(const char *text, size_t len);

#endif
