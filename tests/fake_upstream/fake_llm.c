/* The fake upstream's "model" for memory jobs. It answers memproxy's
 * extraction and summarization prompts (core/memory/memprompt.c) by pattern
 * matching, deterministically, so memory can be tested end to end with no
 * API key. It does not try to be clever: a fact is found only when the user
 * states it in one of the documented forms.
 *
 * Requests are parsed with jansson, but only when the shape found by the
 * server's member scan says the body may be a job: the benchmark's chat
 * requests must not pay for a JSON parse, nor for a search of their text. */
#include "fake_llm.h"

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static const char *const mode_names[] = {"ok",         "status500", "invalid", "fenced",
                                         "wrongtypes", "slow",      "stall",   "status429"};

/* memproxy's injected memory block starts so (core/recall/memblock.h, MP_MEMBLOCK_INTRO):
 * it mentions the summary, but a chat request that carries it is no job. */
static const char memory_block_intro[] = "Notes from earlier conversations";

const char *fake_llm_mode_name(enum fake_mode m)
{
    return mode_names[m];
}

int fake_llm_mode_parse(const char *s, size_t n, enum fake_mode *out)
{
    for (size_t i = 0; i < sizeof(mode_names) / sizeof(mode_names[0]); i++) {
        if (strlen(mode_names[i]) == n && strncasecmp(mode_names[i], s, n) == 0) {
            *out = (enum fake_mode)i;
            return 0;
        }
    }
    return -1;
}

static char lower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

static bool is_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

/* s[0..n) starts with lit, ASCII letters compared case-insensitively. */
static bool ci_prefix(const char *s, size_t n, const char *lit)
{
    size_t l = strlen(lit);
    if (l > n) {
        return false;
    }
    for (size_t i = 0; i < l; i++) {
        if (lower(s[i]) != lower(lit[i])) {
            return false;
        }
    }
    return true;
}

/* Offset of the first case-insensitive lit in s[0..n), or n. */
static size_t ci_find(const char *s, size_t n, const char *lit)
{
    for (size_t i = 0; i < n; i++) {
        if (ci_prefix(s + i, n - i, lit)) {
            return i;
        }
    }
    return n;
}

static void trim(const char **s, size_t *n)
{
    while (*n > 0 && is_space(**s)) {
        (*s)++;
        (*n)--;
    }
    while (*n > 0 && is_space((*s)[*n - 1])) {
        (*n)--;
    }
}

/* ---- extraction ---------------------------------------------------------- */

enum pkind { K_PLAIN, K_TOOLS, K_PII, K_FAVORITE, K_REMEMBER };

struct pattern {
    const char *prefix;
    const char *key;
    enum pkind kind;
};

/* Tried in this order at every word start; the first that yields a fact wins
 * and its clause is consumed. */
static const struct pattern patterns[] = {
    {"my name is ", "name", K_PLAIN},
    {"i am building ", "project", K_PLAIN},
    {"i'm building ", "project", K_PLAIN},
    {"i\xE2\x80\x99m building ", "project", K_PLAIN},
    {"i am using ", "tools", K_TOOLS},
    {"i'm using ", "tools", K_TOOLS},
    {"i\xE2\x80\x99m using ", "tools", K_TOOLS},
    {"i use ", "tools", K_TOOLS},
    {"my vector store is ", "vector_store", K_PLAIN},
    {"vector store:", "vector_store", K_PLAIN},
    {"i live in ", "city", K_PLAIN},
    {"my favorite ", NULL, K_FAVORITE},
    {"my favourite ", NULL, K_FAVORITE},
    {"my email is ", "email", K_PII},
    {"remember that ", NULL, K_REMEMBER},
};

struct facts {
    struct fake_buf *out;
    struct fake_buf key; /* scratch for built keys */
    bool wrongtypes;
    size_t n;
    unsigned turn; /* the batch's "Turn <k>:" the lines are in; 0: none */
};

/* Where the clause starting at i ends: ',' ';' a line end, " and ", or a
 * '.', '!' or '?' not followed by a letter or digit ("example.com",
 * "Node.js" and "3.5" stay whole). */
