/* Each message's language, stored (issue 52, requirements 2 and 4): a
 * store of record format 7, whose index was made by reading every text as
 * English, opens as format 8 with every message's language identified
 * and stored and its index made again by language (LMDB, clear and
 * sealed, and PostgreSQL); a message keeps its language through every
 * read and copy.
 *
 * The fixture: tests/storage/data/format7/{clear,sealed}/data.mdb, written
 * by tests/storage/data/format7/make_format7.c with the code of record
 * format 7 (commit bba23a5; make_format7.sh builds and runs it): a user
 * "polyglot" with a turn, a fact and search keys in English, Chinese,
 * Japanese, Russian, German and Arabic (seq 2i+1 is the user message of
 * turn i, in that order), and a user "plain" with an English summary. The
 * user "many" has 400 imported Chinese messages sharing words (a head of
 * a common term once they are terms: format 7 made each sentence one
 * term). The sealed one is sealed with fx_key_a. PostgreSQL gets the clear one's
 * records copied row by row into its tables (the format-7 bytes as they
 * are), then opens as LMDB does. */
#include <check.h>
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "format/codec.h"
#include "ops/heads.h"
#include "heads_check.h"
#include "ops/index.h"
#include "recall/lang.h"
#include "status.h"
#include "ops/store.h"
#include "ops/store_backend.h"
#include "upkeep/store_copy.h"
#include "store_fixture.h"
#include "recall/terms.h"

Suite *mp_test_suite(void);

#ifndef MP_FORMAT_FIXTURE_DIR
#error "the build passes the fixture directory"
#endif

#define POLY    U("polyglot")
#define SEQ_EN  1u
#define SEQ_ZH  3u
#define SEQ_JA  5u
#define SEQ_RU  7u
#define SEQ_DE  9u
#define SEQ_AR  11u
#define NPOLY   12u /* messages of polyglot */
#define TXN_MAX 4

/* The language each of polyglot's messages must have: the user's
 * message's, and its reply's read with it as the prior. */
static const int want_lang[NPOLY] = {MP_LANG_EN, MP_LANG_EN, MP_LANG_ZH, MP_LANG_ZH,
                                     MP_LANG_JA, MP_LANG_JA, MP_LANG_RU, MP_LANG_RU,
                                     MP_LANG_DE, MP_LANG_DE, MP_LANG_AR, MP_LANG_AR};

/* seq's: the fixture's, or the Russian turn recorded after the
 * conversion. */
static int lang_of_seq(uint64_t seq)
{
    return seq <= NPOLY ? want_lang[seq - 1] : MP_LANG_RU;
}

/* Every archived and buffered message of polyglot has its language. */
static void langs_stored(struct mp_store *s)
{
    struct mp_mem_message *m = NULL;
    size_t n = 0;
    bool more = false;
    ck_assert_int_eq(mp_store_archive(s, POLY, 0, 100, &m, &n, &more), MP_OK);
    ck_assert_uint_ge(n, NPOLY - 1);
    for (size_t i = 0; i < n; i++)
        ck_assert_msg(m[i].lang == lang_of_seq(m[i].seq), "seq %llu: lang %d, want %d",
                      (unsigned long long)m[i].seq, m[i].lang, lang_of_seq(m[i].seq));
    mp_store_messages_free(m, n);
    struct mp_usermem *um = fx_get(s, POLY);
    ck_assert_uint_gt(um->nmessages, 0);
    for (size_t i = 0; i < um->nmessages; i++)
        ck_assert_int_eq(um->messages[i].lang, lang_of_seq(um->messages[i].seq));
    mp_usermem_free(um);
    um = fx_get(s, U("plain"));
    for (size_t i = 0; i < um->nmessages; i++)
        ck_assert_int_eq(um->messages[i].lang, MP_LANG_EN);
    mp_usermem_free(um);
}

static void user_prefix(struct mp_store *s, const char *u, size_t ulen, unsigned char *p,
                        size_t *plen)
{
    *plen = mp_store_backend_user_prefix(s, p, u, ulen);
}

/* Whether the message item seq of user has a posting of term. */
static bool has_posting(struct mp_store *s, const char *term, size_t tlen, uint32_t seq)
{
    unsigned char p[MP_STORE_USER_PREFIX_MAX], k[MP_STORE_KEY_MAX];
    size_t plen;
    struct mp_store_txn txn;
    const unsigned char *v;
    size_t n;
    user_prefix(s, POLY, p, &plen);
    size_t kl = mp_index_posting_key(s, k, p, plen, MP_CODEC_KIND_MESSAGE, term, tlen, seq);
    ck_assert_int_eq(s->be->begin(s, false, &txn), MP_OK);
    int rc = s->be->get(&txn, MP_TABLE_POSTINGS, k, kl, &v, &n);
    s->be->end(&txn, false);
    ck_assert(rc == MP_OK || rc == MP_NOTFOUND);
    return rc == MP_OK;
}

