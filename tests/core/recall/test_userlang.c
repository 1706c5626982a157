/* Tests for core/recall/userlang.c: the user's usual language from the
 * head (buffered user messages, then the archive's tally, then the
 * summary, then the facts), and a
 * question's language identified against it. */
#include <check.h>
#include <string.h>

#include "recall/lang.h"
#include "recall/relevance_words.h"
#include "status.h"
#include "recall/terms.h"
#include "recall/userlang.h"
#include "memory/usermem.h"

Suite *mp_test_suite(void);

static struct mp_mem_message msg(enum mp_role role, const char *text, int lang)
{
    struct mp_mem_message m = {.role = role, .content = (char *)text, .lang = (uint8_t)lang};
    m.content_len = strlen(text);
    return m;
}

/* Turkish user messages outvote the assistant's English replies, which
 * are not the user's words; a message's stored language is what votes. */
START_TEST(test_userlang_the_user_messages_vote)
{
    struct mp_mem_message ms[] = {
        msg(MP_ROLE_USER, "Bugün dükkanı erken kapattım, çünkü annemin doktor randevusu vardı.",
            MP_LANG_TR),
        msg(MP_ROLE_ASSISTANT, "That sounds like a good idea, I hope the appointment went well.",
            MP_LANG_EN),
        msg(MP_ROLE_USER,
            "Yarın sabah toptancıya gidip yeni mal sipariş edeceğim ve biraz da "
            "para çekmem gerekiyor.",
            MP_LANG_TR),
        msg(MP_ROLE_ASSISTANT, "Would you like me to write a list of the things to order?",
            MP_LANG_EN),
        msg(MP_ROLE_ASSISTANT, "Here is the list of the things you asked for, and the prices.",
            MP_LANG_EN),
    };
    struct mp_usermem um = {.messages = ms, .nmessages = 5};
    ck_assert_int_eq(mp_userlang_of(&um, MP_LANG_NONE), MP_LANG_TR);
    /* a message's stored language is taken as it is, not identified again */
    ms[0].lang = ms[2].lang = MP_LANG_DE;
    ck_assert_int_eq(mp_userlang_of(&um, MP_LANG_NONE), MP_LANG_DE);
    /* a tie goes to the newer message */
    ms[0].lang = MP_LANG_FR;
    ck_assert_int_eq(mp_userlang_of(&um, MP_LANG_NONE), MP_LANG_DE);
    ms[0].lang = MP_LANG_DE;
    ms[2].lang = MP_LANG_FR;
    ck_assert_int_eq(mp_userlang_of(&um, MP_LANG_NONE), MP_LANG_FR);
    /* a user message without a language casts no vote (its text is not
     * read), and the assistant's never do: none left, no language */
    ms[0].lang = ms[2].lang = MP_LANG_NONE;
    ck_assert_int_eq(mp_userlang_of(&um, MP_LANG_NONE), MP_LANG_NONE);
}
END_TEST

/* Only the newest MP_USERLANG_MESSAGES user messages vote: an old English
 * history does not outvote a user who writes Spanish now. */
START_TEST(test_userlang_the_newest_messages_vote)
{
    struct mp_mem_message ms[3 * MP_USERLANG_MESSAGES];
    size_t n = 0;
    for (; n < 2 * MP_USERLANG_MESSAGES; n++)
        ms[n] = msg(MP_ROLE_USER, "I walked the dog and then I went to the shop for some bread.",
                    MP_LANG_EN);
    for (; n < 3 * MP_USERLANG_MESSAGES; n++)
        ms[n] = msg(MP_ROLE_USER, "Hoy llevé a mi perro al veterinario y luego fui a la tienda.",
                    MP_LANG_ES);
    struct mp_usermem um = {.messages = ms, .nmessages = n};
    ck_assert_int_eq(mp_userlang_of(&um, MP_LANG_NONE), MP_LANG_ES);
}
END_TEST

/* Without user messages: the summary, then the facts' values; nothing
 * to read: none. */
