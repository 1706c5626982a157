/* Memory items as JSON. Not the chat hot path: jansson, one object per item. */
#include "memview/memjson.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "recall/lang.h"
#include "wire/convid.h"
#include "status.h"
#include "memory/userkey.h"
#include "json/utf8.h"

/* An item's own time, which 0 may be (an imported line at the epoch):
 * null only before it (never stored). */
static json_t *item_time(int64_t ms)
{
    char buf[48];
    struct tm tm;
    time_t s = (time_t)(ms / 1000);
    if (ms < 0 || gmtime_r(&s, &tm) == NULL)
        return json_null();
    size_t n = strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf + n, sizeof(buf) - n, ".%03dZ", (int)(ms % 1000));
    return json_string(buf);
}

json_t *mp_memjson_time(int64_t ms)
{
    return ms > 0 ? item_time(ms) : json_null();
}

const char *mp_memjson_trust_name(enum mp_trust t)
{
    static const char *const names[] = {"inferred", "imported",  "agent",
                                        "stated",   "corrected", "admin"};
    return (unsigned)t < sizeof(names) / sizeof(names[0]) ? names[t] : "unknown";
}

static const char *role_name(enum mp_role r)
{
    return r == MP_ROLE_USER ? "user" : "assistant";
}

/* text[0..len) as a JSON string. jansson refuses invalid UTF-8; rather than
 * fail a whole export over one bad byte, each ill-formed run becomes
 * U+FFFD. */
static json_t *text_json(const char *text, size_t len)
{
    json_t *s = json_stringn(text != NULL ? text : "", text != NULL ? len : 0);
    if (s != NULL || text == NULL)
        return s;
    char *clean = malloc(3 * len + 1);
    size_t n = 0;
    if (clean == NULL)
        return NULL;
    for (size_t i = 0; i < len;) {
        size_t k = mp_utf8_decode((const unsigned char *)text + i, len - i, NULL);
        if (k > 0 && text[i] != '\0') {
            memcpy(clean + n, text + i, k);
            n += k;
            i += k;
            continue;
        }
        memcpy(clean + n, "\xEF\xBF\xBD", 3);
        n += 3;
        i += k > 0 ? k : mp_utf8_ill_formed_len((const unsigned char *)text + i, len - i);
    }
    s = json_stringn(clean, n);
    free(clean);
    return s;
}

/* A NUL-terminated provenance string; "" is null (unknown or none). */
static json_t *opt_json(const char *s)
{
    return s[0] != '\0' ? text_json(s, strlen(s)) : json_null();
}

/* Sets obj[key] = v (reference stolen). Returns 0, or -1 (v NULL: out of
 * memory), so that builders can or their results together. */
static int set(json_t *obj, const char *key, json_t *v)
{
    return v != NULL && json_object_set_new(obj, key, v) == 0 ? 0 : -1;
}

/* Hands obj back, or frees it and returns NULL when a member failed. */
static json_t *done(json_t *obj, int failed)
{
    if (failed == 0)
        return obj;
    json_decref(obj);
    return NULL;
}

/* The seqs of the messages of the turn a fact was extracted from, as
 * [first, last], or null (a correction, an import, a fact from before
 * seqs were kept). */
static json_t *source_seqs(const struct mp_mem_entity *e)
{
    if (e->source_first_seq == 0)
        return json_null();
    return json_pack("[I, I]", (json_int_t)e->source_first_seq, (json_int_t)e->source_last_seq);
}

json_t *mp_memjson_entity(const struct mp_mem_entity *e, enum mp_memjson_detail d)
{
    json_t *o = json_object();
    if (o == NULL)
        return NULL;
    int f = set(o, "key", text_json(e->key, strlen(e->key)));
    f |= set(o, "value", text_json(e->value, e->value_len));
    f |= set(o, "confidence", json_real(e->confidence));
    f |= set(o, "observed_at", item_time(e->observed_at_ms));
    f |= set(o, "source",
             e->request_id[0] != '\0' ? text_json(e->request_id, strlen(e->request_id))
                                      : json_string(mp_memjson_trust_name(e->trust)));
    f |= set(o, "pii", json_boolean(e->pii));
    f |= set(o, "trust", json_string(mp_memjson_trust_name(e->trust)));
    f |= set(o, "revision", json_integer((json_int_t)e->revision));
    if (d == MP_MEMJSON_ADMIN) {
        f |= set(o, "recorded_at", mp_memjson_time(e->recorded_at_ms));
        f |= set(o, "source_role", json_string(role_name(e->source_role)));
        f |= set(o, "model", opt_json(e->model));
        f |= set(o, "request_id", opt_json(e->request_id));
        f |= set(o, "source_seqs", source_seqs(e));
    }
    return done(o, f);
}

