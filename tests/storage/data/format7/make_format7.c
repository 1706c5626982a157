/* Writes the format-7 fixture stores of tests/storage/ops/test_store_lang.c:
 * DIR/clear/data.mdb and DIR/sealed/data.mdb (sealed with fx_key_a). Built against the code of
 * commit bba23a5 (record format 7, terms read as English): see make_format7.sh, which builds it
 * against a build of that commit. Not part of the build of this tree. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "status.h"
#include "ops/store.h"
#include "store_fixture.h"

/* The fixture's messages: each language's turn (user said, reply), at the
 * seconds given; a fact in the same language; search keys on the user's
 * message. */
static const struct {
    const char *said, *reply, *key, *value, *keys;
} turns[] = {
    {"My daughter has her piano recital in Boston on Saturday.", "Good luck to her!",
     "daughter_recital", "piano recital in Boston", "daughter, piano recital"},
    {"我女儿周六在杭州参加钢琴演奏会。", "祝她演出顺利！", "女儿", "钢琴演奏会在杭州",
     "女儿, 钢琴演奏会"},
    {"娘は土曜日に横浜でピアノの発表会があります。", "がんばってください！", "娘", "横浜の発表会",
     "娘, 発表会"},
    {"Моя дочь играет на фортепиано в Казани в субботу.", "Удачи ей!", "дочь", "концерт в Казани",
     "дочь, фортепиано"},
    {"Meine Tochter hat am Samstag ihr Klavierkonzert in Hamburg.", "Viel Erfolg!", "tochter",
     "Klavierkonzert in Hamburg", "Tochter, Klavierkonzert"},
    {"ابنتي لديها حفل بيانو في القاهرة يوم السبت.", "بالتوفيق لها!", "ابنتي",
     "حفل بيانو في القاهرة", "ابنتي، بيانو"},
};
#define NTURNS (sizeof(turns) / sizeof(turns[0]))

static void must(int rc, const char *what)
{
    if (rc != MP_OK) {
        fprintf(stderr, "make_format7: %s: %d\n", what, rc);
        exit(1);
    }
}

static void write_all(struct mp_store *s)
{
    for (size_t i = 0; i < NTURNS; i++) {
        int64_t at = 1700000000000LL + (int64_t)i * 60000;
        must(fx_turn(s, U("polyglot"), (uint8_t)(i + 1), turns[i].said, turns[i].reply, at, at + 1),
             "turn");
        must(fx_upsert(s, U("polyglot"), turns[i].key, turns[i].value, MP_TRUST_STATED, at + 2),
             "fact");
        struct mp_op k = {.kind = MP_OP_SET_MESSAGE_KEYS, .user = "polyglot", .user_len = 8};
        k.now_ms = at + 3;
        k.u.keys.seq = 2 * i + 1; /* the turn's user message */
        k.u.keys.text = turns[i].keys;
        k.u.keys.text_len = strlen(turns[i].keys);
        must(fx_apply1(s, &k), "keys");
    }
    /* a second user, English only, with an older message summarized away */
    must(fx_turn(s, U("plain"), 1, "I walk my dog Rex every morning.", "Nice!", 1700000900000LL,
                 1700000900001LL),
         "turn");
    must(fx_summarize(s, U("plain"), "plain walks Rex", 1, 1700000900002LL), "summary");
    must(fx_turn(s, U("plain"), 2, "Rex is a beagle.", "Cute.", 1700000960000LL, 1700000960001LL),
         "turn");
}

/* A user of MANY imported Chinese messages sharing words: enough for
 * heads of common terms once they are terms (format 7 made each sentence
 * one term of its own). */
#define MANY 400
static void write_many(struct mp_store *s)
{
    for (int i = 0; i < MANY; i++) {
        char text[160];
        snprintf(text, sizeof(text), "第%d天：我和女儿在西湖公园散步，天气很好。", i + 1);
        struct mp_mem_message m = fx_msg(MP_ROLE_USER, text, 1700000000000LL + i * 3600000LL);
        struct mp_op op = {.kind = MP_OP_IMPORT_MESSAGE, .user = "many", .user_len = 4};
        op.now_ms = 1700000000000LL + i * 3600000LL + 1;
        op.u.turn.messages = &m;
        op.u.turn.nmessages = 1;
        must(fx_apply1(s, &op), "import");
    }
}

static void make(const char *dir, const char *which, bool sealed)
{
    char path[512];
    struct mp_store *s = sealed ? fx_open_sealed() : fx_open_backend(LMDB);
    write_all(s);
    write_many(s);
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
        fprintf(stderr, "usage: make_format7 DIR\n");
        return 2;
    }
    out_dir = argv[1];
    Suite *su = suite_create("make_format7");
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