static size_t clause_end(const char *s, size_t n, size_t i)
{
    for (; i < n; i++) {
        char c = s[i];
        if (c == ',' || c == ';' || c == '\n' || c == '\r') {
            return i;
        }
        if ((c == '.' || c == '!' || c == '?') && (i + 1 == n || !is_alnum(s[i + 1]))) {
            return i;
        }
        if (c == ' ' && ci_prefix(s + i, n - i, " and ")) {
            return i;
        }
    }
    return n;
}

static void put_fact(struct facts *f, const char *key, size_t klen, const char *v, size_t vlen,
                     bool pii)
{
    bool unsure = ci_find(v, vlen, "maybe") < vlen || ci_find(v, vlen, "probably") < vlen;
    const char *conf = unsure ? "0.4" : "0.9";
    struct fake_buf *o = f->out;
    fake_buf_puts(o, f->n++ == 0 ? "{" : ",{");
    if (f->turn > 0) {
        char num[32];
        snprintf(num, sizeof(num), "\"turn\":%u,", f->turn);
        fake_buf_puts(o, num);
    }
    fake_buf_puts(o, "\"key\":");
    fake_buf_put_json_string(o, key, klen);
    fake_buf_puts(o, ",\"value\":");
    if (f->wrongtypes) {
        fake_buf_puts(o, "42,\"confidence\":\"");
        fake_buf_puts(o, conf);
        fake_buf_puts(o, "\"");
    } else {
        fake_buf_put_json_string(o, v, vlen);
        fake_buf_puts(o, ",\"confidence\":");
        fake_buf_puts(o, conf);
    }
    fake_buf_puts(o, pii ? ",\"pii\":true}" : "}");
}

/* "favorite_" + x in snake case (ASCII letters and digits kept, lower case). */
static void favorite_key(struct fake_buf *k, const char *x, size_t n)
{
    bool sep = false;
    k->len = 0;
    fake_buf_puts(k, "favorite_");
    for (size_t i = 0; i < n; i++) {
        if (!is_alnum(x[i])) {
            sep = true;
            continue;
        }
        if (sep && k->len > 9) {
            fake_buf_puts(k, "_");
        }
        sep = false;
        char c = lower(x[i]);
        fake_buf_put(k, &c, 1);
    }
}

/* "X is Y" patterns: key from X, value Y; false when the clause has no " is ". */
static bool put_is_fact(struct facts *f, const struct pattern *p, const char *s, size_t vs,
                        size_t ve)
{
    size_t at = vs + ci_find(s + vs, ve - vs, " is ");
    if (at == ve) {
        return false;
    }
    const char *x = s + vs;
    size_t xn = at - vs;
    const char *y = s + at + 4;
    size_t yn = ve - at - 4;
    trim(&x, &xn);
    trim(&y, &yn);
    if (xn == 0 || yn == 0) {
        return false;
    }
    if (p->kind == K_REMEMBER) {
        put_fact(f, x, xn, y, yn, false);
        return true;
    }
    favorite_key(&f->key, x, xn);
    if (f->key.len == 9 || f->key.oom) {
        return false;
    }
    put_fact(f, f->key.p, f->key.len, y, yn, false);
    return true;
}

/* Tries every pattern at s[i]; returns where scanning goes on (i: none matched). */
static size_t try_patterns(struct facts *f, const char *s, size_t n, size_t i)
{
    for (size_t k = 0; k < sizeof(patterns) / sizeof(patterns[0]); k++) {
        const struct pattern *p = &patterns[k];
        if (!ci_prefix(s + i, n - i, p->prefix)) {
            continue;
        }
        size_t vs = i + strlen(p->prefix);
        size_t ve = clause_end(s, n, vs);
        if (p->kind == K_FAVORITE || p->kind == K_REMEMBER) {
            if (put_is_fact(f, p, s, vs, ve)) {
                return ve;
            }
            continue;
        }
        const char *v = s + vs;
        size_t vn = ve - vs;
        trim(&v, &vn);
        if (vn == 0) {
            continue;
        }
        const char *key = p->key;
        if (p->kind == K_TOOLS) {
            size_t a = ci_find(v, vn, " as my vector store");
            size_t b = ci_find(v, vn, " as a vector store");
            size_t at = a < b ? a : b;
            if (at < vn && at > 0) {
                key = "vector_store";
                vn = at;
                trim(&v, &vn);
            }
        }
        put_fact(f, key, strlen(key), v, vn, p->kind == K_PII);
        return ve;
    }
    return i;
}

