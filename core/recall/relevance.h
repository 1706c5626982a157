/* Relevance: which memory items (facts or past turns) answer a question, scored
 * and packed within a token budget (issue 8; the method of
 * tests/bench/recall/reference/METHOD.md, ported function by function). Pure
 * scoring over an abstract read-only index: it does not build or store the index
 * (the caller's view supplies it, e.g. from LMDB) and renders nothing.
 *
 * Score of item i, in order:
 *   groups   one per distinct question stem (the stem, its lexicon relations at
 *            lex_w, the word as the user's other languages stem it at 1, its
 *            translations into them at xlate_w times the translation's own
 *            weight, and, when the stem is in no item, the
 * stems of the index's surface words at edit distance 1, counted in bytes like fuzzy_minlen, at
 * fuzzy_w), one per capitalised month name or year ("@may", "@2023"), then the previous turn's
 * stems at prev_w; BM25F    sum over groups of the best member's w * idf * tf * (k1 + 1) / (tf + k1
 * * (1 - b + b * len_i / avglen)), tf = w_content * tc + w_key * tk + w_date * td + w_search * ts,
 *            idf = ln(1 + (N - df + 0.5) / (df + 0.5));
 *   survive  the `survivors` candidates (BM25F > 0) of highest BM25F
 *            (ties: the lower id; survivors 0: every candidate) go on; the
 *            stages below read their items and windows only;
 *   smooth   + the best of nb_prev / nb_next * nb_decay^(d-1) * score of the
 *            items at distance d <= nb_window in the same session (d counts
 *            items: ids with no item are skipped, up to nb_reach ids away),
 *            + sess_w * best score of the session, for the items looked at
 *            only: the survivors and the items in their windows (the
 *            reference gives it to every item of the session; the others are
 *            never read). A survivor's score is the exhaustive one: its
 *            window is read whole, and its session's best is a survivor too.
 *            An item of its window takes its own BM25F and the survivors'
 *            shares (the shares of candidates outside every survivor's
 *            window are not read);
 *   speaker  * (1 + spk_boost) when the item's key holds a group's own term;
 *   feedback one round: the prf_terms content terms with the highest c * idf
 *            among the prf_docs best items (c >= prf_min_docs) held by at
 *            most MP_RELEVANCE_PRF_DF_MAX items join as groups, weight
 *            prf_w * value / best value, and the three steps above rerun
 *            over the first round's candidates: the new groups add to
 *            their sums and make no new candidate (the reference's do; a
 *            new candidate costs its window's read, and on every dev set
 *            the recall is within 0.2 of theirs, tests/bench/recall/README.md);
 *   temporal * (1 + temp_boost) for items with a time expression when the
 *            question asks when / how long / what year ...
 * Packing: items with score > 0 by score / tokens^pack_pow descending, each taken
 * when it still fits. All ties by item id, then term bytes: deterministic.
 *
 * Cost: sparse. A call reads the postings of the question's terms once (the
 * feedback round reads those of its new terms only), adding each to its
 * item's BM25F (a hash entry per candidate; the item itself is read only
 * for a posting without its length), then the items of at most `survivors`
 * candidates per round and up to 2 * nb_reach ids around each, and the
 * terms of prf_docs items; memory and time grow with those, never with n.
 * The exception is the view's surface callback, asked once per question
 * word that no item holds (see struct mp_relevance_index). A term most
 * items hold (a speaker's name in the key field) still makes most items
 * candidates, but only the survivors cost more than their postings.
 *
 * The ceiling: one call scores at most ix->max_postings postings (0:
 * MP_RELEVANCE_MAX_POSTINGS), the question's round and the feedback round
 * together. A round's members are read whole or not at all, those read
 * whole first in group order, then the sampled ones (below) with what is
 * left: a member whose df (or sample) exceeds what is left of the ceiling
 * is skipped (the call is then "capped"), and the later, rarer members are
 * still read; learning a df reads no more than one past what is left
 * (df_upto). Feedback's
 * candidates learn their dfs within MP_RELEVANCE_PRF_DF_CEILINGS ceilings
 * of their own, each reading at most MP_RELEVANCE_PRF_DF_MAX + 1 postings,
 * and one that does not fit (in them, or in what is left of the
 * scoring's) is dropped. So the work of a call is at most the
 * ceiling's postings four times (the windows' prefetch reads the scored
 * ones first; the candidates' dfs twice), a sampled member's sample
 * counted as what the index reads to find it (the store's view: at most
 * five samples, so eight times the ceiling when every member scored is
 * sampled), and the items of 2 * survivors
 * candidates with up to 2 * nb_reach ids around each, whatever the data
 * (postings without has_len have every candidate's item and window read as
 * well); a call that never meets a term above what is left scores exactly
 * as without the ceiling.
 *
 * The sample: with ix->sample set, a member held by more items than that
 * is read through at most `sample` of its postings (the store's view
 * gives the 128 of highest impact from the word's head, its df exact,
 * or, for a word without a head yet, the newest: an item id is its place
 * in time, the df estimated) and costs the ceiling `sample`; its idf is of
 * the df the view gives. So a common word costs a request
 * the same whether 1,000 or 1,000,000 items hold it, and still finds its
 * newest items instead of being skipped. Feedback keeps no candidate
 * held by more than `sample` items (its idf is low, its read the dearest).
 * A call whose members are all held by at most `sample` items scores
 * exactly as without it. */
