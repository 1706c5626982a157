/* locomo_check: cross-checks core/recall/relevance.c against the Python reference
 * (tests/bench/recall/reference/) on LoCoMo conversation files. A tool, not a
 * test: it builds an in-memory index exactly as the reference's data.py does
 * (facts = session observations, turns = turns; same fields, dates and token
 * costs), asks every category 1-4 question and prints evidence recall at 500,
 * 1,500 and 3,000 tokens for facts and turns, per file and pooled.
 *
 * The view gives the items sparse ids, as a store with deleted items would:
 * item k is id stride * k + 7 and the ids between answer MP_NOTFOUND, so that
 * scoring runs on the path it takes on a real index.
 *
 * Also every file of another development set that reference/to_locomo.py
 * wrote in LoCoMo's shape (turns only): reference/agreement.py runs both.
 *
 * Usage: locomo_check [-b budgets] [-g stride] [-r nb_reach] [-s sess_w]
 *                     [-S survivors] [-n] [-v] [-t reps] FILE.json...
 *   -b  budgets, comma-separated (default 500,1500,3000; at most 8)
 *   -g  ids stride * k + 7 (default 3; 1: consecutive ids)
 *   -r  nb_reach instead of the preset's
 *   -s  sess_w instead of the preset's (both kinds)
 *   -S  survivors instead of the preset's (0: every candidate, as the reference)
 *   -n  no surface callback: no spelling neighbours
 *   -v  print each question's hits (item index from 0, score), by id
 *   -t  time each call reps times and count the fastest (default 1) */
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "recall/relevance.h"
#include "status.h"
#include "recall/terms.h"

#define MAX_IDS      8
#define MAX_BUDGETS  8
#define MAX_SESSIONS 4096 /* BEAM's chats span up to 430 days, a session a day */
#define MAX_EVIDENCE 256  /* evidence ids of one question (BEAM: up to 33) */
static uint32_t budgets[MAX_BUDGETS] = {500, 1500, 3000};
static size_t nbudgets = 3;

struct row { /* one posting, or one surface word (t = word, s = stem) */
    char t[MP_TERMS_MAX + 1];
    char s[MP_TERMS_MAX + 1];
    uint32_t item, tc, tk, td;
};

struct rows {
    struct row *r;
    size_t n, cap;
};

struct item {
    struct mp_relevance_item f;
    char ids[MAX_IDS][16];
    size_t nids;
    size_t tstart, tend; /* its rows in by_item */
};

struct index {
    struct item *it;
    size_t n, cap;
    struct rows by_item, by_term, surface;
    double avglen;
    uint64_t item_calls; /* v_item, for the cost per question */
    uint64_t postings;   /* postings given by v_postings */
};

/* The view's ids: item k is id stride * k + ID0. */
#define ID0 7
static uint32_t stride = 3;

static uint32_t id_of(size_t k)
{
    return (uint32_t)(stride * k + ID0);
}

/* The item of id, or false for a gap. */
static bool item_of(const struct index *ix, uint32_t id, size_t *k)
{
    if (id < ID0 || (id - ID0) % stride != 0 || (id - ID0) / stride >= ix->n)
        return false;
    *k = (id - ID0) / stride;
    return true;
}

static struct row *rows_push(struct rows *rs)
{
    if (rs->n == rs->cap) {
        rs->cap = rs->cap ? rs->cap * 2 : 1024;
        rs->r = realloc(rs->r, rs->cap * sizeof(*rs->r));
        if (rs->r == NULL) {
            perror("realloc");
            exit(1);
        }
    }
    struct row *r = &rs->r[rs->n++];
    memset(r, 0, sizeof(*r));
    return r;
}

static int cmp_term_item(const void *a, const void *b)
{
    const struct row *x = a, *y = b;
    int c = strcmp(x->t, y->t);
    if (c != 0)
        return c;
    return x->item < y->item ? -1 : x->item > y->item;
}

/* ---- the index view ---- */

