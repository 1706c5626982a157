/* langstore: what storing each message's language costs (issue 52,
 * requirements 2 and 4), on the multilingual needles (data/ml-dev, its
 * README): per language, the index bytes per character of message text
 * (docs, terms records, postings and heads of the user, keys and values,
 * as an LMDB store in clear holds them), beside English; and the time the
 * conversion to record format 8 takes at open for a user of N archived
 * messages (the needles' messages cycled, every language). A tool run by
 * hand (tests/bench/README.md), not a test: it asserts nothing.
 *
 *   build/tests/bench/langstore data/ml-dev/needles-dev.json [N]
 *   tests/storage/with_pg.sh build/tests/bench/langstore data/ml-dev/needles-dev.json [N]
 *     (the conversion on PostgreSQL too: MEMPROXY_TEST_POSTGRES_URL, an
 *     empty database)
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "format/codec.h"
#include "rfc3339.h"
#include "status.h"
#include "ops/store.h"
#include "ops/store_backend.h"
#include "pg/store_pg.h"

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static struct mp_store *open_at(const char *dir)
{
    char err[256];
    struct mp_store *s = NULL;
    struct mp_store_options so = {.path = dir, .map_size = 64u << 20, .sync = MP_STORE_SYNC_NONE};
    if (mp_store_open_lmdb(&so, &s, err, sizeof(err)) != MP_OK) {
        fprintf(stderr, "langstore: %s\n", err);
        exit(1);
    }
    return s;
}

#define BATCH 100

/* Imports texts[0..n) for user, at at + 10 min apart, BATCH ops an apply. */
static void import_many(struct mp_store *s, const char *user, const char **texts, size_t n,
                        int64_t at)
{
    static struct mp_mem_message m[BATCH];
    static struct mp_op op[BATCH];
    for (size_t i = 0; i < n; i += BATCH) {
        size_t k = n - i < BATCH ? n - i : BATCH;
        for (size_t j = 0; j < k; j++) {
            memset(&m[j], 0, sizeof(m[j]));
            m[j].role = MP_ROLE_USER;
            m[j].content = (char *)texts[i + j];
            m[j].content_len = strlen(texts[i + j]);
            m[j].at_ms = at + (int64_t)(i + j) * 600000;
            memset(&op[j], 0, sizeof(op[j]));
            op[j].kind = MP_OP_IMPORT_MESSAGE;
            op[j].user = user;
            op[j].user_len = strlen(user);
            op[j].now_ms = m[j].at_ms + 1;
            op[j].u.turn.messages = &m[j];
            op[j].u.turn.nmessages = 1;
        }
        if (mp_store_apply(s, op, k) != MP_OK) {
            fprintf(stderr, "langstore: import failed\n");
            exit(1);
        }
    }
}

static void import(struct mp_store *s, const char *user, const char *text, int64_t at)
{
    struct mp_mem_message m;
    memset(&m, 0, sizeof(m));
    m.role = MP_ROLE_USER;
    m.content = (char *)text;
    m.content_len = strlen(text);
    m.at_ms = at;
    struct mp_op op = {.kind = MP_OP_IMPORT_MESSAGE, .user = user, .user_len = strlen(user)};
    op.now_ms = at + 1;
    op.u.turn.messages = &m;
    op.u.turn.nmessages = 1;
    if (mp_store_apply(s, &op, 1) != MP_OK || op.result != MP_OK) {
        fprintf(stderr, "langstore: import failed\n");
        exit(1);
    }
}

static size_t codepoints(const char *t)
{
    size_t n = 0;
    for (; *t != '\0'; t++)
        n += ((unsigned char)*t & 0xc0) != 0x80;
    return n;
}

struct sum {
    uint64_t bytes, records;
};

static int on_record(void *arg, const unsigned char *key, size_t klen, const unsigned char *val,
                     size_t vlen)
{
    struct sum *s = arg;
    (void)key;
    (void)val;
    s->bytes += klen + vlen;
    s->records++;
    return MP_OK;
}

/* The bytes of user's index records (keys and values) and its postings. */
static void index_bytes(struct mp_store *s, const char *user, uint64_t *bytes, uint64_t *postings)
{
    static const enum mp_store_table t[] = {MP_TABLE_DOCS, MP_TABLE_DTERMS, MP_TABLE_POSTINGS,
                                            MP_TABLE_HEADS};
    unsigned char p[MP_STORE_USER_PREFIX_MAX];
    size_t plen = mp_store_backend_user_prefix(s, p, user, strlen(user));
    struct mp_store_txn txn;
    *bytes = *postings = 0;
    if (s->be->begin(s, false, &txn) != MP_OK)
        exit(1);
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        struct sum sm = {0, 0};
        if (s->be->scan(&txn, t[i], p, plen, plen, on_record, &sm) != MP_OK)
            exit(1);
        *bytes += sm.bytes;
        if (t[i] == MP_TABLE_POSTINGS)
            *postings = sm.records;
    }
    s->be->end(&txn, false);
}

static int64_t time_of(json_t *turn)
{
    const char *at = json_string_value(json_object_get(turn, "at"));
    int64_t ms = 0;
    if (at == NULL || mp_rfc3339_parse(at, strlen(at), &ms) != MP_OK)
        return 1700000000000LL;
    return ms;
}