struct qterms {
    struct mp_store *s;
    uint32_t seq;
    size_t n, hit;
};

static int on_qterm(void *arg, const char *term, size_t len, uint32_t pos)
{
    struct qterms *q = arg;
    (void)pos;
    q->n++;
    q->hit += has_posting(q->s, term, len, q->seq);
    return MP_OK;
}

/* The terms of question (read in its own language) that find message seq
 * through its postings. */
static size_t question_hits(struct mp_store *s, const char *question, uint32_t seq)
{
    struct mp_terms *t = NULL;
    struct qterms q = {s, seq, 0, 0};
    ck_assert_int_eq(mp_terms_new(&t), MP_OK);
    ck_assert_int_eq(mp_terms_each(t, question, strlen(question), on_qterm, &q), MP_OK);
    mp_terms_free(t);
    return q.hit;
}

/* The questions find their messages through the index made again; the
 * English-only terms of format 7 are gone. */
static void index_by_language(struct mp_store *s)
{
    ck_assert_uint_ge(question_hits(s, "我女儿的钢琴演奏会在哪里？", SEQ_ZH), 2);
    ck_assert_uint_ge(question_hits(s, "娘のピアノの発表会はどこですか？", SEQ_JA), 2);
    ck_assert_uint_ge(question_hits(s, "Где играет моя дочери?", SEQ_RU), 1);
    ck_assert_uint_ge(question_hits(s, "Wo ist das Klavierkonzert meiner Tochter?", SEQ_DE), 2);
    ck_assert_uint_ge(question_hits(s, "أين حفل ابنتي؟", SEQ_AR), 1);
    ck_assert_uint_ge(question_hits(s, "Where is my daughter's piano recital?", SEQ_EN), 3);
    /* format 7 made the whole Chinese sentence one term, cut at 64 bytes */
    static const char old[] = "我女儿周六在杭州参加钢琴演奏会";
    ck_assert(!has_posting(s, old, strlen(old), SEQ_ZH));
    ck_assert(has_posting(s, "杭州", strlen("杭州"), SEQ_ZH));
    /* the search keys too (女儿, 钢琴演奏会: a bigram of it) */
    ck_assert(has_posting(s, "钢琴", strlen("钢琴"), SEQ_ZH));
}

/* The keys of table t under user's prefix, in one read. */
struct rows {
    unsigned char **k, **v;
    size_t *kl, *vl;
    size_t n, cap;
};

static int on_row(void *arg, const unsigned char *key, size_t klen, const unsigned char *val,
                  size_t vlen)
{
    struct rows *r = arg;
    if (r->n == r->cap) {
        r->cap = r->cap * 2 + 16;
        r->k = realloc(r->k, r->cap * sizeof(*r->k));
        r->v = realloc(r->v, r->cap * sizeof(*r->v));
        r->kl = realloc(r->kl, r->cap * sizeof(*r->kl));
        r->vl = realloc(r->vl, r->cap * sizeof(*r->vl));
        ck_assert(r->k != NULL && r->v != NULL && r->kl != NULL && r->vl != NULL);
    }
    r->k[r->n] = malloc(klen + 1);
    r->v[r->n] = malloc(vlen + 1);
    memcpy(r->k[r->n], key, klen);
    memcpy(r->v[r->n], val, vlen);
    r->kl[r->n] = klen;
    r->vl[r->n++] = vlen;
    return MP_OK;
}

static void rows_free(struct rows *r)
{
    for (size_t i = 0; i < r->n; i++) {
        free(r->k[i]);
        free(r->v[i]);
    }
    free(r->k);
    free(r->v);
    free(r->kl);
    free(r->vl);
    memset(r, 0, sizeof(*r));
}

static void scan_rows(struct mp_store_txn *txn, enum mp_store_table t, const unsigned char *p,
                      size_t plen, struct rows *out)
{
    ck_assert_int_eq(txn->store->be->scan(txn, t, p, plen, plen, on_row, out), MP_OK);
}

/* The user's heads are those a build from its index makes: read, dropped
 * and built again (heads.h: mp_heads_build_user) in a transaction that is
 * then abandoned, and compared record by record. Sealed records are
 * compared opened. */