/* Finds the facts in one line of the user's text. */
static void scan_user_line(struct facts *f, const char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        if (i == 0 || !is_alnum(s[i - 1])) {
            size_t next = try_patterns(f, s, n, i);
            if (next > i) {
                i = next;
                continue;
            }
        }
        i++;
    }
}

static size_t line_end(const char *t, size_t n, size_t i)
{
    const char *nl = memchr(t + i, '\n', n - i);
    return nl != NULL ? (size_t)(nl - t) : n;
}

/* A transcript line's speaker: 1 user, 2 assistant, 0 neither; *skip is the
 * length of "user: " / "assistant: ". */
static int speaker(const char *l, size_t n, size_t *skip)
{
    int who = 0;
    size_t k = 0;
    if (n >= 5 && memcmp(l, "user:", 5) == 0) {
        who = 1;
        k = 5;
    } else if (n >= 10 && memcmp(l, "assistant:", 10) == 0) {
        who = 2;
        k = 10;
    }
    *skip = k + (k > 0 && k < n && l[k] == ' ');
    return who;
}

/* A batch prompt's "Turn <k>:" line: k (1 or more), else 0. */
static unsigned turn_line(const char *l, size_t n)
{
    unsigned k = 0;
    size_t i = 5;
    if (n < 7 || memcmp(l, "Turn ", 5) != 0) {
        return 0;
    }
    while (i < n && l[i] >= '0' && l[i] <= '9' && k < 100000) {
        k = k * 10 + (unsigned)(l[i++] - '0');
    }
    return i + 1 == n && l[i] == ':' ? k : 0;
}

void fake_llm_extract(const char *t, size_t n, bool wrongtypes, struct fake_buf *out)
{
    struct facts f = {.out = out, .wrongtypes = wrongtypes};
    bool transcript = false;
    size_t skip = 0;
    for (size_t i = 0; i < n && !transcript; i = line_end(t, n, i) + 1) {
        transcript = speaker(t + i, n - i, &skip) != 0;
    }
    fake_buf_puts(out, "{\"entities\":[");
    int who = transcript ? 0 : 1; /* no speaker lines: it is all the user's */
    for (size_t i = 0; i < n;) {
        size_t e = line_end(t, n, i);
        const char *l = t + i;
        size_t len = e - i;
        int w = transcript ? speaker(l, len, &skip) : 0;
        unsigned k = transcript ? turn_line(l, len) : 0;
        if (k > 0) {
            f.turn = k;
            who = 0;
        } else if (w != 0) {
            who = w;
        } else if (transcript && len >= 2 && l[0] == ' ' && l[1] == ' ') {
            skip = 2; /* continuation of the same speaker */
        } else if (transcript) {
            who = 0;
        } else {
            skip = 0;
        }
        if (who == 1) {
            scan_user_line(&f, l + skip, len - skip);
        }
        i = e + 1;
    }
    fake_buf_puts(out, "]}");
    fake_buf_free(&f.key);
}

/* ---- summarization ------------------------------------------------------- */

struct summary {
    struct fake_buf *out;
    struct fake_buf tmp;
    size_t items;
};

/* Appends the first sentence of s[0..n) (blanks collapsed, at most
 * FAKE_SUMMARY_ITEM_MAX characters, cut after a word) as the next item. */