/* Per language: index bytes per character, beside English's. */
static void size_table(json_t *convs, const char *dir)
{
    struct mp_store *s = open_at(dir);
    double en = 0, enb = 0;
    printf("| language | messages | characters | text bytes | postings | index bytes | "
           "index bytes / character | x English | index bytes / text byte | x English |\n"
           "|---|---|---|---|---|---|---|---|---|---|\n");
    for (int pass = 0; pass < 2; pass++) { /* English first, for the ratio */
        size_t i;
        json_t *c;
        json_array_foreach(convs, i, c)
        {
            const char *lang = json_string_value(json_object_get(c, "lang"));
            if (lang == NULL || (pass == 0) != (strcmp(lang, "en") == 0))
                continue;
            json_t *turns = json_object_get(c, "turns"), *t;
            size_t j, chars = 0, bytes = 0;
            json_array_foreach(turns, j, t)
            {
                const char *text = json_string_value(json_object_get(t, "content"));
                import(s, lang, text, time_of(t));
                chars += codepoints(text);
                bytes += strlen(text);
            }
            uint64_t ib, np;
            index_bytes(s, lang, &ib, &np);
            double per = (double)ib / (double)chars, perb = (double)ib / (double)bytes;
            if (pass == 0) {
                en = per;
                enb = perb;
            }
            printf("| %s | %zu | %zu | %zu | %llu | %llu | %.2f | %.2f | %.2f | %.2f |\n", lang,
                   json_array_size(turns), chars, bytes, (unsigned long long)np,
                   (unsigned long long)ib, per, per / en, perb, perb / enb);
        }
    }
    mp_store_free(s);
}

/* A user of n archived messages (the needles' cycled), its store set back
 * to format 7 and opened again (reopen): the conversion's time. */
static void conversion_time(json_t *convs, struct mp_store *s,
                            struct mp_store *(*reopen)(struct mp_store *s, void *arg), void *arg,
                            const char *backend, size_t n)
{
    const char **texts = malloc(n * sizeof(*texts));
    size_t done = 0, ci;
    json_t *c;
    if (texts == NULL)
        exit(1);
    while (done < n) {
        json_array_foreach(convs, ci, c)
        {
            json_t *turns = json_object_get(c, "turns"), *t;
            size_t j;
            json_array_foreach(turns, j, t)
            {
                if (done < n)
                    texts[done++] = json_string_value(json_object_get(t, "content"));
            }
        }
    }
    import_many(s, "big", texts, n, 1700000000000LL);
    free(texts);
    struct mp_store_txn txn;
    unsigned char f[4] = {7, 0, 0, 0};
    if (s->be->begin(s, true, &txn) != MP_OK ||
        s->be->put(&txn, MP_TABLE_META, "format", 6, f, 4) != MP_OK || s->be->end(&txn, true))
        exit(1);
    uint64_t before, np;
    index_bytes(s, "big", &before, &np);
    double t0 = mono_s();
    s = reopen(s, arg);
    double secs = mono_s() - t0;
    uint64_t after;
    index_bytes(s, "big", &after, &np);
    printf("| %s | %zu | %llu | %.2f | %.0f | %llu | %llu |\n", backend, n, (unsigned long long)np,
           secs, (double)n / secs, (unsigned long long)before, (unsigned long long)after);
    mp_store_free(s);
}

static struct mp_store *reopen_lmdb(struct mp_store *s, void *dir)
{
    mp_store_free(s);
    return open_at(dir);
}

static struct mp_store *open_pg(const char *url)
{
    char err[256];
    struct mp_store *s = NULL;
    struct mp_store_pg_options o = {.conninfo = url, .pool = 2, .migrate = true};
    if (mp_store_open_pg(&o, &s, err, sizeof(err)) != MP_OK) {
        fprintf(stderr, "langstore: %s\n", err);
        exit(1);
    }
    return s;
}

static struct mp_store *reopen_pg(struct mp_store *s, void *url)
{
    mp_store_free(s);
    return open_pg(url);
}

int main(int argc, char **argv)
{
    json_error_t jerr;
    if (argc < 2) {
        fprintf(stderr, "usage: langstore NEEDLES_JSON [N]\n");
        return 2;
    }
    size_t n = argc > 2 ? (size_t)strtoul(argv[2], NULL, 10) : 10000;
    json_t *root = json_load_file(argv[1], 0, &jerr);
    json_t *convs = root != NULL ? json_object_get(root, "conversations") : NULL;
    if (!json_is_array(convs)) {
        fprintf(stderr, "langstore: cannot read %s: %s\n", argv[1], jerr.text);
        return 1;
    }
    char a[] = "/tmp/langstore-XXXXXX", b[] = "/tmp/langstore-XXXXXX";
    if (mkdtemp(a) == NULL || mkdtemp(b) == NULL)
        return 1;
    size_table(convs, a);
    printf("\nconversion at open, format 7 to 8 (opening the store again):\n\n"
           "| backend | archived messages | postings | seconds | messages/s | index bytes before |"
           " after |\n|---|---|---|---|---|---|---|\n");
    conversion_time(convs, open_at(b), reopen_lmdb, b, "LMDB", n);
    const char *url = getenv("MEMPROXY_TEST_POSTGRES_URL"); /* an empty database */
    if (url != NULL && *url != '\0')
        conversion_time(convs, open_pg(url), reopen_pg, (void *)url, "PostgreSQL", n);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s %s", a, b);
    json_decref(root);
    return system(cmd) == 0 ? 0 : 1;
}
