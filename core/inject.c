/* The injection policy and the splice: choose what of a user's memory fits
 * the budget, render it as the memory block and recent messages, and insert
 * those bytes into the client's body. It does not parse the body (chatreq.c
 * did) nor decide when memory applies (the proxy does).
 *
 * The work is two steps with two allocations. First the block's decoded
 * text is assembled in a scratch buffer, item by item in priority order:
 * each item is written (sanitized), then kept if the block still fits the
 * budget or rolled back if not, so the fit test is always on exact bytes.
 * The scratch is never bigger than the largest block the budget allows
 * plus one fact value's cap (or than what memory can produce, whichever is
 * smaller), so a giant stored value costs its budget's worth of work, not
 * its size. Then the buffered
 * messages are picked newest first with what budget is left, skipping those
 * the request already carries. Second, the output is sized from an upper
 * bound (escaping at most doubles sanitized text, at most sextuples raw
 * message text) and written once: prefix, elements, suffix.
 *
 * Sanitizing keeps the scratch valid UTF-8 whatever was stored, which is
 * what lets a cut at any character boundary of the scratch be safe. */
#include "inject.h"

#include <stdalign.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "chatreq.h"
#include "json_write.h"
#include "status.h"
#include "usermem.h"
#include "utf8.h"

#define PROFILE_HEAD  "\n[User profile]: "
#define SUMMARY_HEAD  "\n[Conversation history summary]: "
#define FACT_SEP      " | "
#define ELLIPSIS      "\xE2\x80\xA6"
#define DATE_MAX      sizeof(" (as of 9999-12-31)")
#define MIN_CUT       16 /* fewer bytes of a cut text are not worth injecting */
#define WORD_LOOKBACK 40 /* how far back a cut looks for a space */

#define SYSTEM_OPEN    "{\"role\":\"system\",\"content\":\""
#define USER_OPEN      "{\"role\":\"user\",\"content\":\""
#define ASSISTANT_OPEN "{\"role\":\"assistant\",\"content\":\""
#define CLOSE          "\"}"

#define SLEN(lit) (sizeof(lit) - 1)

/* The block's decoded text being assembled. */
struct text {
    char *buf;
    size_t len, cap;
    bool full; /* something did not fit cap: the block is over budget */
};

/* A buffered message chosen for injection. */
struct pick {
    size_t idx; /* in um->messages */
    size_t len; /* bytes of its content injected */
    bool cut;   /* len < content_len: an ellipsis follows */
};

struct build {
    const struct mp_usermem *um;
    const struct mp_inject_params *p;
    size_t max_block; /* largest block text the budget allows */
    struct text t;
    const struct mp_mem_entity **facts;
    struct pick *picks;
    size_t npicks;
    struct mp_inject_plan plan;
};

uint32_t mp_inject_estimate_tokens(size_t bytes)
{
    size_t t = bytes / 4 + (bytes % 4 != 0);
    return t > UINT32_MAX ? UINT32_MAX : (uint32_t)t;
}

int mp_inject_sections(enum mp_memory_mode mode)
{
    switch (mode) {
    case MP_MEMORY_BUFFER:
        return MP_INJECT_BUFFER;
    case MP_MEMORY_SUMMARY:
        return MP_INJECT_SUMMARY | MP_INJECT_BUFFER;
    case MP_MEMORY_ENTITY:
        return MP_INJECT_PROFILE;
    case MP_MEMORY_HYBRID:
        return MP_INJECT_PROFILE | MP_INJECT_SUMMARY | MP_INJECT_BUFFER;
    case MP_MEMORY_OFF:
        break;
    }
    return 0;
}

/* ---- the scratch text ---- */

static bool put(struct text *t, const char *s, size_t n)
{
    if (t->full || n > t->cap - t->len) {
        t->full = true;
        return false;
    }
    memcpy(t->buf + t->len, s, n);
    t->len += n;
    return true;
}

/* What one stored character becomes inside the block (see inject.h): sets
 * *out and *out_len and returns the input bytes consumed. */