#ifndef MP_CORE_RELEVANCE_H
#define MP_CORE_RELEVANCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "recall/relevance_words.h"
#include "recall/terms.h"

/* Caps on what one question makes (the question is network input): words,
 * lexicon relations and spelling neighbours past them are ignored
 * (MP_RELEVANCE_MAX_GROUPS: relevance_words.h). */
#define MP_RELEVANCE_MAX_MEMBERS   1024
#define MP_RELEVANCE_MAX_PRF_TERMS 32   /* prf_terms above this are cut to it */
#define MP_RELEVANCE_MAX_PRF_CAND  1024 /* (item, term) pairs read for feedback */
/* Feedback's candidates read at most this many ceilings of postings to
 * learn their dfs (see the top): the fewest that leave every dev set's
 * selection byte-identical (chosen on BEAM, whose chats have the most
 * common terms; one ceiling changed its recall by up to 0.4 points). */
#define MP_RELEVANCE_PRF_DF_CEILINGS 2
/* Feedback keeps no candidate term held by more than this many items: a
 * common word adds little (its idf is low) and costs the most (its
 * postings). So learning a candidate's df reads at most this many postings
 * and one more, and the feedback round scores at most prf_terms times it,
 * whatever the history. Chosen on every dev set (tests/bench/recall/README.md,
 * "Feedback from the rarer words"): 64 and 128 kept every recall figure within
 * half a point of no bound (32 did not); 128, the larger, lost no cell more
 * than 0.2. */
#define MP_RELEVANCE_PRF_DF_MAX 128
/* The default ceiling of postings one call scores (above): about 5 ms of
 * scoring (0.22 us a posting, tests/bench/populate --question), far above
 * any question of the dev sets (no selection there changes). */
#define MP_RELEVANCE_MAX_POSTINGS 20000
/* A term held by more items is common: a store's view reads it through
 * its head, or without one through a sample of its newest postings (the
 * top: the sample; struct mp_relevance_index: sample; storage/format/heads.h),
 * at most half the ceiling (one common word leaves room for the rarer
 * ones). Chosen on LoCoMo (tests/bench/recall/README.md, "The heads of
 * common words"): at 768 its selection is byte for byte the one without
 * heads (its speakers' names, held by up to 550 turns, are read whole), at
 * 512 its turns lost 3.2 points at 500 tokens; BEAM's recall is within 0.3
 * of before at every budget. */
#define MP_RELEVANCE_SAMPLE 768

enum mp_relevance_kind { MP_RELEVANCE_FACTS, MP_RELEVANCE_TURNS };

