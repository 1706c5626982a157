/* Reading a chat completion request in place: the messages array, roles,
 * texts and the splice point. No allocation, no copies of the body.
 *
 * The body is validated once by json_scan (mp_json_find_member checks the
 * whole object while it looks for "messages"). Everything after that walks
 * bytes already known to be valid JSON, so the walker here is structural
 * only: strings are skipped with memchr (a quote ends a string unless an odd
 * run of backslashes precedes it), containers by counting brackets outside
 * strings. Validation is not repeated per element, which keeps the messages
 * array at two touches per byte (validate, walk) plus one decode of each
 * text to hash it.
 *
 * Text is produced in one place, walk_content(), and fed to a sink that
 * hashes, copies or compares it, so the hash, the copy and the comparison
 * can never disagree about what a message's text is. */
#include "wire/chatreq.h"

#include <string.h>

#include "json/json_scan.h"
#include "status.h"
#include "json/utf8.h"

/* ---- the text hash (see the header for the frozen definition) ---- */

#define HASH_SEED 0x6d656d70726f7879ull /* "memproxy" */
#define HASH_K1   0x9e3779b97f4a7c15ull
#define HASH_K2   0xff51afd7ed558ccdull
#define HASH_K3   0xc4ceb9fe1a85ec53ull

/* Two lanes over 16-byte blocks: each lane is a multiply chain, and two
 * independent chains run twice as fast as one (hashing was 40% of a
 * scan of a long history with one). */
struct hasher {
    uint64_t a, b;
    uint64_t len;
    unsigned char pend[16]; /* bytes waiting for a full block */
    unsigned npend;
};

static uint64_t rotl64(uint64_t x, unsigned r)
{
    return (x << r) | (x >> (64 - r));
}

static uint64_t load_le64(const unsigned char *p)
{
    uint64_t w;
    memcpy(&w, p, sizeof(w));
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    w = __builtin_bswap64(w);
#endif
    return w;
}

static void hash_init(struct hasher *st, int role)
{
    st->a = HASH_SEED ^ ((uint64_t)(unsigned)(role + 1) * HASH_K1);
    st->b = ~st->a;
    st->len = 0;
    st->npend = 0;
}

static void hash_block(struct hasher *st, const unsigned char *p)
{
    st->a = rotl64((st->a ^ load_le64(p)) * HASH_K2, 29);
    st->b = rotl64((st->b ^ load_le64(p + 8)) * HASH_K3, 31);
}

static void hash_feed(struct hasher *st, const unsigned char *p, size_t n)
{
    st->len += n;
    if (st->npend > 0) {
        size_t k = 16 - st->npend < n ? 16 - st->npend : n;
        memcpy(st->pend + st->npend, p, k);
        st->npend += (unsigned)k;
        p += k;
        n -= k;
        if (st->npend < 16)
            return;
        hash_block(st, st->pend);
        st->npend = 0;
    }
    for (; n >= 16; p += 16, n -= 16)
        hash_block(st, p);
    memcpy(st->pend, p, n);
    st->npend = (unsigned)n;
}

/* The lanes folded and mixed, every block fed. */
static uint64_t hash_fold(const struct hasher *st)
{
    uint64_t k = st->a ^ rotl64(st->b, 32) ^ st->len;
    k ^= k >> 33;
    k *= HASH_K2;
    k ^= k >> 33;
    k *= HASH_K3;
    k ^= k >> 33;
    return k;
}

static uint64_t hash_final(struct hasher *st)
{
    if (st->npend > 0) {
        memset(st->pend + st->npend, 0, 16 - st->npend);
        hash_block(st, st->pend);
    }
    return hash_fold(st);
}

/* A whole text at once: its blocks read where they are, the last one
 * padded in a block of its own (the stream's hash_feed copies every
 * piece's tail to wait for the next piece). */
uint64_t mp_chatreq_hash_text(int role, const char *text, size_t len)
{
    struct hasher st;
    const unsigned char *p = (const unsigned char *)text;
    size_t n = len;
    hash_init(&st, role);
    st.len = len;
    for (; n >= 16; p += 16, n -= 16)
        hash_block(&st, p);
    if (n > 0) {
        unsigned char last[16] = {0};
        memcpy(last, p, n);
        hash_block(&st, last);
    }
    return hash_fold(&st);
}

