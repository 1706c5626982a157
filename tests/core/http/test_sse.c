/* Tests for core/http/sse.c: event framing over any split, [DONE], data. */
#include <check.h>
#include <string.h>

#include "http/sse.h"
#include "status.h"

Suite *mp_test_suite(void);

#define MAX_EVENTS 16

/* Frames stream[0..len) the way the proxy does, receiving it as two reads
 * split at 'split': keeps the pending bytes, appends, drops each event.
 * Records each event's end offset in the stream; returns how many. */
static size_t frame_split(const char *stream, size_t len, size_t split, size_t *ends)
{
    struct mp_sse s;
    size_t start = 0; /* stream offset of the pending buffer */
    size_t count = 0;
    size_t avail[2] = {split, len};

    mp_sse_init(&s);
    for (int r = 0; r < 2; r++) {
        size_t ev;
        while (mp_sse_next_event(&s, stream + start, avail[r] - start, &ev) == MP_OK) {
            ck_assert_uint_gt(ev, 0);
            ck_assert_uint_lt(count, MAX_EVENTS);
            start += ev;
            ends[count++] = start;
        }
    }
    return count;
}

/* Same, one byte per read. */
static size_t frame_bytewise(const char *stream, size_t len, size_t *ends)
{
    struct mp_sse s;
    size_t start = 0;
    size_t count = 0;

    mp_sse_init(&s);
    for (size_t have = 1; have <= len; have++) {
        size_t ev;
        while (mp_sse_next_event(&s, stream + start, have - start, &ev) == MP_OK) {
            ck_assert_uint_lt(count, MAX_EVENTS);
            start += ev;
            ends[count++] = start;
        }
    }
    return count;
}

static void assert_ends(const size_t *got, size_t n, const size_t *want, size_t want_n)
{
    ck_assert_uint_eq(n, want_n);
    for (size_t i = 0; i < n; i++)
        ck_assert_uint_eq(got[i], want[i]);
}

/* The boundaries expected when the stream is read in two parts split at
 * 'split': the one-shot ones, plus the documented exception: when the first
 * read ends with the CR of an event's final CRLF, the event ends at that CR
 * and the LF becomes an empty event of its own. */
static size_t split_ends(const char *st, const size_t *want, size_t want_n, size_t split,
                         size_t *out)
{
    size_t n = 0;
    for (size_t i = 0; i < want_n; i++) {
        if (want[i] == split + 1 && split >= 1 && st[split - 1] == '\r' && st[split] == '\n')
            out[n++] = split;
        out[n++] = want[i];
    }
    return n;
}

START_TEST(test_sse_single_event_lf)
{
    static const char ev[] = "data: {\"a\":1}\n\n";
    struct mp_sse s;
    size_t len = 99;

    mp_sse_init(&s);
    ck_assert_int_eq(mp_sse_next_event(&s, ev, strlen(ev), &len), MP_OK);
    ck_assert_uint_eq(len, strlen(ev));
}
END_TEST

START_TEST(test_sse_incomplete_event_is_again)
{
    static const char ev[] = "data: {\"a\":1}\n";
    struct mp_sse s;
    size_t len = 99;

    mp_sse_init(&s);
    ck_assert_int_eq(mp_sse_next_event(&s, ev, strlen(ev), &len), MP_AGAIN);
    ck_assert_uint_eq(len, 99);
}
END_TEST

START_TEST(test_sse_single_event_crlf)
{
    static const char ev[] = "event: x\r\ndata: 1\r\n\r\ndata: 2";
    struct mp_sse s;
    size_t len = 0;

    mp_sse_init(&s);
    ck_assert_int_eq(mp_sse_next_event(&s, ev, strlen(ev), &len), MP_OK);
    ck_assert_uint_eq(len, strlen("event: x\r\ndata: 1\r\n\r\n"));
}
END_TEST

START_TEST(test_sse_single_event_cr_only)
{
    static const char ev[] = "event: x\rdata: 1\r\rdata: 2";
    struct mp_sse s;
    size_t len = 0;

    mp_sse_init(&s);
    ck_assert_int_eq(mp_sse_next_event(&s, ev, strlen(ev), &len), MP_OK);
    ck_assert_uint_eq(len, strlen("event: x\rdata: 1\r\r"));
}
END_TEST

