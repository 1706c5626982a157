/* ChatGPT's conversations.json into the import format's messages
 * (chatgpt.h). The mapping is read into a table of node ids sorted once,
 * so that the walk from current_node up through the parents costs a
 * binary search a step; a walk that meets a node twice is a loop, refused
 * rather than followed. */
#include "import/chatgpt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fnv1a.h"
#include "import/importjson.h"
#include "json/json_scan.h"
#include "status.h"
#include "json/utf8.h"

#define SOURCE "chatgpt"

typedef struct mp_importjson_span span;

struct node {
    char *id; /* owned */
    size_t id_len;
    span v;
    bool kept;   /* on the branch the user kept */
    bool parent; /* some node's parent: no leaf */
};

/* The person's custom instructions, each part the newest the export has:
 * its text (owned; NULL: none) and time. */
struct instr {
    char *text;
    size_t len, line;
    int64_t at_ms;
};

enum { I_ABOUT_ME, I_HOW_TO_RESPOND, I_COUNT };

/* One conversation being read. */
struct conv {
    const char *buf;
    int64_t now_ms;
    struct mp_import_batch *b;
    struct mp_import_error *err;
    struct node *nodes;
    size_t n;
    size_t line;     /* of the conversation's first byte */
    size_t ref;      /* its conv_ref */
    int64_t time_ms; /* its create_time; -1: none */
    int64_t last_ms; /* the time of the last message read; -1: none */
    struct instr instr[I_COUNT];
};

static int fail(struct conv *c, size_t off, const char *why)
{
    c->err->line = mp_importitem_line_at(c->buf, off);
    c->err->why = why;
    return MP_EINVAL;
}

static int cmp_node(const void *pa, const void *pb)
{
    const struct node *a = pa, *b = pb;
    size_t n = a->id_len < b->id_len ? a->id_len : b->id_len;
    int d = memcmp(a->id, b->id, n);
    return d != 0 ? d : (a->id_len > b->id_len) - (a->id_len < b->id_len);
}

static struct node *find(const struct conv *c, const char *id, size_t len)
{
    struct node key = {(char *)id, len, {0, 0}, false, false};
    return c->n > 0 ? bsearch(&key, c->nodes, c->n, sizeof(key), cmp_node) : NULL;
}

static void free_nodes(struct conv *c)
{
    for (size_t i = 0; i < c->n; i++)
        free(c->nodes[i].id);
    free(c->nodes);
    c->nodes = NULL;
    c->n = 0;
}

/* The mapping's nodes, sorted by id. */
static int load_nodes(struct conv *c, span map)
{
    size_t cursor = 0, ns, ne, vs, ve, cap = 0;
    if (map.e <= map.s || c->buf[map.s] != '{')
        return fail(c, map.s, "mapping");
    while (mp_json_next(c->buf, map.s, map.e, &cursor, &ns, &ne, &vs, &ve) == MP_OK) {
        if (!mp_importitem_node_fits(c->b, c->n))
            return MP_ETOOBIG;
        if (c->n == cap) {
            cap = cap == 0 ? 32 : cap * 2;
            struct node *nodes = realloc(c->nodes, cap * sizeof(*nodes));
            if (nodes == NULL)
                return MP_ENOMEM;
            c->nodes = nodes;
        }
        struct node *nd = &c->nodes[c->n];
        memset(nd, 0, sizeof(*nd));
        int rc = mp_importjson_string(c->buf, (span){ns, ne}, &nd->id, &nd->id_len);
        if (rc != MP_OK)
            return rc == MP_ENOMEM ? rc : fail(c, ns, "mapping");
        nd->v = (span){vs, ve};
        c->n++;
    }
    if (c->n > 1)
        qsort(c->nodes, c->n, sizeof(*c->nodes), cmp_node);
    return MP_OK;
}

/* The node a string value (current_node, a parent) names: MP_OK with *out
 * (NULL for null or absent), MP_EINVAL when it names none. */