/* Survivors (the top: survive) for a block of budget_tokens: one per
 * MP_RELEVANCE_SURVIVOR_TOKENS_FACTS (a fact is a short line) or
 * MP_RELEVANCE_SURVIVOR_TOKENS_TURNS of it, within [MIN, MAX]: more than
 * packing can take of the kind, leaving it room to choose. Chosen on every
 * dev set (tests/bench/recall.sh: LoCoMo facts and turns, both evidences,
 * and BEAM) as near the fewest that keep each set's recall at 500, 1,500
 * and 3,000 tokens within half a point of scoring every candidate. */
#define MP_RELEVANCE_SURVIVOR_TOKENS_FACTS 8
#define MP_RELEVANCE_SURVIVOR_TOKENS_TURNS 24
#define MP_RELEVANCE_SURVIVORS_MIN         32
#define MP_RELEVANCE_SURVIVORS_MAX         4096
unsigned mp_relevance_survivors_for(enum mp_relevance_kind kind, uint64_t budget_tokens);

/* The constants of METHOD.md, one set per kind of item. */
struct mp_relevance_params {
    double k1, b;                      /* BM25 saturation, length normalisation */
    double w_content, w_key, w_date;   /* field weights */
    double w_search;                   /* the search keys' weight (ts) */
    double prev_w;                     /* previous turn's words */
    double lex_w;                      /* lexicon relation */
    double xlate_w;                    /* translation (relevance_words.h: xterm) */
    double fuzzy_w;                    /* spelling neighbour */
    unsigned fuzzy_minlen;             /* bytes of a word that gets neighbours */
    double nb_prev, nb_next, nb_decay; /* neighbour smoothing */
    unsigned nb_window;                /* neighbours on each side */
    unsigned nb_reach; /* ids probed on each side for them (< nb_window: nb_window) */
    double sess_w;     /* share of the session's best */
    double spk_boost;  /* key holds a question term */
    unsigned prf_docs, prf_terms, prf_min_docs; /* feedback; prf_docs 0: none */
    double prf_w;
    double temp_boost;  /* temporal question, item with a time expression */
    double pack_pow;    /* packing order: score / tokens^pack_pow */
    unsigned survivors; /* candidates that go on past BM25F (see the top); 0: all */
};

/* The tuned set of kind (FACTS or TURNS; anything else gets TURNS). */
void mp_relevance_preset(enum mp_relevance_kind kind, struct mp_relevance_params *out);

/* One posting of a term: item id and the term's count in the item's content
 * (tc), key (tk: fact key, speaker name), date (td: 1 for "@may"/"@2023")
 * and search keys (ts: how often the memory model's search keys of the
 * item name it). */
struct mp_relevance_posting {
    uint32_t item;
    uint32_t tc, tk, td;
    uint32_t ts;  /* search keys (a low-weight field the memory model wrote) */
    uint32_t len; /* the item's content length, when has_len */
    bool has_len; /* false: scoring reads the item (item()) for its length,
                   * after its window in one range (items()); the scores are
                   * the same either way */
};

/* A posting's share of its item's BM25F for a term of idf 1 and weight 1
 * (the top: tf * (k1 + 1) / (tf + k1 * (1 - b + b * len / avglen))), its
 * length avglen when it has none: the order of a common term's postings by
 * what they can add, which the store's heads keep (storage/format/heads.h).
 * 0 for a posting with no weight; avglen must be > 0. */
double mp_relevance_impact(const struct mp_relevance_params *p,
                           const struct mp_relevance_posting *x, double avglen);
/* What scoring needs of one item. */
struct mp_relevance_item {
    uint32_t len;     /* content length in terms */
    uint32_t session; /* neighbours are smoothed within a session */
    uint32_t tokens;  /* cost when injected, > 0 */
    bool timex;       /* content holds a time expression (mp_relevance_timex) */
};

typedef int (*mp_relevance_posting_fn)(void *arg, const struct mp_relevance_posting *p);
typedef int (*mp_relevance_item_fn)(void *arg, uint32_t id, const struct mp_relevance_item *it);
typedef int (*mp_relevance_term_fn)(void *arg, const char *term, size_t len, uint32_t tc);
typedef int (*mp_relevance_surface_fn)(void *arg, const char *word, size_t wlen, const char *stem,
                                       size_t slen);