static void term_range(const struct index *ix, const char *t, size_t len, size_t *lo, size_t *hi)
{
    char key[MP_TERMS_MAX + 1];
    memcpy(key, t, len);
    key[len] = '\0';
    size_t a = 0, b = ix->by_term.n;
    while (a < b) {
        size_t m = a + (b - a) / 2;
        if (strcmp(ix->by_term.r[m].t, key) < 0)
            a = m + 1;
        else
            b = m;
    }
    *lo = a;
    while (a < ix->by_term.n && strcmp(ix->by_term.r[a].t, key) == 0)
        a++;
    *hi = a;
}

static uint32_t v_df(void *ctx, const char *term, size_t len)
{
    size_t lo, hi;
    term_range(ctx, term, len, &lo, &hi);
    return (uint32_t)(hi - lo);
}

static int v_postings(void *ctx, const char *term, size_t len, mp_relevance_posting_fn fn,
                      void *arg)
{
    struct index *ix = ctx;
    size_t lo, hi;
    term_range(ix, term, len, &lo, &hi);
    ix->postings += hi - lo;
    for (size_t k = lo; k < hi; k++) {
        const struct row *r = &ix->by_term.r[k];
        struct mp_relevance_posting p = {id_of(r->item), r->tc, r->tk, r->td, 0, 0, false};
        int rc = fn(arg, &p);
        if (rc != MP_OK)
            return rc;
    }
    return MP_OK;
}

static int v_item(void *ctx, uint32_t id, struct mp_relevance_item *out)
{
    struct index *ix = ctx;
    size_t i;
    ix->item_calls++;
    if (!item_of(ix, id, &i))
        return MP_NOTFOUND;
    *out = ix->it[i].f;
    return MP_OK;
}

static int v_item_terms(void *ctx, uint32_t id, mp_relevance_term_fn fn, void *arg)
{
    const struct index *ix = ctx;
    size_t i;
    if (!item_of(ix, id, &i))
        return MP_EINVAL;
    for (size_t k = ix->it[i].tstart; k < ix->it[i].tend; k++) {
        const struct row *r = &ix->by_item.r[k];
        if (r->tc == 0)
            continue;
        int rc = fn(arg, r->t, strlen(r->t), r->tc);
        if (rc != MP_OK)
            return rc;
    }
    return MP_OK;
}

/* A full scan: scoring keeps the words at edit distance 1 from word. */
static int v_surface(void *ctx, const char *word, size_t wlen, mp_relevance_surface_fn fn,
                     void *arg)
{
    const struct index *ix = ctx;
    (void)word;
    (void)wlen;
    for (size_t k = 0; k < ix->surface.n; k++) {
        const struct row *r = &ix->surface.r[k];
        int rc = fn(arg, r->t, strlen(r->t), r->s, strlen(r->s));
        if (rc != MP_OK)
            return rc;
    }
    return MP_OK;
}

/* ---- building ---- */

struct collect {
    struct index *ix;
    size_t start;
    uint32_t item;
    int field; /* 0 content, 1 key */
    uint32_t len;
};

static struct row *find_or_add(struct collect *c, const char *t, size_t n)
{
    struct rows *rs = &c->ix->by_item;
    for (size_t k = c->start; k < rs->n; k++)
        if (strlen(rs->r[k].t) == n && memcmp(rs->r[k].t, t, n) == 0)
            return &rs->r[k];
    struct row *r = rows_push(rs);
    memcpy(r->t, t, n);
    r->item = c->item;
    return r;
}

static int on_term(void *arg, const char *word, size_t wlen, const char *term, size_t len,
                   uint32_t pos)
{
    struct collect *c = arg;
    (void)pos;
    if (term == NULL)
        return MP_OK;
    struct row *r = find_or_add(c, term, len);
    if (c->field == 1) {
        r->tk++;
        return MP_OK;
    }
    r->tc++;
    c->len++;
    char sw[MP_TERMS_MAX];
    size_t sn;
    if (mp_relevance_surface_word(word, wlen, sw, &sn)) {
        struct row *s = rows_push(&c->ix->surface);
        memcpy(s->t, sw, sn);
        memcpy(s->s, term, len);
    }
    return MP_OK;
}