static void add_item(struct summary *sm, const char *s, size_t n)
{
    struct fake_buf *t = &sm->tmp;
    t->len = 0;
    for (size_t i = 0; i < n; i++) {
        if (!is_space(s[i])) {
            fake_buf_put(t, s + i, 1);
        } else if (t->len > 0 && t->p[t->len - 1] != ' ') {
            fake_buf_put(t, " ", 1);
        }
    }
    if (t->oom) {
        return;
    }
    size_t len = t->len;
    for (size_t i = 0; i < t->len; i++) {
        char c = t->p[i];
        if ((c == '.' || c == '!' || c == '?') && (i + 1 == t->len || t->p[i + 1] == ' ')) {
            len = i + 1;
            break;
        }
    }
    size_t chars = 0;
    for (size_t i = 0; i < len; i++) {
        if (((unsigned char)t->p[i] & 0xc0) != 0x80 && ++chars > FAKE_SUMMARY_ITEM_MAX) {
            const char *sp = t->p[i] == ' ' ? t->p + i : memrchr(t->p, ' ', i);
            len = sp != NULL ? (size_t)(sp - t->p) : i; /* at a word end when there is one */
            break;
        }
    }
    while (len > 0 && t->p[len - 1] == ' ') {
        len--;
    }
    if (len == 0) {
        return;
    }
    fake_buf_puts(sm->out, sm->items++ == 0 ? "" : " / ");
    fake_buf_put(sm->out, t->p, len);
}

/* The previous summary's items: split on " / ", after a leading "Summary:"
 * (what this fake wrote last time), so folding keeps earlier facts. */
static void add_previous(struct summary *sm, const char *s, size_t n)
{
    trim(&s, &n);
    if (n == 0 || (n == 6 && memcmp(s, "(none)", 6) == 0)) {
        return;
    }
    if (ci_prefix(s, n, "summary:")) {
        s += 8;
        n -= 8;
    }
    while (n > 0) {
        size_t at = ci_find(s, n, " / ");
        add_item(sm, s, at);
        at = at < n ? at + 3 : n;
        s += at;
        n -= at;
    }
}

/* Each line is an item; lines starting with two blanks continue the one
 * above. The prompt's language line ("The user writes Japanese: ...",
 * core/memory/memprompt.c) is an instruction, no item: a model follows it
 * and does not summarize it. */
static void add_transcript(struct summary *sm, const char *t, size_t n)
{
    static const char lang_line[] = "The user writes ";
    size_t open = 0;
    size_t end = 0;
    bool is_open = false;
    for (size_t i = 0; i < n;) {
        size_t e = line_end(t, n, i);
        bool cont = e - i >= 2 && t[i] == ' ' && t[i + 1] == ' ';
        if (e - i >= sizeof(lang_line) - 1 &&
            memcmp(t + i, lang_line, sizeof(lang_line) - 1) == 0) {
            i = e + 1;
            continue;
        }
        if (cont && is_open) {
            end = e;
        } else {
            if (is_open) {
                add_item(sm, t + open, end - open);
            }
            open = i;
            end = e;
            is_open = true;
        }
        i = e + 1;
    }
    if (is_open) {
        add_item(sm, t + open, end - open);
    }
}

/* Cuts out[base..) to max_words blank-separated words, without a dangling "/". */
static void cut_words(struct fake_buf *o, size_t base, unsigned max_words)
{
    unsigned words = 0;
    size_t i = base;
    size_t last_start = base;
    while (i < o->len) {
        while (i < o->len && o->p[i] == ' ') {
            i++;
        }
        if (i == o->len) {
            break;
        }
        last_start = i;
        while (i < o->len && o->p[i] != ' ') {
            i++;
        }
        if (++words == max_words) {
            o->len = i;
            break;
        }
    }
    if (words == max_words && words > 1 && o->len - last_start == 1 && o->p[last_start] == '/') {
        o->len = last_start;
        while (o->len > base && o->p[o->len - 1] == ' ') {
            o->len--;
        }
    }
}