static void heads_as_built(struct mp_store *s, const char *u, size_t ulen, bool some)
{
    unsigned char p[MP_STORE_USER_PREFIX_MAX];
    size_t plen;
    struct mp_store_txn txn;
    struct rows had = {0}, built = {0};
    struct mp_store_plain pv;
    struct mp_codec_user meta;
    struct mp_usermem *um = NULL;
    user_prefix(s, u, ulen, p, &plen);
    ck_assert_int_eq(s->be->begin(s, true, &txn), MP_OK);
    scan_rows(&txn, MP_TABLE_HEADS, p, plen, &had);
    ck_assert(!some || had.n > 0);
    for (size_t i = 0; i < had.n; i++)
        ck_assert_int_eq(s->be->del(&txn, MP_TABLE_HEADS, had.k[i], had.kl[i]), MP_OK);
    ck_assert_int_eq(mp_store_backend_get_plain(&txn, MP_TABLE_USERS, p + 2, plen - 2, &pv), MP_OK);
    ck_assert_int_eq(mp_codec_get_user(pv.p, pv.n, &meta, &um), MP_OK);
    mp_store_backend_plain_done(&pv);
    mp_usermem_free(um);
    ck_assert_int_eq(mp_heads_build_user(&txn, p, plen, &meta), MP_OK);
    scan_rows(&txn, MP_TABLE_HEADS, p, plen, &built);
    ck_assert_uint_eq(had.n, built.n);
    for (size_t i = 0; i < had.n; i++) {
        struct mp_store_plain a, b;
        ck_assert_uint_eq(had.kl[i], built.kl[i]);
        ck_assert_mem_eq(had.k[i], built.k[i], had.kl[i]);
        ck_assert_int_eq(
            mp_store_backend_open(s, MP_TABLE_HEADS, had.k[i], had.kl[i], had.v[i], had.vl[i], &a),
            MP_OK);
        ck_assert_int_eq(mp_store_backend_open(s, MP_TABLE_HEADS, built.k[i], built.kl[i],
                                               built.v[i], built.vl[i], &b),
                         MP_OK);
        ck_assert_uint_eq(a.n, b.n);
        ck_assert_mem_eq(a.p, b.p, a.n);
        mp_store_backend_plain_done(&a);
        mp_store_backend_plain_done(&b);
    }
    s->be->end(&txn, false);
    rows_free(&had);
    rows_free(&built);
}

/* The postings of message seq: its terms record's terms, each posting
 * there; after DELETE_MESSAGE none is, nor any other posting of the item. */
static void delete_removes_postings(struct mp_store *s, uint32_t seq)
{
    unsigned char p[MP_STORE_USER_PREFIX_MAX], k[MP_STORE_KEY_MAX];
    size_t plen, nt = 0;
    struct mp_store_txn txn;
    struct mp_store_plain pv;
    struct mp_codec_term *t = NULL;
    struct rows all = {0};
    user_prefix(s, POLY, p, &plen);
    ck_assert_int_eq(s->be->begin(s, false, &txn), MP_OK);
    size_t kl = mp_index_doc_key(k, p, plen, MP_CODEC_KIND_MESSAGE, seq);
    ck_assert_int_eq(mp_store_backend_get_plain(&txn, MP_TABLE_DTERMS, k, kl, &pv), MP_OK);
    ck_assert_int_eq(mp_codec_get_terms(pv.p, pv.n, &t, &nt), MP_OK);
    mp_store_backend_plain_done(&pv);
    scan_rows(&txn, MP_TABLE_POSTINGS, p, plen, &all);
    s->be->end(&txn, false);
    ck_assert_uint_gt(nt, 3);
    for (size_t i = 0; i < nt; i++)
        ck_assert(has_posting(s, t[i].t, t[i].len, seq));
    size_t before = all.n;
    rows_free(&all);

    struct mp_op del = {.kind = MP_OP_DELETE_MESSAGE, .user = "polyglot", .user_len = 8};
    del.now_ms = 1800000000000LL;
    del.actor = MP_ACTOR_USER;
    del.u.seq = seq;
    ck_assert_int_eq(fx_apply1(s, &del), MP_OK);
    for (size_t i = 0; i < nt; i++)
        ck_assert(!has_posting(s, t[i].t, t[i].len, seq));
    ck_assert_int_eq(s->be->begin(s, false, &txn), MP_OK);
    scan_rows(&txn, MP_TABLE_POSTINGS, p, plen, &all);
    s->be->end(&txn, false);
    ck_assert_uint_eq(all.n, before - nt); /* its postings, and no other */
    rows_free(&all);
    free(t);
}