static size_t clean_char(const unsigned char *s, size_t n, bool fact, char one[1], const char **out,
                         size_t *out_len)
{
    uint32_t cp;
    size_t k;
    *out = one;
    *out_len = 1;
    if (s[0] < 0x80) {
        unsigned char c = s[0];
        one[0] = (char)c;
        if (c < 0x20 || c == 0x7F)
            one[0] = ' ';
        else if (c == '[')
            one[0] = '(';
        else if (c == ']')
            one[0] = ')';
        else if (fact && c == '|')
            one[0] = '/';
        else if (c == '<' || c == '>') {
            *out = c == '<' ? "\xE2\x80\xB9" : "\xE2\x80\xBA";
            *out_len = 3;
        }
        return 1;
    }
    k = mp_utf8_decode(s, n, &cp);
    if (k == 0) {
        *out = "\xEF\xBF\xBD";
        *out_len = 3;
        return mp_utf8_ill_formed_len(s, n);
    }
    if (cp <= 0x9F || cp == 0x2028 || cp == 0x2029 || (cp >= 0x202A && cp <= 0x202E) ||
        (cp >= 0x2066 && cp <= 0x2069)) {
        one[0] = ' ';
    } else {
        *out = (const char *)s;
        *out_len = k;
    }
    return k;
}

#define ONES  0x0101010101010101ull
#define HIGHS 0x8080808080808080ull

/* Nonzero when some byte of x is c, or (harmless false positive) follows
 * one that is. */
static uint64_t has_byte(uint64_t x, unsigned char c)
{
    uint64_t v = x ^ (ONES * c);
    return (v - ONES) & ~v & HIGHS;
}

/* Bytes that pass into the block unchanged: printable ASCII but the
 * brackets, angle brackets and (in facts) the bar. */
static bool block_plain(unsigned char c, bool fact)
{
    return c >= 0x20 && c < 0x7F && c != '[' && c != ']' && c != '<' && c != '>' &&
           (c != '|' || !fact);
}

/* Whether all 8 bytes are block_plain (false may also mean "not sure"). */
static bool word_block_plain(uint64_t x, bool fact)
{
    uint64_t t = (x - ONES * 0x20) & ~x & HIGHS; /* below 0x20 */
    t |= ((x + ONES) | x) & HIGHS;               /* 0x7F and above */
    t |= has_byte(x, '[') | has_byte(x, ']') | has_byte(x, '<') | has_byte(x, '>');
    if (fact)
        t |= has_byte(x, '|');
    return t == 0;
}

/* End of the run of block_plain bytes from i, at most room of them. */
static size_t plain_block_run(const unsigned char *s, size_t n, size_t i, size_t room, bool fact)
{
    size_t j = i, stop = n - i < room ? n : i + room;
    while (stop - j >= 8) {
        uint64_t x;
        memcpy(&x, s + j, sizeof(x));
        if (!word_block_plain(x, fact))
            break;
        j += 8;
    }
    while (j < stop && block_plain(s[j], fact))
        j++;
    return j;
}

/* Appends src sanitized, at most max bytes of output, whole characters
 * only. Returns how many src bytes went in (< n when cut short). Runs of
 * plain bytes are copied at once: stored text is mostly those. */
static size_t put_clean(struct text *t, const char *src, size_t n, bool fact, size_t max)
{
    const unsigned char *s = (const unsigned char *)src;
    size_t i = 0, start = t->len;
    while (i < n && !t->full) {
        size_t room = max - (t->len - start), j;
        if (room > t->cap - t->len)
            room = t->cap - t->len;
        j = plain_block_run(s, n, i, room, fact);
        if (j > i) {
            memcpy(t->buf + t->len, s + i, j - i);
            t->len += j - i;
            i = j;
            continue;
        }
        char one[1];
        const char *o;
        size_t olen, used = clean_char(s + i, n - i, fact, one, &o, &olen);
        if (t->len - start + olen > max || !put(t, o, olen))
            break;
        i += used;
    }
    return i;
}

/* Where to cut s[0..n) to keep at most limit bytes: never inside a UTF-8
 * sequence, at a space when one is within WORD_LOOKBACK bytes, trailing
 * spaces dropped. */