void fake_llm_summarize(const char *user, size_t len, unsigned max_words, struct fake_buf *out)
{
    static const char prev_head[] = "Previous summary:";
    static const char new_head[] = "\n\nNew messages:";
    struct summary sm = {.out = out};
    size_t base = out->len;
    const char *s = user;
    size_t n = len;
    trim(&s, &n);
    fake_buf_puts(out, "Summary: ");
    if (n >= sizeof(prev_head) - 1 && memcmp(s, prev_head, sizeof(prev_head) - 1) == 0) {
        s += sizeof(prev_head) - 1;
        n -= sizeof(prev_head) - 1;
        size_t at = ci_find(s, n, new_head);
        add_previous(&sm, s, at);
        at = at < n ? at + sizeof(new_head) - 1 : n;
        s += at;
        n -= at;
    }
    add_transcript(&sm, s, n);
    if (sm.items == 0) {
        fake_buf_puts(out, "nothing to remember yet.");
    }
    cut_words(out, base, max_words);
    fake_buf_free(&sm.tmp);
}

/* A batch prompt that asks for a fold ("Previous summary:" and numbered
 * turns) rewritten as a summary prompt's user text: the previous summary,
 * then "New messages:" and the turns' lines without their "Turn <k>:"
 * lines and blank lines. */
static void batch_as_summary(const char *t, size_t n, struct fake_buf *out)
{
    size_t first = ci_find(t, n, "\n\nTurn 1:");
    size_t at = first < n ? first + 2 : 0;
    fake_buf_put(out, t, first < n ? first : 0);
    fake_buf_puts(out, "\n\nNew messages:\n");
    for (size_t i = at; i < n;) {
        size_t e = line_end(t, n, i);
        if (e > i && turn_line(t + i, e - i) == 0) {
            fake_buf_put(out, t + i, e - i);
            fake_buf_puts(out, "\n");
        }
        i = e + 1;
    }
}

/* ---- search keys --------------------------------------------------------- */

/* Words (whole, any case) and the search keys they give: a fixed table,
 * so the keys are deterministic. Not a model: no recall gain may be
 * claimed from them (docs/fake-upstream.md). */
static const struct {
    const char *word;
    const char *keys[2];
} key_words[] = {
    {"daughter", {"child", "family"}},
    {"son", {"child", "family"}},
    {"kid", {"child", "family"}},
    {"kids", {"child", "family"}},
    {"recital", {"music", "performance"}},
    {"concert", {"music", "performance"}},
    {"piano", {"music", "instrument"}},
    {"violin", {"music", "instrument"}},
    {"guitar", {"music", "instrument"}},
    {"dance", {"dance", "hobby"}},
    {"dancing", {"dance", "hobby"}},
    {"job", {"work", "career"}},
    {"boss", {"work", "career"}},
    {"dog", {"pet", "animal"}},
    {"cat", {"pet", "animal"}},
    {"puppy", {"pet", "animal"}},
    {"trip", {"travel", NULL}},
    {"flight", {"travel", NULL}},
    {"vacation", {"travel", NULL}},
    {"doctor", {"health", NULL}},
};

#define KEYS_PER_TURN 6

struct turn_keys {
    const char *k[KEYS_PER_TURN];
    size_t n;
};

static void add_key(struct turn_keys *tk, const char *key)
{
    for (size_t i = 0; i < tk->n; i++) {
        if (strcmp(tk->k[i], key) == 0) {
            return;
        }
    }
    if (tk->n < KEYS_PER_TURN) {
        tk->k[tk->n++] = key;
    }
}

/* The keys of the words of s[0..n). */
static void line_keys(struct turn_keys *tk, const char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        while (i < n && !is_alnum(s[i])) {
            i++;
        }
        size_t w = i;
        while (i < n && is_alnum(s[i])) {
            i++;
        }
        for (size_t k = 0; k < sizeof(key_words) / sizeof(key_words[0]); k++) {
            size_t len = strlen(key_words[k].word);
            if (i - w == len && ci_prefix(s + w, len, key_words[k].word)) {
                add_key(tk, key_words[k].keys[0]);
                if (key_words[k].keys[1] != NULL) {
                    add_key(tk, key_words[k].keys[1]);
                }
            }
        }
    }
}

