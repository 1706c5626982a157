/* Tests for core/wire/splice.c: the spliced body as pieces. The writer
 * merges what follows on and skips what is empty; every wire's splice
 * borrows the client's body (its pieces point into it, all of it, in
 * order), generates only the bytes it adds, and reads the same as iovecs
 * as flattened. The bytes themselves are the wire suites' and
 * test_inject.c's. */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include "wire/splice.h"
#include "status.h"
#include "wire/wire.h"
#include "wire_fixture.h"

/* A tool loop: the tail stays before the user message that began it,
 * never between the assistant's tool_calls and their tool messages, and
 * a user message without text (an image alone) is not its place. */
START_TEST(test_splice_chat_tail_stays_with_the_question)
{
    wf_use(&mp_wire_chat, "B");
    wf_use_tail("T");
    char *out = wf_spliced(
        "{\"messages\":[{\"role\":\"user\",\"content\":\"fix CI\"},{\"role\":\"assistant\","
        "\"content\":null,\"tool_calls\":[{\"id\":\"c1\",\"type\":\"function\"}]},{\"role\":"
        "\"tool\",\"tool_call_id\":\"c1\",\"content\":\"ok\"},{\"role\":\"user\",\"content\":"
        "[{\"type\":\"image_url\",\"image_url\":{\"url\":\"u\"}}]}]}",
        NULL, 0);
    ck_assert_str_eq(out,
                     "{\"messages\":[{\"role\":\"system\",\"content\":\"B\"},{\"role\":"
                     "\"system\",\"content\":\"T\"},{\"role\":\"user\",\"content\":\"fix CI\"},"
                     "{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{\"id\":\"c1\","
                     "\"type\":\"function\"}]},{\"role\":\"tool\",\"tool_call_id\":\"c1\","
                     "\"content\":\"ok\"},{\"role\":\"user\",\"content\":[{\"type\":"
                     "\"image_url\",\"image_url\":{\"url\":\"u\"}}]}]}");
    free(out);
    wf_use_tail("");
}
END_TEST

Suite *mp_test_suite(void);

static const struct mp_wire_pick PAIR[] = {{MP_ROLE_USER, "old", 3, false},
                                           {MP_ROLE_ASSISTANT, "ans", 3, false}};

/* A request of each shape each wire splices differently. */
static const struct {
    const struct mp_wire *wire;
    const char *body;
} SAMPLES[] = {
    {&mp_wire_chat, "{\"model\":\"m\",\"messages\":[{\"role\":\"system\",\"content\":\"s\"},"
                    "{\"role\":\"user\",\"content\":\"q\"}]}"},
    {&mp_wire_chat, "{\"messages\":[]}"},
    {&mp_wire_responses, "{\"input\":[{\"role\":\"user\",\"content\":\"q\"}],\"store\":false}"},
    {&mp_wire_responses, "{\"model\":\"m\",\"input\":\"hi\",\"stream\":true}"},
    {&mp_wire_messages, "{\"model\":\"c\",\"messages\":[{\"role\":\"user\",\"content\":\"q\"}]}"},
    {&mp_wire_messages, " {\"messages\":[{\"role\":\"user\",\"content\":\"q\"}],\"system\":\"S\"}"},
    {&mp_wire_messages, "{\"system\":[{\"type\":\"text\",\"text\":\"S\"}],\"messages\":[]}"},
};

#define NSAMPLES (sizeof(SAMPLES) / sizeof(SAMPLES[0]))

static bool inside(const void *p, size_t n, const char *base, size_t len)
{
    uintptr_t a = (uintptr_t)p, b = (uintptr_t)base;
    return a >= b && a + n <= b + len;
}

/* Every client piece lies inside body and together, in order, they are
 * body; every generated piece lies inside the bytes generated, which are
 * all the splice adds. */
static void check_pieces(const struct mp_splice *s, const char *body)
{
    struct iovec iov[MP_SPLICE_PIECES_MAX];
    size_t len = strlen(body), n = mp_splice_iov(s, body, iov, MP_SPLICE_PIECES_MAX), seen = 0;
    ck_assert_uint_ge(n, 2);
    ck_assert_uint_le(n, 5);
    for (size_t i = 0; i < n; i++) {
        ck_assert_uint_gt(iov[i].iov_len, 0);
        ck_assert(i == 0 || s->pieces[i].generated != s->pieces[i - 1].generated);
        if (s->pieces[i].generated) {
            ck_assert(inside(iov[i].iov_base, iov[i].iov_len, s->gen, s->gen_len));
            continue;
        }
        ck_assert_ptr_eq(iov[i].iov_base, body + seen);
        ck_assert(inside(iov[i].iov_base, iov[i].iov_len, body, len));
        seen += iov[i].iov_len;
    }
    ck_assert_uint_eq(seen, len);
    ck_assert_uint_eq(s->total_len, len + s->gen_len);
    ck_assert_uint_le(s->gen_len, s->gen_cap);
}