static int node_of(struct conv *c, span sp, const char *why, struct node **out)
{
    char *id = NULL;
    size_t len = 0;
    *out = NULL;
    if (!mp_importjson_given(c->buf, sp))
        return MP_OK;
    int rc = mp_importjson_string(c->buf, sp, &id, &len);
    if (rc == MP_OK)
        *out = find(c, id, len);
    free(id);
    if (rc == MP_ENOMEM)
        return rc;
    return rc == MP_OK && *out != NULL ? MP_OK : fail(c, sp.s, why);
}

/* A node's message's create_time (-1: none). */
static double node_time(const struct conv *c, const struct node *nd)
{
    static const char *const node_keys[] = {"message"};
    static const char *const keys[] = {"create_time"};
    span msg = {0, 0}, t = {0, 0};
    double v = -1;
    (void)mp_importjson_members(c->buf, nd->v, node_keys, 1, &msg);
    (void)mp_importjson_members(c->buf, msg, keys, 1, &t);
    return mp_importjson_number(c->buf, t, &v) == MP_OK ? v : -1;
}

/* The kept branch's end when the conversation names none (an export of
 * a third-party tool that writes no current_node): the newest leaf, by
 * its message's create_time, the later in the file on a tie. */
static int newest_leaf(struct conv *c, struct node **out)
{
    static const char *const keys[] = {"parent"};
    double best = -2;
    *out = NULL;
    for (size_t i = 0; i < c->n; i++) {
        span parent = {0, 0};
        struct node *p = NULL;
        if (mp_importjson_members(c->buf, c->nodes[i].v, keys, 1, &parent) != MP_OK)
            return fail(c, c->nodes[i].v.s, "mapping");
        int rc = node_of(c, parent, "parent", &p);
        if (rc != MP_OK)
            return rc;
        if (p != NULL)
            p->parent = true;
    }
    for (size_t i = 0; i < c->n; i++) {
        struct node *nd = &c->nodes[i];
        double t = nd->parent ? -2 : node_time(c, nd);
        if (!nd->parent && (*out == NULL || t > best || (t == best && nd->v.s > (*out)->v.s))) {
            *out = nd;
            best = t;
        }
    }
    return *out != NULL || c->n == 0 ? MP_OK : fail(c, c->nodes[0].v.s, "parent"); /* a loop */
}

/* Marks the branch from current_node (else the newest leaf) up to the
 * root; *path gets its nodes root first (malloc'd). */
static int walk(struct conv *c, span current, struct node ***path, size_t *np)
{
    static const char *const keys[] = {"parent"};
    struct node *nd = NULL;
    struct node **p = calloc(c->n > 0 ? c->n : 1, sizeof(*p));
    size_t n = 0;
    int rc = p != NULL ? node_of(c, current, "current_node", &nd) : MP_ENOMEM;
    if (rc == MP_OK && nd == NULL)
        rc = newest_leaf(c, &nd);
    while (rc == MP_OK && nd != NULL) {
        span parent;
        if (nd->kept) {
            rc = fail(c, nd->v.s, "parent"); /* a loop */
            break;
        }
        nd->kept = true;
        p[n++] = nd;
        rc = mp_importjson_members(c->buf, nd->v, keys, 1, &parent);
        if (rc != MP_OK)
            rc = fail(c, nd->v.s, "mapping");
        else
            rc = node_of(c, parent, "parent", &nd);
    }
    if (rc != MP_OK) {
        free(p);
        return rc;
    }
    for (size_t i = 0; i < n / 2; i++) {
        struct node *t = p[i];
        p[i] = p[n - 1 - i];
        p[n - 1 - i] = t;
    }
    *path = p;
    *np = n;
    return MP_OK;
}

/* The message's members. */
enum { M_ID, M_AUTHOR, M_TIME, M_CONTENT, M_META, M_RECIPIENT, M_COUNT };

static const char *const msg_keys[M_COUNT] = {"id",      "author",   "create_time",
                                              "content", "metadata", "recipient"};

/* Why the message is left out by its role, metadata and content type, or
 * MP_IMPORT_SKIP_COUNT when its text parts are read (*role set). */