/* ---- sinks: where decoded text goes ---- */

enum sink_kind { SINK_HASH, SINK_COPY, SINK_EQUAL };

struct sink {
    enum sink_kind kind;
    size_t n; /* bytes put so far */
    struct hasher h;
    char *out;        /* SINK_COPY: room checked by the caller */
    const char *want; /* SINK_EQUAL */
    size_t want_len;
    bool differs;
    size_t *ends; /* where each text part ends (mp_chatreq_message_parts), or NULL */
    size_t max_ends, nparts;
};

/* A text part ended at k->n (walk_content). */
static void sink_part_end(struct sink *k)
{
    if (k->ends != NULL && k->nparts < k->max_ends)
        k->ends[k->nparts] = k->n;
    else if (k->ends != NULL && k->max_ends > 0)
        k->ends[k->max_ends - 1] = k->n; /* the last end kept runs on */
    k->nparts++;
}

static void sink_put(struct sink *k, const char *p, size_t n)
{
    switch (k->kind) {
    case SINK_HASH:
        hash_feed(&k->h, (const unsigned char *)p, n);
        break;
    case SINK_COPY:
        memcpy(k->out + k->n, p, n);
        break;
    case SINK_EQUAL:
        if (k->differs || k->want_len - k->n < n || memcmp(k->want + k->n, p, n) != 0)
            k->differs = true;
        break;
    }
    k->n += n;
}

/* ---- walking JSON that json_scan already validated ---- */

static size_t ws(const char *s, size_t end, size_t i)
{
    while (i < end && (s[i] == ' ' || s[i] == '\n' || s[i] == '\r' || s[i] == '\t'))
        i++;
    return i;
}

/* s[i] == '"'; returns one past the closing quote. */
static size_t skip_string(const char *s, size_t end, size_t i)
{
    size_t j = i + 1, b;
    for (;;) {
        const char *q = memchr(s + j, '"', end - j);
        if (q == NULL)
            return end;
        j = (size_t)(q - s);
        for (b = j; b > i + 1 && s[b - 1] == '\\'; b--)
            ;
        if ((j - b) % 2 == 0)
            return j + 1;
        j++;
    }
}

static size_t skip_value(const char *s, size_t end, size_t i)
{
    size_t depth = 0;
    if (i < end && s[i] == '"')
        return skip_string(s, end, i);
    if (i < end && s[i] != '[' && s[i] != '{') {
        while (i < end && s[i] != ',' && s[i] != ']' && s[i] != '}' && s[i] != ' ' &&
               s[i] != '\n' && s[i] != '\r' && s[i] != '\t')
            i++;
        return i;
    }
    while (i < end) {
        char c = s[i];
        if (c == '"') {
            i = skip_string(s, end, i);
            continue;
        }
        i++;
        if (c == '[' || c == '{')
            depth++;
        else if ((c == ']' || c == '}') && --depth == 0)
            break;
    }
    return i;
}

/* Steps to the next element of a container whose content starts at *pos
 * (just past its opening bracket) and ends before end; for objects pass
 * name so the member's name literal span is returned too. */
static bool next_item(const char *s, size_t end, size_t *pos, size_t name[2], size_t val[2])
{
    size_t i = ws(s, end, *pos);
    if (i >= end || s[i] == ']' || s[i] == '}')
        return false;
    if (s[i] == ',')
        i = ws(s, end, i + 1);
    if (name != NULL) {
        name[0] = i;
        i = skip_string(s, end, i);
        name[1] = i;
        i = ws(s, end, ws(s, end, i) + 1); /* the ':' */
    }
    val[0] = i;
    val[1] = skip_value(s, end, i);
    *pos = val[1];
    return true;
}

/* Whether the string literal s[a..b) decodes to exactly key (no escape
 * in it). An escape is never shorter than what it decodes to, so a
 * literal of key's length is key only byte for byte, and a shorter one
 * never; only a longer one is decoded. */
static bool literal_is(const char *s, size_t a, size_t b, const char *key, size_t key_len)
{
    char buf[32]; /* the longest name asked for: "previous_response_id" */
    size_t n;
    if (b - a < 2 || s[a] != '"' || b - a - 2 < key_len)
        return false;
    if (b - a - 2 == key_len)
        return memcmp(s + a + 1, key, key_len) == 0;
    if (memchr(s + a + 1, '\\', b - a - 2) == NULL)
        return false;
    if (mp_json_string_decode(s, a, b, buf, sizeof(buf), &n) != MP_OK)
        return false;
    return n == key_len && memcmp(buf, key, key_len) == 0;
}