/* p is "D<digits>:<digits>" or "D:<digits>:<digits>" (data.py's norm_ids). */
static bool dia_id(const char *p, char out[16])
{
    if (*p++ != 'D')
        return false;
    if (*p == ':')
        p++;
    size_t a = strspn(p, "0123456789");
    if (a == 0 || p[a] != ':')
        return false;
    size_t b = strspn(p + a + 1, "0123456789");
    if (b == 0 || p[a + 1 + b] != '\0' || a + b + 3 > 16)
        return false;
    snprintf(out, 16, "D%.*s:%.*s", (int)a, p, (int)b, p + a + 1);
    return true;
}

/* Appends the ids of evidence string e (split on ; , and spaces) to ids. */
static void norm_ids(const char *e, char (*ids)[16], size_t *n, size_t cap)
{
    char buf[512];
    snprintf(buf, sizeof(buf), "%s", e);
    for (char *save = NULL, *p = strtok_r(buf, ";, \t\n\r", &save); p != NULL;
         p = strtok_r(NULL, ";, \t\n\r", &save))
        if (*n < cap && dia_id(p, ids[*n]))
            (*n)++;
}

static struct item *item_add(struct index *ix, struct mp_terms *terms, const char *content,
                             const char *key, const struct tm *tm, uint32_t session,
                             const char *text)
{
    if (ix->n == ix->cap) {
        ix->cap = ix->cap ? ix->cap * 2 : 256;
        ix->it = realloc(ix->it, ix->cap * sizeof(*ix->it));
        if (ix->it == NULL) {
            perror("realloc");
            exit(1);
        }
    }
    struct item *it = &ix->it[ix->n];
    memset(it, 0, sizeof(*it));
    struct collect c = {ix, ix->by_item.n, (uint32_t)ix->n, 0, 0};
    if (mp_terms_each_word(terms, content, strlen(content), on_term, &c) != MP_OK)
        exit(1);
    c.field = 1;
    if (mp_terms_each_word(terms, key, strlen(key), on_term, &c) != MP_OK)
        exit(1);
    char mon[MP_RELEVANCE_DATE_MAX], yr[MP_RELEVANCE_DATE_MAX];
    mp_relevance_date_terms((unsigned)tm->tm_year + 1900, (unsigned)tm->tm_mon + 1, mon, yr);
    find_or_add(&c, mon, strlen(mon))->td = 1;
    find_or_add(&c, yr, strlen(yr))->td = 1;
    it->tstart = c.start;
    it->tend = ix->by_item.n;
    it->f.len = c.len;
    it->f.session = session;
    it->f.tokens = (uint32_t)(4 + (strlen(text) + 3) / 4);
    if (mp_relevance_timex(terms, content, strlen(content), &it->f.timex) != MP_OK)
        exit(1);
    ix->n++;
    return it;
}

static int cmp_surface(const void *a, const void *b)
{
    const struct row *x = a, *y = b;
    return strcmp(x->t, y->t);
}

/* Sorts the postings by term and item, the surface words by word (one each). */
static void index_finish(struct index *ix)
{
    ix->by_term.n = ix->by_term.cap = ix->by_item.n;
    ix->by_term.r = malloc(ix->by_item.n * sizeof(struct row) + 1);
    memcpy(ix->by_term.r, ix->by_item.r, ix->by_item.n * sizeof(struct row));
    qsort(ix->by_term.r, ix->by_term.n, sizeof(struct row), cmp_term_item);
    qsort(ix->surface.r, ix->surface.n, sizeof(struct row), cmp_surface);
    size_t m = 0;
    for (size_t k = 0; k < ix->surface.n; k++)
        if (m == 0 || strcmp(ix->surface.r[m - 1].t, ix->surface.r[k].t) != 0)
            ix->surface.r[m++] = ix->surface.r[k];
    ix->surface.n = m;
    double total = 0;
    for (size_t i = 0; i < ix->n; i++)
        total += ix->it[i].f.len;
    ix->avglen = ix->n ? total / (double)ix->n : 1.0;
}