static size_t cut_point(const char *s, size_t n, size_t limit)
{
    size_t c = mp_utf8_cut(s, n, limit), j;
    if (n <= limit)
        return n;
    for (j = c; j > 0 && c - j < WORD_LOOKBACK; j--) {
        if (s[j] == ' ') {
            c = j;
            break;
        }
    }
    while (c > 0 && s[c - 1] == ' ')
        c--;
    return c;
}

/* Whether a block of block_len bytes fits the budget on its own. */
static bool block_fits(const struct build *b, size_t block_len)
{
    return !b->t.full && block_len <= b->max_block;
}

/* ---- facts ---- */

static double confidence(const struct mp_mem_entity *e)
{
    return e->confidence == e->confidence ? e->confidence : 0.0; /* NaN sorts as 0 */
}

/* Trust class, then confidence, then recency, higher first; then key, so
 * the order does not depend on qsort. */
static int fact_cmp(const void *pa, const void *pb)
{
    const struct mp_mem_entity *a = *(const struct mp_mem_entity *const *)pa;
    const struct mp_mem_entity *b = *(const struct mp_mem_entity *const *)pb;
    double ca = confidence(a), cb = confidence(b);
    if (a->trust != b->trust)
        return a->trust > b->trust ? -1 : 1;
    if (ca != cb)
        return ca > cb ? -1 : 1;
    if (a->observed_at_ms != b->observed_at_ms)
        return a->observed_at_ms > b->observed_at_ms ? -1 : 1;
    return strncmp(a->key, b->key, sizeof(a->key));
}

static size_t key_len(const struct mp_mem_entity *e)
{
    const char *z = memchr(e->key, '\0', sizeof(e->key));
    return z == NULL ? sizeof(e->key) : (size_t)(z - e->key);
}

static bool fact_eligible(const struct mp_mem_entity *e, bool inject_pii)
{
    return (inject_pii || !e->pii) && key_len(e) > 0 && e->value != NULL && e->value_len > 0;
}

/* Writes v in width decimal digits, zero-padded (snprintf costs more
 * than the whole rest of a fact). */
static void digits(char *out, unsigned width, unsigned v)
{
    while (width-- > 0) {
        out[width] = (char)('0' + v % 10);
        v /= 10;
    }
}

/* " (as of YYYY-MM-DD)" in UTC, from the civil-from-days algorithm (no
 * libc time zone state); nothing for times before 1970 or after 9999. */
static size_t format_date(int64_t ms, char out[DATE_MAX])
{
    int64_t z, era, y;
    unsigned doe, yoe, doy, mp, d, m;
    if (ms <= 0 || ms >= 253402300800000) /* 10000-01-01 */
        return 0;
    z = ms / 86400000 + 719468;
    era = z / 146097;
    doe = (unsigned)(z - era * 146097);
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    d = doy - (153 * mp + 2) / 5 + 1;
    m = mp < 10 ? mp + 3 : mp - 9;
    y = (int64_t)yoe + era * 400 + (m <= 2);
    memcpy(out, " (as of 0000-00-00)", DATE_MAX);
    digits(out + 8, 4, (unsigned)y);
    digits(out + 13, 2, m);
    digits(out + 16, 2, d);
    return DATE_MAX - 1;
}

/* Appends "key: value (as of date)" with its separator; rolls it back and
 * returns false when the block would no longer fit. */
static bool add_fact(struct build *b, const struct mp_mem_entity *e)
{
    struct text *t = &b->t;
    size_t mark = t->len, vstart, used;
    char date[DATE_MAX];
    put(t, b->plan.nfacts == 0 ? PROFILE_HEAD : FACT_SEP,
        b->plan.nfacts == 0 ? SLEN(PROFILE_HEAD) : SLEN(FACT_SEP));
    put_clean(t, e->key, key_len(e), true, SIZE_MAX);
    put(t, ": ", 2);
    vstart = t->len;
    /* One byte past the cap, so that what is cut is always longer than the
     * cut's limit, even when a 4-byte character straddles the cap. */
    used = put_clean(t, e->value, e->value_len, true, MP_INJECT_FACT_VALUE_MAX + 1);
    if (!t->full && (used < e->value_len || t->len - vstart > MP_INJECT_FACT_VALUE_MAX)) {
        t->len = vstart + cut_point(t->buf + vstart, t->len - vstart,
                                    MP_INJECT_FACT_VALUE_MAX - SLEN(ELLIPSIS));
        put(t, ELLIPSIS, SLEN(ELLIPSIS));
    }
    put(t, date, format_date(e->observed_at_ms > 0 ? e->observed_at_ms : e->recorded_at_ms, date));
    if (!block_fits(b, t->len)) {
        t->len = mark;
        t->full = false;
        return false;
    }
    b->plan.nfacts++;
    return true;
}