#define LITERAL_IS(s, span, key) literal_is(s, (span)[0], (span)[1], key, sizeof(key) - 1)

struct key {
    const char *text;
    size_t len;
};

#define KEY(k)                                                                                     \
    {                                                                                              \
        k, sizeof(k) - 1                                                                           \
    }

static int key_in(const char *p, size_t n, const struct key *keys, size_t nkeys)
{
    for (size_t k = 0; k < nkeys; k++)
        if (keys[k].len == n && memcmp(p, keys[k].text, n) == 0)
            return (int)k;
    return -1;
}

/* Which of keys (none with a backslash, none longer than 31 bytes) the
 * string literal s[span[0]..span[1]) decodes to, or -1: as literal_is
 * asked of each in turn, the literal's bytes compared as they are and
 * decoded only when an escape is in them (then it is no key as
 * written). */
static int literal_which(const char *s, const size_t span[2], const struct key *keys, size_t nkeys)
{
    char buf[32];
    size_t a = span[0], b = span[1], n;
    if (b - a < 2 || s[a] != '"')
        return -1;
    int k = key_in(s + a + 1, b - a - 2, keys, nkeys);
    if (k >= 0 || memchr(s + a + 1, '\\', b - a - 2) == NULL)
        return k;
    if (mp_json_string_decode(s, a, b, buf, sizeof(buf), &n) != MP_OK)
        return -1;
    return key_in(buf, n, keys, nkeys);
}

static int hex4(const char *s)
{
    int v = 0;
    for (int k = 0; k < 4; k++) {
        char c = s[k];
        int d = c >= '0' && c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;
        v = (v << 4) | d;
    }
    return v;
}

/* Decodes the escape at s[i] == '\\' into the sink; returns its length. A
 * lone surrogate (valid JSON text) becomes U+FFFD. */
static size_t put_escape(const char *s, size_t i, size_t stop, struct sink *k)
{
    static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
    unsigned char u[4];
    size_t used = 6;
    uint32_t cp;
    if (s[i + 1] != 'u') {
        const char *p = memchr(from, s[i + 1], sizeof(from) - 1);
        sink_put(k, p != NULL ? &to[p - from] : "?", 1);
        return 2;
    }
    cp = (uint32_t)hex4(s + i + 2);
    if (cp >= 0xD800 && cp <= 0xDBFF && stop - i >= 12 && s[i + 6] == '\\' && s[i + 7] == 'u') {
        uint32_t lo = (uint32_t)hex4(s + i + 8);
        if (lo >= 0xDC00 && lo <= 0xDFFF) {
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            used = 12;
        }
    }
    if (cp >= 0xD800 && cp <= 0xDFFF)
        cp = 0xFFFD;
    sink_put(k, (const char *)u, mp_utf8_encode(cp, u));
    return used;
}

/* Decodes the string literal s[start..end) into the sink. */
static void walk_string(const char *s, size_t start, size_t end, struct sink *k)
{
    size_t i = start + 1, stop = end - 1;
    while (i < stop) {
        const char *bs = memchr(s + i, '\\', stop - i);
        size_t run = bs == NULL ? stop - i : (size_t)(bs - (s + i));
        if (run > 0) {
            sink_put(k, s + i, run);
            i += run;
            continue;
        }
        i += put_escape(s, i, stop, k);
    }
}

/* A {"type":"text","text":"..."} content part: the text literal's span. */
static bool text_part(const char *s, const size_t part[2], size_t text[2])
{
    size_t pos = part[0] + 1, name[2], val[2];
    bool is_text = false, has = false;
    while (next_item(s, part[1], &pos, name, val)) {
        if (LITERAL_IS(s, name, "type"))
            is_text = LITERAL_IS(s, val, "text") || LITERAL_IS(s, val, "input_text") ||
                      LITERAL_IS(s, val, "output_text");
        else if (LITERAL_IS(s, name, "text") && s[val[0]] == '"') {
            text[0] = val[0];
            text[1] = val[1];
            has = true;
        } else if (LITERAL_IS(s, name, "text")) {
            has = false;
        }
    }
    return is_text && has;
}