/* v as 16 hex digits, or null when not known. */
static json_t *hex64_json(uint64_t v, bool known)
{
    char hex[17];
    snprintf(hex, sizeof(hex), "%016llx", (unsigned long long)v);
    return known ? json_string(hex) : json_null();
}

/* A message's conversation: its digest as 16 hex digits and its rule's
 * name, both null when not known; its reply's reference, null when none. */
static int set_conversation(json_t *o, const struct mp_mem_message *m)
{
    bool known = m->conv != 0 || m->conv_kind != 0;
    int f = set(o, "conversation", hex64_json(m->conv, known));
    f |= set(o, "reply_ref", hex64_json(m->reply_ref, m->reply_ref != 0));
    return f |
           set(o, "conversation_rule",
               m->conv_kind != 0 ? json_string(mp_convid_rule((enum mp_convid_kind)m->conv_kind))
                                 : json_null());
}

json_t *mp_memjson_message(const struct mp_mem_message *m, enum mp_memjson_detail d)
{
    json_t *o = json_object();
    if (o == NULL)
        return NULL;
    int f = set(o, "role", json_string(role_name(m->role)));
    f |= set(o, "content", text_json(m->content, m->content_len));
    f |= set(o, "at", item_time(m->at_ms));
    if (d == MP_MEMJSON_ADMIN) {
        f |= set(o, "seq", json_integer((json_int_t)m->seq));
        f |= set(o, "recorded_at", mp_memjson_time(m->recorded_at_ms));
        f |= set(o, "request_id", opt_json(m->request_id));
        f |= set(o, "model", opt_json(m->model));
        f |= set(o, "pii", json_boolean(m->pii));
        /* derived, not stored: a message is its role's verbatim words */
        f |= set(o, "source_role", json_string(role_name(m->role)));
        f |= set(o, "trust", json_string(mp_memjson_trust_name(mp_usermem_trust_of_role(m->role))));
        f |= set(o, "confidence", json_real(1.0));
        f |= set_conversation(o, m);
        f |= set(o, "lang", m->lang != 0 ? json_string(mp_lang_code(m->lang)) : json_null());
    }
    return done(o, f);
}

json_t *mp_memjson_summary(const struct mp_mem_summary *s, enum mp_memjson_detail d)
{
    bool has = s != NULL && s->text != NULL;
    json_t *o = json_object();
    if (o == NULL)
        return NULL;
    int f = set(o, "text", has ? text_json(s->text, s->text_len) : json_null());
    f |= set(o, "updated_at", mp_memjson_time(has ? s->updated_at_ms : 0));
    if (d == MP_MEMJSON_ADMIN) {
        f |= set(o, "observed_at", mp_memjson_time(has ? s->observed_at_ms : 0));
        f |= set(o, "request_id", has ? opt_json(s->request_id) : json_null());
        f |= set(o, "model", has ? opt_json(s->model) : json_null());
        f |= set(o, "pii", json_boolean(has && s->pii));
        /* derived, not stored: a summary is the summary model's writing */
        f |= set(o, "recorded_at", mp_memjson_time(has ? s->updated_at_ms : 0));
        f |= set(o, "source_role", has ? json_string(role_name(MP_ROLE_ASSISTANT)) : json_null());
        f |= set(o, "trust",
                 has ? json_string(mp_memjson_trust_name(MP_TRUST_INFERRED)) : json_null());
    }
    return done(o, f);
}

int mp_memjson_set_user(json_t *obj, const char *key, size_t key_len)
{
    const unsigned char *tenant;
    const char *id;
    size_t id_len;
    char hex[MP_USERKEY_TENANT_HEX + 1];
    mp_userkey_split(key, key_len, &tenant, &id, &id_len);
    if (tenant != NULL)
        mp_userkey_tenant_hex(tenant, hex);
    int f = set(obj, "user", text_json(id, id_len));
    f |= set(obj, "tenant", tenant != NULL ? json_string(hex) : json_null());
    return f;
}

