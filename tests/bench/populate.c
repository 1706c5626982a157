/* populate: fills an LMDB memory store for tests/bench/memory.sh through the
 * storage library, the way memproxy's memory worker writes it. A benchmark
 * tool, not a test: it checks nothing beyond the store's return codes.
 *
 * What it writes
 * --------------
 * - N ordinary users "<prefix><i>" (i = 0..N-1, decimal), each a small
 *   realistic record: two recorded turns (4 messages), 3 facts and a 20-word
 *   summary. The users are inserted in a scrambled order (i = j * step mod N,
 *   step coprime to N) so that the B-tree is shaped like one filled by real
 *   traffic (half-full pages after splits), not like a sorted bulk load.
 * - The memory-hit user (default "bench-hit"): 50 facts, a 150-word summary
 *   and a full buffer of --buffer-messages messages.
 *
 * Ops go in batches of about --batch ops per mp_store_apply (one LMDB write
 * transaction each; a user's ops never straddle two batches). It prints how
 * long the whole population took and how big the store is. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "status.h"
#include "store.h"
#include "usermem.h"

#define SMALL_MESSAGES 4
#define SMALL_FACTS    3
#define SMALL_OPS      (2 + SMALL_FACTS + 1) /* 2 turns, the facts, the summary */
#define HIT_FACTS      50
#define HIT_WORDS      150
#define TEXT_MAX       256
#define MODEL          "gpt-4o-mini"

struct options {
    const char *path;
    uint64_t users;
    unsigned buffer_messages;
    unsigned batch;
    uint64_t map_size_mb;
    enum mp_store_sync sync;
    const char *hit_user;
    const char *prefix;
};

/* Everything the ops of one ordinary user point to; it lives until the
 * batch holding those ops has been applied. */
struct small_user {
    char id[MP_USER_KEY_MAX + 1];
    struct mp_mem_message msgs[SMALL_MESSAGES];
    char texts[SMALL_MESSAGES][TEXT_MAX];
    char values[SMALL_FACTS][TEXT_MAX];
};

static const char *const projects[] = {"a recipe app",      "a budgeting tool",
                                       "a chess engine",    "a weather dashboard",
                                       "a note-taking app", "an invoice generator"};
static const char *const tools[] = {"Flask and Postgres", "Rails and MySQL",
                                    "Go and SQLite",      "Next.js and Supabase",
                                    "Django and Redis",   "Rust and ChromaDB"};
static const char *const words[] = {
    "the",     "user",    "is",      "building", "a",        "small",   "service", "with",
    "vector",  "search",  "prefers", "concise",  "answers",  "asked",   "about",   "deploying",
    "on",      "Debian",  "and",     "tuning",   "Postgres", "indexes", "for",     "faster",
    "queries", "decided", "to",      "keep",     "ChromaDB", "as",      "store",   "mentioned",
    "tests",   "in",      "CI",      "budget",   "of",       "latency", "under",   "load"};

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t gcd(uint64_t a, uint64_t b)
{
    while (b != 0) {
        uint64_t t = a % b;
        a = b;
        b = t;
    }
    return a;
}

/* A step that visits every i in 0..n-1 once as j * step mod n. */
static uint64_t scramble_step(uint64_t n)
{
    uint64_t step = 1000003; /* prime */
    if (n < 2)
        return 1;
    step %= n;
    while (step == 0 || gcd(step, n) != 1)
        step = (step + 1) % n;
    return step;
}

/* Distinct per user and turn; the store only needs it unique per user. */
static void idem_key(uint8_t *key, uint64_t user, unsigned turn)
{
    memset(key, 0xA5, MP_IDEM_KEY_LEN);
    for (int b = 0; b < 8; b++)
        key[b] = (uint8_t)(user >> (8 * b));
    key[8] = (uint8_t)turn;
}

static void set_message(struct mp_mem_message *m, enum mp_role role, char *text, int64_t at_ms,
                        const char *rid)
{
    memset(m, 0, sizeof(*m));
    m->role = role;
    m->content = text;
    m->content_len = strlen(text);
    m->at_ms = at_ms;
    snprintf(m->request_id, sizeof(m->request_id), "%s", rid);
}

static void set_turn(struct mp_op *op, const char *user, int64_t now, struct mp_mem_message *msgs,
                     size_t n, uint64_t idx, unsigned turn)
{
    memset(op, 0, sizeof(*op));
    op->kind = MP_OP_RECORD_TURN;
    op->user = user;
    op->user_len = strlen(user);
    op->now_ms = now;
    op->u.turn.messages = msgs;
    op->u.turn.nmessages = n;
    idem_key(op->u.turn.idem_key, idx, turn);
}