START_TEST(test_sse_crlf_split_at_every_offset)
{
    static const char st[] =
        "data: one\r\n\r\n: note\r\ndata: two\r\ndata: 2b\r\n\r\ndata: [DONE]\r\n\r\n";
    size_t len = strlen(st);
    size_t want[MAX_EVENTS], got[MAX_EVENTS];
    size_t want_n = frame_split(st, len, len, want);

    size_t exp[MAX_EVENTS];
    size_t exceptions = 0;

    ck_assert_uint_eq(want_n, 3);
    ck_assert_uint_eq(want[0], strlen("data: one\r\n\r\n"));
    ck_assert_uint_eq(want[2], len);
    for (size_t split = 0; split <= len; split++) {
        size_t n = frame_split(st, len, split, got);
        size_t exp_n = split_ends(st, want, want_n, split, exp);
        exceptions += exp_n != want_n;
        assert_ends(got, n, exp, exp_n);
    }
    ck_assert_uint_eq(exceptions, 3);
}
END_TEST

START_TEST(test_sse_lf_split_at_every_offset)
{
    static const char st[] = "data: one\n\n: note\ndata: two\ndata: 2b\n\ndata: [DONE]\n\n";
    size_t len = strlen(st);
    size_t want[MAX_EVENTS], got[MAX_EVENTS];
    size_t want_n = frame_split(st, len, len, want);

    ck_assert_uint_eq(want_n, 3);
    ck_assert_uint_eq(want[1], strlen("data: one\n\n: note\ndata: two\ndata: 2b\n\n"));
    for (size_t split = 0; split <= len; split++) {
        size_t n = frame_split(st, len, split, got);
        assert_ends(got, n, want, want_n);
    }
}
END_TEST

START_TEST(test_sse_lf_fed_byte_by_byte)
{
    static const char st[] = "data: a\n\nevent: e\ndata: b\n\n";
    static const size_t want[] = {9, 27};
    size_t got[MAX_EVENTS];

    ck_assert_uint_eq(strlen(st), 27);
    assert_ends(got, frame_bytewise(st, strlen(st), got), want, 2);
}
END_TEST

START_TEST(test_sse_cr_only_fed_byte_by_byte)
{
    static const char st[] = "data: a\r\revent: e\rdata: b\r\r";
    static const size_t want[] = {9, 27};
    size_t got[MAX_EVENTS];

    assert_ends(got, frame_bytewise(st, strlen(st), got), want, 2);
}
END_TEST

START_TEST(test_sse_crlf_fed_byte_by_byte)
{
    /* Every read ends on the final CR, so each event ends there and its LF
     * follows as an empty event: the documented exception. */
    static const char st[] = "data: a\r\n\r\nevent: e\r\ndata: b\r\n\r\n";
    static const size_t want[] = {10, 11, 31, 32};
    size_t got[MAX_EVENTS];

    ck_assert_uint_eq(strlen(st), 32);
    assert_ends(got, frame_bytewise(st, strlen(st), got), want, 4);
}
END_TEST

START_TEST(test_sse_mixed_line_ends_fed_byte_by_byte)
{
    /* CR then LF ending a data line must not be read as two line ends. */
    static const char st[] = "data: a\r\ndata: b\rdata: c\n\n";
    size_t got[MAX_EVENTS];
    size_t want = strlen(st);

    assert_ends(got, frame_bytewise(st, strlen(st), got), &want, 1);
}
END_TEST

START_TEST(test_sse_cr_ending_empty_line_completes_at_once)
{
    static const char part[] = "data: a\r\n\r";
    struct mp_sse s;
    size_t len = 0;

    mp_sse_init(&s);
    ck_assert_int_eq(mp_sse_next_event(&s, part, strlen(part), &len), MP_OK);
    ck_assert_uint_eq(len, strlen(part));
    /* The LF that follows is an empty line: an empty event of its own. */
    ck_assert_int_eq(mp_sse_next_event(&s, "\n", 1, &len), MP_OK);
    ck_assert_uint_eq(len, 1);
}
END_TEST

START_TEST(test_sse_multiple_events_in_one_buffer)
{
    static const char st[] = "data: 1\n\ndata: 2\n\ndata: 3\n\ndata: 4";
    struct mp_sse s;
    size_t off = 0, ev = 0, count = 0;

    mp_sse_init(&s);
    while (mp_sse_next_event(&s, st + off, strlen(st) - off, &ev) == MP_OK) {
        ck_assert_uint_eq(ev, 9);
        ck_assert_int_eq(st[off + 6], (char)('1' + count));
        off += ev;
        count++;
    }
    ck_assert_uint_eq(count, 3);
    ck_assert_uint_eq(off, 27);
}
END_TEST

START_TEST(test_sse_resume_after_again)
{
    static const char st[] = "data: long line\n\n";
    struct mp_sse s;
    size_t ev = 0;

    mp_sse_init(&s);
    ck_assert_int_eq(mp_sse_next_event(&s, st, 10, &ev), MP_AGAIN);
    ck_assert_uint_eq(s.scanned, 10);
    ck_assert_int_eq(mp_sse_next_event(&s, st, 16, &ev), MP_AGAIN);
    ck_assert_int_eq(mp_sse_next_event(&s, st, 17, &ev), MP_OK);
    ck_assert_uint_eq(ev, 17);
}
END_TEST