static enum mp_import_skip classify(const char *buf, const span *m, const char *ctype,
                                    enum mp_role *role)
{
    static const char *const meta_keys[] = {"is_visually_hidden_from_conversation"};
    static const char *const author_keys[] = {"role"};
    span hidden = {0, 0}, r = {0, 0};
    (void)mp_importjson_members(buf, m[M_META], meta_keys, 1, &hidden);
    (void)mp_importjson_members(buf, m[M_AUTHOR], author_keys, 1, &r);
    if (mp_importjson_true(buf, hidden))
        return MP_IMPORT_SKIP_HIDDEN;
    if (mp_importjson_str_is(buf, r, "system"))
        return MP_IMPORT_SKIP_SYSTEM;
    if (mp_importjson_str_is(buf, r, "tool"))
        return MP_IMPORT_SKIP_TOOL;
    if (mp_importjson_str_is(buf, r, "user"))
        *role = MP_ROLE_USER;
    else if (mp_importjson_str_is(buf, r, "assistant"))
        *role = MP_ROLE_ASSISTANT;
    else
        return MP_IMPORT_SKIP_UNSUPPORTED;
    if (*role == MP_ROLE_ASSISTANT && mp_importjson_given(buf, m[M_RECIPIENT]) &&
        !mp_importjson_str_is(buf, m[M_RECIPIENT], "all"))
        return MP_IMPORT_SKIP_TOOL;
    if (strcmp(ctype, "text") == 0 || strcmp(ctype, "multimodal_text") == 0)
        return MP_IMPORT_SKIP_COUNT;
    if (strcmp(ctype, "code") == 0)
        return MP_IMPORT_SKIP_CODE;
    if (strcmp(ctype, "execution_output") == 0)
        return MP_IMPORT_SKIP_TOOL;
    if (strcmp(ctype, "thoughts") == 0 || strcmp(ctype, "reasoning_recap") == 0)
        return MP_IMPORT_SKIP_REASONING;
    if (strcmp(ctype, "model_editable_context") == 0)
        return MP_IMPORT_SKIP_HIDDEN; /* what the model noted, not the person's words */
    return MP_IMPORT_SKIP_UNSUPPORTED;
}

/* Why a part that is no text is left out. */
static enum mp_import_skip part_reason(const char *buf, span part)
{
    static const char *const keys[] = {"content_type"};
    span ct = {0, 0};
    char *t = NULL;
    size_t n = 0;
    enum mp_import_skip why = MP_IMPORT_SKIP_FILE;
    if (mp_importjson_members(buf, part, keys, 1, &ct) != MP_OK ||
        mp_importjson_string(buf, ct, &t, &n) != MP_OK)
        return why;
    if (strcmp(t, "image_asset_pointer") == 0)
        why = MP_IMPORT_SKIP_IMAGE;
    else if (strstr(t, "audio") != NULL || strstr(t, "video") != NULL)
        why = MP_IMPORT_SKIP_AUDIO;
    free(t);
    return why;
}

/* The text parts of content into *text; each other part counted in b.
 * *counted: a part was. */
static int read_parts(struct conv *c, span content, struct mp_importjson_text *text, bool *counted)
{
    static const char *const keys[] = {"parts"};
    static const char *const text_key[] = {"text"};
    span parts = {0, 0};
    size_t cursor = 0, es, ee;
    if (mp_importjson_members(c->buf, content, keys, 1, &parts) != MP_OK)
        return fail(c, content.s, "content");
    if (!mp_importjson_given(c->buf, parts))
        return MP_OK;
    if (c->buf[parts.s] != '[')
        return fail(c, parts.s, "content");
    while (mp_json_next(c->buf, parts.s, parts.e, &cursor, NULL, NULL, &es, &ee) == MP_OK) {
        span part = {es, ee}, t = {0, 0};
        int rc = MP_OK;
        if (c->buf[es] == '"') {
            rc = mp_importjson_text_add(text, c->buf, part);
        } else if (c->buf[es] == '{') {
            (void)mp_importjson_members(c->buf, part, text_key, 1, &t);
            if (t.e > t.s && c->buf[t.s] == '"') {
                rc = mp_importjson_text_add(text, c->buf, t);
            } else {
                c->b->skipped[part_reason(c->buf, part)]++;
                *counted = true;
            }
        }
        if (rc != MP_OK)
            return rc == MP_ENOMEM ? rc : fail(c, es, "content");
    }
    return MP_OK;
}

/* The message's time: its create_time, else the one before's, else the
 * conversation's. */