/* qsort for many facts; for the usual few dozen a binary insertion sort,
 * which makes a third of qsort's indirect comparator calls. fact_cmp is a
 * total order (keys are unique), so both give the same result. */
static void sort_facts(const struct mp_mem_entity **f, size_t n)
{
    if (n > 64) {
        qsort(f, n, sizeof(*f), fact_cmp);
        return;
    }
    for (size_t i = 1; i < n; i++) {
        const struct mp_mem_entity *e = f[i];
        size_t lo = 0, hi = i;
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (fact_cmp(&f[mid], &e) <= 0)
                lo = mid + 1;
            else
                hi = mid;
        }
        memmove(&f[lo + 1], &f[lo], (i - lo) * sizeof(*f));
        f[lo] = e;
    }
}

static void add_profile(struct build *b)
{
    const struct mp_usermem *um = b->um;
    size_t n = 0;
    for (size_t i = 0; i < um->nentities; i++) {
        if (fact_eligible(&um->entities[i], b->p->inject_pii))
            b->facts[n++] = &um->entities[i];
    }
    sort_facts(b->facts, n);
    for (size_t i = 0; i < n; i++)
        add_fact(b, b->facts[i]);
}

/* ---- summary ---- */

static void add_summary(struct build *b)
{
    const struct mp_mem_summary *sm = &b->um->summary;
    struct text *t = &b->t;
    size_t mark = t->len, start, room;
    if (!put(t, SUMMARY_HEAD, SLEN(SUMMARY_HEAD))) {
        t->full = false;
        return;
    }
    start = t->len;
    if (put_clean(t, sm->text, sm->text_len, false, SIZE_MAX) == sm->text_len &&
        block_fits(b, t->len)) {
        b->plan.summary = t->len > start;
        if (!b->plan.summary)
            t->len = mark;
        return;
    }
    /* Over budget: cut the sanitized (valid UTF-8) text, then mark it. */
    t->full = false;
    room = b->max_block > start + SLEN(ELLIPSIS) ? b->max_block - start - SLEN(ELLIPSIS) : 0;
    t->len = start + cut_point(t->buf + start, t->len - start, room);
    if (room < MIN_CUT || t->len - start < MIN_CUT) {
        t->len = mark;
        return;
    }
    put(t, ELLIPSIS, SLEN(ELLIPSIS));
    b->plan.summary = true;
    b->plan.summary_cut = true;
}

/* ---- buffered messages ---- */

static int cr_role(enum mp_role r)
{
    return r == MP_ROLE_ASSISTANT ? MP_CR_ASSISTANT : MP_CR_USER;
}

/* Whether the request already carries m (same role, same text). */
static bool in_request(const char *body, const struct mp_chatreq *req,
                       const struct mp_mem_message *m)
{
    int role = cr_role(m->role);
    uint64_t h = mp_chatreq_hash_text(role, m->content, m->content_len);
    for (size_t i = 0; i < req->nmsgs; i++) {
        const struct mp_chatreq_msg *r = &req->msgs[i];
        if (r->text_hash == h && r->role == role && r->text_len == m->content_len &&
            mp_chatreq_message_text_equals(body, r, m->content, m->content_len))
            return true;
    }
    return false;
}

/* Picks the newest messages into what budget is left (in tokens), newest
 * first; the oldest taken may be cut. */