/* Feeds the text of the content value s[cs..ce) to the sink; false when it
 * has none. */
static bool walk_content(const char *s, size_t cs, size_t ce, struct sink *k)
{
    size_t pos = cs + 1, part[2], text[2] = {0, 0};
    bool any = false;
    if (s[cs] == '"') {
        walk_string(s, cs, ce, k);
        sink_part_end(k);
        return true;
    }
    if (s[cs] != '[')
        return false;
    while (next_item(s, ce, &pos, NULL, part)) {
        if (s[part[0]] != '{' || !text_part(s, part, text))
            continue;
        if (any) {
            sink_part_end(k);
            sink_put(k, "\n", 1);
        }
        walk_string(s, text[0], text[1], k);
        any = true;
    }
    if (any)
        sink_part_end(k);
    return any;
}

static int role_of(const char *s, const size_t span[2])
{
    static const struct key names[] = {KEY("user"),      KEY("assistant"), KEY("system"),
                                       KEY("developer"), KEY("tool"),      KEY("function")};
    static const int roles[] = {MP_CR_USER,      MP_CR_ASSISTANT, MP_CR_SYSTEM,
                                MP_CR_DEVELOPER, MP_CR_TOOL,      MP_CR_TOOL};
    int k = literal_which(s, span, names, sizeof(names) / sizeof(names[0]));
    return k >= 0 ? roles[k] : MP_CR_OTHER;
}

/* Hashes and measures the text of m, whose role and content are set. */
static void measure_text(const char *s, struct mp_chatreq_msg *m)
{
    struct sink k = {.kind = SINK_HASH};
    hash_init(&k.h, m->role);
    m->has_text = m->content_end > 0 && walk_content(s, m->content_start, m->content_end, &k);
    m->text_hash = hash_final(&k.h);
    m->text_len = k.n;
}

/* Fills m from the object that opens at s[m->start] (within s[..end),
 * validated), its end too: a message with a string "role", or, when items
 * is set (a Responses input item), an item with a string "type" instead.
 * Its members are walked once, the object's end found past the last. */
static int scan_message(const char *s, size_t end, struct mp_chatreq_msg *m, bool items)
{
    static const struct key members[] = {KEY("role"), KEY("type"), KEY("content")};
    size_t pos = m->start + 1, name[2], val[2], role[2] = {0, 0}, type[2] = {0, 0};
    m->content_start = 0;
    m->content_end = 0;
    while (next_item(s, end, &pos, name, val)) {
        int k = literal_which(s, name, members, 3);
        if (k == 0) {
            role[0] = val[0];
            role[1] = val[1];
        } else if (k == 1) {
            type[0] = val[0];
            type[1] = val[1];
        } else if (k == 2) {
            m->content_start = val[0];
            m->content_end = val[1];
        }
    }
    m->end = ws(s, end, pos) + 1; /* past its '}' */
    if (role[1] != 0 && s[role[0]] == '"') {
        m->role = role_of(s, role);
    } else if (items && type[1] != 0 && s[type[0]] == '"') {
        m->role = LITERAL_IS(s, type, "function_call_output") ? MP_CR_TOOL : MP_CR_OTHER;
        m->content_start = m->content_end = 0; /* not a message: no text */
    } else {
        return MP_EINVAL;
    }
    measure_text(s, m);
    return MP_OK;
}

/* The splice point and the turn's new user messages, from the roles. */
static void locate(struct mp_chatreq *r)
{
    size_t lead = 0, k = 0;
    while (lead < r->nmsgs &&
           (r->msgs[lead].role == MP_CR_SYSTEM || r->msgs[lead].role == MP_CR_DEVELOPER))
        lead++;
    r->insert_at = lead > 0 ? r->msgs[lead - 1].end : r->messages_start + 1;
    r->insert_needs_comma_before = lead > 0;
    /* After a message, the body's own ',' already follows insert_at when
     * more messages come; only at the array's start is one needed after. */
    r->insert_needs_comma_after = lead == 0 && r->nmsgs > 0;
    for (size_t i = 0; i < r->nmsgs; i++) {
        if (r->msgs[i].role == MP_CR_ASSISTANT || r->msgs[i].role == MP_CR_TOOL)
            k = i + 1;
    }
    while (k < r->nmsgs && r->msgs[k].role != MP_CR_USER)
        k++;
    r->first_new_user = k;
}

