/* Excerpts: what the memory block carries of a past message too long for
 * it, chosen by the question (issue 35, packing by evidence). Pure text
 * work over borrowed bytes: no storage, no budget (memblock.c still caps and
 * sanitizes what it is given).
 *
 * The block keeps MP_MEMBLOCK_PAST_TEXT_MAX bytes of a past message. Cut
 * plainly, that is its opening, and the sentence that matched the question
 * is often past it: long assistant answers put the point anywhere. An
 * excerpt keeps the opening sentence (at most a quarter of the room, so the
 * reader still sees what the message was about), then the sentences that
 * add the most question words not yet kept, then, with the room left, the
 * sentence after each of those (whole: what follows a match is often its
 * answer), all in the text's order, joined by " … " (a space between
 * neighbours), within the same room. A sentence ends at '.', '!' or '?'
 * before white space, at 。！？ ؟ ۔ । and the like of other scripts, or at
 * a line break. Excerpts are made only when they differ from the plain
 * cut: a message that fits, a question none of whose words the message
 * holds past its opening, or matches that all lie within the plain cut
 * leave the message as it is. */
#ifndef MP_CORE_EXCERPT_H
#define MP_CORE_EXCERPT_H

#include <stddef.h>

struct mp_relevance_question;

#define MP_EXCERPT_SEP       " \xE2\x80\xA6 " /* " … " between two kept pieces */
#define MP_EXCERPT_SEP_LEN   5
#define MP_EXCERPT_END       " \xE2\x80\xA6" /* after the last piece when text goes on */
#define MP_EXCERPT_END_LEN   4
#define MP_EXCERPT_PIECE_MIN 40 /* bytes: a sentence cut shorter than this is not kept */

/* The excerpt of text[0..len) (borrowed) for the question words of qn
 * (qn->w[0..nq), their stems, borrowed: a text word holds one when it is
 * the stem and at most a few more letters, excerpt.c; a word of Han, Kana,
 * Hangul or Thai anywhere in a run of its script), within room bytes:
 * MP_OK with *out (caller frees; NUL-terminated, *out_len <= room not
 * counting the NUL; valid UTF-8 when text is) or with *out NULL when the plain cut serves (see
 * above: len <= room among others). MP_ENOMEM, *out NULL. */
int mp_excerpt_make(const struct mp_relevance_question *qn, const char *text, size_t len,
                    size_t room, char **out, size_t *out_len);

#endif