/* Lines longer than the LF look-ahead window, CR-only then LF. */
static size_t long_stream(char *buf)
{
    size_t n = 0;
    memcpy(buf + n, "data: ", 6);
    n += 6;
    memset(buf + n, 'x', 1500);
    n += 1500;
    buf[n++] = '\r';
    memcpy(buf + n, "data: ", 6);
    n += 6;
    memset(buf + n, 'y', 1500);
    n += 1500;
    memcpy(buf + n, "\r\rdata: z\n\n", 11);
    return n + 11;
}

START_TEST(test_sse_lines_longer_than_search_window)
{
    static char st[4096];
    static char out[4096];
    size_t len = long_stream(st);
    size_t got[MAX_EVENTS], out_len = 0;
    const size_t want[] = {len - 9, len};

    for (size_t split = 0; split <= len; split += 7)
        assert_ends(got, frame_split(st, len, split, got), want, 2);
    ck_assert_int_eq(mp_sse_event_data(st, want[0], out, sizeof(out), &out_len), MP_OK);
    ck_assert_uint_eq(out_len, 3001);
    ck_assert_int_eq(out[1499], 'x');
    ck_assert_int_eq(out[1500], '\n');
    ck_assert_int_eq(out[3000], 'y');
}
END_TEST

START_TEST(test_sse_comment_lines_are_part_of_event)
{
    static const char st[] = ": keep-alive\n: x\ndata: 1\n\n";
    struct mp_sse s;
    size_t ev = 0;
    char out[16];
    size_t out_len = 0;

    mp_sse_init(&s);
    ck_assert_int_eq(mp_sse_next_event(&s, st, strlen(st), &ev), MP_OK);
    ck_assert_uint_eq(ev, strlen(st));
    ck_assert_int_eq(mp_sse_event_data(st, ev, out, sizeof(out), &out_len), MP_OK);
    ck_assert_uint_eq(out_len, 1);
    ck_assert_int_eq(out[0], '1');
}
END_TEST

START_TEST(test_sse_comment_only_event_has_no_data)
{
    static const char ev[] = ": ping\n\n";
    char out[16];
    size_t out_len = 77;

    ck_assert_int_eq(mp_sse_event_data(ev, strlen(ev), out, sizeof(out), &out_len), MP_NOTFOUND);
    ck_assert_uint_eq(out_len, 77);
    ck_assert(!mp_sse_is_done(ev, strlen(ev)));
}
END_TEST

START_TEST(test_sse_done_with_space)
{
    static const char ev[] = "data: [DONE]\n\n";
    ck_assert(mp_sse_is_done(ev, strlen(ev)));
}
END_TEST

START_TEST(test_sse_done_without_space)
{
    static const char ev[] = "data:[DONE]\n\n";
    ck_assert(mp_sse_is_done(ev, strlen(ev)));
}
END_TEST

START_TEST(test_sse_done_crlf)
{
    static const char ev[] = "data: [DONE]\r\n\r\n";
    ck_assert(mp_sse_is_done(ev, strlen(ev)));
}
END_TEST

START_TEST(test_sse_done_with_comment_and_other_field)
{
    static const char ev[] = ": bye\revent: end\rdata: [DONE]\r\r";
    ck_assert(mp_sse_is_done(ev, strlen(ev)));
}
END_TEST

START_TEST(test_sse_not_done_with_other_data_lines)
{
    static const char ev1[] = "data: [DONE]\ndata: more\n\n";
    static const char ev2[] = "data: x\ndata: [DONE]\n\n";
    ck_assert(!mp_sse_is_done(ev1, strlen(ev1)));
    ck_assert(!mp_sse_is_done(ev2, strlen(ev2)));
}
END_TEST

START_TEST(test_sse_not_done_with_trailing_or_extra_space)
{
    static const char ev1[] = "data: [DONE] \n\n";
    static const char ev2[] = "data:  [DONE]\n\n";
    static const char ev3[] = "data: [DONE]x\n\n";
    ck_assert(!mp_sse_is_done(ev1, strlen(ev1)));
    ck_assert(!mp_sse_is_done(ev2, strlen(ev2)));
    ck_assert(!mp_sse_is_done(ev3, strlen(ev3)));
}
END_TEST