/* Reads the array r->messages_start..end of messages (or of Responses
 * items) into r->msgs[0..cap). */
static int scan_array(const char *body, struct mp_chatreq *r, size_t cap, bool items)
{
    size_t pos = ws(body, r->messages_end, r->messages_start + 1);
    while (pos < r->messages_end && body[pos] != ']') {
        if (body[pos] == ',')
            pos = ws(body, r->messages_end, pos + 1);
        if (body[pos] != '{')
            return MP_EINVAL;
        if (r->nmsgs == cap)
            return MP_ETOOBIG;
        r->msgs[r->nmsgs].start = pos;
        if (scan_message(body, r->messages_end, &r->msgs[r->nmsgs], items) != MP_OK)
            return MP_EINVAL;
        pos = ws(body, r->messages_end, r->msgs[r->nmsgs++].end);
    }
    locate(r);
    return MP_OK;
}

/* The top-level members of body that a scan reads, found in the one
 * validating walk of it (json_scan): names[0] is the turn's array or
 * string ("messages", "input"), which must be there; "tools" is read by
 * every API (core/wire/clienttask.c). v[i]: the value of names[i] (the
 * last when it repeats), {0, 0} when absent. MP_OK or MP_EINVAL. */
static int top_members(const char *body, size_t len, const char *const *names, size_t n,
                       size_t (*v)[2], struct mp_chatreq *r)
{
    if (mp_json_members_in(body, 0, len, names, n, v) != MP_OK || v[0][1] == 0)
        return MP_EINVAL;
    r->messages_start = v[0][0];
    r->messages_end = v[0][1];
    r->object_start = ws(body, len, 0); /* json_scan checked: '{' */
    return MP_OK;
}

/* The chat completions and Messages request: "messages", "tools", and
 * "system" into sys (Messages' own; chat completions have none). */
static int scan_chat(const char *body, size_t len, struct mp_chatreq_msg *msgs, size_t cap,
                     struct mp_chatreq *r, size_t sys[2])
{
    static const char *const names[] = {"messages", "tools", "system"};
    size_t v[3][2];
    if (body == NULL || (msgs == NULL && cap > 0))
        return MP_EINVAL;
    memset(r, 0, sizeof(*r));
    if (top_members(body, len, names, 3, v, r) != MP_OK || body[r->messages_start] != '[')
        return MP_EINVAL;
    r->tools_start = v[1][0];
    r->tools_end = v[1][1];
    sys[0] = v[2][0];
    sys[1] = v[2][1];
    r->msgs = msgs;
    return scan_array(body, r, cap, false);
}

int mp_chatreq_scan(const char *body, size_t len, struct mp_chatreq_msg *msgs, size_t cap,
                    struct mp_chatreq *out)
{
    struct mp_chatreq r;
    size_t sys[2];
    if (out == NULL)
        return MP_EINVAL;
    int rc = scan_chat(body, len, msgs, cap, &r, sys);
    if (rc == MP_OK)
        *out = r;
    return rc;
}

int mp_chatreq_scan_messages(const char *body, size_t len, struct mp_chatreq_msg *msgs, size_t cap,
                             struct mp_chatreq *out)
{
    struct mp_chatreq r;
    size_t sys[2];
    if (out == NULL)
        return MP_EINVAL;
    int rc = scan_chat(body, len, msgs, cap, &r, sys);
    if (rc != MP_OK)
        return rc;
    if (sys[1] > 0) {
        if (body[sys[0]] != '"' && body[sys[0]] != '[')
            return MP_EINVAL;
        r.system_start = sys[0];
        r.system_end = sys[1];
    }
    *out = r;
    return MP_OK;
}

/* Whether a member's value span v (from top_members) is present and not
 * null. */
static bool member_set(const char *body, const size_t v[2])
{
    return v[1] > 0 && !(v[1] - v[0] == 4 && memcmp(body + v[0], "null", 4) == 0);
}

