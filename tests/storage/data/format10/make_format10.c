/* Writes the format-10 fixture stores of tests/storage/ops/test_store_told.c:
 * DIR/clear/data.mdb and DIR/sealed/data.mdb (sealed with fx_key_a). Built
 * against the code of commit 3d7784f (record format 10, the last before
 * the told records): see make_format10.sh, which builds it against a build
 * of that commit. Not part of the build of this tree.
 *
 * Each user's facts came from turns whose messages carry the request id of
 * the fact's provenance ("req-<at>", fx_msg and fx_upsert_op alike), as
 * the memory worker writes them: what the conversion to format 11 finds
 * the told turns by. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "status.h"
#include "ops/store.h"
#include "store_fixture.h"

#define T0 1700000000000LL

static void must(int rc, const char *what)
{
    if (rc != MP_OK) {
        fprintf(stderr, "make_format10: %s: %d\n", what, rc);
        exit(1);
    }
}

/* A turn at `at` (idem byte idem): its first seq. */
static uint64_t turn(struct mp_store *s, const char *u, size_t ulen, uint8_t idem, const char *said,
                     int64_t at)
{
    struct mp_mem_message m[2] = {fx_msg(MP_ROLE_USER, said, at),
                                  fx_msg(MP_ROLE_ASSISTANT, "Noted.", at)};
    struct mp_op op = fx_turn_op(u, ulen, idem, m, 2, at + 1);
    must(fx_apply1(s, &op), "turn");
    return op.u.turn.first_seq;
}

/* The extraction of key = value from the turn at `at` (its two seqs from
 * first), as the memory worker applies it: the op's result. */
static int told(struct mp_store *s, const char *u, size_t ulen, const char *key, const char *value,
                int64_t at, uint64_t first)
{
    struct mp_op op = fx_upsert_op(u, ulen, key, value, MP_TRUST_STATED, at);
    op.u.entity.source_first_seq = first;
    op.u.entity.source_last_seq = first + 1;
    return fx_apply1(s, &op);
}

static void write_all(struct mp_store *s)
{
    /* moves: Paris, then tea, then Porto over Paris */
    uint64_t a = turn(s, U("moves"), 1, "My favorite city is Paris.", T0);
    must(told(s, U("moves"), "favorite_city", "Paris", T0, a), "paris");
    uint64_t b = turn(s, U("moves"), 2, "I drink tea.", T0 + 60000);
    must(told(s, U("moves"), "drink", "tea", T0 + 60000, b), "tea");
    uint64_t c = turn(s, U("moves"), 3, "My favorite city is Porto now.", T0 + 120000);
    must(told(s, U("moves"), "favorite_city", "Porto", T0 + 120000, c), "porto");
    must(fx_summarize(s, U("moves"), "Summary: likes Paris / drinks tea", 4, T0 + 130000),
         "summary");

    /* folded: the Paris turn left the buffer (folded, archived) before Porto */
    a = turn(s, U("folded"), 1, "My favorite city is Paris.", T0);
    must(told(s, U("folded"), "favorite_city", "Paris", T0, a), "paris");
    must(fx_summarize(s, U("folded"), "Summary: likes a city", 2, T0 + 1000), "fold");
    c = turn(s, U("folded"), 2, "My favorite city is Porto now.", T0 + 120000);
    must(told(s, U("folded"), "favorite_city", "Porto", T0 + 120000, c), "porto");

    /* kept: a correction, then an older turn's statement kept out (KEPT) */
    a = turn(s, U("kept"), 1, "I live in Rome.", T0);
    must(fx_upsert(s, U("kept"), "city", "Lisbon", MP_TRUST_CORRECTED, T0 + 60000), "lisbon");
    if (told(s, U("kept"), "city", "Rome", T0, a) != MP_NOTFOUND)
        must(MP_EIO, "rome kept out");

    /* resting: one fact told by one turn, one told by two */
    a = turn(s, U("resting"), 1, "I live in Oslo.", T0);
    must(told(s, U("resting"), "city", "Oslo", T0, a), "oslo");
    b = turn(s, U("resting"), 2, "My dog is Rex.", T0 + 60000);
    must(told(s, U("resting"), "pet", "Rex", T0 + 60000, b), "rex");
    c = turn(s, U("resting"), 3, "Rex is my dog, yes.", T0 + 120000);
    must(told(s, U("resting"), "pet", "Rex", T0 + 120000, c), "rex again");
}

static void make(const char *dir, const char *which, bool sealed)
{
    char path[512];
    struct mp_store *s = sealed ? fx_open_sealed() : fx_open_backend(LMDB);
    write_all(s);
    mp_store_free(s);
    snprintf(path, sizeof(path), "mkdir -p %s/%s && cp %s/data.mdb %s/%s/data.mdb", dir, which,
             fx_dir, dir, which);
    must(system(path) == 0 ? MP_OK : MP_EIO, "copy");
}

static const char *out_dir;

/* The fixture helpers assert as Check tests do: run as one. */
START_TEST(make_both)
{
    fx_setup_keys();
    make(out_dir, "clear", false);
    make(out_dir, "sealed", true);
}
END_TEST

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: make_format10 DIR\n");
        return 2;
    }
    out_dir = argv[1];
    Suite *su = suite_create("make_format10");
    TCase *tc = tcase_create("make");
    tcase_add_test(tc, make_both);
    suite_add_tcase(su, tc);
    SRunner *sr = srunner_create(su);
    srunner_set_fork_status(sr, CK_NOFORK);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? 0 : 1;
}