/* Appends one item per element to a new array; NULL when out of memory. */
static json_t *buffer_json(const struct mp_usermem *um, enum mp_memjson_detail d)
{
    json_t *a = json_array();
    for (size_t i = 0; a != NULL && um != NULL && i < um->nmessages; i++) {
        json_t *m = mp_memjson_message(&um->messages[i], d);
        if (m == NULL || json_array_append_new(a, m) != 0)
            return done(a, -1);
    }
    return a;
}

static json_t *entities_json(const struct mp_factpage *pg, enum mp_memjson_detail d)
{
    json_t *a = json_array();
    for (size_t i = 0; a != NULL && i < pg->n; i++) {
        json_t *e = mp_memjson_entity(&pg->facts[i], d);
        if (e == NULL || json_array_append_new(a, e) != 0)
            return done(a, -1);
    }
    return a;
}

/* A new object naming the user of key[0..key_len): "user" (never the
 * tenant prefix), and for ADMIN "tenant"; *f is -1 when a member failed.
 * NULL when out of memory. */
static json_t *user_object(const char *key, size_t key_len, enum mp_memjson_detail d, int *f)
{
    const unsigned char *tenant;
    const char *id;
    size_t id_len;
    json_t *o = json_object();
    if (o == NULL)
        return NULL;
    mp_userkey_split(key, key_len, &tenant, &id, &id_len);
    *f = d == MP_MEMJSON_ADMIN ? mp_memjson_set_user(o, key, key_len)
                               : set(o, "user", text_json(id, id_len));
    return o;
}

json_t *mp_memjson_memory(const char *key, size_t key_len, const struct mp_usermem *um,
                          const struct mp_factpage *facts, enum mp_memjson_detail d)
{
    int f = 0;
    json_t *o = user_object(key, key_len, d, &f);
    if (o == NULL)
        return NULL;
    f |= set(o, "summary", mp_memjson_summary(um != NULL ? &um->summary : NULL, d));
    f |= set(o, "buffer", buffer_json(um, d));
    f |= set(o, "entities", entities_json(facts, d));
    f |= set(o, "entities_next_cursor",
             facts->next[0] != '\0' ? json_string(facts->next) : json_null());
    return done(o, f);
}

static const char *event_name(enum mp_history_event e)
{
    static const char *const names[] = {"added",   "superseded", "corrected", "deleted",
                                        "expired", "summarized", "kept",      "filtered"};
    return (unsigned)e < sizeof(names) / sizeof(names[0]) ? names[e] : "unknown";
}

static const char *actor_name(enum mp_actor a)
{
    static const char *const names[] = {"extractor", "summarizer", "user",
                                        "admin",     "retention",  "client_text"};
    return (unsigned)a < sizeof(names) / sizeof(names[0]) ? names[a] : "unknown";
}

static const char *reason_name(enum mp_hist_reason r)
{
    static const char *const names[] = {"",      "newer",       "given",
                                        "admin", "fact_erased", "sources_erased"};
    return (unsigned)r < sizeof(names) / sizeof(names[0]) ? names[r] : "unknown";
}

static const char *item_name(enum mp_item_kind k)
{
    static const char *const names[] = {"fact", "summary", "messages"};
    return (unsigned)k < sizeof(names) / sizeof(names[0]) ? names[k] : "unknown";
}

/* The fact members of a history entry. */
static int history_fact(json_t *o, const struct mp_mem_entity *e)
{
    int f = set(o, "key", text_json(e->key, strlen(e->key)));
    f |= set(o, "revision", json_integer((json_int_t)e->revision));
    f |= set(o, "trust", json_string(mp_memjson_trust_name(e->trust)));
    f |= set(o, "confidence", json_real(e->confidence));
    f |= set(o, "observed_at", mp_memjson_time(e->observed_at_ms));
    f |= set(o, "recorded_at", mp_memjson_time(e->recorded_at_ms));
    f |= set(o, "source_role", json_string(role_name(e->source_role)));
    f |= set(o, "request_id", opt_json(e->request_id));
    f |= set(o, "model", opt_json(e->model));
    f |= set(o, "pii", json_boolean(e->pii));
    if (e->value != NULL && e->value_len > 0)
        f |= set(o, "value", text_json(e->value, e->value_len));
    return f;
}