START_TEST(test_sse_not_done_for_other_field_or_json)
{
    static const char ev1[] = "event: [DONE]\n\n";
    static const char ev2[] = "data: {\"x\":\"[DONE]\"}\n\n";
    static const char ev3[] = "dat: [DONE]\n\n";
    static const char ev4[] = "datas: [DONE]\n\n";
    ck_assert(!mp_sse_is_done(ev1, strlen(ev1)));
    ck_assert(!mp_sse_is_done(ev2, strlen(ev2)));
    ck_assert(!mp_sse_is_done(ev3, strlen(ev3)));
    ck_assert(!mp_sse_is_done(ev4, strlen(ev4)));
}
END_TEST

START_TEST(test_sse_event_data_joins_lines)
{
    static const char ev[] = "data: a\r\nevent: x\r\n: c\r\ndata:b\r\ndata\r\ndata:  d\r\n\r\n";
    char out[32];
    size_t out_len = 0;

    ck_assert_int_eq(mp_sse_event_data(ev, strlen(ev), out, sizeof(out), &out_len), MP_OK);
    ck_assert_uint_eq(out_len, 7);
    ck_assert_int_eq(memcmp(out, "a\nb\n\n d", 7), 0);
}
END_TEST

START_TEST(test_sse_event_data_exact_fit)
{
    static const char ev[] = "data: abc\ndata: de\n\n";
    char out[6];
    size_t out_len = 0;

    ck_assert_int_eq(mp_sse_event_data(ev, strlen(ev), out, sizeof(out), &out_len), MP_OK);
    ck_assert_uint_eq(out_len, 6);
    ck_assert_int_eq(memcmp(out, "abc\nde", 6), 0);
}
END_TEST

START_TEST(test_sse_event_data_too_big)
{
    static const char ev[] = "data: abc\ndata: de\n\n";
    char out[8] = "zzzzzzz";
    size_t out_len = 77;

    ck_assert_int_eq(mp_sse_event_data(ev, strlen(ev), out, 5, &out_len), MP_ETOOBIG);
    ck_assert_uint_eq(out_len, 77);
    ck_assert_str_eq(out, "zzzzzzz");
}
END_TEST

START_TEST(test_sse_event_data_not_found)
{
    static const char ev[] = "event: ping\nid: 3\n\n";
    char out[16];
    size_t out_len = 77;

    ck_assert_int_eq(mp_sse_event_data(ev, strlen(ev), out, sizeof(out), &out_len), MP_NOTFOUND);
    ck_assert_uint_eq(out_len, 77);
}
END_TEST

Suite *mp_test_suite(void)
{
    Suite *s = suite_create("sse");
    TCase *frame = tcase_create("framing");
    TCase *done = tcase_create("done");
    TCase *data = tcase_create("data");

    tcase_add_test(frame, test_sse_single_event_lf);
    tcase_add_test(frame, test_sse_incomplete_event_is_again);
    tcase_add_test(frame, test_sse_single_event_crlf);
    tcase_add_test(frame, test_sse_single_event_cr_only);
    tcase_add_test(frame, test_sse_crlf_split_at_every_offset);
    tcase_add_test(frame, test_sse_lf_split_at_every_offset);
    tcase_add_test(frame, test_sse_lf_fed_byte_by_byte);
    tcase_add_test(frame, test_sse_cr_only_fed_byte_by_byte);
    tcase_add_test(frame, test_sse_crlf_fed_byte_by_byte);
    tcase_add_test(frame, test_sse_mixed_line_ends_fed_byte_by_byte);
    tcase_add_test(frame, test_sse_cr_ending_empty_line_completes_at_once);
    tcase_add_test(frame, test_sse_multiple_events_in_one_buffer);
    tcase_add_test(frame, test_sse_resume_after_again);
    tcase_add_test(frame, test_sse_lines_longer_than_search_window);
    tcase_add_test(frame, test_sse_comment_lines_are_part_of_event);
    suite_add_tcase(s, frame);

    tcase_add_test(done, test_sse_done_with_space);
    tcase_add_test(done, test_sse_done_without_space);
    tcase_add_test(done, test_sse_done_crlf);
    tcase_add_test(done, test_sse_done_with_comment_and_other_field);
    tcase_add_test(done, test_sse_not_done_with_other_data_lines);
    tcase_add_test(done, test_sse_not_done_with_trailing_or_extra_space);
    tcase_add_test(done, test_sse_not_done_for_other_field_or_json);
    suite_add_tcase(s, done);

    tcase_add_test(data, test_sse_comment_only_event_has_no_data);
    tcase_add_test(data, test_sse_event_data_joins_lines);
    tcase_add_test(data, test_sse_event_data_exact_fit);
    tcase_add_test(data, test_sse_event_data_too_big);
    tcase_add_test(data, test_sse_event_data_not_found);
    suite_add_tcase(s, data);
    return s;
}