static int message_time(struct conv *c, span t, int64_t *ms)
{
    double v;
    if (mp_importjson_given(c->buf, t)) {
        if (mp_importjson_number(c->buf, t, &v) != MP_OK || mp_importjson_seconds(v, ms) != MP_OK)
            return fail(c, t.s, "create_time");
    } else if (c->last_ms >= 0) {
        *ms = c->last_ms;
    } else if (c->time_ms >= 0) {
        *ms = c->time_ms;
    } else {
        return fail(c, t.e > 0 ? t.s : 0, "create_time");
    }
    if (mp_importitem_time(*ms, c->now_ms, c->err) != MP_OK) {
        c->err->line = mp_importitem_line_at(c->buf, t.e > 0 ? t.s : 0);
        return MP_EINVAL;
    }
    return MP_OK;
}

/* The content type of the message's content ("" when none). */
static int content_type(struct conv *c, span content, char **out)
{
    static const char *const keys[] = {"content_type"};
    span ct = {0, 0};
    size_t n;
    if (mp_importjson_members(c->buf, content, keys, 1, &ct) != MP_OK)
        return fail(c, content.s, "content");
    int rc = mp_importjson_string(c->buf, ct, out, &n);
    if (rc == MP_EINVAL)
        return fail(c, ct.e > 0 ? ct.s : content.s, "content");
    return rc;
}

/* ---- custom instructions ---- */

/* t[0..*n) cut to what it quotes between ``` (ChatGPT writes its own
 * words around the person's profile and quotes theirs so), when it does;
 * then each run of blanks and control characters (C0, DEL, C1) one space
 * (a fact's value is one line without them: mp_usermem_clean_value's
 * rule), trimmed. */
static void person_words(char *t, size_t *n)
{
    char *a = strstr(t, "```"), *z = a != NULL ? strstr(a + 3, "```") : NULL;
    size_t k = 0;
    if (z != NULL) {
        *n = (size_t)(z - (a + 3));
        memmove(t, a + 3, *n);
    }
    for (size_t i = 0; i < *n; i++) {
        unsigned char ch = (unsigned char)t[i];
        bool c1 = ch == 0xc2 && i + 1 < *n && (unsigned char)t[i + 1] >= 0x80 &&
                  (unsigned char)t[i + 1] <= 0x9f; /* U+0080..U+009F */
        bool blank = ch <= ' ' || ch == 0x7f || c1;
        i += c1;
        if (!blank)
            t[k++] = t[i];
        else if (k > 0 && t[k - 1] != ' ')
            t[k++] = ' ';
    }
    while (k > 0 && t[k - 1] == ' ')
        k--;
    t[k] = '\0';
    *n = k;
}

/* A message of content_type user_editable_context: the person's custom
 * instructions, "about me" and "how to respond", from its metadata's
 * user_context_message_data (about_user_message, about_model_message),
 * else from its content (user_profile, user_instructions). Each kept
 * when it is the newest the export has met. */
static int read_instructions(struct conv *c, const span *m)
{
    static const char *const meta_keys[] = {"user_context_message_data"};
    static const char *const about_keys[I_COUNT] = {"about_user_message", "about_model_message"};
    static const char *const content_keys[I_COUNT] = {"user_profile", "user_instructions"};
    span data = {0, 0}, about[I_COUNT] = {{0, 0}, {0, 0}}, quoted[I_COUNT] = {{0, 0}, {0, 0}};
    int64_t at = 0;
    int rc = message_time(c, m[M_TIME], &at);
    (void)mp_importjson_members(c->buf, m[M_META], meta_keys, 1, &data);
    (void)mp_importjson_members(c->buf, data, about_keys, I_COUNT, about);
    (void)mp_importjson_members(c->buf, m[M_CONTENT], content_keys, I_COUNT, quoted);
    for (int i = 0; rc == MP_OK && i < I_COUNT; i++) {
        bool own = about[i].e > about[i].s && c->buf[about[i].s] == '"';
        char *t = NULL;
        size_t n = 0;
        if (mp_importjson_string(c->buf, own ? about[i] : quoted[i], &t, &n) == MP_ENOMEM)
            return MP_ENOMEM;
        if (t != NULL)
            person_words(t, &n);
        if (t == NULL || n == 0 || (c->instr[i].text != NULL && c->instr[i].at_ms > at)) {
            free(t);
            continue;
        }
        free(c->instr[i].text);
        c->instr[i] = (struct instr){t, n, c->line, at};
    }
    return rc;
}

