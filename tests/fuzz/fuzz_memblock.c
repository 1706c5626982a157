/* libFuzzer target for core/recall/memblock.c: arbitrary stored text as a summary,
 * as a fact value and as a past message. The cut of a summary, found
 * without writing its sanitized form, must be the cut rule applied to that
 * form (for rooms up to a little past its length); a value or a past
 * message past its cap must be the cut of its sanitized form; every
 * measure must equal what is rendered. */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "recall/memblock.h"
#include "memory/usermem.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Checks use assert(): the fuzz build is a debug build. */
#define CHECK(cond) assert(cond)

#define HEAD     "\n[Conversation history summary]: "
#define HEAD_LEN (sizeof(HEAD) - 1)

/* The block with the summary text[0..keep) alone (caller frees). */
static char *render_summary(char *text, size_t len, size_t keep, size_t bytes)
{
    struct mp_mem_summary sm = {.text = text, .text_len = len};
    char *block = malloc(MP_MEMBLOCK_INTRO_LEN + bytes + 1);
    CHECK(block != NULL);
    CHECK(mp_memblock_render(block, MP_MEMBLOCK_INTRO_LEN + bytes,
                             &(struct mp_memblock_parts){NULL, 0, &sm, keep, NULL, 0, NULL}) ==
          MP_MEMBLOCK_INTRO_LEN + bytes);
    return block;
}

static void check_summary(char *text, size_t len, const char *s, size_t slen)
{
    size_t step = slen / 256 + 1; /* every room of short texts, a sample of long ones' */
    for (size_t room = 0; room <= HEAD_LEN + slen + 8; room += room < HEAD_LEN + 64 ? 1 : step) {
        size_t keep = 0, bytes = mp_memblock_summary_bytes(text, len, room, &keep), c;
        char *block;
        c = room < HEAD_LEN ? 0 : mp_memblock_fit_text(s, slen, room - HEAD_LEN);
        CHECK(bytes == (c == 0 ? 0 : HEAD_LEN + c + (c < slen ? MP_MEMBLOCK_ELLIPSIS_LEN : 0)));
        if (c == 0)
            continue;
        CHECK((keep == len) == (c == slen) && keep <= len && bytes <= room);
        block = render_summary(text, len, keep, bytes);
        CHECK(memcmp(block + MP_MEMBLOCK_INTRO_LEN + HEAD_LEN, s, c) == 0);
        free(block);
    }
}

/* The capped text that ends a rendered line (after skip bytes of block)
 * must be s[0..slen) whole, or its cut to max. */
static void check_capped(const char *block, size_t len, size_t skip, const char *s, size_t slen,
                         size_t max)
{
    size_t vlen = len - skip, c;
    if (slen <= max) {
        CHECK(vlen == slen && memcmp(block + skip, s, slen) == 0);
    } else {
        c = mp_memblock_fit_text(s, slen, max);
        CHECK(vlen <= max);
        CHECK(c == 0 || (vlen == c + MP_MEMBLOCK_ELLIPSIS_LEN && memcmp(block + skip, s, c) == 0));
    }
}

static void check_value(char *text, size_t len, const char *s, size_t slen)
{
    struct mp_mem_entity e = {.key = "k", .value = text, .value_len = len};
    const struct mp_mem_entity *facts[] = {&e};
    size_t bytes = mp_memblock_fact_bytes(&e, true, true, SIZE_MAX);
    size_t skip = MP_MEMBLOCK_INTRO_LEN + sizeof("\n[User profile]: (no date) k: ") - 1;
    char *block = malloc(MP_MEMBLOCK_INTRO_LEN + bytes);
    CHECK(block != NULL && bytes > 0);
    CHECK(mp_memblock_fact_bytes(&e, true, true, bytes) == bytes);
    CHECK(mp_memblock_fact_bytes(&e, true, true, bytes - 1) == 0);
    CHECK(mp_memblock_render(block, MP_MEMBLOCK_INTRO_LEN + bytes,
                             &(struct mp_memblock_parts){facts, 1, NULL, 0, NULL, 0, NULL}) ==
          MP_MEMBLOCK_INTRO_LEN + bytes);
    /* no date ("(no date) " before the key): the line ends with the value */
    check_capped(block, MP_MEMBLOCK_INTRO_LEN + bytes, skip, s, slen, MP_MEMBLOCK_FACT_VALUE_MAX);
    free(block);
}

static void check_past(char *text, size_t len, const char *s, size_t slen)
{
    struct mp_mem_message m = {.role = MP_ROLE_ASSISTANT, .content = text, .content_len = len};
    const struct mp_mem_message *past[] = {&m};
    size_t bytes = mp_memblock_past_bytes(&m, true, true, SIZE_MAX);
    size_t skip =
        MP_MEMBLOCK_INTRO_LEN + sizeof("\n[Relevant past conversation]: (no date, assistant) ") - 1;
    char *block = malloc(MP_MEMBLOCK_INTRO_LEN + bytes);
    CHECK(block != NULL && bytes > 0);
    CHECK(mp_memblock_past_bytes(&m, true, true, bytes) == bytes);
    CHECK(mp_memblock_past_bytes(&m, true, true, bytes - 1) == 0);
    CHECK(mp_memblock_render(block, MP_MEMBLOCK_INTRO_LEN + bytes,
                             &(struct mp_memblock_parts){NULL, 0, NULL, 0, past, 1, NULL}) ==
          MP_MEMBLOCK_INTRO_LEN + bytes);
    check_capped(block, MP_MEMBLOCK_INTRO_LEN + bytes, skip, s, slen, MP_MEMBLOCK_PAST_TEXT_MAX);
    free(block);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t keep = 0, bytes, slen;
    char *text, *block;
    if (size == 0 || size > 4096)
        return 0;
    text = malloc(size);
    CHECK(text != NULL);
    memcpy(text, data, size);
    for (size_t i = 0; i < size; i++) {
        if (text[i] == '|')
            text[i] = '/'; /* '|' is '/' in a fact or a past message, not in a summary */
    }
    bytes = mp_memblock_summary_bytes(text, size, SIZE_MAX, &keep);
    CHECK(keep == size && bytes > HEAD_LEN);
    block = render_summary(text, size, keep, bytes);
    slen = bytes - HEAD_LEN;
    check_summary(text, size, block + MP_MEMBLOCK_INTRO_LEN + HEAD_LEN, slen);
    check_value(text, size, block + MP_MEMBLOCK_INTRO_LEN + HEAD_LEN, slen);
    check_past(text, size, block + MP_MEMBLOCK_INTRO_LEN + HEAD_LEN, slen);
    free(block);
    free(text);
    return 0;
}