START_TEST(test_splice_writer_merges_what_follows_on)
{
    const char *client = "0123456789ABCDEF";
    struct iovec iov[MP_SPLICE_PIECES_MAX] = {{0}};
    struct mp_splice s;
    ck_assert_int_eq(mp_splice_init(&s, 8), MP_OK);
    mp_splice_take(&s, 0, 3);
    mp_splice_take(&s, 3, 2); /* follows on: the same piece */
    mp_splice_take(&s, 7, 0); /* empty: nothing */
    mp_splice_put(&s, "ab", 2);
    char *w = mp_splice_gen(&s);
    *w++ = 'c';
    mp_splice_wrote(&s, w); /* generated after generated: the same piece */
    mp_splice_wrote(&s, mp_splice_gen(&s));
    mp_splice_take(&s, 10, 4);
    ck_assert_uint_eq(s.npieces, 3);
    ck_assert_uint_eq(s.gen_len, 3);
    ck_assert_uint_eq(s.total_len, 12);
    ck_assert(!s.pieces[0].generated && s.pieces[0].off == 0 && s.pieces[0].len == 5);
    ck_assert(s.pieces[1].generated && s.pieces[1].off == 0 && s.pieces[1].len == 3);
    ck_assert(!s.pieces[2].generated && s.pieces[2].off == 10 && s.pieces[2].len == 4);
    char *joined = wf_joined(&s, client);
    ck_assert_str_eq(joined, "01234abcABCD");
    free(joined);
    ck_assert_uint_eq(mp_splice_iov(&s, client, iov, 1), 3); /* short: only the first written */
    ck_assert_ptr_eq(iov[0].iov_base, client);
    ck_assert_ptr_null(iov[1].iov_base);
    mp_splice_cleanup(&s);
    ck_assert_ptr_null(s.gen);
    ck_assert_uint_eq(s.npieces, 0);
    mp_splice_cleanup(&s); /* empty: nothing to do */
}
END_TEST

START_TEST(test_splice_pieces_point_into_the_client_body)
{
    for (size_t k = 0; k < NSAMPLES; k++) {
        struct mp_splice s;
        wf_use(SAMPLES[k].wire, "B\nC");
        wf_splice(SAMPLES[k].body, PAIR, 2, &s);
        check_pieces(&s, SAMPLES[k].body);
        mp_splice_cleanup(&s);
    }
}
END_TEST

/* A member added after the opening '{': into each wire's splice (the
 * spliced body with it is the spliced body without it, the member right
 * after the '{'), and into an empty splice (the client's body with it);
 * a body that is no object, or an empty member, leaves the splice as it
 * was. */
#define MEMBER "\"k\":\"v\","
START_TEST(test_splice_open_member_after_the_brace)
{
    for (size_t k = 0; k < NSAMPLES; k++) {
        struct mp_splice s;
        char *before, *after;
        size_t blen, alen, open = strchr(SAMPLES[k].body, '{') - SAMPLES[k].body + 1;
        wf_use(SAMPLES[k].wire, "B\nC");
        wf_splice(SAMPLES[k].body, PAIR, 2, &s);
        ck_assert_int_eq(mp_splice_flatten(&s, SAMPLES[k].body, &before, &blen), MP_OK);
        ck_assert_int_eq(mp_splice_open_member(&s, SAMPLES[k].body, strlen(SAMPLES[k].body), MEMBER,
                                               strlen(MEMBER)),
                         MP_OK);
        ck_assert_uint_le(s.npieces, 7); /* a wire's five and two more */
        ck_assert_uint_eq(s.total_len, strlen(SAMPLES[k].body) + s.gen_len);
        ck_assert_int_eq(mp_splice_flatten(&s, SAMPLES[k].body, &after, &alen), MP_OK);
        ck_assert_uint_eq(alen, blen + strlen(MEMBER));
        ck_assert_mem_eq(after, before, open);
        ck_assert_mem_eq(after + open, MEMBER, strlen(MEMBER));
        ck_assert_str_eq(after + open + strlen(MEMBER), before + open);
        free(before);
        free(after);
        mp_splice_cleanup(&s);
    }
}
END_TEST

