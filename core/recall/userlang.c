/* The user's usual language (see userlang.h). A vote, not a profile: the
 * head holds a user's newest words, and a language read from a few of them
 * is what a question in that language most needs (mp_lang_detect_prior). */
#include "recall/userlang.h"

#include <stdbool.h>
#include <string.h>

#include "memory/usermem.h"

void mp_userlang_vote_init(struct mp_userlang_vote *v)
{
    memset(v, 0, sizeof(*v));
    v->best = MP_LANG_NONE;
}

/* best changes only on a strictly higher count, so a tie stays with the
 * earlier vote (the newer message). */
void mp_userlang_vote_lang(struct mp_userlang_vote *v, int lang)
{
    if (lang <= MP_LANG_NONE || lang >= MP_LANG_COUNT)
        return;
    v->n[lang]++;
    if (v->best == MP_LANG_NONE || v->n[lang] > v->n[v->best])
        v->best = lang;
}

static int text_lang(const char *text, size_t len)
{
    if (text == NULL || len == 0)
        return MP_LANG_NONE;
    return mp_lang_detect(text, len < MP_USERLANG_BYTES ? len : MP_USERLANG_BYTES);
}

void mp_userlang_vote_text(struct mp_userlang_vote *v, const char *text, size_t len)
{
    mp_userlang_vote_lang(v, text_lang(text, len));
}

static int of_messages(const struct mp_usermem *um)
{
    struct mp_userlang_vote v;
    unsigned seen = 0;
    mp_userlang_vote_init(&v);
    for (size_t i = um->nmessages; i > 0 && seen < MP_USERLANG_MESSAGES; i--) {
        const struct mp_mem_message *m = &um->messages[i - 1];
        if (m->role != MP_ROLE_USER || m->content_len == 0)
            continue;
        seen++;
        /* every stored message has its language (the store sets it when it
         * appends or imports one, and the format-8 conversion did for the
         * old): one without casts no vote, nothing is identified again */
        mp_userlang_vote_lang(&v, m->lang);
    }
    return v.best;
}

static int of_facts(const struct mp_usermem *um)
{
    struct mp_userlang_vote v;
    mp_userlang_vote_init(&v);
    for (size_t i = 0; i < um->nentities && i < MP_USERLANG_MESSAGES; i++)
        mp_userlang_vote_text(&v, um->entities[i].value, um->entities[i].value_len);
    return v.best;
}

int mp_userlang_of(const struct mp_usermem *um, int archived)
{
    int lang = um != NULL ? of_messages(um) : MP_LANG_NONE;
    if (lang == MP_LANG_NONE && archived > MP_LANG_NONE && archived < MP_LANG_COUNT)
        lang = archived;
    if (um == NULL || lang != MP_LANG_NONE)
        return lang;
    lang = text_lang(um->summary.text, um->summary.text_len);
    if (lang == MP_LANG_NONE)
        lang = of_facts(um);
    return lang;
}

static bool holds(uint32_t n, uint64_t total)
{
    return n >= MP_USERLANG_HELD_MIN && (uint64_t)n * MP_USERLANG_HELD_SHARE >= total;
}

uint64_t mp_userlang_held_counts(const uint32_t *counts)
{
    uint64_t total = 0, some = 0, m = 0;
    if (counts == NULL)
        return 0;
    for (int l = 1; l < MP_LANG_COUNT; l++) {
        if (counts[l] == 0)
            continue; /* most languages have no message */
        total += counts[l];
        some |= (uint64_t)(counts[l] >= MP_USERLANG_HELD_MIN) << l;
    }
    for (; some != 0; some &= some - 1) { /* the languages of MIN messages or more */
        int l = __builtin_ctzll(some);
        if (holds(counts[l], total))
            m |= (uint64_t)1 << l;
    }
    return m;
}

uint64_t mp_userlang_held(const struct mp_usermem *um, uint64_t archived)
{
    uint32_t n[MP_LANG_COUNT] = {0};
    for (size_t i = 0; um != NULL && i < um->nmessages; i++) {
        const struct mp_mem_message *m = &um->messages[i];
        if (m->role == MP_ROLE_USER && m->lang > MP_LANG_NONE && m->lang < MP_LANG_COUNT)
            n[m->lang]++;
    }
    return archived | mp_userlang_held_counts(n);
}

static int read_prior(void *arg)
{
    struct mp_userlang_prior *p = arg;
    if (!p->known) {
        p->lang = mp_userlang_of(p->um, p->archived);
        p->known = true;
    }
    return p->lang;
}

int mp_userlang_question(const char *q, size_t qlen, struct mp_userlang_prior *prior)
{
    if (prior == NULL)
        return mp_lang_detect(q, qlen);
    return mp_lang_detect_lazy(q, qlen, read_prior, prior);
}
