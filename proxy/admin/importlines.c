/* JSON Lines of an import, parsed with jansson (off the hot path) into
 * items that are then checked field by field (importlines.h). */
#include "admin/importlines.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "hex.h"
#include "import/importjson.h"
#include "recall/lang.h"
#include "wire/convid.h"
#include "rfc3339.h"
#include "status.h"
#include "json/utf8.h"

static bool blank(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r')
            return false;
    return true;
}

/* The string member name of o: its bytes, or NULL when absent or not a
 * string (*present tells which). */
static const char *str_member(json_t *o, const char *name, size_t *len, bool *present)
{
    json_t *v = json_object_get(o, name);
    *present = v != NULL;
    if (!json_is_string(v))
        return NULL;
    *len = json_string_length(v);
    return json_string_value(v);
}

/* s[0..n) is exactly the literal lit (a NUL inside s does not end it). */
static bool str_is(const char *s, size_t n, const char *lit)
{
    return s != NULL && n == strlen(lit) && memcmp(s, lit, n) == 0;
}

/* An item's own time: RFC 3339, within mp_usermem_time_ok() of now_ms
 * (*future: it lies further ahead). */
static int parse_time(json_t *o, const char *name, int64_t now_ms, int64_t *ms, bool *present,
                      bool *future)
{
    size_t n = 0;
    const char *s = str_member(o, name, &n, present);
    if (s == NULL || mp_rfc3339_parse(s, n, ms) != MP_OK)
        return MP_EINVAL;
    *future = *ms > now_ms && !mp_usermem_time_ok(*ms, now_ms);
    return mp_usermem_time_ok(*ms, now_ms) ? MP_OK : MP_EINVAL;
}

static int parse_id(json_t *o, struct mp_import_item *it, struct mp_import_error *err)
{
    size_t n = 0;
    bool present;
    const char *s = str_member(o, "id", &n, &present);
    if (!present)
        return MP_OK;
    if (s == NULL || n == 0 || n > MP_IMPORT_ID_MAX || memchr(s, '\0', n) != NULL) {
        err->why = "id";
        return MP_EINVAL;
    }
    memcpy(it->id, s, n);
    it->id[n] = '\0';
    it->has_id = true;
    return MP_OK;
}

static char *dup_cut(const char *s, size_t n, size_t max, size_t *out_len)
{
    char *d = malloc(n + 1);
    if (d == NULL)
        return NULL;
    memcpy(d, s, n);
    d[n] = '\0';
    *out_len = mp_utf8_cut_marked(d, n, max);
    d[*out_len] = '\0';
    return d;
}

/* The optional member name: 16 hex digits into *v (left 0 when absent or
 * null): MP_OK, or MP_EINVAL for another value. *given: 16 digits were. */
static int hex64_member(json_t *o, const char *name, uint64_t *v, bool *given)
{
    size_t n = 0;
    bool present;
    unsigned char b[8];
    const char *c = str_member(o, name, &n, &present);
    *given = false;
    if (!present || json_is_null(json_object_get(o, name)))
        return MP_OK;
    if (c == NULL || n != 16 || mp_hex_decode(c, sizeof(b), b) != MP_OK)
        return MP_EINVAL;
    for (size_t i = 0; i < sizeof(b); i++)
        *v = (*v << 8) | b[i];
    *given = true;
    return MP_OK;
}

/* A message's optional conversation, as the export writes it:
 * "conversation" 16 hex digits (or null), "conversation_rule" a rule's
 * name (or null), only with a conversation; and its reply's reference,
 * "reply_ref" 16 hex digits (or null; 0: none). */
static int parse_conversation(json_t *o, struct mp_import_item *it, struct mp_import_error *err)
{
    size_t n = 0;
    bool present, c;
    if (hex64_member(o, "reply_ref", &it->reply_ref, &present) != MP_OK)
        return (err->why = "reply_ref", MP_EINVAL);
    if (hex64_member(o, "conversation", &it->conv, &c) != MP_OK)
        return (err->why = "conversation", MP_EINVAL);
    const char *r = str_member(o, "conversation_rule", &n, &present);
    if (!present || json_is_null(json_object_get(o, "conversation_rule")))
        return MP_OK;
    for (int k = MP_CONVID_CLIENT; c && k <= MP_CONVID_KIND_MAX; k++)
        if (str_is(r, n, mp_convid_rule((enum mp_convid_kind)k)))
            it->conv_kind = (uint8_t)k;
    return it->conv_kind != 0 ? MP_OK : (err->why = "conversation_rule", MP_EINVAL);
}

/* A message's optional language, as the export writes it: "lang" an ISO
 * 639-1 code memproxy knows (core/recall/lang.h), or null or absent
 * (identified from the content when it is stored). */
static int parse_lang(json_t *o, struct mp_import_item *it)
{
    size_t n = 0;
    bool present;
    const char *c = str_member(o, "lang", &n, &present);
    if (!present || json_is_null(json_object_get(o, "lang")))
        return MP_OK;
    int lang = c != NULL ? mp_lang_from_code(c, n) : MP_LANG_NONE;
    if (lang == MP_LANG_NONE)
        return MP_EINVAL;
    it->lang = (uint8_t)lang;
    return MP_OK;
}

/* Content may hold any character a recorded turn may, NUL included, so
 * that every export imports back. */