int mp_chatreq_scan_input(const char *body, size_t len, struct mp_chatreq_msg *msgs, size_t cap,
                          struct mp_chatreq *out)
{
    /* the members the wire and the pipeline read, in one walk of the body */
    static const char *const names[] = {"input",        "tools",        "previous_response_id",
                                        "conversation", "instructions", "store"};
    size_t v[6][2];
    struct mp_chatreq r = {0};
    int rc = MP_OK;
    if (body == NULL || out == NULL || (msgs == NULL && cap > 0))
        return MP_EINVAL;
    if (top_members(body, len, names, 6, v, &r) != MP_OK ||
        (body[r.messages_start] != '[' && body[r.messages_start] != '"'))
        return MP_EINVAL;
    r.msgs = msgs;
    r.tools_start = v[1][0];
    r.tools_end = v[1][1];
    r.upstream_state = member_set(body, v[2]) || member_set(body, v[3]);
    /* the API's default is true: only the literal false keeps it */
    r.stored = r.upstream_state || !(v[5][1] - v[5][0] == 5 && body[v[5][0]] == 'f');
    r.instructions_start = v[4][0];
    r.instructions_end = v[4][1];
    if (body[r.messages_start] == '[') {
        rc = scan_array(body, &r, cap, true);
    } else if (cap == 0) {
        rc = MP_ETOOBIG;
    } else { /* a string: the turn's one user message */
        struct mp_chatreq_msg *m = &msgs[0];
        m->start = m->content_start = r.messages_start;
        m->end = m->content_end = r.messages_end;
        m->role = MP_CR_USER;
        measure_text(body, m);
        r.nmsgs = 1;
        r.text_input = true;
        r.first_new_user = 0;
        r.insert_at = r.messages_start;
    }
    if (rc == MP_OK)
        *out = r;
    return rc;
}

int mp_chatreq_message_text(const char *body, const struct mp_chatreq_msg *m, char *out, size_t cap,
                            size_t *out_len)
{
    struct sink k = {.kind = SINK_COPY, .out = out};
    if (!m->has_text)
        return MP_NOTFOUND;
    if (cap < m->text_len)
        return MP_ETOOBIG;
    walk_content(body, m->content_start, m->content_end, &k);
    *out_len = k.n;
    return MP_OK;
}

bool mp_chatreq_text_in_place(const char *body, const struct mp_chatreq_msg *m, const char **text,
                              size_t *len)
{
    size_t s = m->content_start, e = m->content_end;
    if (!m->has_text || body[s] != '"' || memchr(body + s + 1, '\\', e - s - 2) != NULL)
        return false;
    *text = body + s + 1;
    *len = e - s - 2;
    return true;
}

int mp_chatreq_message_parts(const char *body, const struct mp_chatreq_msg *m, char *out,
                             size_t cap, size_t *out_len, size_t *ends, size_t max, size_t *nparts)
{
    struct sink k = {.kind = SINK_COPY, .out = out, .ends = ends, .max_ends = max};
    *nparts = 0;
    if (!m->has_text)
        return MP_NOTFOUND;
    if (cap < m->text_len)
        return MP_ETOOBIG;
    walk_content(body, m->content_start, m->content_end, &k);
    *out_len = k.n;
    *nparts = k.nparts;
    return MP_OK;
}

bool mp_chatreq_message_text_equals(const char *body, const struct mp_chatreq_msg *m,
                                    const char *text, size_t len)
{
    struct sink k = {.kind = SINK_EQUAL, .want = text, .want_len = len};
    if (!m->has_text || m->text_len != len)
        return false;
    walk_content(body, m->content_start, m->content_end, &k);
    return !k.differs && k.n == len;
}

/* The last message before end with text and one of the roles in the mask
 * (bits of enum mp_chatreq_role); req->nmsgs when none. */
static size_t last_with_text(const struct mp_chatreq *req, size_t end, unsigned roles)
{
    for (size_t i = end; i-- > 0;) {
        const struct mp_chatreq_msg *m = &req->msgs[i];
        if (m->has_text && (roles & (1u << m->role)) != 0)
            return i;
    }
    return req->nmsgs;
}

void mp_chatreq_question(const struct mp_chatreq *req, size_t *newest, size_t *previous)
{
    *newest = last_with_text(req, req->nmsgs, 1u << MP_CR_USER);
    *previous = *newest == req->nmsgs
                    ? req->nmsgs
                    : last_with_text(req, *newest, (1u << MP_CR_USER) | (1u << MP_CR_ASSISTANT));
}