/* The custom instructions kept, as facts of the person's own words
 * (trust stated, source custom_instructions), keyed about_me and
 * how_to_respond; their id names the text, so that an import of a later
 * export with the same instructions adds nothing. */
static int push_instructions(struct conv *c, int rc)
{
    static const char *const keys[I_COUNT] = {"about_me", "how_to_respond"};
    for (int i = 0; i < I_COUNT; i++) {
        struct instr *in = &c->instr[i];
        if (in->text == NULL || rc != MP_OK) {
            free(in->text);
            in->text = NULL;
            continue;
        }
        struct mp_import_item it = {.type = MP_IMPORT_FACT,
                                    .line = in->line,
                                    .confidence = 1.0,
                                    .trust = MP_TRUST_STATED,
                                    .at_ms = in->at_ms,
                                    .text = in->text,
                                    .source = "custom_instructions",
                                    .has_id = true};
        it.text_len = in->len > MP_ENTITY_VALUE_MAX
                          ? mp_utf8_cut_marked(in->text, in->len, MP_ENTITY_VALUE_MAX)
                          : in->len;
        in->text[it.text_len] = '\0';
        in->text = NULL; /* the batch's now */
        snprintf(it.key, sizeof(it.key), "%s", keys[i]);
        snprintf(it.id, sizeof(it.id), "chatgpt:custom_instructions/%s/%016llx", keys[i],
                 (unsigned long long)mp_fnv1a64(MP_FNV1A64_BASIS, it.text, it.text_len));
        rc = mp_importitem_push(c->b, &it);
    }
    return rc;
}

/* The message of a node on the kept branch: a message item, or counted. */
static int read_message(struct conv *c, span msg)
{
    span m[M_COUNT];
    char *ctype = NULL;
    enum mp_role role = MP_ROLE_USER;
    struct mp_importjson_text text = {0};
    bool counted = false;
    if (mp_importjson_members(c->buf, msg, msg_keys, M_COUNT, m) != MP_OK)
        return fail(c, msg.s, "mapping");
    if (m[M_AUTHOR].e == 0 || c->buf[m[M_AUTHOR].s] != '{')
        return fail(c, msg.s, "author");
    int rc = content_type(c, m[M_CONTENT], &ctype);
    if (rc != MP_OK)
        return rc;
    if (strcmp(ctype, "user_editable_context") == 0) {
        free(ctype);
        return read_instructions(c, m);
    }
    enum mp_import_skip why = classify(c->buf, m, ctype, &role);
    free(ctype);
    if (why != MP_IMPORT_SKIP_COUNT) {
        double v;
        int64_t ms;
        c->b->skipped[why]++;
        if (mp_importjson_number(c->buf, m[M_TIME], &v) == MP_OK &&
            mp_importjson_seconds(v, &ms) == MP_OK)
            c->last_ms = ms; /* the time a later message without one takes */
        return MP_OK;
    }
    struct mp_import_item it = {.type = MP_IMPORT_MESSAGE, .role = role, .line = c->line};
    rc = read_parts(c, m[M_CONTENT], &text, &counted);
    if (rc == MP_OK)
        rc = message_time(c, m[M_TIME], &it.at_ms);
    if (rc == MP_OK)
        mp_importjson_text_take(&text, MP_MESSAGE_CONTENT_MAX, &it.text, &it.text_len);
    mp_importjson_text_free(&text);
    if (rc != MP_OK)
        return rc;
    c->last_ms = it.at_ms;
    if (it.text == NULL) {
        if (!counted)
            c->b->skipped[MP_IMPORT_SKIP_EMPTY]++;
        return MP_OK;
    }
    char *mid = NULL;
    size_t mlen = 0;
    if (mp_importjson_string(c->buf, m[M_ID], &mid, &mlen) == MP_ENOMEM) {
        free(it.text);
        return MP_ENOMEM;
    }
    it.conv_ref = c->ref;
    mp_importitem_set_id(&it, SOURCE ":", &c->b->convs[c->ref - 1], mid, mlen);
    free(mid);
    return mp_importitem_push(c->b, &it);
}