static void set_fact(struct mp_op *op, const char *user, int64_t now, const char *key, char *value,
                     double confidence, const char *rid)
{
    memset(op, 0, sizeof(*op));
    op->kind = MP_OP_UPSERT_ENTITY;
    op->user = user;
    op->user_len = strlen(user);
    op->now_ms = now;
    snprintf(op->u.entity.key, sizeof(op->u.entity.key), "%s", key);
    op->u.entity.value = value;
    op->u.entity.value_len = strlen(value);
    op->u.entity.confidence = confidence;
    op->u.entity.observed_at_ms = now;
    op->u.entity.recorded_at_ms = now;
    op->u.entity.trust = MP_TRUST_STATED;
    op->u.entity.source_role = MP_ROLE_USER;
    snprintf(op->u.entity.request_id, sizeof(op->u.entity.request_id), "%s", rid);
    snprintf(op->u.entity.model, sizeof(op->u.entity.model), "%s", MODEL);
}

static void set_summary(struct mp_op *op, const char *user, int64_t now, const char *text)
{
    memset(op, 0, sizeof(*op));
    op->kind = MP_OP_SET_SUMMARY;
    op->user = user;
    op->user_len = strlen(user);
    op->now_ms = now;
    op->u.summary.text = text;
    op->u.summary.text_len = strlen(text);
    op->u.summary.through_seq = 0; /* keeps the buffer */
}

/* A summary of exactly nwords words, from the word list. */
static void make_summary(char *out, size_t cap, unsigned nwords, uint64_t seed)
{
    size_t n = 0;
    size_t nw = sizeof(words) / sizeof(words[0]);
    out[0] = '\0';
    for (unsigned w = 0; w < nwords && n + 16 < cap; w++) {
        const char *word = words[(seed + w * 7) % nw];
        int k = snprintf(out + n, cap - n, "%s%s", w == 0 ? "" : " ", word);
        if (k > 0)
            n += (size_t)k;
    }
    if (n + 1 < cap)
        strcat(out, ".");
}

/* The 6 ops of one ordinary user into ops[0..SMALL_OPS). */
static void small_user_ops(struct small_user *u, struct mp_op *ops, const char *prefix, uint64_t i,
                           int64_t now, const char *summary)
{
    size_t np = sizeof(projects) / sizeof(projects[0]);
    const char *project = projects[i % np];
    const char *tool = tools[(i / np) % np];
    char rid1[32], rid2[32];
    snprintf(u->id, sizeof(u->id), "%s%" PRIu64, prefix, i);
    snprintf(rid1, sizeof(rid1), "req-%" PRIu64 "-1", i);
    snprintf(rid2, sizeof(rid2), "req-%" PRIu64 "-2", i);
    snprintf(u->texts[0], TEXT_MAX, "Hi, I am user %" PRIu64 " and I am building %s.", i, project);
    snprintf(u->texts[1], TEXT_MAX, "Nice! Which stack do you use for %s?", project);
    snprintf(u->texts[2], TEXT_MAX, "I use %s, on a small VPS.", tool);
    snprintf(u->texts[3], TEXT_MAX, "Good choice: %s is simple to run.", tool);
    set_message(&u->msgs[0], MP_ROLE_USER, u->texts[0], now - 60000, rid1);
    set_message(&u->msgs[1], MP_ROLE_ASSISTANT, u->texts[1], now - 60000, rid1);
    set_message(&u->msgs[2], MP_ROLE_USER, u->texts[2], now - 30000, rid2);
    set_message(&u->msgs[3], MP_ROLE_ASSISTANT, u->texts[3], now - 30000, rid2);
    set_turn(&ops[0], u->id, now - 60000, &u->msgs[0], 2, i, 1);
    set_turn(&ops[1], u->id, now - 30000, &u->msgs[2], 2, i, 2);
    snprintf(u->values[0], TEXT_MAX, "user %" PRIu64, i);
    snprintf(u->values[1], TEXT_MAX, "%s", project);
    snprintf(u->values[2], TEXT_MAX, "%s", tool);
    set_fact(&ops[2], u->id, now, "name", u->values[0], 0.95, rid1);
    set_fact(&ops[3], u->id, now, "project", u->values[1], 0.9, rid1);
    set_fact(&ops[4], u->id, now, "tools", u->values[2], 0.85, rid2);
    set_summary(&ops[5], u->id, now, summary);
}

static int apply_batch(struct mp_store *store, struct mp_op *ops, size_t nops)
{
    int rc = mp_store_apply(store, ops, nops);
    if (rc != MP_OK) {
        fprintf(stderr, "populate: mp_store_apply failed: %s\n", mp_status_name(rc));
        return rc;
    }
    for (size_t k = 0; k < nops; k++) {
        if (ops[k].result != MP_OK) {
            fprintf(stderr, "populate: op %zu of a batch: %s\n", k, mp_status_name(ops[k].result));
            return MP_EIO;
        }
    }
    return MP_OK;
}

