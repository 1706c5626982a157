/* INI tokenizer: one line in, one item out. Lines are inspected in place and
 * only the name and the (unescaped) value are copied; nothing is allocated.
 * It does not know any section or key; see core/config/config.c for that. */
#include "config/ini.h"

#include <stdbool.h>
#include <string.h>

#include "status.h"

#define LINE_TOO_LONG_MSG_(n) "line too long (max " #n " bytes)"
#define LINE_TOO_LONG_MSG(n)  LINE_TOO_LONG_MSG_(n)

/* The message below spells the limit out; keep them in step. */
_Static_assert(MP_INI_LINE_MAX == 4096, "update the 'line too long' message");

static bool is_blank(char ch)
{
    return ch == ' ' || ch == '\t';
}

static bool is_name_char(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           ch == '_' || ch == '.' || ch == '-';
}

/* Shrinks [*s, *s + *n) to drop leading and trailing blanks. */
static void trim(const char **s, size_t *n)
{
    while (*n > 0 && is_blank((*s)[0])) {
        (*s)++;
        (*n)--;
    }
    while (*n > 0 && is_blank((*s)[*n - 1])) {
        (*n)--;
    }
}

static bool is_comment_start(char ch)
{
    return ch == ';' || ch == '#';
}

/* True when s[0..n) is empty after blanks or is a comment. */
static bool only_comment(const char *s, size_t n)
{
    trim(&s, &n);
    return n == 0 || is_comment_start(s[0]);
}

static int fail(struct mp_ini_item *item, const char *msg)
{
    item->kind = MP_INI_ERROR;
    item->error = msg;
    return MP_OK;
}

/* Copies a trimmed name, checking its bytes and length. */
static const char *take_name(struct mp_ini_item *item, const char *s, size_t n, const char *what)
{
    trim(&s, &n);
    if (n == 0) {
        return what;
    }
    if (n >= sizeof(item->name)) {
        return "name too long (max 63 bytes)";
    }
    for (size_t i = 0; i < n; i++) {
        if (!is_name_char(s[i])) {
            return what;
        }
    }
    memcpy(item->name, s, n);
    item->name[n] = '\0';
    return NULL;
}

static int section_line(struct mp_ini_item *item, const char *s, size_t n)
{
    const char *close = memchr(s, ']', n);
    if (close == NULL) {
        return fail(item, "missing ']' in section header");
    }
    const char *msg = take_name(item, s + 1, (size_t)(close - s - 1), "invalid section name");
    if (msg != NULL) {
        return fail(item, msg);
    }
    if (!only_comment(close + 1, (size_t)(s + n - close - 1))) {
        return fail(item, "unexpected text after section header");
    }
    item->kind = MP_INI_SECTION;
    return MP_OK;
}

/* s[0..n) starts just after the opening quote. */
static int quoted_value(struct mp_ini_item *item, const char *s, size_t n)
{
    size_t out = 0;
    size_t i = 0;
    while (i < n && s[i] != '"') {
        if (s[i] == '\\') {
            if (i + 1 == n || (s[i + 1] != '"' && s[i + 1] != '\\')) {
                return fail(item, "invalid escape in quoted value (only \\\" and \\\\)");
            }
            i++;
        }
        item->value[out++] = s[i++];
    }
    if (i == n) {
        return fail(item, "unterminated quoted value");
    }
    item->value[out] = '\0';
    if (!only_comment(s + i + 1, n - i - 1)) {
        return fail(item, "unexpected text after quoted value");
    }
    item->kind = MP_INI_PAIR;
    return MP_OK;
}

/* s[0..n) starts at the '=', so that a comment right after "= " is seen as
 * one (its ';' is preceded by a blank) while "=;x" is the value ";x". */
static int plain_value(struct mp_ini_item *item, const char *s, size_t n)
{
    size_t end = n;
    for (size_t i = 1; i < n; i++) {
        if (is_comment_start(s[i]) && is_blank(s[i - 1])) {
            end = i;
            break;
        }
    }
    const char *v = s + 1;
    size_t vn = end - 1;
    trim(&v, &vn);
    memcpy(item->value, v, vn);
    item->value[vn] = '\0';
    item->kind = MP_INI_PAIR;
    return MP_OK;
}

static int pair_line(struct mp_ini_item *item, const char *s, size_t n)
{
    const char *eq = memchr(s, '=', n);
    if (eq == NULL) {
        return fail(item, "expected 'key = value'");
    }
    const char *msg = take_name(item, s, (size_t)(eq - s), "invalid key name");
    if (msg != NULL) {
        return fail(item, msg);
    }
    const char *v = eq + 1;
    size_t vn = (size_t)(s + n - v);
    while (vn > 0 && is_blank(v[0])) {
        v++;
        vn--;
    }
    if (vn > 0 && v[0] == '"') {
        return quoted_value(item, v + 1, vn - 1);
    }
    return plain_value(item, eq, (size_t)(s + n - eq));
}

static bool has_control(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if ((ch < 0x20 && ch != '\t') || ch == 0x7f) {
            return true;
        }
    }
    return false;
}

void mp_ini_init(struct mp_ini *ini, const char *text, size_t len)
{
    ini->text = text;
    ini->len = len;
    ini->pos = 0;
    ini->line = 0;
    if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0) {
        ini->pos = 3;
    }
}

/* Classifies one line s[0..n) (line end removed). Returns false for a
 * blank or comment line. */
static bool tokenize_line(struct mp_ini_item *item, const char *s, size_t n)
{
    if (n > MP_INI_LINE_MAX) {
        fail(item, LINE_TOO_LONG_MSG(MP_INI_LINE_MAX));
        return true;
    }
    if (has_control(s, n)) {
        fail(item, "control character in line");
        return true;
    }
    trim(&s, &n);
    if (n == 0 || is_comment_start(s[0])) {
        return false;
    }
    if (s[0] == '[') {
        section_line(item, s, n);
    } else {
        pair_line(item, s, n);
    }
    return true;
}

int mp_ini_next(struct mp_ini *ini, struct mp_ini_item *item)
{
    while (ini->pos < ini->len) {
        const char *s = ini->text + ini->pos;
        size_t rest = ini->len - ini->pos;
        const char *nl = memchr(s, '\n', rest);
        size_t n = nl != NULL ? (size_t)(nl - s) : rest;
        ini->pos += nl != NULL ? n + 1 : n;
        ini->line++;
        if (n > 0 && s[n - 1] == '\r') {
            n--;
        }
        item->name[0] = '\0';
        item->value[0] = '\0';
        item->error = NULL;
        item->line = ini->line;
        if (tokenize_line(item, s, n)) {
            return MP_OK;
        }
    }
    return MP_NOTFOUND;
}