static int parse_message(json_t *o, int64_t now_ms, struct mp_import_item *it,
                         struct mp_import_error *err)
{
    size_t n = 0;
    bool present;
    const char *role = str_member(o, "role", &n, &present);
    if (str_is(role, n, "user"))
        it->role = MP_ROLE_USER;
    else if (str_is(role, n, "assistant"))
        it->role = MP_ROLE_ASSISTANT;
    else
        return (err->why = "role", MP_EINVAL);
    const char *c = str_member(o, "content", &n, &present);
    if (c == NULL || n == 0)
        return (err->why = "content", MP_EINVAL);
    if (parse_time(o, "at", now_ms, &it->at_ms, &present, &err->future) != MP_OK)
        return (err->why = "at", MP_EINVAL);
    if (parse_conversation(o, it, err) != MP_OK)
        return MP_EINVAL;
    if (parse_lang(o, it) != MP_OK)
        return (err->why = "lang", MP_EINVAL);
    it->text = dup_cut(c, n, MP_MESSAGE_CONTENT_MAX, &it->text_len);
    return it->text != NULL ? MP_OK : MP_ENOMEM;
}

static int parse_fact(json_t *o, int64_t now_ms, struct mp_import_item *it,
                      struct mp_import_error *err)
{
    size_t n = 0;
    bool present;
    const char *k = str_member(o, "key", &n, &present);
    if (k == NULL || mp_usermem_normalize_key(k, n, it->key) != MP_OK)
        return (err->why = "key", MP_EINVAL);
    const char *v = str_member(o, "value", &n, &present);
    v = v != NULL ? mp_usermem_clean_value(v, n, &n) : NULL; /* the user API's rule */
    if (v == NULL)
        return (err->why = "value", MP_EINVAL);
    int rc = parse_time(o, "at", now_ms, &it->at_ms, &present, &err->future);
    if (!present)
        rc = parse_time(o, "observed_at", now_ms, &it->at_ms, &present, &err->future);
    if (rc != MP_OK)
        return (err->why = "at", MP_EINVAL);
    json_t *c = json_object_get(o, "confidence");
    it->confidence = 1.0;
    if (c != NULL) {
        if (!json_is_number(c) || !isfinite(json_number_value(c)) || json_number_value(c) < 0 ||
            json_number_value(c) > 1)
            return (err->why = "confidence", MP_EINVAL);
        it->confidence = json_number_value(c);
    }
    it->text = dup_cut(v, n, MP_ENTITY_VALUE_MAX, &it->text_len);
    return it->text != NULL ? MP_OK : MP_ENOMEM;
}

static int parse_line(const char *p, size_t n, int64_t now_ms, struct mp_import_item *it,
                      struct mp_import_error *err)
{
    json_error_t jerr;
    size_t tlen = 0;
    bool present;
    json_t *o = json_loadb(p, n, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &jerr);
    if (!json_is_object(o)) {
        json_decref(o);
        err->why = "not a JSON object";
        return MP_EINVAL;
    }
    const char *type = str_member(o, "type", &tlen, &present);
    int rc = MP_OK;
    if (type == NULL)
        rc = (err->why = "type", MP_EINVAL);
    else if (str_is(type, tlen, "message"))
        it->type = MP_IMPORT_MESSAGE;
    else if (str_is(type, tlen, "fact"))
        it->type = MP_IMPORT_FACT;
    else if (str_is(type, tlen, "settings"))
        it->type = MP_IMPORT_SETTINGS;
    else if (str_is(type, tlen, "summary") || str_is(type, tlen, "history"))
        it->type = MP_IMPORT_SKIPPED;
    else
        rc = (err->why = "type", MP_EINVAL);
    if (rc == MP_OK && it->type != MP_IMPORT_SKIPPED && it->type != MP_IMPORT_SETTINGS)
        rc = parse_id(o, it, err);
    if (rc == MP_OK && it->type == MP_IMPORT_SETTINGS) {
        const char *mode = str_member(o, "mode", &tlen, &present);
        if (mode == NULL || mp_usermode_parse(mode, tlen, &it->mode) != MP_OK)
            rc = (err->why = "mode", MP_EINVAL);
    }
    if (rc == MP_OK && it->type == MP_IMPORT_MESSAGE)
        rc = parse_message(o, now_ms, it, err);
    else if (rc == MP_OK && it->type == MP_IMPORT_FACT)
        rc = parse_fact(o, now_ms, it, err);
    json_decref(o);
    return rc;
}

int mp_import_parse(const char *body, size_t len, int64_t now_ms, struct mp_import_batch *out,
                    struct mp_import_error *err)
{
    size_t line = 0;
    memset(err, 0, sizeof(*err));
    err->why = "";
    for (size_t at = mp_importjson_bom(body, len); at < len;) {
        const char *nl = memchr(body + at, '\n', len - at);
        size_t n = nl != NULL ? (size_t)(nl - (body + at)) : len - at;
        const char *p = body + at;
        at += n + 1;
        line++;
        if (blank(p, n))
            continue;
        struct mp_import_item it = {.line = line, .trust = MP_TRUST_STATED};
        int rc = parse_line(p, n, now_ms, &it, err);
        if (rc == MP_OK && it.type == MP_IMPORT_SKIPPED) {
            out->skipped[MP_IMPORT_SKIP_EXPORT_LINE]++;
            out->nskipped++; /* counted, not held: nothing is stored of it */
            continue;
        }
        if (rc == MP_OK)
            rc = mp_importitem_push(out, &it);
        if (rc != MP_OK) {
            free(it.text);
            err->line = line;
            return rc;
        }
    }
    return MP_OK;
}