static int populate_small(struct mp_store *store, const struct options *o, uint64_t *nops_total,
                          uint64_t *napplies)
{
    size_t per_batch = o->batch / SMALL_OPS > 0 ? o->batch / SMALL_OPS : 1;
    struct small_user *us = calloc(per_batch, sizeof(*us));
    struct mp_op *ops = calloc(per_batch * SMALL_OPS, sizeof(*ops));
    char summary[TEXT_MAX * 2];
    uint64_t step = scramble_step(o->users);
    uint64_t next_report = o->users / 10;
    int rc = MP_OK;
    make_summary(summary, sizeof(summary), 20, 0);
    if (us == NULL || ops == NULL) {
        rc = MP_ENOMEM;
        goto out;
    }
    for (uint64_t j = 0; j < o->users && rc == MP_OK;) {
        size_t n = 0;
        int64_t now = wall_ms();
        for (; n < per_batch && j < o->users; n++, j++)
            small_user_ops(&us[n], &ops[n * SMALL_OPS], o->prefix, j * step % o->users, now,
                           summary);
        rc = apply_batch(store, ops, n * SMALL_OPS);
        *nops_total += n * SMALL_OPS;
        (*napplies)++;
        if (j >= next_report && o->users >= 100000) {
            fprintf(stderr, "populate: %" PRIu64 " / %" PRIu64 " users\n", j, o->users);
            next_report += o->users / 10;
        }
    }
out:
    free(us);
    free(ops);
    return rc;
}

/* The hit user: a full buffer, 50 facts and a 150-word summary, one apply. */
static int populate_hit(struct mp_store *store, const struct options *o, uint64_t *nops_total,
                        uint64_t *napplies)
{
    unsigned nm = o->buffer_messages;
    size_t nops_max = nm + HIT_FACTS + 1;
    struct mp_mem_message *msgs = calloc(nm, sizeof(*msgs));
    char(*texts)[TEXT_MAX] = calloc(nm + HIT_FACTS, sizeof(*texts));
    struct mp_op *ops = calloc(nops_max, sizeof(*ops));
    char summary[HIT_WORDS * 16];
    int64_t now = wall_ms();
    size_t nops = 0;
    int rc = MP_ENOMEM;
    if (msgs == NULL || texts == NULL || ops == NULL)
        goto out;
    /* Turns of a user message and its reply; with an odd count the first
     * turn is a lone user message (its reply was cut). */
    for (unsigned m = 0; m < nm; m++) {
        bool user = (nm - m) % 2 == 0 || m == 0;
        char rid[32];
        snprintf(rid, sizeof(rid), "req-hit-%u", m);
        snprintf(texts[m], TEXT_MAX,
                 user ? "Message %u: how should I index the embeddings table so that nearest "
                        "neighbour queries stay fast once it holds a few million rows?"
                      : "Message %u: use an HNSW index on the vector column, keep the "
                        "dimension fixed, and batch the inserts so the index is built once.",
                 m);
        set_message(&msgs[m], user ? MP_ROLE_USER : MP_ROLE_ASSISTANT, texts[m],
                    now - (int64_t)(nm - m) * 1000, rid);
    }
    for (unsigned m = 0; m < nm;) {
        unsigned len = m == 0 && nm % 2 == 1 ? 1 : 2;
        set_turn(&ops[nops++], o->hit_user, now - (int64_t)(nm - m) * 1000, &msgs[m], len,
                 UINT64_MAX, m);
        m += len;
    }
    for (unsigned f = 0; f < HIT_FACTS; f++) {
        char key[MP_ENTITY_KEY_MAX + 1];
        char *value = texts[nm + f];
        snprintf(key, sizeof(key), "fact_%02u", f + 1);
        snprintf(value, TEXT_MAX, "detail %u of the user's setup: prefers option %c", f + 1,
                 'A' + (int)(f % 26));
        set_fact(&ops[nops++], o->hit_user, now, key, value, 0.75 + 0.005 * f, "req-hit-0");
    }
    make_summary(summary, sizeof(summary), HIT_WORDS, 3);
    set_summary(&ops[nops++], o->hit_user, now, summary);
    rc = apply_batch(store, ops, nops);
    *nops_total += nops;
    (*napplies)++;
out:
    free(msgs);
    free(texts);
    free(ops);
    return rc;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: populate --path DIR --users N [--buffer-messages N] [--batch OPS]\n"
               "                [--map-size-mb MB] [--sync full|meta|none] [--hit-user ID]\n"
               "                [--prefix PREFIX]\n"
               "Fills an LMDB memory store: N users named PREFIX<i> (default bench-u<i>) with\n"
               "3 facts, a 20-word summary and 4 messages each, plus the hit user (default\n"
               "bench-hit) with 50 facts, a 150-word summary and --buffer-messages messages\n"
               "(default 15). --batch: ops per write transaction (default 4096). --sync\n"
               "defaults to none. Prints one line: POPULATE users=N ... seconds=F ...\n");
}