START_TEST(test_splice_open_member_into_an_empty_splice)
{
    static const char body[] = " \n{\"messages\":[]}";
    struct mp_splice s = {0};
    char *out;
    size_t n;
    ck_assert_int_eq(mp_splice_open_member(&s, body, strlen(body), MEMBER, strlen(MEMBER)), MP_OK);
    ck_assert_uint_eq(s.npieces, 3);
    ck_assert_int_eq(mp_splice_flatten(&s, body, &out, &n), MP_OK);
    ck_assert_str_eq(out, " \n{\"k\":\"v\",\"messages\":[]}");
    free(out);
    mp_splice_cleanup(&s);
    ck_assert_int_eq(mp_splice_open_member(&s, "[1]", 3, MEMBER, strlen(MEMBER)), MP_EINVAL);
    ck_assert_int_eq(mp_splice_open_member(&s, "  ", 2, MEMBER, strlen(MEMBER)), MP_EINVAL);
    ck_assert_int_eq(mp_splice_open_member(&s, body, strlen(body), MEMBER, 0), MP_EINVAL);
    ck_assert_uint_eq(s.npieces, 0);
    ck_assert_ptr_null(s.gen);
}
END_TEST

/* A request whose one user message is 64 KiB of text. */
static char *big_body(const char *open, const char *close)
{
    size_t a = strlen(open), n = 64 * 1024, b = strlen(close);
    char *body = malloc(a + n + b + 1);
    ck_assert_ptr_nonnull(body);
    memcpy(body, open, a);
    memset(body + a, 'x', n);
    memcpy(body + a + n, close, b + 1);
    return body;
}

START_TEST(test_splice_generates_only_what_it_adds)
{
    static const struct {
        const struct mp_wire *wire;
        const char *open, *close;
    } big[] = {
        {&mp_wire_chat, "{\"messages\":[{\"role\":\"user\",\"content\":\"", "\"}]}"},
        {&mp_wire_responses, "{\"input\":\"", "\"}"},
        {&mp_wire_messages, "{\"system\":\"S\",\"messages\":[{\"role\":\"user\",\"content\":\"",
         "\"}]}"},
    };
    for (size_t k = 0; k < sizeof(big) / sizeof(big[0]); k++) {
        char *body = big_body(big[k].open, big[k].close), *flat = NULL;
        struct mp_splice s;
        size_t n = 0;
        wf_use(big[k].wire, "B\nC");
        wf_splice(body, PAIR, 2, &s);
        check_pieces(&s, body);
        ck_assert_uint_lt(s.gen_cap, 512); /* sized for the memory, not the body */
        ck_assert_uint_lt(s.gen_len, 256);
        ck_assert_int_eq(mp_splice_flatten(&s, body, &flat, &n), MP_OK);
        ck_assert_uint_eq(n, strlen(body) + s.gen_len);
        free(flat);
        mp_splice_cleanup(&s);
        free(body);
    }
}
END_TEST

START_TEST(test_splice_flatten_equals_the_iovecs)
{
    for (size_t k = 0; k < NSAMPLES; k++) {
        struct mp_splice s;
        char *flat = NULL, *joined;
        size_t n = 0;
        wf_use(SAMPLES[k].wire, "B\nC");
        wf_splice(SAMPLES[k].body, PAIR, 2, &s);
        ck_assert_int_eq(mp_splice_flatten(&s, SAMPLES[k].body, &flat, &n), MP_OK);
        ck_assert_uint_eq(n, s.total_len);
        ck_assert_int_eq(flat[n], '\0');
        joined = wf_joined(&s, SAMPLES[k].body);
        ck_assert_mem_eq(flat, joined, n);
        free(joined);
        free(flat);
        mp_splice_cleanup(&s);
    }
}
END_TEST

START_TEST(test_splice_chat_bytes)
{
    char *out;
    wf_use(&mp_wire_chat, "B\nC");
    out = wf_spliced(SAMPLES[0].body, PAIR, 2);
    ck_assert_str_eq(out, "{\"model\":\"m\",\"messages\":[{\"role\":\"system\",\"content\":\"s\"},"
                          "{\"role\":\"system\",\"content\":\"B\\nC\"},{\"role\":\"user\","
                          "\"content\":\"old\"},{\"role\":\"assistant\",\"content\":\"ans\"},"
                          "{\"role\":\"user\",\"content\":\"q\"}]}");
    free(out);
}
END_TEST

/* The tail goes right before the newest user message, after the block
 * and the replay; with no user message after the block's place it joins
 * the block. */