START_TEST(test_userlang_summary_then_facts_then_none)
{
    struct mp_mem_message reply = msg(MP_ROLE_ASSISTANT, "Sure, here it is.", 0);
    struct mp_mem_entity facts[2] = {{.key = "wohnort"}, {.key = "hund"}};
    static char de0[] = "Ich wohne in Leipzig und arbeite an einer Schule";
    static char de1[] = "Der Hund heißt Bruno und ist drei Jahre alt";
    static char it[] = "La utente vive a Torino e lavora come fisioterapista in una clinica.";
    facts[0].value = de0;
    facts[0].value_len = strlen(facts[0].value);
    facts[1].value = de1;
    facts[1].value_len = strlen(facts[1].value);
    struct mp_usermem um = {.messages = &reply, .nmessages = 1};
    ck_assert_int_eq(mp_userlang_of(NULL, MP_LANG_NONE), MP_LANG_NONE);
    ck_assert_int_eq(mp_userlang_of(&um, MP_LANG_NONE), MP_LANG_NONE);
    um.entities = facts;
    um.nentities = 2;
    ck_assert_int_eq(mp_userlang_of(&um, MP_LANG_NONE), MP_LANG_DE);
    um.summary.text = it;
    um.summary.text_len = strlen(um.summary.text);
    ck_assert_int_eq(mp_userlang_of(&um, MP_LANG_NONE), MP_LANG_IT);
}
END_TEST

static struct mp_mem_message tr_turn[1];
static struct mp_usermem tr_user = {.messages = tr_turn, .nmessages = 1};

static void turkish_user(void)
{
    tr_turn[0] =
        msg(MP_ROLE_USER, "Bugün dükkanı erken kapattım, çünkü akşam maça gideceğiz.", MP_LANG_TR);
}

/* The question's language: a short Turkish question without a Turkish
 * stop word reads as Turkish for a Turkish user (and as English, German or
 * French without the prior); a question that says its language keeps it,
 * and never reads the user's (the prior is read lazily, once). */
START_TEST(test_userlang_question_against_the_prior)
{
    static const char *const tr[] = {"Tenis derslerim hangi kortlarda?",
                                     "Bayramda köye hangi gün gittik?",
                                     "Emre'nin denemelerde hedefi kaç net?"};
    turkish_user();
    for (size_t i = 0; i < sizeof(tr) / sizeof(tr[0]); i++) {
        struct mp_userlang_prior p = MP_USERLANG_PRIOR(&tr_user, MP_LANG_NONE);
        ck_assert_int_ne(mp_userlang_question(tr[i], strlen(tr[i]), NULL), MP_LANG_TR);
        ck_assert_int_eq(mp_userlang_question(tr[i], strlen(tr[i]), &p), MP_LANG_TR);
        ck_assert(p.known);
    }
    static const struct {
        const char *q;
        int lang;
    } told[] = {{"What is the name of the vet I took my dog to?", MP_LANG_EN},
                {"東京で買った傘はどこ？", MP_LANG_JA},
                {"Как зовут мою собаку?", MP_LANG_RU},
                {"Wie heißt der Hund von meiner Schwester?", MP_LANG_DE}};
    for (size_t i = 0; i < sizeof(told) / sizeof(told[0]); i++) {
        struct mp_userlang_prior p = MP_USERLANG_PRIOR(&tr_user, MP_LANG_NONE);
        ck_assert_int_eq(mp_userlang_question(told[i].q, strlen(told[i].q), &p), told[i].lang);
        ck_assert_msg(!p.known, "%s read the user's language", told[i].q);
    }
    /* no user, or a user without a language: the text alone */
    struct mp_userlang_prior none = MP_USERLANG_PRIOR(NULL, MP_LANG_NONE);
    ck_assert_int_eq(mp_userlang_question(tr[0], strlen(tr[0]), &none),
                     mp_lang_detect(tr[0], strlen(tr[0])));
}
END_TEST

