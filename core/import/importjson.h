/* What the readers of JSON exports share over core/json/json_scan.h's
 * spans: a member's string decoded into a new buffer, a number, a
 * literal, text joined from pieces. A span {0, 0} is an absent member
 * (mp_json_members_in); every function takes it as "not there". */
#ifndef MP_CORE_IMPORT_IMPORTJSON_H
#define MP_CORE_IMPORT_IMPORTJSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A value's span in the document. */
struct mp_importjson_span {
    size_t s, e;
};

/* Whether sp is present and neither null nor absent. */
bool mp_importjson_given(const char *buf, struct mp_importjson_span sp);

/* Whether sp is the JSON string lit (its bytes as written, no escapes). */
bool mp_importjson_str_is(const char *buf, struct mp_importjson_span sp, const char *lit);

/* Whether sp is the literal true. */
bool mp_importjson_true(const char *buf, struct mp_importjson_span sp);

/* The JSON string at sp, decoded (an escaped NUL becomes U+FFFD):
 * MP_OK with *out (malloc'd, NUL-terminated; the caller frees) and
 * *len; MP_EINVAL when sp is no string; MP_ENOMEM. */
int mp_importjson_string(const char *buf, struct mp_importjson_span sp, char **out, size_t *len);

/* The JSON number at sp: MP_OK with *out; MP_EINVAL when sp is no number
 * or not finite. */
int mp_importjson_number(const char *buf, struct mp_importjson_span sp, double *out);

/* Seconds since the epoch (a float, as ChatGPT writes times) as ms:
 * MP_OK, or MP_EINVAL when v is below 0 or past the year 9999. */
int mp_importjson_seconds(double v, int64_t *ms);

/* The members keys[0..n) of the object at sp into spans (mp_json_members_in):
 * MP_OK, or MP_EINVAL when sp is no object. */
int mp_importjson_members(const char *buf, struct mp_importjson_span sp, const char *const *keys,
                          size_t n, struct mp_importjson_span *spans);

/* The conversation's title, the JSON string at sp (absent, null or no
 * string: none), into err->title, cut at MP_IMPORT_TITLE_MAX bytes with
 * "..." marking the cut: what a refusal quotes so that a person finds
 * the conversation. */
struct mp_import_error;
void mp_importjson_title(const char *buf, struct mp_importjson_span sp,
                         struct mp_import_error *err);

/* The length of the UTF-8 byte order mark buf[0..len) starts with (3),
 * or 0: an editor on Windows writes one before a file's text, and a
 * reader takes what follows it. */
size_t mp_importjson_bom(const char *buf, size_t len);

/* Checks that buf[0..len) (after a byte order mark) is one JSON value and calls fn(arg, its span,
 * its first line) for each element of the array it is (the first
 * conversation is err->conversation 1, and so on; err->message is reset
 * for each), or once for an object when one_object (a single
 * conversation). Stops at fn's first status other than MP_OK and returns
 * it. MP_EINVAL with *err ("not JSON", "not a list of conversations",
 * line 1) when buf is neither. */
typedef int (*mp_importjson_each_fn)(void *arg, struct mp_importjson_span sp, size_t line);
int mp_importjson_each(const char *buf, size_t len, bool one_object, struct mp_import_error *err,
                       mp_importjson_each_fn fn, void *arg);

/* A text built from pieces: each non-blank piece appended, separated by
 * a blank line. */
struct mp_importjson_text {
    char *p; /* owned, NUL-terminated at len when not NULL */
    size_t len, cap;
};

/* Appends the decoded JSON string at sp (a piece): MP_OK, MP_EINVAL when
 * sp is no string, MP_ENOMEM. */
int mp_importjson_text_add(struct mp_importjson_text *t, const char *buf,
                           struct mp_importjson_span sp);

/* The text trimmed of whitespace at both ends and cut to max bytes
 * (marked: usermem.h's rule for a message): its bytes are taken into *out
 * (NULL and 0 when nothing is left: the caller frees t then). */
void mp_importjson_text_take(struct mp_importjson_text *t, size_t max, char **out, size_t *len);

void mp_importjson_text_free(struct mp_importjson_text *t);

#endif