static void index_free(struct index *ix)
{
    free(ix->it);
    free(ix->by_item.r);
    free(ix->by_term.r);
    free(ix->surface.r);
}

/* ---- LoCoMo ---- */

static const char *const month_names[12] = {"january",   "february", "march",    "april",
                                            "may",       "june",     "july",     "august",
                                            "september", "october",  "november", "december"};

/* "1:56 pm on 8 May, 2023" */
static bool parse_date(const char *s, struct tm *tm)
{
    int h, mi, d, y;
    char ap[3], mon[16];
    if (sscanf(s, "%d:%d %2[apm] on %d %15[A-Za-z]%*[, ]%d", &h, &mi, ap, &d, mon, &y) != 6)
        return false;
    memset(tm, 0, sizeof(*tm));
    for (char *p = mon; *p; p++)
        *p = (char)(*p | 32);
    tm->tm_mon = -1;
    for (int k = 0; k < 12; k++)
        if (strcmp(mon, month_names[k]) == 0)
            tm->tm_mon = k;
    tm->tm_hour = h % 12 + (strcmp(ap, "pm") == 0 ? 12 : 0);
    tm->tm_min = mi;
    tm->tm_mday = d;
    tm->tm_year = y - 1900;
    return tm->tm_mon >= 0;
}

static const char *str_of(json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s != NULL ? s : "";
}

struct conv {
    struct index facts, turns;
    json_t *root;
};