static uint32_t pick_messages(struct build *b, const char *body, const struct mp_chatreq *req,
                              uint32_t left)
{
    const struct mp_usermem *um = b->um;
    uint32_t used = 0;
    for (size_t i = um->nmessages; i-- > 0;) {
        const struct mp_mem_message *m = &um->messages[i];
        struct pick *pk = &b->picks[b->npicks];
        uint32_t cost;
        if (m->content == NULL || m->content_len == 0 || (m->pii && !b->p->inject_pii))
            continue;
        if (in_request(body, req, m)) {
            b->plan.ndeduplicated++;
            continue;
        }
        pk->idx = i;
        pk->len = m->content_len;
        pk->cut = false;
        cost = MP_INJECT_TOKENS_PER_MESSAGE + mp_inject_estimate_tokens(m->content_len);
        if (cost > left - used) {
            size_t room = left - used > MP_INJECT_TOKENS_PER_MESSAGE
                              ? (size_t)(left - used - MP_INJECT_TOKENS_PER_MESSAGE) * 4
                              : 0;
            room = room > SLEN(ELLIPSIS) ? room - SLEN(ELLIPSIS) : 0;
            pk->len = cut_point(m->content, m->content_len, room);
            if (room < MIN_CUT || pk->len < MIN_CUT)
                break;
            pk->cut = true;
            b->plan.message_cut = true;
            cost =
                MP_INJECT_TOKENS_PER_MESSAGE + mp_inject_estimate_tokens(pk->len + SLEN(ELLIPSIS));
        }
        used += cost;
        b->npicks++;
        if (pk->cut)
            break;
    }
    return used;
}

/* ---- the splice ---- */

/* JSON-escapes src[0..n) into out, which has room for grow * n bytes: 6
 * for any text (the most mp_json_escape writes per input byte), 2 for the
 * sanitized block (no control but '\n'). */
static size_t put_escaped(char *out, const char *src, size_t n, size_t grow)
{
    return mp_json_escape(out, grow * n, src, n);
}

static char *put_lit(char *w, const char *s, size_t n)
{
    memcpy(w, s, n);
    return w + n;
}

static int splice(const struct build *b, const char *body, size_t len, const struct mp_chatreq *req,
                  char **out, size_t *out_len)
{
    const struct mp_mem_message *msgs = b->um->messages;
    size_t bound = len + 2 + SLEN(SYSTEM_OPEN) + 2 * b->t.len + SLEN(CLOSE) + 1;
    char *res, *w;
    for (size_t k = 0; k < b->npicks; k++)
        bound += 1 + SLEN(ASSISTANT_OPEN) + 6 * b->picks[k].len + SLEN(ELLIPSIS) + SLEN(CLOSE);
    res = malloc(bound);
    if (res == NULL)
        return MP_ENOMEM;
    w = put_lit(res, body, req->insert_at);
    if (req->insert_needs_comma_before)
        *w++ = ',';
    w = put_lit(w, SYSTEM_OPEN, SLEN(SYSTEM_OPEN));
    w += put_escaped(w, b->t.buf, b->t.len, 2);
    w = put_lit(w, CLOSE, SLEN(CLOSE));
    for (size_t k = b->npicks; k-- > 0;) { /* picked newest first, written oldest first */
        const struct pick *pk = &b->picks[k];
        const struct mp_mem_message *m = &msgs[pk->idx];
        *w++ = ',';
        if (m->role == MP_ROLE_ASSISTANT)
            w = put_lit(w, ASSISTANT_OPEN, SLEN(ASSISTANT_OPEN));
        else
            w = put_lit(w, USER_OPEN, SLEN(USER_OPEN));
        w += put_escaped(w, m->content, pk->len, 6);
        if (pk->cut)
            w = put_lit(w, ELLIPSIS, SLEN(ELLIPSIS));
        w = put_lit(w, CLOSE, SLEN(CLOSE));
    }
    if (req->insert_needs_comma_after)
        *w++ = ',';
    w = put_lit(w, body + req->insert_at, len - req->insert_at);
    *w = '\0';
    *out = res;
    *out_len = (size_t)(w - res);
    return MP_OK;
}

/* ---- putting it together ---- */

/* Scratch for the block: the most the selected sections can produce after
 * sanitizing (3 bytes per stored byte at worst), capped by the budget. The
 * cap leaves room for a fact value written whole before it is cut: a fact
 * whose cut value fits must not be refused for the bytes the cut drops. */