json_t *mp_memjson_history_item(const struct mp_history_item *h)
{
    json_t *o = json_object();
    if (o == NULL)
        return NULL;
    int f = set(o, "seq", json_integer((json_int_t)h->seq));
    f |= set(o, "event", json_string(event_name(h->event)));
    f |= set(o, "actor", json_string(actor_name(h->actor)));
    f |= set(o, "item", json_string(item_name(h->item)));
    f |= set(o, "at", mp_memjson_time(h->at_ms));
    if (h->reason != MP_REASON_NONE) /* why, where the event and actor do not say */
        f |= set(o, "reason", json_string(reason_name(h->reason)));
    if (h->item == MP_ITEM_FACT) {
        f |= history_fact(o, &h->entity);
    } else if (h->item == MP_ITEM_SUMMARY) {
        f |= set(o, "request_id", opt_json(h->entity.request_id));
        f |= set(o, "model", opt_json(h->entity.model));
        if (h->event == MP_HIST_FILTERED) /* the sentences that left it */
            f |= set(o, "count", json_integer((json_int_t)h->count));
    } else {
        f |= set(o, "count", json_integer((json_int_t)h->count));
    }
    return done(o, f);
}

json_t *mp_memjson_user_info(const struct mp_user_info *u)
{
    json_t *o = json_object();
    if (o == NULL)
        return NULL;
    int f = mp_memjson_set_user(o, u->user, u->user_len);
    f |= set(o, "facts", json_integer((json_int_t)u->nfacts));
    f |= set(o, "messages", json_integer((json_int_t)u->nmessages));
    f |= set(o, "archived", json_integer((json_int_t)u->narchive));
    f |= set(o, "summary", json_boolean(u->summary));
    f |= set(o, "updated_at", mp_memjson_time(u->updated_at_ms));
    return done(o, f);
}

int mp_memjson_parse_value(const char *body, size_t len, char *out, size_t *out_len)
{
    json_error_t err;
    json_t *doc = len > 0 ? json_loadb(body, len, JSON_REJECT_DUPLICATES, &err) : NULL;
    json_t *v = json_is_object(doc) ? json_object_get(doc, "value") : NULL;
    int rc = MP_EINVAL;
    size_t n = 0;
    const char *s = json_is_string(v)
                        ? mp_usermem_clean_value(json_string_value(v), json_string_length(v), &n)
                        : NULL;
    if (s != NULL) {
        memcpy(out, s, n);
        out[n] = '\0';
        *out_len = n;
        rc = MP_OK;
    }
    json_decref(doc);
    return rc;
}

json_t *mp_memjson_settings(const char *key, size_t key_len, enum mp_user_mode mode,
                            int64_t set_at_ms, enum mp_memjson_detail d)
{
    int f = 0;
    json_t *o = user_object(key, key_len, d, &f);
    if (o == NULL)
        return NULL;
    f |= set(o, "mode", json_string(mp_usermode_name(mode)));
    f |= set(o, "updated_at", set_at_ms != 0 ? mp_memjson_time(set_at_ms) : json_null());
    return done(o, f);
}

int mp_memjson_parse_mode(const char *body, size_t len, enum mp_user_mode *mode)
{
    json_error_t err;
    json_t *doc = len > 0 ? json_loadb(body, len, JSON_REJECT_DUPLICATES, &err) : NULL;
    json_t *v = json_is_object(doc) ? json_object_get(doc, "mode") : NULL;
    int rc = json_is_string(v)
                 ? mp_usermode_parse(json_string_value(v), json_string_length(v), mode)
                 : MP_EINVAL;
    json_decref(doc);
    return rc;
}

json_t *mp_memjson_add_archive(json_t *doc, json_t *page, const char *next)
{
    if (doc == NULL || page == NULL || json_object_set_new(doc, "archive", page) != 0 ||
        json_object_set_new(doc, "archive_next_cursor",
                            next[0] != '\0' ? json_string(next) : json_null()) != 0) {
        if (doc == NULL || json_object_get(doc, "archive") != page)
            json_decref(page);
        json_decref(doc);
        return NULL;
    }
    return doc;
}

json_t *mp_memjson_removed(const struct mp_erased *e)
{
    return json_pack("{s:{s:I, s:I, s:I}}", "removed", "facts", (json_int_t)e->facts, "messages",
                     (json_int_t)e->messages, "summaries", (json_int_t)e->summaries);
}