static int cmp_int(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

static size_t sessions(json_t *d, int *out, size_t cap)
{
    const char *k;
    json_t *v;
    size_t n = 0;
    json_object_foreach(d, k, v)
    {
        int s;
        char tail;
        if (sscanf(k, "session_%d%c", &s, &tail) == 1 && json_array_size(v) > 0 && n < cap)
            out[n++] = s;
    }
    qsort(out, n, sizeof(out[0]), cmp_int);
    return n;
}

static bool session_date(json_t *d, int s, struct tm *tm)
{
    char k[64];
    snprintf(k, sizeof(k), "session_%d_date_time", s);
    return parse_date(str_of(d, k), tm);
}

static void load_turns(struct conv *c, struct mp_terms *terms, json_t *d, const int *ss, size_t ns)
{
    const char *a = str_of(d, "speaker_a");
    for (size_t k = 0; k < ns; k++) {
        struct tm tm0;
        char key[64], day[16];
        if (!session_date(d, ss[k], &tm0))
            exit(2);
        snprintf(key, sizeof(key), "session_%d", ss[k]);
        json_t *arr = json_object_get(d, key);
        for (size_t j = 0; j < json_array_size(arr); j++) {
            json_t *t = json_array_get(arr, j);
            const char *sp = str_of(t, "speaker"), *body = str_of(t, "text");
            time_t when = timegm(&tm0) + (time_t)(30 * j);
            struct tm tm;
            gmtime_r(&when, &tm);
            strftime(day, sizeof(day), "%Y-%m-%d", &tm0);
            char *text = NULL;
            if (asprintf(&text, "(%s, %s) %s: %s", day, strcmp(sp, a) == 0 ? "user" : "assistant",
                         sp, body) < 0)
                exit(1);
            struct item *it = item_add(&c->turns, terms, body, sp, &tm, (uint32_t)ss[k], text);
            snprintf(it->ids[0], sizeof(it->ids[0]), "%s", str_of(t, "dia_id"));
            it->nids = 1;
            free(text);
        }
    }
}

struct fact_row {
    size_t first; /* index of the earliest source turn */
    size_t order;
    const char *sp, *txt;
    char ids[MAX_IDS][16];
    size_t nids;
};

static int cmp_fact(const void *a, const void *b)
{
    const struct fact_row *x = a, *y = b;
    if (x->first != y->first)
        return x->first < y->first ? -1 : 1;
    return x->order < y->order ? -1 : x->order > y->order;
}

static size_t turn_index(const struct index *turns, const char *id)
{
    for (size_t i = 0; i < turns->n; i++)
        if (strcmp(turns->it[i].ids[0], id) == 0)
            return i;
    return (size_t)1000000000;
}

static void load_facts_session(struct conv *c, struct mp_terms *terms, json_t *obs, int s,
                               const struct tm *tm)
{
    struct fact_row *rows = NULL;
    size_t n = 0;
    const char *sp;
    json_t *lst;
    json_object_foreach(obs, sp, lst)
    {
        for (size_t j = 0; j < json_array_size(lst); j++) {
            json_t *e = json_array_get(lst, j);
            rows = realloc(rows, (n + 1) * sizeof(*rows));
            struct fact_row *r = &rows[n];
            memset(r, 0, sizeof(*r));
            r->order = n++;
            r->sp = sp;
            r->txt = json_string_value(json_array_get(e, 0));
            json_t *ids = json_array_get(e, 1);
            if (json_is_string(ids))
                norm_ids(json_string_value(ids), r->ids, &r->nids, MAX_IDS);
            for (size_t q = 0; json_is_array(ids) && q < json_array_size(ids); q++)
                norm_ids(json_string_value(json_array_get(ids, q)), r->ids, &r->nids, MAX_IDS);
            r->first = (size_t)1000000000;
            for (size_t q = 0; q < r->nids; q++) {
                size_t ti = turn_index(&c->turns, r->ids[q]);
                r->first = ti < r->first ? ti : r->first;
            }
        }
    }
    qsort(rows, n, sizeof(*rows), cmp_fact);
    char day[16];
    strftime(day, sizeof(day), "%Y-%m-%d", tm);
    for (size_t k = 0; k < n; k++) {
        char *text = NULL;
        if (rows[k].txt == NULL ||
            asprintf(&text, "%s: %s (as of %s)", rows[k].sp, rows[k].txt, day) < 0)
            exit(1);
        struct item *it =
            item_add(&c->facts, terms, rows[k].txt, rows[k].sp, tm, (uint32_t)s, text);
        memcpy(it->ids, rows[k].ids, sizeof(it->ids));
        it->nids = rows[k].nids;
        free(text);
    }
    free(rows);
}

static void load(struct conv *c, struct mp_terms *terms, const char *path)
{
    json_error_t err;
    memset(c, 0, sizeof(*c));
    c->root = json_load_file(path, 0, &err);
    if (c->root == NULL) {
        fprintf(stderr, "%s: %s\n", path, err.text);
        exit(2);
    }
    static int ss[MAX_SESSIONS];
    size_t ns = sessions(c->root, ss, MAX_SESSIONS);
    load_turns(c, terms, c->root, ss, ns);
    for (size_t k = 0; k < ns; k++) {
        char key[64];
        struct tm tm;
        snprintf(key, sizeof(key), "session_%d_observation", ss[k]);
        json_t *obs = json_object_get(c->root, key);
        if (obs == NULL)
            continue;
        if (!session_date(c->root, ss[k], &tm))
            exit(2);
        load_facts_session(c, terms, obs, ss[k], &tm);
    }
    index_finish(&c->facts);
    index_finish(&c->turns);
}

/* ---- evaluation ---- */

struct tally {
    uint64_t hit[MAX_BUDGETS], tot, questions, hits, item_calls, postings, items;
    double score_s, pack_s;
};

struct opts {
    int reps; /* timing: each call this many times, the fastest counted */
    bool no_surface;
    int reach;     /* < 0: the preset's */
    double sess_w; /* < 0: the preset's */
    int survivors; /* < 0: the preset's */
    bool verbose;  /* each question's hits */
};

static bool covered(const struct index *ix, const char *id)
{
    for (size_t i = 0; i < ix->n; i++)
        for (size_t k = 0; k < ix->it[i].nids; k++)
            if (strcmp(ix->it[i].ids[k], id) == 0)
                return true;
    return false;
}

static bool selected(const struct index *ix, const uint32_t *sel, size_t n, const char *id)
{
    for (size_t j = 0; j < n; j++) {
        size_t i;
        if (!item_of(ix, sel[j], &i))
            exit(3);
        for (size_t k = 0; k < ix->it[i].nids; k++)
            if (strcmp(ix->it[i].ids[k], id) == 0)
                return true;
    }
    return false;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void ask(struct index *ix, struct mp_terms *terms, const struct mp_relevance_params *p,
                const struct opts *o, json_t *q, struct tally *t)
{
    char ev[MAX_EVIDENCE][16];
    size_t nev = 0, m = 0;
    json_t *evj = json_object_get(q, "evidence");
    for (size_t k = 0; k < json_array_size(evj); k++)
        norm_ids(json_string_value(json_array_get(evj, k)), ev, &nev, MAX_EVIDENCE);
    for (size_t k = 0; k < nev; k++)
        if (covered(ix, ev[k]))
            memcpy(ev[m++], ev[k], 16);
    if (m == 0)
        return;
    struct mp_relevance_index v = {
        ix,           (uint32_t)ix->n, ix->avglen, v_df, v_postings, NULL, v_item,
        v_item_terms, v_surface,       0,          0,    NULL,       NULL, 0};
    if (o->no_surface)
        v.surface = NULL;
    const char *qs = str_of(q, "question");
    struct mp_relevance_hit *hits = NULL;
    size_t nhits = 0;
    uint64_t calls = ix->item_calls, postings = ix->postings;
    double best = 1e9;
    for (int r = 0; r < o->reps; r++) {
        free(hits);
        double t0 = now_s();
        if (mp_relevance_score(terms, &v, p, qs, strlen(qs), NULL, 0, &hits, &nhits) != MP_OK)
            exit(3);
        best = now_s() - t0 < best ? now_s() - t0 : best;
    }
    t->score_s += best;
    t->item_calls += (ix->item_calls - calls) / (uint64_t)o->reps;
    t->postings += (ix->postings - postings) / (uint64_t)o->reps;
    t->items += ix->n;
    t->hits += nhits;
    if (o->verbose) {
        printf("q %" PRIu64 " %zu hits:", t->questions, nhits);
        for (size_t k = 0; k < nhits; k++)
            printf(" %zu:%.9g", (size_t)((hits[k].item - ID0) / stride), hits[k].score);
        printf("\n");
    }
    t->tot += m;
    t->questions++;
    uint32_t *sel = malloc((nhits > 0 ? nhits : 1) * sizeof(*sel));
    if (sel == NULL)
        exit(1);
    for (size_t b = 0; b < nbudgets; b++) {
        size_t n = 0;
        uint32_t used = 0;
        best = 1e9;
        for (int r = 0; r < o->reps; r++) {
            double t0 = now_s();
            if (mp_relevance_pack(&v, p, hits, nhits, budgets[b], sel, &n, &used) != MP_OK)
                exit(3);
            best = now_s() - t0 < best ? now_s() - t0 : best;
        }
        t->pack_s += best / (double)nbudgets;
        for (size_t k = 0; k < m; k++)
            t->hit[b] += selected(ix, sel, n, ev[k]);
    }
    free(sel);
    free(hits);
}

static void run(struct index *ix, struct mp_terms *terms, enum mp_relevance_kind kind,
                const struct opts *o, json_t *qa, struct tally *t)
{
    struct mp_relevance_params p;
    mp_relevance_preset(kind, &p);
    if (o->reach >= 0)
        p.nb_reach = (unsigned)o->reach;
    if (o->sess_w >= 0)
        p.sess_w = o->sess_w;
    if (o->survivors >= 0)
        p.survivors = (unsigned)o->survivors;
    for (size_t k = 0; k < json_array_size(qa); k++) {
        json_t *q = json_array_get(qa, k);
        if (json_integer_value(json_object_get(q, "category")) != 5)
            ask(ix, terms, &p, o, q, t);
    }
}

static void print(const char *name, const char *kind, const struct tally *t)
{
    printf("%s %s %" PRIu64, name, kind, t->tot);
    for (size_t b = 0; b < nbudgets; b++)
        printf(" %" PRIu32 ":%.1f(%" PRIu64 ")", budgets[b],
               t->tot ? 100.0 * (double)t->hit[b] / (double)t->tot : 0.0, t->hit[b]);
    double nq = t->questions ? (double)t->questions : 1.0;
    printf(" score %.1fus/q pack %.1fus/q; per q: items %.0f postings %.0f hits %.1f item() %.1f\n",
           1e6 * t->score_s / nq, 1e6 * t->pack_s / nq, (double)t->items / nq,
           (double)t->postings / nq, (double)t->hits / nq, (double)t->item_calls / nq);
}

static void add(struct tally *a, const struct tally *b)
{
    for (size_t k = 0; k < nbudgets; k++)
        a->hit[k] += b->hit[k];
    a->tot += b->tot;
    a->questions += b->questions;
    a->hits += b->hits;
    a->item_calls += b->item_calls;
    a->postings += b->postings;
    a->items += b->items;
    a->score_s += b->score_s;
    a->pack_s += b->pack_s;
}

/* -b: up to MAX_BUDGETS budgets, comma-separated, each above 0. */
static bool parse_budgets(const char *s)
{
    nbudgets = 0;
    while (*s != '\0' && nbudgets < MAX_BUDGETS) {
        char *end;
        unsigned long b = strtoul(s, &end, 10);
        if (end == s || b == 0 || b > UINT32_MAX || (*end != ',' && *end != '\0'))
            return false;
        budgets[nbudgets++] = (uint32_t)b;
        s = *end == ',' ? end + 1 : end;
    }
    return nbudgets > 0 && *s == '\0';
}

int main(int argc, char **argv)
{
    struct mp_terms *terms = NULL;
    struct tally all[2];
    struct opts o = {1, false, -1, -1.0, -1, false};
    memset(all, 0, sizeof(all));
    for (int c = getopt(argc, argv, "b:g:r:s:S:nvt:"); c != -1;
         c = getopt(argc, argv, "b:g:r:s:S:nvt:")) {
        if (c == 'b' && !parse_budgets(optarg))
            return 2;
        else if (c == 'b')
            continue;
        else if (c == 't')
            o.reps = atoi(optarg);
        else if (c == 'g')
            stride = (uint32_t)strtoul(optarg, NULL, 10);
        else if (c == 'r')
            o.reach = atoi(optarg);
        else if (c == 's')
            o.sess_w = atof(optarg);
        else if (c == 'S')
            o.survivors = atoi(optarg);
        else if (c == 'n')
            o.no_surface = true;
        else if (c == 'v')
            o.verbose = true;
        else
            return 2;
    }
    if (optind >= argc || stride == 0 || o.reps < 1) {
        fprintf(stderr,
                "usage: %s [-b B,B...] [-g stride] [-r nb_reach] [-s sess_w] [-S survivors] [-n] "
                "[-v] [-t reps] "
                "LOCOMO.json...\n",
                argv[0]);
        return 2;
    }
    if (mp_terms_new(&terms) != MP_OK)
        return 1;
    for (int a = optind; a < argc; a++) {
        struct conv c;
        struct tally t[2];
        memset(t, 0, sizeof(t));
        load(&c, terms, argv[a]);
        json_t *qa = json_object_get(c.root, "qa");
        run(&c.facts, terms, MP_RELEVANCE_FACTS, &o, qa, &t[0]);
        run(&c.turns, terms, MP_RELEVANCE_TURNS, &o, qa, &t[1]);
        const char *name = strrchr(argv[a], '/') ? strrchr(argv[a], '/') + 1 : argv[a];
        print(name, "facts", &t[0]);
        print(name, "turns", &t[1]);
        add(&all[0], &t[0]);
        add(&all[1], &t[1]);
        index_free(&c.facts);
        index_free(&c.turns);
        json_decref(c.root);
    }
    print("all", "facts", &all[0]);
    print("all", "turns", &all[1]);
    mp_terms_free(terms);
    return 0;
}