static void put_turn_keys(struct fake_buf *out, unsigned turn, const struct turn_keys *tk,
                          bool *first)
{
    char num[48];
    if (turn == 0 || tk->n == 0) {
        return;
    }
    snprintf(num, sizeof(num), "%s{\"turn\":%u,\"keys\":[", *first ? "" : ",", turn);
    fake_buf_puts(out, num);
    for (size_t i = 0; i < tk->n; i++) {
        fake_buf_puts(out, i > 0 ? "," : "");
        fake_buf_put_json_string(out, tk->k[i], strlen(tk->k[i]));
    }
    fake_buf_puts(out, "]}");
    *first = false;
}

/* Appends ,"keys":[...] to the answer object in out (its closing brace
 * moved to the end): for each "Turn <k>:" of transcript t[0..n), the
 * keys of its user lines (continuation lines included). */
static void add_keys(const char *t, size_t n, struct fake_buf *out)
{
    struct turn_keys tk = {{NULL}, 0};
    unsigned turn = 0;
    bool first = true, in_user = false;
    if (out->len > 0) {
        out->len--;
    }
    fake_buf_puts(out, ",\"keys\":[");
    for (size_t i = 0; i < n;) {
        size_t e = line_end(t, n, i), skip = 0;
        unsigned k = turn_line(t + i, e - i);
        int who = speaker(t + i, e - i, &skip);
        if (k > 0) {
            put_turn_keys(out, turn, &tk, &first);
            tk.n = 0;
            turn = k;
            in_user = false;
        } else if (who != 0) {
            in_user = who == 1;
        } else if (!(e - i >= 2 && t[i] == ' ' && t[i + 1] == ' ')) {
            in_user = false;
        }
        if (in_user && turn > 0) {
            line_keys(&tk, t + i + skip, e - i - skip);
        }
        i = e + 1;
    }
    put_turn_keys(out, turn, &tk, &first);
    fake_buf_puts(out, "]}");
}

/* The extraction answer of a batch that asks for a fold: the entities,
 * and "summary" as a summary job would write it. */
static void extract_with_fold(const char *t, size_t n, bool wrongtypes, unsigned max_words,
                              struct fake_buf *out)
{
    struct fake_buf as = {0};
    struct fake_buf sum = {0};
    fake_llm_extract(t, n, wrongtypes, out);
    batch_as_summary(t, n, &as);
    fake_llm_summarize(as.p, as.len, max_words, &sum);
    if (out->len > 0) {
        out->len--; /* the closing brace */
    }
    fake_buf_puts(out, ",\"summary\":");
    fake_buf_put_json_string(out, sum.p, sum.len);
    fake_buf_puts(out, "}");
    if (as.oom || sum.oom) {
        out->oom = true;
    }
    fake_buf_free(&as);
    fake_buf_free(&sum);
}

/* "at most N words" in the system prompt, else the default. */
static unsigned word_limit(const char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        size_t at = i + ci_find(s + i, n - i, "at most ");
        if (at == n) {
            break;
        }
        size_t d = at + 8;
        unsigned long v = 0;
        while (d < n && s[d] >= '0' && s[d] <= '9' && v <= 100000) {
            v = v * 10 + (unsigned long)(s[d] - '0');
            d++;
        }
        if (d > at + 8 && v >= 1 && v <= 100000 && ci_prefix(s + d, n - d, " words")) {
            return (unsigned)v;
        }
        i = at + 1;
    }
    return FAKE_SUMMARY_WORDS;
}

/* ---- requests ------------------------------------------------------------ */

/* The text of a content (a message's, or Messages' "system"): a string,
 * or the "text" of its parts. */
static void content_text(const json_t *c, struct fake_buf *out)
{
    if (json_is_string(c)) {
        fake_buf_put(out, json_string_value(c), json_string_length(c));
        return;
    }
    size_t i;
    const json_t *part;
    json_array_foreach(c, i, part)
    {
        const json_t *t = json_object_get(part, "text");
        if (json_is_string(t)) {
            fake_buf_puts(out, out->len > 0 ? "\n" : "");
            fake_buf_put(out, json_string_value(t), json_string_length(t));
        }
    }
}

static void message_text(const json_t *msg, struct fake_buf *out)
{
    content_text(json_object_get(msg, "content"), out);
}