static int parse_uint(const char *s, uint64_t max, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || s[0] == '-' || v > max)
        return MP_EINVAL;
    *out = v;
    return MP_OK;
}

static int parse_args(int argc, char **argv, struct options *o)
{
    uint64_t v;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage(stdout);
            exit(0);
        }
        if (val == NULL)
            goto bad;
        i++;
        if (strcmp(a, "--path") == 0) {
            o->path = val;
        } else if (strcmp(a, "--users") == 0 && parse_uint(val, 100000000, &v) == MP_OK) {
            o->users = v;
        } else if (strcmp(a, "--buffer-messages") == 0 && parse_uint(val, 1000, &v) == MP_OK &&
                   v > 0) {
            o->buffer_messages = (unsigned)v;
        } else if (strcmp(a, "--batch") == 0 && parse_uint(val, 1000000, &v) == MP_OK && v > 0) {
            o->batch = (unsigned)v;
        } else if (strcmp(a, "--map-size-mb") == 0 && parse_uint(val, 1048576, &v) == MP_OK &&
                   v > 0) {
            o->map_size_mb = v;
        } else if (strcmp(a, "--sync") == 0 && strcmp(val, "full") == 0) {
            o->sync = MP_STORE_SYNC_FULL;
        } else if (strcmp(a, "--sync") == 0 && strcmp(val, "meta") == 0) {
            o->sync = MP_STORE_SYNC_META;
        } else if (strcmp(a, "--sync") == 0 && strcmp(val, "none") == 0) {
            o->sync = MP_STORE_SYNC_NONE;
        } else if (strcmp(a, "--hit-user") == 0 && strlen(val) > 0 &&
                   strlen(val) <= MP_USER_KEY_MAX) {
            o->hit_user = val;
        } else if (strcmp(a, "--prefix") == 0 && strlen(val) + 20 <= MP_USER_KEY_MAX) {
            o->prefix = val;
        } else {
            goto bad;
        }
    }
    if (o->path != NULL)
        return MP_OK;
bad:
    usage(stderr);
    return MP_EINVAL;
}

static void report(const struct options *o, struct mp_store *store, double secs, uint64_t nops,
                   uint64_t napplies)
{
    struct mp_store_stats st = {0};
    struct stat sb;
    char data[4096 + 16];
    uint64_t size = 0, disk = 0;
    snprintf(data, sizeof(data), "%s/data.mdb", o->path);
    if (stat(data, &sb) == 0) {
        size = (uint64_t)sb.st_size;
        disk = (uint64_t)sb.st_blocks * 512;
    }
    mp_store_stats(store, &st);
    printf("POPULATE users=%" PRIu64 " hit_user=%s hit_facts=%d hit_summary_words=%d "
           "hit_messages=%u ops=%" PRIu64 " applies=%" PRIu64 " seconds=%.2f "
           "map_used=%" PRIu64 " map_size=%" PRIu64 " file_bytes=%" PRIu64 " disk_bytes=%" PRIu64
           "\n",
           o->users, o->hit_user, HIT_FACTS, HIT_WORDS, o->buffer_messages, nops, napplies, secs,
           st.map_used, st.map_size, size, disk);
}

int main(int argc, char **argv)
{
    struct options o = {.buffer_messages = 15,
                        .batch = 4096,
                        .map_size_mb = 1024,
                        .sync = MP_STORE_SYNC_NONE,
                        .hit_user = "bench-hit",
                        .prefix = "bench-u"};
    struct mp_store *store = NULL;
    char err[256] = "";
    uint64_t nops = 0, napplies = 0;
    int rc;
    if (parse_args(argc, argv, &o) != MP_OK)
        return 2;
    double t0 = mono_s();
    struct mp_store_options so = {
        .path = o.path, .map_size = o.map_size_mb << 20, .map_size_max = 0, .sync = o.sync};
    rc = mp_store_open_lmdb(&so, &store, err, sizeof(err));
    if (rc != MP_OK) {
        fprintf(stderr, "populate: cannot open the store at %s: %s\n", o.path, err);
        return 1;
    }
    rc = populate_small(store, &o, &nops, &napplies);
    if (rc == MP_OK)
        rc = populate_hit(store, &o, &nops, &napplies);
    double secs = mono_s() - t0;
    if (rc == MP_OK)
        report(&o, store, secs, nops, napplies);
    mp_store_free(store);
    return rc == MP_OK ? 0 : 1;
}