static size_t scratch_size(const struct build *b)
{
    const struct mp_usermem *um = b->um;
    size_t need = SLEN(MP_INJECT_INTRO) + SLEN(PROFILE_HEAD) + SLEN(SUMMARY_HEAD) + 8;
    if (b->p->sections & MP_INJECT_PROFILE) {
        for (size_t i = 0; i < um->nentities; i++) {
            need += SLEN(FACT_SEP) + 3 * key_len(&um->entities[i]) + 2 + MP_INJECT_FACT_VALUE_MAX +
                    DATE_MAX;
        }
    }
    if ((b->p->sections & MP_INJECT_SUMMARY) && um->summary.text != NULL)
        need += 3 * um->summary.text_len + SLEN(ELLIPSIS);
    size_t cap = b->max_block + MP_INJECT_FACT_VALUE_MAX + 8;
    return need < cap ? need : cap;
}

/* One allocation holds the picks, the fact order and the scratch text. */
static int build_alloc(struct build *b, void **mem)
{
    const struct mp_usermem *um = b->um;
    size_t al = alignof(max_align_t);
    size_t picks = (um->nmessages * sizeof(struct pick) + al - 1) / al * al;
    size_t facts = (um->nentities * sizeof(*b->facts) + al - 1) / al * al;
    char *p;
    b->t.cap = scratch_size(b);
    p = malloc(picks + facts + b->t.cap);
    if (p == NULL)
        return MP_ENOMEM;
    b->picks = (struct pick *)(void *)p;
    b->facts = (const struct mp_mem_entity **)(void *)(p + picks);
    b->t.buf = p + picks + facts;
    *mem = p;
    return MP_OK;
}

/* The block: intro, profile, summary. MP_NOTFOUND when the intro alone
 * does not fit. */
static int build_block(struct build *b)
{
    put(&b->t, MP_INJECT_INTRO, SLEN(MP_INJECT_INTRO));
    if (!block_fits(b, b->t.len))
        return MP_NOTFOUND;
    if (b->p->sections & MP_INJECT_PROFILE)
        add_profile(b);
    if ((b->p->sections & MP_INJECT_SUMMARY) && b->um->summary.text != NULL &&
        b->um->summary.text_len > 0 && (b->p->inject_pii || !b->um->summary.pii))
        add_summary(b);
    return MP_OK;
}

int mp_inject_build(const char *body, size_t len, const struct mp_chatreq *req,
                    const struct mp_usermem *um, const struct mp_inject_params *p, int64_t now_ms,
                    char **out, size_t *out_len, struct mp_inject_plan *plan)
{
    struct build b = {.um = um, .p = p};
    uint32_t block_tokens, intro_tokens = MP_INJECT_TOKENS_PER_MESSAGE +
                                          mp_inject_estimate_tokens(SLEN(MP_INJECT_INTRO));
    void *mem = NULL;
    int rc;
    (void)now_ms;
    if (um == NULL || p->sections == 0 || p->budget_tokens < intro_tokens)
        return MP_NOTFOUND;
    b.max_block = (size_t)(p->budget_tokens - MP_INJECT_TOKENS_PER_MESSAGE) * 4;
    rc = build_alloc(&b, &mem);
    if (rc != MP_OK)
        return rc;
    rc = build_block(&b);
    if (rc != MP_OK)
        goto out;
    block_tokens = MP_INJECT_TOKENS_PER_MESSAGE + mp_inject_estimate_tokens(b.t.len);
    b.plan.tokens = block_tokens;
    if (p->sections & MP_INJECT_BUFFER)
        b.plan.tokens += pick_messages(&b, body, req, p->budget_tokens - block_tokens);
    b.plan.nmessages = b.npicks;
    rc = MP_NOTFOUND;
    if (b.plan.nfacts == 0 && !b.plan.summary && b.npicks == 0)
        goto out;
    rc = splice(&b, body, len, req, out, out_len);
    if (rc == MP_OK && plan != NULL)
        *plan = b.plan;
out:
    free(mem);
    return rc;
}