/* user's language tally (mp_codec_user.langs), read from its record. */
static void tally_of(struct mp_store *s, const char *u, size_t ulen, uint32_t langs[MP_LANG_COUNT])
{
    unsigned char p[MP_STORE_USER_PREFIX_MAX];
    size_t plen;
    struct mp_store_txn txn;
    struct mp_store_plain pv;
    struct mp_codec_user meta;
    user_prefix(s, u, ulen, p, &plen);
    ck_assert_int_eq(s->be->begin(s, false, &txn), MP_OK);
    ck_assert_int_eq(mp_store_backend_get_plain(&txn, MP_TABLE_USERS, p + 2, plen - 2, &pv), MP_OK);
    struct mp_usermem *um = NULL;
    ck_assert_int_eq(mp_codec_get_user(pv.p, pv.n, &meta, &um), MP_OK);
    mp_store_backend_plain_done(&pv);
    s->be->end(&txn, false);
    mp_usermem_free(um);
    memcpy(langs, meta.langs, sizeof(meta.langs));
}

/* The tally counts polyglot's archived user messages by language (the
 * replies are not counted): want, and what the archive holds. */
static void tally_is(struct mp_store *s, const uint32_t want[MP_LANG_COUNT])
{
    uint32_t got[MP_LANG_COUNT], held[MP_LANG_COUNT] = {0};
    struct mp_mem_message *m = NULL;
    size_t n = 0;
    bool more = false;
    ck_assert_int_eq(mp_store_archive(s, POLY, 0, 100, &m, &n, &more), MP_OK);
    for (size_t i = 0; i < n; i++)
        held[m[i].lang] += m[i].role == MP_ROLE_USER;
    mp_store_messages_free(m, n);
    tally_of(s, POLY, got);
    ck_assert_mem_eq(got, held, sizeof(got));
    for (int l = 0; l < MP_LANG_COUNT; l++)
        ck_assert_msg(got[l] == want[l], "%s: %u, want %u", mp_lang_code(l), got[l], want[l]);
}

static void converted_store_holds(struct mp_store *s)
{
    uint32_t want[MP_LANG_COUNT] = {0}, many[MP_LANG_COUNT];
    want[MP_LANG_EN] = want[MP_LANG_ZH] = want[MP_LANG_JA] = 1;
    want[MP_LANG_RU] = want[MP_LANG_DE] = want[MP_LANG_AR] = 1;
    ck_assert_uint_eq(fx_format(s), 12);
    ck_assert_uint_eq(MP_STORE_FORMAT_VERSION, 12);
    langs_stored(s);
    tally_is(s, want);
    tally_of(s, U("many"), many);
    ck_assert_uint_eq(many[MP_LANG_ZH], 400);
    index_by_language(s);
    heads_as_built(s, POLY, false);
    heads_as_built(s, U("many"), true); /* 公园 in 400 messages: a head */
    delete_removes_postings(s, SEQ_ZH);
    want[MP_LANG_ZH] = 0; /* a deleted message is counted no more */
    tally_is(s, want);
    heads_as_built(s, POLY, false);
    /* a new turn in Russian is identified when it is recorded */
    ck_assert_int_eq(fx_turn(s, POLY, 40, "Мой сын учится в Новосибирске.", "Здорово!",
                             1800000000000LL, 1800000000001LL),
                     MP_OK);
    struct mp_usermem *um = fx_get(s, POLY);
    ck_assert_int_eq(um->messages[um->nmessages - 2].lang, MP_LANG_RU);
    ck_assert_int_eq(um->messages[um->nmessages - 1].lang, MP_LANG_RU);
    mp_usermem_free(um);
    want[MP_LANG_RU] = 2; /* archived when recorded, in the same write */
    tally_is(s, want);
}

/* LMDB, clear (_i 0) and sealed (_i 1): the fixture opens as format 8,
 * converted; again after a reopen (nothing converted twice). */
START_TEST(test_lang_format7_lmdb_converts_at_open)
{
    const char *dir = MP_FORMAT_FIXTURE_DIR "/format7";
    struct mp_store *s =
        fx_open_fixture(dir, _i == 0 ? "clear" : "sealed", _i == 0 ? NULL : &fx_key_a);
    converted_store_holds(s);
    s = fx_reopen(s, LMDB);
    ck_assert_uint_eq(fx_format(s), 12);
    langs_stored(s);
    fx_close_backend(s, LMDB);
}
END_TEST

