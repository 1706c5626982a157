/* A line-at-a-time tokenizer for INI text: sections, "key = value" pairs,
 * comments, quoted values. It only splits and unescapes; which sections and
 * keys exist, and what their values mean, is core/config/config.c's business.
 *
 * Syntax accepted, one item per line (LF or CRLF; a UTF-8 BOM at the very
 * start of the text is skipped):
 *   - blank lines, and full-line comments whose first non-blank byte is ';'
 *     or '#': skipped;
 *   - "[name]": a section; blanks around the name are allowed, and a comment
 *     may follow the ']';
 *   - "name = value": blanks around name and value are dropped. An unquoted
 *     value ends at the first ';' or '#' preceded by a blank (space or tab),
 *     which starts an inline comment; a ';' or '#' not preceded by a blank is
 *     part of the value ("a;b"). A value starting with '"' runs to the next
 *     unescaped '"'; inside it ';' and '#' are literal and the only escapes
 *     are \" and \\ (any other backslash is an error). After the closing
 *     quote only blanks or a comment may follow.
 * Names are 1 to MP_INI_NAME_MAX - 1 bytes of [A-Za-z0-9_.-].
 * Rejected, as an MP_INI_ERROR item for that line (the next call continues
 * with the following line): lines over MP_INI_LINE_MAX bytes (without the
 * line end), control bytes other than tab (NUL, a lone CR, DEL), malformed
 * section headers, lines without '=', bad names, unterminated quotes. */
#ifndef MP_CORE_INI_H
#define MP_CORE_INI_H

#include <stddef.h>

#define MP_INI_LINE_MAX 4096 /* longest accepted line, without its line end */
#define MP_INI_NAME_MAX 64   /* section and key names, with NUL */

enum mp_ini_kind {
    MP_INI_SECTION, /* "[name]": name is set */
    MP_INI_PAIR,    /* "name = value": name and value are set */
    MP_INI_ERROR    /* a malformed line: error is set */
};

struct mp_ini_item {
    enum mp_ini_kind kind;
    unsigned line;                   /* 1-based line number */
    char name[MP_INI_NAME_MAX];      /* as written (case kept) */
    char value[MP_INI_LINE_MAX + 1]; /* unquoted and unescaped, NUL-terminated */
    const char *error;               /* static text, e.g. "line too long (max 4096 bytes)" */
};

struct mp_ini {
    const char *text; /* private; borrowed from mp_ini_init's caller */
    size_t len;       /* private */
    size_t pos;       /* private: start of the next line */
    unsigned line;    /* private: number of the last line read */
};

/* Starts tokenizing text[0..len) (need not be NUL-terminated; borrowed until
 * the last mp_ini_next call). */
void mp_ini_init(struct mp_ini *ini, const char *text, size_t len);

/* Reads up to the next section, pair or malformed line. Returns MP_OK with
 * *item filled, or MP_NOTFOUND at the end of the text. Values never contain
 * control bytes other than tab, so they are safe C strings. */
int mp_ini_next(struct mp_ini *ini, struct mp_ini_item *item);

#endif