static bool role_is(const json_t *msg, const char *role)
{
    const json_t *r = json_object_get(msg, "role");
    return json_is_string(r) && strcmp(json_string_value(r), role) == 0;
}

/* A summarization prompt: the first message, the only system one, mentions
 * "summary" and is not memproxy's memory block. */
static bool is_summary_prompt(const json_t *msgs, struct fake_buf *system)
{
    size_t i;
    const json_t *m;
    size_t systems = 0;
    json_array_foreach(msgs, i, m)
    {
        systems += role_is(m, "system");
    }
    if (systems != 1 || !role_is(json_array_get(msgs, 0), "system")) {
        return false;
    }
    message_text(json_array_get(msgs, 0), system);
    return !system->oom && ci_find(system->p, system->len, "summary") < system->len &&
           !ci_prefix(system->p, system->len, memory_block_intro);
}

static enum fake_job classify_chat(const json_t *doc, struct fake_buf *system)
{
    const json_t *msgs = json_object_get(doc, "messages");
    if (!json_is_array(msgs) || json_array_size(msgs) == 0) {
        return FAKE_JOB_NONE;
    }
    const json_t *rf = json_object_get(doc, "response_format");
    if (rf != NULL && !json_is_null(rf)) {
        const json_t *type = json_object_get(rf, "type");
        if (role_is(json_array_get(msgs, 0), "system")) {
            message_text(json_array_get(msgs, 0), system); /* a batch may ask for a fold */
        }
        return json_is_string(type) && strcmp(json_string_value(type), "json_object") == 0
                   ? FAKE_JOB_EXTRACT
                   : FAKE_JOB_NONE;
    }
    return is_summary_prompt(msgs, system) ? FAKE_JOB_SUMMARIZE : FAKE_JOB_NONE;
}

/* A Messages job: its prompt is the top-level "system". It asks for
 * "entities" (extraction) or mentions "summary" (summarization), and is not
 * a chat whose system carries memproxy's memory block. */
static enum fake_job classify_messages(const json_t *doc, struct fake_buf *system)
{
    const json_t *msgs = json_object_get(doc, "messages");
    if (!json_is_array(msgs) || json_array_size(msgs) == 0) {
        return FAKE_JOB_NONE;
    }
    content_text(json_object_get(doc, "system"), system);
    if (system->oom || ci_find(system->p, system->len, memory_block_intro) < system->len) {
        return FAKE_JOB_NONE;
    }
    if (ci_find(system->p, system->len, "entities") < system->len) {
        return FAKE_JOB_EXTRACT;
    }
    return ci_find(system->p, system->len, "summary") < system->len ? FAKE_JOB_SUMMARIZE
                                                                    : FAKE_JOB_NONE;
}

static void last_user_text(const json_t *doc, struct fake_buf *out)
{
    const json_t *msgs = json_object_get(doc, "messages");
    for (size_t i = json_array_size(msgs); i > 0; i--) {
        const json_t *m = json_array_get(msgs, i - 1);
        if (role_is(m, "user")) {
            message_text(m, out);
            return;
        }
    }
}

/* The content value for text t, wrapped as the mode wants. */
static void put_content(enum fake_job kind, enum fake_mode mode, const struct fake_buf *t,
                        struct fake_buf *content)
{
    struct fake_buf w = {0};
    const struct fake_buf *text = t;
    if (mode == FAKE_MODE_INVALID && kind == FAKE_JOB_EXTRACT) {
        fake_buf_puts(content, "\"Sorry, I cannot answer that in JSON today.\"");
        return;
    }
    if (mode == FAKE_MODE_INVALID) {
        fake_buf_puts(content, "\"\"");
        return;
    }
    if (mode == FAKE_MODE_WRONGTYPES && kind == FAKE_JOB_SUMMARIZE) {
        fake_buf_puts(content, "42");
        return;
    }
    if (mode == FAKE_MODE_FENCED) {
        fake_buf_puts(&w, kind == FAKE_JOB_EXTRACT ? "Here is the JSON you asked for:\n```json\n"
                                                   : "Here is the updated summary:\n```\n");
        fake_buf_put(&w, t->p, t->len);
        fake_buf_puts(&w, "\n```\nLet me know if you need anything else.");
        text = &w;
    }
    fake_buf_put_json_string(content, text->p, text->len);
    if (text->oom) {
        content->oom = true;
    }
    fake_buf_free(&w);
}