START_TEST(test_splice_chat_tail)
{
    char *out;
    wf_use(&mp_wire_chat, "B");
    wf_use_tail("T\"1");
    out = wf_spliced("{\"messages\":[{\"role\":\"system\",\"content\":\"s\"},{\"role\":"
                     "\"user\",\"content\":\"a\"},{\"role\":\"assistant\",\"content\":\"b\"}, "
                     "{\"role\":\"user\",\"content\":\"q\"}]}",
                     PAIR, 2);
    ck_assert_str_eq(out, "{\"messages\":[{\"role\":\"system\",\"content\":\"s\"},{\"role\":"
                          "\"system\",\"content\":\"B\"},{\"role\":\"user\",\"content\":\"old\"},"
                          "{\"role\":\"assistant\",\"content\":\"ans\"},{\"role\":\"user\","
                          "\"content\":\"a\"},{\"role\":\"assistant\",\"content\":\"b\"}, "
                          "{\"role\":\"system\",\"content\":\"T\\\"1\"},{\"role\":\"user\","
                          "\"content\":\"q\"}]}");
    free(out);
    /* a lone question: the block, then the tail, then the question */
    out = wf_spliced("{\"messages\":[{\"role\":\"user\",\"content\":\"q\"}]}", NULL, 0);
    ck_assert_str_eq(out, "{\"messages\":[{\"role\":\"system\",\"content\":\"B\"},{\"role\":"
                          "\"system\",\"content\":\"T\\\"1\"},{\"role\":\"user\",\"content\":"
                          "\"q\"}]}");
    free(out);
    /* no user message: joined */
    out = wf_spliced("{\"messages\":[{\"role\":\"system\",\"content\":\"s\"}]}", NULL, 0);
    ck_assert_str_eq(out, "{\"messages\":[{\"role\":\"system\",\"content\":\"s\"},{\"role\":"
                          "\"system\",\"content\":\"B\\n\\nT\\\"1\"}]}");
    free(out);
}
END_TEST

/* In a conversation the replay goes with the tail, right before the
 * question (after the client's turns), the block alone after the leading
 * system messages; without a question it follows the block. */
START_TEST(test_splice_chat_replay_with_tail)
{
    char *out;
    wf_use(&mp_wire_chat, "B");
    wf_use_tail("T");
    wf_use_replay_with_tail(true);
    out = wf_spliced("{\"messages\":[{\"role\":\"system\",\"content\":\"s\"},{\"role\":"
                     "\"user\",\"content\":\"a\"},{\"role\":\"assistant\",\"content\":\"b\"},"
                     "{\"role\":\"user\",\"content\":\"q\"}]}",
                     PAIR, 2);
    ck_assert_str_eq(out, "{\"messages\":[{\"role\":\"system\",\"content\":\"s\"},{\"role\":"
                          "\"system\",\"content\":\"B\"},{\"role\":\"user\",\"content\":\"a\"},"
                          "{\"role\":\"assistant\",\"content\":\"b\"},{\"role\":\"system\","
                          "\"content\":\"T\"},{\"role\":\"user\",\"content\":\"old\"},{\"role\":"
                          "\"assistant\",\"content\":\"ans\"},{\"role\":\"user\",\"content\":"
                          "\"q\"}]}");
    free(out);
    /* no block: the replay and the tail alone before the question */
    wf_use(&mp_wire_chat, "");
    wf_use_tail("");
    wf_use_replay_with_tail(true);
    out = wf_spliced("{\"messages\":[{\"role\":\"user\",\"content\":\"q\"}]}", PAIR, 2);
    ck_assert_str_eq(out, "{\"messages\":[{\"role\":\"user\",\"content\":\"old\"},{\"role\":"
                          "\"assistant\",\"content\":\"ans\"},{\"role\":\"user\",\"content\":"
                          "\"q\"}]}");
    free(out);
    /* no question: after the block */
    wf_use(&mp_wire_chat, "B");
    wf_use_replay_with_tail(true);
    out = wf_spliced("{\"messages\":[{\"role\":\"system\",\"content\":\"s\"}]}", PAIR, 1);
    ck_assert_str_eq(out, "{\"messages\":[{\"role\":\"system\",\"content\":\"s\"},{\"role\":"
                          "\"system\",\"content\":\"B\"},{\"role\":\"user\",\"content\":"
                          "\"old\"}]}");
    free(out);
    wf_use_replay_with_tail(false);
}
END_TEST

Suite *mp_test_suite(void)
{
    Suite *s = suite_create("wire_splice");
    TCase *tc = tcase_create("splice");
    tcase_add_test(tc, test_splice_writer_merges_what_follows_on);
    tcase_add_test(tc, test_splice_pieces_point_into_the_client_body);
    tcase_add_test(tc, test_splice_open_member_after_the_brace);
    tcase_add_test(tc, test_splice_open_member_into_an_empty_splice);
    tcase_add_test(tc, test_splice_generates_only_what_it_adds);
    tcase_add_test(tc, test_splice_flatten_equals_the_iovecs);
    tcase_add_test(tc, test_splice_chat_bytes);
    tcase_add_test(tc, test_splice_chat_tail);
    tcase_add_test(tc, test_splice_chat_tail_stays_with_the_question);
    tcase_add_test(tc, test_splice_chat_replay_with_tail);
    suite_add_tcase(s, tc);
    return s;
}