/* A node off the kept branch with a user's or assistant's message is
 * counted as another branch's. */
static void count_other(struct conv *c, const struct node *nd)
{
    static const char *const node_keys[] = {"message"};
    static const char *const keys[] = {"author"};
    static const char *const author_keys[] = {"role"};
    span msg = {0, 0}, author = {0, 0}, role = {0, 0};
    (void)mp_importjson_members(c->buf, nd->v, node_keys, 1, &msg);
    (void)mp_importjson_members(c->buf, msg, keys, 1, &author);
    (void)mp_importjson_members(c->buf, author, author_keys, 1, &role);
    if (mp_importjson_str_is(c->buf, role, "user") ||
        mp_importjson_str_is(c->buf, role, "assistant"))
        c->b->skipped[MP_IMPORT_SKIP_OTHER_BRANCH]++;
}

enum { C_CONV_ID, C_ID, C_MAPPING, C_CURRENT, C_TIME, C_TITLE, C_COUNT };

/* The conversation's id and time. */
static int conv_head(struct conv *c, const span *f)
{
    span idsp = mp_importjson_given(c->buf, f[C_CONV_ID]) ? f[C_CONV_ID] : f[C_ID];
    char *id = NULL;
    size_t len = 0;
    double v;
    int rc = mp_importjson_string(c->buf, idsp, &id, &len);
    if (rc == MP_OK && len == 0)
        rc = MP_EINVAL;
    if (rc == MP_OK)
        rc = mp_importitem_conv(c->b, SOURCE, id, len, &c->ref);
    free(id);
    if (rc != MP_OK)
        return rc == MP_ENOMEM ? rc : fail(c, idsp.e > 0 ? idsp.s : 0, "conversation_id");
    c->time_ms = -1;
    c->last_ms = -1;
    if (mp_importjson_given(c->buf, f[C_TIME]) &&
        (mp_importjson_number(c->buf, f[C_TIME], &v) != MP_OK ||
         mp_importjson_seconds(v, &c->time_ms) != MP_OK))
        return fail(c, f[C_TIME].s, "create_time");
    return MP_OK;
}

static int read_conversation(struct conv *c, span cv)
{
    static const char *const keys[C_COUNT] = {"conversation_id", "id",          "mapping",
                                              "current_node",    "create_time", "title"};
    static const char *const node_keys[] = {"message"};
    span f[C_COUNT];
    struct node **path = NULL;
    size_t np = 0;
    if (mp_importjson_members(c->buf, cv, keys, C_COUNT, f) != MP_OK)
        return fail(c, cv.s, "not a list of conversations");
    mp_importjson_title(c->buf, f[C_TITLE], c->err);
    int rc = conv_head(c, f);
    if (rc == MP_OK)
        rc = load_nodes(c, f[C_MAPPING]);
    if (rc == MP_OK)
        rc = walk(c, f[C_CURRENT], &path, &np);
    for (size_t i = 0; rc == MP_OK && i < np; i++) {
        span msg = {0, 0};
        (void)mp_importjson_members(c->buf, path[i]->v, node_keys, 1, &msg);
        if (!mp_importjson_given(c->buf, msg))
            continue; /* the root holds none */
        c->err->message++;
        rc = read_message(c, msg);
    }
    for (size_t i = 0; rc == MP_OK && i < c->n; i++)
        if (!c->nodes[i].kept)
            count_other(c, &c->nodes[i]);
    free(path);
    free_nodes(c);
    return rc;
}

static int on_conversation(void *arg, span cv, size_t line)
{
    struct conv *c = arg;
    c->line = line;
    return read_conversation(c, cv);
}

int mp_chatgpt_read(const char *buf, size_t len, int64_t now_ms, struct mp_import_batch *out,
                    struct mp_import_error *err)
{
    struct conv c = {.buf = buf, .now_ms = now_ms, .b = out, .err = err};
    int rc = mp_importjson_each(buf, len, true, err, on_conversation, &c);
    return push_instructions(&c, rc);
}