/* s[0..n) holds "summary" or (with_entities) "entities", in lower or upper
 * case (as "ummar" and "ntities": the capital S of "Summary" too). */
static bool mentions(const char *s, size_t n, bool with_entities)
{
    return memmem(s, n, "ummar", 5) != NULL || memmem(s, n, "UMMAR", 5) != NULL ||
           (with_entities &&
            (memmem(s, n, "ntities", 7) != NULL || memmem(s, n, "NTITIES", 7) != NULL));
}

/* Cheap pre-test, no parse. Chat: a response_format, or a first message
 * whose role is "system" and whose content mentions the summary. Messages:
 * a "system" that mentions the summary or the entities. Only that one
 * member is searched, so a big chat request costs one member scan. */
static bool maybe_job(enum fake_llm_api api, size_t n, const char *b,
                      const struct fake_body_info *info)
{
    if (n == 0 || n > FAKE_LLM_MAX_BODY_LEN) {
        return false;
    }
    if (api == FAKE_LLM_MESSAGES) {
        /* a chat whose system carries memproxy's block mentions "summary"
         * too: rule it out before parsing (the benchmark sends many) */
        return info->has_system && mentions(b + info->system.off, info->system.len, true) &&
               ci_find(b + info->system.off, info->system.len, memory_block_intro) >=
                   info->system.len;
    }
    if (info->response_format) {
        return true;
    }
    struct fake_span role;
    struct fake_span c;
    if (!info->has_first_message) {
        return false;
    }
    const char *m = b + info->first_message.off;
    size_t mlen = info->first_message.len;
    if (!fake_json_member(m, mlen, "role", &role) || role.len != 8 ||
        memcmp(m + role.off, "\"system\"", 8) != 0 || !fake_json_member(m, mlen, "content", &c)) {
        return false;
    }
    return mentions(m + c.off, c.len, false);
}

enum fake_job fake_llm_reply(enum fake_llm_api api, const char *body, size_t len,
                             const struct fake_body_info *info, const enum fake_mode *modes,
                             struct fake_buf *content)
{
    if (!maybe_job(api, len, body, info)) {
        return FAKE_JOB_NONE;
    }
    json_error_t err;
    json_t *doc = json_loadb(body, len, 0, &err);
    if (doc == NULL) {
        return FAKE_JOB_NONE;
    }
    struct fake_buf system = {0};
    struct fake_buf user = {0};
    struct fake_buf text = {0};
    enum fake_job kind =
        api == FAKE_LLM_MESSAGES ? classify_messages(doc, &system) : classify_chat(doc, &system);
    if (kind != FAKE_JOB_NONE) {
        enum fake_mode mode = modes[kind];
        last_user_text(doc, &user);
        if (kind == FAKE_JOB_EXTRACT && ci_find(system.p, system.len, "\"summary\"") < system.len) {
            extract_with_fold(user.p, user.len, mode == FAKE_MODE_WRONGTYPES,
                              word_limit(system.p, system.len), &text);
        } else if (kind == FAKE_JOB_EXTRACT) {
            fake_llm_extract(user.p, user.len, mode == FAKE_MODE_WRONGTYPES, &text);
        } else {
            fake_llm_summarize(user.p, user.len, word_limit(system.p, system.len), &text);
        }
        if (kind == FAKE_JOB_EXTRACT && ci_find(system.p, system.len, "\"keys\":[") < system.len) {
            add_keys(user.p, user.len, &text);
        }
        put_content(kind, mode, &text, content);
        if (user.oom || text.oom) {
            content->oom = true;
        }
    }
    fake_buf_free(&system);
    fake_buf_free(&user);
    fake_buf_free(&text);
    json_decref(doc);
    return kind;
}