/* A read-only view of one user's index for one kind of item, supplied by the
 * caller (nothing is copied). Items have arbitrary uint32 ids (fact ids,
 * message sequence numbers) in sequence order, with gaps where items were
 * deleted; the items of a session have consecutive ids apart from gaps, and
 * sessions do not interleave. Terms are mp_terms terms, or "@<month>" and
 * "@<year>" (mp_relevance_date_terms) for the date field. Every callback gets
 * ctx; a return other than MP_OK from a callback or from fn stops the call and
 * is passed on (except MP_NOTFOUND from item, a gap). Strings passed to fn are
 * valid during that call only. */
struct mp_relevance_index {
    void *ctx;
    uint32_t n;    /* items, for idf only: ids need not be below it */
    double avglen; /* mean content length (> 0 when n > 0) */
    /* Items holding term[0..len) in any field (0: none). */
    uint32_t (*df)(void *ctx, const char *term, size_t len);
    /* fn once per posting of term (item ascending is the natural order, not
     * required). A posting of an id that item() does not know is skipped. */
    int (*postings)(void *ctx, const char *term, size_t len, mp_relevance_posting_fn fn, void *arg);
    /* fn once per item with lo <= id <= hi, ids ascending: the neighbours
     * of a run of candidates in one read (a B-tree range instead of a
     * lookup per id); NULL: neighbours are read one id at a time. */
    int (*items)(void *ctx, uint32_t lo, uint32_t hi, mp_relevance_item_fn fn, void *arg);
    /* The scoring fields of item id, or MP_NOTFOUND when id has no item (a
     * gap, or past the ends): scoring probes ids next to its candidates. */
    int (*item)(void *ctx, uint32_t id, struct mp_relevance_item *out);
    /* fn once per distinct content term of item id (any order), with its count. */
    int (*item_terms)(void *ctx, uint32_t id, mp_relevance_term_fn fn, void *arg);
    /* fn for each distinct surface word (mp_relevance_surface_word) of the
     * items' content at edit distance 1 from word[0..wlen) (one byte
     * inserted, deleted, replaced, or two adjacent bytes swapped), with its
     * stem. It may pass any other surface words too: they are filtered out,
     * so a full scan of the words is correct, and a deletion-neighbourhood
     * table answers in a few lookups. Asked only for question words of at
     * least fuzzy_minlen bytes whose stem no item holds. NULL: no spelling
     * neighbours (see tests/bench/recall/README.md for what they are worth). */
    int (*surface)(void *ctx, const char *word, size_t wlen, mp_relevance_surface_fn fn, void *arg);
    /* No item has an id above last, so probes for neighbours stop there
     * instead of reading gaps one by one; 0: not known. */
    uint32_t last;
    /* The ceiling of postings one call scores (see the top); 0: the
     * default. df() may answer any value above it for a term with more
     * postings (a view that stops counting there). */
    uint32_t max_postings;
    /* Told once at the end of a successful call: the postings it scored
     * and whether it met the ceiling. NULL: not told. */
    void (*work)(void *ctx, uint32_t postings, bool capped);
    /* df() when at most cap items hold the term; else any value above cap
     * (a view that stops counting there): scoring asks it where all it
     * needs to know of a term is whether what is left of the ceiling
     * affords it. NULL: df() is asked. */
    uint32_t (*df_upto)(void *ctx, const char *term, size_t len, uint32_t cap);
    /* A term held by more than `sample` items is read through a sample of
     * them (0: every term whole; see "The sample" at the top): postings()
     * gives `sample` of its postings, and df(), or df_upto() with a cap of
     * at least `sample`, an estimate of how many items hold it. */
    uint32_t sample;
};

