/* A validating, non-allocating JSON scanner for request bodies: it finds
 * top-level members and walks arrays and objects by byte offsets, so the
 * proxy can read a field or splice bytes without re-serializing anything.
 * It does not build a tree; jansson does that off the hot path. */
#ifndef MP_CORE_JSON_SCAN_H
#define MP_CORE_JSON_SCAN_H

#include <stdbool.h>
#include <stddef.h>

#define MP_JSON_MAX_DEPTH 128

/* The offset of the first byte at or after from in s[0..len) that JSON
 * text cannot carry as is inside a string (a control byte, '"' or '\\') or
 * that is not ASCII; len when there is none. Examines 8 bytes at a time:
 * the fast path of every scanner and escaper here. */
size_t mp_json_plain_run(const char *s, size_t len, size_t from);

/* Skips JSON whitespace from pos; returns the first non-blank offset (<= len). */
size_t mp_json_skip_ws(const char *buf, size_t len, size_t pos);

/* Validates one JSON value starting at buf[pos] (after optional whitespace)
 * per RFC 8259: strings with valid escapes and valid UTF-8, numbers,
 * literals, nesting up to MP_JSON_MAX_DEPTH. Returns MP_OK with *start at
 * the value's first byte and *end one past its last; MP_EINVAL otherwise. */
int mp_json_scan_value(const char *buf, size_t len, size_t pos, size_t *start, size_t *end);

/* Checks that buf[0..len) is exactly one JSON object (whitespace around it
 * allowed) and finds the top-level member named key (compared after
 * unescaping the member names). Returns MP_OK with the value's span
 * [*val_start, *val_end); MP_NOTFOUND when the object is valid but has no
 * such member (the last one wins when a key repeats); MP_EINVAL when buf is
 * not a valid JSON object. Outputs are untouched unless MP_OK. */
int mp_json_find_member(const char *buf, size_t len, const char *key, size_t key_len,
                        size_t *val_start, size_t *val_end);

/* Whether buf[s..e) is exactly the bytes of lit (a value's span against a
 * literal such as "\"text\"", quotes included). */
bool mp_json_span_is(const char *buf, size_t s, size_t e, const char *lit);

/* mp_json_find_member for the object that spans buf[start..end) of a
 * larger document: the value's span is given in buf's offsets. key is
 * NUL-terminated. */
int mp_json_member_in(const char *buf, size_t start, size_t end, const char *key, size_t *val_start,
                      size_t *val_end);

/* mp_json_member_in for several keys in one walk of the object: for each
 * keys[k] (NUL-terminated; n at most MP_JSON_MEMBERS_MAX) the value's
 * span in spans[k] (the last one when a key repeats; {0, 0} when the
 * object has no such member: a value never starts at 0). MP_OK when
 * buf[start..end) is one valid JSON object, MP_EINVAL otherwise (spans
 * then say nothing). */
#define MP_JSON_MEMBERS_MAX 8
int mp_json_members_in(const char *buf, size_t start, size_t end, const char *const *keys, size_t n,
                       size_t (*spans)[2]);

/* Decodes the JSON string literal buf[start..end) (quotes included) into
 * UTF-8 in out[0..cap). Escaped surrogate pairs are joined; a lone surrogate
 * or an escaped NUL is MP_EINVAL. Returns MP_OK with *out_len; MP_EINVAL for
 * a span that is not a valid string; MP_ETOOBIG when cap is too small. */
int mp_json_string_decode(const char *buf, size_t start, size_t end, char *out, size_t cap,
                          size_t *out_len);
/* As mp_json_string_decode, for text that is kept (a reply's): an escaped
 * NUL becomes U+FFFD instead of MP_EINVAL. */
int mp_json_text_decode(const char *buf, size_t start, size_t end, char *out, size_t cap,
                        size_t *out_len);

/* Iterates the elements of the array or the members of the object whose
 * value spans buf[start..end) (already validated). *cursor starts at 0.
 * Each call returns MP_OK with the next element's span [*el_start, *el_end)
 * (for objects: the member value, and the name's string literal span in
 * [*name_start, *name_end); pass NULL for arrays) and advances *cursor;
 * MP_NOTFOUND after the last element; MP_EINVAL if the span is not an
 * array/object of the kind asked for. */
int mp_json_next(const char *buf, size_t start, size_t end, size_t *cursor, size_t *name_start,
                 size_t *name_end, size_t *el_start, size_t *el_end);

/* Details the declarations above leave open (added with the implementation):
 * - Depth counts open containers, empty ones included: MP_JSON_MAX_DEPTH
 *   nested arrays are accepted, one more is MP_EINVAL. mp_json_find_member
 *   counts the top-level object, so the whole body obeys the same limit.
 * - mp_json_scan_value does not look past the value: "true x" scans as
 *   "true" and the caller judges what follows. A digit right after a leading
 *   zero ("01") is MP_EINVAL, not "0" followed by garbage.
 * - mp_json_find_member: duplicate keys, the last one wins (as in Python's
 *   json and jansson's default). A member name that mp_json_string_decode
 *   would refuse (escaped lone surrogate, \u0000) matches no key. key is
 *   borrowed and may be NULL when key_len is 0.
 * - mp_json_string_decode: out's contents are unspecified unless MP_OK (it
 *   may hold a prefix); *out_len is untouched. The decoded length never
 *   exceeds end - start - 2, so that cap always suffices. out may be NULL
 *   when cap is 0. MP_EINVAL takes precedence over MP_ETOOBIG.
 * - mp_json_next: the kind asked for is an object when name_start is not
 *   NULL (name_end must then be non-NULL too), an array otherwise. *cursor
 *   is an offset into buf, opaque to the caller; it is only advanced on
 *   MP_OK, so MP_NOTFOUND repeats. Elements are re-validated as they are
 *   walked, so an unvalidated span yields MP_EINVAL, never an overread past
 *   end. */

#endif