/* The parsed question's terms follow its language: a Turkish user's
 * "kortlarda" is stemmed by the Turkish stemmer (kort, what "kortlarda" of
 * an archived Turkish message gives), not the English one. */
START_TEST(test_userlang_question_terms_by_the_prior)
{
    struct mp_terms *t = NULL;
    static struct mp_relevance_question qn;
    const char *q = "Tenis derslerim hangi kortlarda?";
    struct mp_userlang_prior p = MP_USERLANG_PRIOR(&tr_user, MP_LANG_NONE);
    turkish_user();
    ck_assert_int_eq(mp_terms_new(&t), MP_OK);
    ck_assert_int_eq(mp_relevance_question_parse(t, q, strlen(q), NULL, 0, &p, &qn), MP_OK);
    bool kort = false;
    for (size_t i = 0; i < qn.n; i++)
        kort = kort || (qn.w[i].len == 4 && memcmp(qn.w[i].term, "kort", 4) == 0);
    ck_assert(kort);
    ck_assert_int_eq(mp_relevance_question_parse(t, q, strlen(q), NULL, 0, NULL, &qn), MP_OK);
    kort = false;
    for (size_t i = 0; i < qn.n; i++)
        kort = kort || (qn.w[i].len == 4 && memcmp(qn.w[i].term, "kort", 4) == 0);
    ck_assert(!kort);
    mp_terms_free(t);
}
END_TEST

/* The archive's language (the store's tally) comes after the buffer's
 * user messages (the newest words tell a change) and before the summary
 * and the facts; it alone, with no head at all, is a prior: an imported
 * Turkish user's short question reads as Turkish. */
START_TEST(test_userlang_archive_after_the_buffer)
{
    struct mp_mem_message reply = msg(MP_ROLE_ASSISTANT, "Sure, here it is.", 0);
    struct mp_mem_message de =
        msg(MP_ROLE_USER, "Ich wohne in Leipzig und arbeite an einer Schule", MP_LANG_DE);
    static char it[] = "La utente vive a Torino e lavora come fisioterapista in una clinica.";
    struct mp_usermem um = {.messages = &reply, .nmessages = 1};
    um.summary.text = it;
    um.summary.text_len = strlen(it);
    ck_assert_int_eq(mp_userlang_of(&um, MP_LANG_NONE), MP_LANG_IT);
    ck_assert_int_eq(mp_userlang_of(&um, MP_LANG_TR), MP_LANG_TR);
    ck_assert_int_eq(mp_userlang_of(&um, MP_LANG_COUNT), MP_LANG_IT); /* out of range: none */
    um.messages = &de;
    ck_assert_int_eq(mp_userlang_of(&um, MP_LANG_TR), MP_LANG_DE);
    ck_assert_int_eq(mp_userlang_of(NULL, MP_LANG_TR), MP_LANG_TR);
    const char *q = "Tenis derslerim hangi kortlarda?";
    struct mp_usermem empty = {.nmessages = 0};
    struct mp_userlang_prior p = MP_USERLANG_PRIOR(&empty, MP_LANG_TR);
    ck_assert_int_eq(mp_userlang_question(q, strlen(q), &p), MP_LANG_TR);
    struct mp_userlang_prior none = MP_USERLANG_PRIOR(&empty, MP_LANG_NONE);
    ck_assert_int_ne(mp_userlang_question(q, strlen(q), &none), MP_LANG_TR);
}
END_TEST

Suite *mp_test_suite(void)
{
    Suite *s = suite_create("userlang");
    TCase *tc = tcase_create("userlang");
    tcase_add_test(tc, test_userlang_the_user_messages_vote);
    tcase_add_test(tc, test_userlang_the_newest_messages_vote);
    tcase_add_test(tc, test_userlang_summary_then_facts_then_none);
    tcase_add_test(tc, test_userlang_archive_after_the_buffer);
    tcase_add_test(tc, test_userlang_question_against_the_prior);
    tcase_add_test(tc, test_userlang_question_terms_by_the_prior);
    suite_add_tcase(s, tc);
    return s;
}