/* An item the question reaches, with its score. */
struct mp_relevance_hit {
    uint32_t item;
    double score;
    uint32_t tokens; /* the item's cost as scoring read it; 0: pack asks ix->item */
    bool holds;      /* it holds a term of the query itself (BM25F > 0): a candidate */
    bool beside;     /* the item next to it in its session (d = 1, either side) holds one and
                      * gave it its neighbour's share (smooth) */
};

/* Scores the items the question q[0..qlen) (the newest user message) and the
 * optional previous turn prev[0..prevlen) (NULL: none) reach, each read in
 * the language its own text tells (no user's prior: parse the question with
 * mp_relevance_question_parse for one): *hits (caller
 * frees with free(); NULL when *nhits is 0) holds the items with score > 0,
 * sorted by item id. terms, ix, p, q and prev are borrowed. Reads each item
 * looked at once; allocates about 80 bytes per query member and feedback
 * term and about 64 bytes per item looked at, freed before it returns. MP_OK; MP_ENOMEM; or what a
 * callback returned. On failure *hits and *nhits are untouched. */
int mp_relevance_score(struct mp_terms *terms, const struct mp_relevance_index *ix,
                       const struct mp_relevance_params *p, const char *q, size_t qlen,
                       const char *prev, size_t prevlen, struct mp_relevance_hit **hits,
                       size_t *nhits);

/* mp_relevance_score() of a question parsed once (mp_relevance_question_parse)
 * for every kind a request scores: the same hits, without reading the text
 * again. qn is borrowed. */
int mp_relevance_score_question(const struct mp_relevance_question *qn,
                                const struct mp_relevance_index *ix,
                                const struct mp_relevance_params *p, struct mp_relevance_hit **hits,
                                size_t *nhits);

/* mp_relevance_score_question() with kind's preset (written to *p, for
 * what follows the scoring), its survivors replaced by survivors when that
 * is not 0: MP_OK with *nhits 0 and *hits NULL when ix is NULL or empty.
 * The one way recall and search score a kind. */
int mp_relevance_score_kind(const struct mp_relevance_question *qn,
                            const struct mp_relevance_index *ix, enum mp_relevance_kind kind,
                            unsigned survivors, struct mp_relevance_params *p,
                            struct mp_relevance_hit **hits, size_t *nhits);

/* Packs the hits[0..nhits) with score > 0 into budget tokens: by score /
 * tokens^pack_pow descending (ties: lower id), each taken when used + tokens <=
 * budget. Writes the ids in that order to out[0..*nout) (out holds nhits ids)
 * and the tokens used to *used. Tokens come from ix->item, once per hit; a hit
 * whose item is gone (MP_NOTFOUND) is skipped. No candidate: *nout = 0.
 * hits, ix and p are borrowed. MP_OK, MP_ENOMEM, or what ix->item returned. */
int mp_relevance_pack(const struct mp_relevance_index *ix, const struct mp_relevance_params *p,
                      const struct mp_relevance_hit *hits, size_t nhits, uint32_t budget,
                      uint32_t *out, size_t *nout, uint32_t *used);

/* The packing order of mp_relevance_pack() without a budget, produced best
 * first on demand (relevance_pack.c: a heap), for a caller that usually
 * stops after the first few: n is how many are left. */
struct mp_relevance_pack_key;
struct mp_relevance_order {
    struct mp_relevance_pack_key *heap;
    size_t n;
};

/* *o = the order of hits[0..nhits) with score > 0 and an item (tokens as
 * for mp_relevance_pack; hits, ix and p borrowed). MP_OK, MP_ENOMEM or what
 * ix->item returned (*o then holds nothing). Released with
 * mp_relevance_order_cleanup(). */
int mp_relevance_order_init(struct mp_relevance_order *o, const struct mp_relevance_index *ix,
                            const struct mp_relevance_params *p,
                            const struct mp_relevance_hit *hits, size_t nhits);

/* The next id in packing order and its tokens; false when none is left. */
bool mp_relevance_order_next(struct mp_relevance_order *o, uint32_t *id, uint32_t *tokens);

void mp_relevance_order_cleanup(struct mp_relevance_order *o);

#endif