/* ---- PostgreSQL: the format-7 records placed row by row ---- */

START_TEST(test_lang_format7_pg_converts_at_open)
{
    struct mp_store *s = fx_open_backend(PG);
    fx_place_lmdb_rows(s, MP_FORMAT_FIXTURE_DIR "/format7/clear/data.mdb");
    ck_assert_uint_eq(fx_format(s), 7);
    s = fx_reopen(s, PG);
    converted_store_holds(s);
    s = fx_reopen(s, PG);
    ck_assert_uint_eq(fx_format(s), 12);
    fx_close_backend(s, PG);
}
END_TEST

/* ---- a message keeps its language ---- */

static void lang_of_all(struct mp_store *s, const char *u, size_t ulen, int want)
{
    struct mp_mem_message *m = NULL;
    size_t n = 0;
    bool more = false;
    ck_assert_int_eq(mp_store_archive(s, u, ulen, 0, 100, &m, &n, &more), MP_OK);
    ck_assert_uint_gt(n, 0);
    for (size_t i = 0; i < n; i++)
        ck_assert_int_eq(m[i].lang, want);
    mp_store_messages_free(m, n);
    struct mp_usermem *um = fx_get(s, u, ulen);
    for (size_t i = 0; i < um->nmessages; i++)
        ck_assert_int_eq(um->messages[i].lang, want);
    mp_usermem_free(um);
    struct mp_store_view *v = NULL;
    struct mp_mem_message vm;
    ck_assert_int_eq(mp_store_view_open(s, u, ulen, &v), MP_OK);
    ck_assert_int_eq(mp_store_view_message(v, 1, &vm), MP_OK);
    ck_assert_int_eq(vm.lang, want);
    free(vm.content);
    mp_store_view_close(v);
}

/* Recorded (identified: Turkish text without a Turkish stop word would
 * read as English, so the language is given as an import gives it),
 * imported with a language, and read back through the buffer, the
 * archive and a view, after a reopen, and after a copy to another
 * backend: the stored language every time, never identified again.
 * _i: the backend written (MEM, LMDB, PG), copied to LMDB (MEM, PG) or
 * PG (LMDB). */
START_TEST(test_lang_kept_through_reads_and_copies)
{
    int which = _i, other = _i == LMDB ? PG : LMDB;
    struct mp_store *s = fx_open_backend(which);
    struct mp_mem_message m = fx_msg(MP_ROLE_USER, "Tenis derslerim Moda kortlarında.", 10);
    m.lang = MP_LANG_TR; /* given: kept, not identified */
    struct mp_op imp = {.kind = MP_OP_IMPORT_MESSAGE, .user = "tr", .user_len = 2, .now_ms = 11};
    imp.u.turn.messages = &m;
    imp.u.turn.nmessages = 1;
    ck_assert_int_eq(fx_apply1(s, &imp), MP_OK);
    ck_assert_int_eq(
        fx_turn(s, U("ja"), 1, "週末は箱根の温泉に行きました。", "いいですね。", 20, 21), MP_OK);
    lang_of_all(s, U("tr"), MP_LANG_TR);
    lang_of_all(s, U("ja"), MP_LANG_JA);
    s = fx_reopen(s, which);
    lang_of_all(s, U("ja"), MP_LANG_JA);
    lang_of_all(s, U("tr"), MP_LANG_TR);
    struct mp_store *to = fx_open_backend(other);
    struct mp_store_copy_counts counts;
    char err[256];
    ck_assert_int_eq(mp_store_copy(s, to, &counts, err, sizeof(err)), MP_OK);
    lang_of_all(to, U("tr"), MP_LANG_TR);
    lang_of_all(to, U("ja"), MP_LANG_JA);
    fx_close_backend(to, other);
    fx_close_backend(s, which);
}
END_TEST

Suite *mp_test_suite(void)
{
    Suite *su = suite_create("store_lang");
    TCase *tc = tcase_create("format7");
    tcase_add_unchecked_fixture(tc, fx_setup_keys, NULL);
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, test_lang_format7_lmdb_converts_at_open, 0, 2);
    tcase_add_test(tc, test_lang_format7_pg_converts_at_open);
    suite_add_tcase(su, tc);
    tc = tcase_create("kept");
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, test_lang_kept_through_reads_and_copies, 0, FX_BACKENDS);
    suite_add_tcase(su, tc);
    return su;
}
