/* populate: fills an LMDB memory store for tests/bench/memory.sh through the
 * storage library, the way memproxy's memory worker writes it. A benchmark
 * tool, not a test: it checks nothing beyond the store's return codes, and
 * the relevance figures it prints (--question) are for a person to read.
 *
 * What it writes
 * --------------
 * - N ordinary users "<prefix><i>" (i = 0..N-1, decimal), each a small
 *   realistic record: two recorded turns (4 messages), 3 facts and a 20-word
 *   summary. The users are inserted in a scrambled order (i = j * step mod N,
 *   step coprime to N) so that the B-tree is shaped like one filled by real
 *   traffic (half-full pages after splits), not like a sorted bulk load.
 * - The memory-hit user (default "bench-hit"): 50 facts, a 150-word summary
 *   and a full buffer of --buffer-messages messages. --hit-text english or
 *   bilingual writes them as a family's plans in sentences (a trip to
 *   Portugal, the children, appointments): all English, or every second
 *   fact and every second turn in German (tests/bench/hitcount.sh --user).
 * - Rich users (--rich ID:FACTS:MESSAGES:NEEDLES, up to 4): a full buffer
 *   and a 150-word summary, then FACTS facts (MP_OP_UPSERT_ENTITY) and
 *   MESSAGES archived messages (MP_OP_IMPORT_MESSAGE, indexed as an import
 *   indexes them), in English-like text (benchtext.h) with the needle word
 *   in NEEDLES items, spread over facts and archive in proportion, and a
 *   cluster word in NEEDLES / 2 others. The archive is a user's past of
 *   up to 300 days (memproxy's start-up sweep purges what is older than
 *   [governance] retention_days, 365 by default): sessions of 20 or more
 *   messages 30 s apart, over 4 hours between sessions (the index's
 *   session gap), the last message a day ago; the facts observed over the
 *   same span. The store's size is taken before and after each phase.
 *
 * Ops go in batches of about --batch ops per mp_store_apply (one LMDB write
 * transaction each; a user's small ops never straddle two batches). It
 * prints how long the whole population took and how big the store is.
 *
 * --question TEXT then reads each rich user back through the request
 * path's view and times the request path's recall on it (benchcheck.h:
 * one CHECK line per rich user). --emit-import N writes no store: it
 * prints N messages of the rich users' kind as the JSON Lines of
 * POST /admin/users/{id}/import. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "benchcheck.h"
#include "benchtext.h"
#include "benchvec.h"
#include "format/seal.h"
#include "status.h"
#include "ops/store.h"
#include "memory/usermem.h"

#define SMALL_MESSAGES 4
#define SMALL_FACTS    3
#define SMALL_OPS      (2 + SMALL_FACTS + 1) /* 2 turns, the facts, the summary */
#define HIT_FACTS      50
#define HIT_WORDS      150
#define TEXT_MAX       256
#define MODEL          "gpt-4o-mini"
#define RICH_MAX       4
#define RICH_TEXT_MAX  1024 /* bytes of one rich message (a few sentences) */
#define DAY_MS         (24LL * 3600 * 1000)
#define SPAN_MS                                                                                    \
    (300 * DAY_MS)                         /* a rich user's past: within [governance]              \
                                              retention_days' default 365, which memproxy's        \
                                              start-up sweep applies */
#define SESSION_LEN    20                  /* archived messages per session, at least */
#define SESSION_GAP_MS (250LL * 60 * 1000) /* between sessions: > the index's 4 h */
#define MESSAGE_GAP_MS 30000

/* The hit user's text (--hit-text): the benchmark's own (a repeated
 * question about embeddings, "detail N" facts, the word list's summary),
 * or a family's plans in sentences, all English or half German (a question
 * about the trip then matches its German half only translated, issue 66). */
enum hit_text { HIT_TEXT_BENCH, HIT_TEXT_ENGLISH, HIT_TEXT_BILINGUAL };

/* A rich user: --rich ID:FACTS:MESSAGES:NEEDLES. */
struct rich {
    char id[MP_USER_KEY_MAX + 1];
    uint64_t facts, messages, needles;
};

struct options {
    const char *path;
    uint64_t users;
    unsigned buffer_messages;
    unsigned batch;
    uint64_t map_size_mb;
    enum mp_store_sync sync;
    const char *hit_user;
    enum hit_text hit_text;
    const char *prefix;
    struct rich rich[RICH_MAX];
    size_t nrich;
    const char *question;
    const char *key_file;
    uint64_t emit_import; /* > 0: print that many import lines, no store */
    bool check_only;      /* --question on the store as it is, nothing written */
    unsigned vectors;     /* --vectors DIMS: the rich users' items get random vectors
                             (benchvec.h), timed with --question; 0: none */
};

/* Everything the ops of one ordinary user point to; it lives until the
 * batch holding those ops has been applied. */
struct small_user {
    char id[MP_USER_KEY_MAX + 1];
    struct mp_mem_message msgs[SMALL_MESSAGES];
    char texts[SMALL_MESSAGES][TEXT_MAX];
    char values[SMALL_FACTS][TEXT_MAX];
};

static const char *const projects[] = {"a recipe app",      "a budgeting tool",
                                       "a chess engine",    "a weather dashboard",
                                       "a note-taking app", "an invoice generator"};
static const char *const tools[] = {"Flask and Postgres", "Rails and MySQL",
                                    "Go and SQLite",      "Next.js and Supabase",
                                    "Django and Redis",   "Rust and ChromaDB"};
static const char *const words[] = {
    "the",     "user",    "is",      "building", "a",        "small",   "service", "with",
    "vector",  "search",  "prefers", "concise",  "answers",  "asked",   "about",   "deploying",
    "on",      "Debian",  "and",     "tuning",   "Postgres", "indexes", "for",     "faster",
    "queries", "decided", "to",      "keep",     "ChromaDB", "as",      "store",   "mentioned",
    "tests",   "in",      "CI",      "budget",   "of",       "latency", "under",   "load"};

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t gcd(uint64_t a, uint64_t b)
{
    while (b != 0) {
        uint64_t t = a % b;
        a = b;
        b = t;
    }
    return a;
}

/* A step that visits every i in 0..n-1 once as j * step mod n. */
static uint64_t scramble_step(uint64_t n)
{
    uint64_t step = 1000003; /* prime */
    if (n < 2)
        return 1;
    step %= n;
    while (step == 0 || gcd(step, n) != 1)
        step = (step + 1) % n;
    return step;
}

/* Distinct per user and turn; the store only needs it unique per user. */
static void idem_key(uint8_t *key, uint64_t user, unsigned turn)
{
    memset(key, 0xA5, MP_IDEM_KEY_LEN);
    for (int b = 0; b < 8; b++)
        key[b] = (uint8_t)(user >> (8 * b));
    key[8] = (uint8_t)turn;
}

static void set_message(struct mp_mem_message *m, enum mp_role role, char *text, int64_t at_ms,
                        const char *rid)
{
    memset(m, 0, sizeof(*m));
    m->role = role;
    m->content = text;
    m->content_len = strlen(text);
    m->at_ms = at_ms;
    snprintf(m->request_id, sizeof(m->request_id), "%s", rid);
}

static void set_turn(struct mp_op *op, const char *user, int64_t now, struct mp_mem_message *msgs,
                     size_t n, uint64_t idx, unsigned turn)
{
    memset(op, 0, sizeof(*op));
    op->kind = MP_OP_RECORD_TURN;
    op->user = user;
    op->user_len = strlen(user);
    op->now_ms = now;
    op->u.turn.messages = msgs;
    op->u.turn.nmessages = n;
    idem_key(op->u.turn.idem_key, idx, turn);
}

static void set_fact(struct mp_op *op, const char *user, int64_t now, const char *key, char *value,
                     double confidence, const char *rid)
{
    memset(op, 0, sizeof(*op));
    op->kind = MP_OP_UPSERT_ENTITY;
    op->user = user;
    op->user_len = strlen(user);
    op->now_ms = now;
    snprintf(op->u.entity.key, sizeof(op->u.entity.key), "%s", key);
    op->u.entity.value = value;
    op->u.entity.value_len = strlen(value);
    op->u.entity.confidence = confidence;
    op->u.entity.observed_at_ms = now;
    op->u.entity.recorded_at_ms = now;
    op->u.entity.trust = MP_TRUST_STATED;
    op->u.entity.source_role = MP_ROLE_USER;
    snprintf(op->u.entity.request_id, sizeof(op->u.entity.request_id), "%s", rid);
    snprintf(op->u.entity.model, sizeof(op->u.entity.model), "%s", MODEL);
}

static void set_summary(struct mp_op *op, const char *user, int64_t now, const char *text)
{
    memset(op, 0, sizeof(*op));
    op->kind = MP_OP_SET_SUMMARY;
    op->user = user;
    op->user_len = strlen(user);
    op->now_ms = now;
    op->u.summary.text = text;
    op->u.summary.text_len = strlen(text);
    op->u.summary.through_seq = 0; /* keeps the buffer */
}

/* A summary of exactly nwords words, from the word list. */
static void make_summary(char *out, size_t cap, unsigned nwords, uint64_t seed)
{
    size_t n = 0;
    size_t nw = sizeof(words) / sizeof(words[0]);
    out[0] = '\0';
    for (unsigned w = 0; w < nwords && n + 16 < cap; w++) {
        const char *word = words[(seed + w * 7) % nw];
        int k = snprintf(out + n, cap - n, "%s%s", w == 0 ? "" : " ", word);
        if (k > 0)
            n += (size_t)k;
    }
    if (n + 1 < cap)
        strcat(out, ".");
}

/* The 6 ops of one ordinary user into ops[0..SMALL_OPS). */
static void small_user_ops(struct small_user *u, struct mp_op *ops, const char *prefix, uint64_t i,
                           int64_t now, const char *summary)
{
    size_t np = sizeof(projects) / sizeof(projects[0]);
    const char *project = projects[i % np];
    const char *tool = tools[(i / np) % np];
    char rid1[32], rid2[32];
    snprintf(u->id, sizeof(u->id), "%s%" PRIu64, prefix, i);
    snprintf(rid1, sizeof(rid1), "req-%" PRIu64 "-1", i);
    snprintf(rid2, sizeof(rid2), "req-%" PRIu64 "-2", i);
    snprintf(u->texts[0], TEXT_MAX, "Hi, I am user %" PRIu64 " and I am building %s.", i, project);
    snprintf(u->texts[1], TEXT_MAX, "Nice! Which stack do you use for %s?", project);
    snprintf(u->texts[2], TEXT_MAX, "I use %s, on a small VPS.", tool);
    snprintf(u->texts[3], TEXT_MAX, "Good choice: %s is simple to run.", tool);
    set_message(&u->msgs[0], MP_ROLE_USER, u->texts[0], now - 60000, rid1);
    set_message(&u->msgs[1], MP_ROLE_ASSISTANT, u->texts[1], now - 60000, rid1);
    set_message(&u->msgs[2], MP_ROLE_USER, u->texts[2], now - 30000, rid2);
    set_message(&u->msgs[3], MP_ROLE_ASSISTANT, u->texts[3], now - 30000, rid2);
    set_turn(&ops[0], u->id, now - 60000, &u->msgs[0], 2, i, 1);
    set_turn(&ops[1], u->id, now - 30000, &u->msgs[2], 2, i, 2);
    snprintf(u->values[0], TEXT_MAX, "user %" PRIu64, i);
    snprintf(u->values[1], TEXT_MAX, "%s", project);
    snprintf(u->values[2], TEXT_MAX, "%s", tool);
    set_fact(&ops[2], u->id, now, "name", u->values[0], 0.95, rid1);
    set_fact(&ops[3], u->id, now, "project", u->values[1], 0.9, rid1);
    set_fact(&ops[4], u->id, now, "tools", u->values[2], 0.85, rid2);
    set_summary(&ops[5], u->id, now, summary);
}

static int apply_batch(struct mp_store *store, struct mp_op *ops, size_t nops)
{
    int rc = mp_store_apply(store, ops, nops);
    if (rc != MP_OK) {
        fprintf(stderr, "populate: mp_store_apply failed: %s\n", mp_status_name(rc));
        return rc;
    }
    for (size_t k = 0; k < nops; k++) {
        if (ops[k].result != MP_OK) {
            fprintf(stderr, "populate: op %zu of a batch: %s\n", k, mp_status_name(ops[k].result));
            return MP_EIO;
        }
    }
    return MP_OK;
}

static int populate_small(struct mp_store *store, const struct options *o, uint64_t *nops_total,
                          uint64_t *napplies)
{
    size_t per_batch = o->batch / SMALL_OPS > 0 ? o->batch / SMALL_OPS : 1;
    struct small_user *us = calloc(per_batch, sizeof(*us));
    struct mp_op *ops = calloc(per_batch * SMALL_OPS, sizeof(*ops));
    char summary[TEXT_MAX * 2];
    uint64_t step = scramble_step(o->users);
    uint64_t next_report = o->users / 10;
    int rc = MP_OK;
    make_summary(summary, sizeof(summary), 20, 0);
    if (us == NULL || ops == NULL) {
        rc = MP_ENOMEM;
        goto out;
    }
    for (uint64_t j = 0; j < o->users && rc == MP_OK;) {
        size_t n = 0;
        int64_t now = wall_ms();
        for (; n < per_batch && j < o->users; n++, j++)
            small_user_ops(&us[n], &ops[n * SMALL_OPS], o->prefix, j * step % o->users, now,
                           summary);
        rc = apply_batch(store, ops, n * SMALL_OPS);
        *nops_total += n * SMALL_OPS;
        (*napplies)++;
        if (j >= next_report && o->users >= 100000) {
            fprintf(stderr, "populate: %" PRIu64 " / %" PRIu64 " users\n", j, o->users);
            next_report += o->users / 10;
        }
    }
out:
    free(us);
    free(ops);
    return rc;
}

/* ---- --hit-text english|bilingual: the hit user in sentences ---- */

/* Each item in English and in German, the one a translation of the other. */
struct en_de {
    const char *en, *de;
};

/* The hit user's 50 facts. */
static const struct en_de hit_facts[HIT_FACTS] = {
    {"My daughter Lena's piano recital is on the 14th of June at the music school.",
     "Lenas Klavierabend ist am 14. Juni in der Musikschule."},
    {"Next year I want to travel to Portugal with my husband Markus for two weeks.",
     "Nächstes Jahr möchte ich mit meinem Mann Markus zwei Wochen nach Portugal reisen."},
    {"In Lisbon I want to see the Belém tower and ride the old tram 28.",
     "In Lissabon möchte ich den Turm von Belém sehen und mit der alten Straßenbahn 28 fahren."},
    {"My doctor said my blood pressure of 145 over 95 is too high.",
     "Mein Arzt sagte, mein Blutdruck von 145 zu 95 sei viel zu hoch."},
    {"I work as a nurse in the children's ward of the hospital in Freiburg.",
     "Ich arbeite als Krankenschwester auf der Kinderstation im Krankenhaus Freiburg."},
    {"We are planning a trip to the Black Forest with the children in the autumn holidays.",
     "Wir planen in den Herbstferien eine Reise mit den Kindern in den Schwarzwald."},
    {"My son Jonas plays football every Tuesday and Thursday evening.",
     "Mein Sohn Jonas spielt jeden Dienstag und Donnerstag abends Fußball."},
    {"I am allergic to hazelnuts and cannot eat most chocolate.",
     "Ich bin allergisch gegen Haselnüsse und kann die meiste Schokolade nicht essen."},
    {"My mother lives alone in a small village near Lake Constance.",
     "Meine Mutter lebt allein in einem kleinen Dorf am Bodensee."},
    {"The places I most want to see are Porto, the Douro valley and the Algarve coast.",
     "Die Orte, die ich am liebsten sehen möchte, sind Porto, das Dourotal und die Küste der "
     "Algarve."},
    {"We booked a holiday flat in Lagos for the first week of September.",
     "Wir haben für die erste Septemberwoche eine Ferienwohnung in Lagos gebucht."},
    {"My husband Markus is learning Portuguese with an app every morning.",
     "Mein Mann Markus lernt jeden Morgen mit einer App Portugiesisch."},
    {"I go swimming at the indoor pool on Saturday mornings.",
     "Ich gehe samstags morgens im Hallenbad schwimmen."},
    {"Our old car needs new tyres before the winter.",
     "Unser altes Auto braucht vor dem Winter neue Reifen."},
    {"My sister Anna is getting married in Vienna in May next year.",
     "Meine Schwester Anna heiratet im Mai nächsten Jahres in Wien."},
    {"I want to read more novels and fewer news sites in the evening.",
     "Ich möchte abends mehr Romane lesen und weniger Nachrichtenseiten."},
    {"Lena wants a dog, but the landlord does not allow pets.",
     "Lena wünscht sich einen Hund, aber der Vermieter erlaubt keine Haustiere."},
    {"We save two hundred euros a month for the trip.",
     "Wir sparen jeden Monat zweihundert Euro für die Reise."},
    {"I prefer trains to planes whenever the journey takes less than eight hours.",
     "Ich fahre lieber mit dem Zug als mit dem Flugzeug, wenn die Fahrt weniger als acht "
     "Stunden dauert."},
    {"My favourite dish is my grandmother's potato soup with marjoram.",
     "Mein Lieblingsgericht ist die Kartoffelsuppe meiner Großmutter mit Majoran."},
    {"Jonas has his dentist appointment on the 3rd of March at half past four.",
     "Jonas hat am 3. März um halb fünf einen Termin beim Zahnarzt."},
    {"I would like to visit the Alhambra in Granada together with my sister.",
     "Ich würde gern zusammen mit meiner Schwester die Alhambra in Granada besuchen."},
    {"The night shifts at the hospital make me tired for two days afterwards.",
     "Nach den Nachtschichten im Krankenhaus bin ich zwei Tage lang müde."},
    {"Our neighbour Mr Weber waters the plants when we are away.",
     "Unser Nachbar Herr Weber gießt die Pflanzen, wenn wir verreist sind."},
    {"I am knitting a green scarf for my mother's birthday in November.",
     "Ich stricke für den Geburtstag meiner Mutter im November einen grünen Schal."},
    {"We want to hike part of the Rota Vicentina along the coast.",
     "Wir wollen einen Teil der Rota Vicentina entlang der Küste wandern."},
    {"Markus gets seasick, so we will avoid long boat tours.",
     "Markus wird seekrank, deshalb meiden wir lange Bootsfahrten."},
    {"I take my blood pressure tablets every morning with breakfast.",
     "Ich nehme meine Blutdrucktabletten jeden Morgen zum Frühstück."},
    {"Lena's school class goes to a camp in the Alps in July.",
     "Lenas Schulklasse fährt im Juli in ein Lager in den Alpen."},
    {"I started a vegetable garden with tomatoes, beans and courgettes.",
     "Ich habe einen Gemüsegarten mit Tomaten, Bohnen und Zucchini angelegt."},
    {"My best friend Sabine moved to Hamburg last spring.",
     "Meine beste Freundin Sabine ist letzten Frühling nach Hamburg gezogen."},
    {"We need to renew the children's passports before the trip.",
     "Vor der Reise müssen wir die Reisepässe der Kinder erneuern."},
    {"I want to learn to make pastel de nata at a cooking class in Lisbon.",
     "Ich möchte in Lissabon in einem Kochkurs lernen, Pastel de Nata zu backen."},
    {"The car insurance is due at the end of January.",
     "Die Autoversicherung ist Ende Januar fällig."},
    {"Jonas is afraid of the dark and sleeps with a small lamp.",
     "Jonas hat Angst im Dunkeln und schläft mit einer kleinen Lampe."},
    {"I sing in the church choir on Wednesday evenings.",
     "Ich singe mittwochs abends im Kirchenchor."},
    {"My knee hurts after long walks, so I use hiking poles.",
     "Nach langen Spaziergängen tut mir das Knie weh, deshalb benutze ich Wanderstöcke."},
    {"We plan to rent a car in Porto and drive south along the coast.",
     "Wir planen, in Porto ein Auto zu mieten und an der Küste entlang nach Süden zu fahren."},
    {"I would rather stay in small guesthouses than in big hotels.",
     "Ich übernachte lieber in kleinen Pensionen als in großen Hotels."},
    {"Anna's wedding will be in a garden restaurant on the Danube.",
     "Annas Hochzeit findet in einem Gartenrestaurant an der Donau statt."},
    {"Markus works as an electrician and is often on call at weekends.",
     "Markus arbeitet als Elektriker und hat am Wochenende oft Bereitschaft."},
    {"I want to see the northern lights in Norway one day.",
     "Ich möchte eines Tages die Nordlichter in Norwegen sehen."},
    {"Lena is learning the second movement of a Mozart sonata for the recital.",
     "Lena übt für den Klavierabend den zweiten Satz einer Mozart-Sonate."},
    {"Our neighbours' cat Pepper often sleeps on our balcony.",
     "Die Katze unserer Nachbarn, Pepper, schläft oft auf unserem Balkon."},
    {"I try to drink less coffee after two in the afternoon.",
     "Ich versuche, nach zwei Uhr nachmittags weniger Kaffee zu trinken."},
    {"The family photos from last summer are on the external hard drive.",
     "Die Familienfotos vom letzten Sommer sind auf der externen Festplatte."},
    {"We would like to celebrate our tenth wedding anniversary in Sintra.",
     "Wir möchten unseren zehnten Hochzeitstag in Sintra feiern."},
    {"My mother needs help with her tax return every spring.",
     "Meine Mutter braucht jedes Frühjahr Hilfe bei ihrer Steuererklärung."},
    {"I keep a list of restaurants and museums for the trip in a notebook.",
     "Ich führe in einem Notizbuch eine Liste mit Restaurants und Museen für die Reise."},
    {"Jonas wants to see a match at the Benfica stadium while we are in Lisbon.",
     "Jonas möchte ein Spiel im Benfica-Stadion sehen, während wir in Lissabon sind."},
};

/* The buffer's messages, oldest first (a lone user message, then turns of
 * the user's message and the reply); cycled past 15. */
#define HIT_MESSAGES 15
static const struct en_de hit_messages[HIT_MESSAGES] = {
    {"I need to plan our summer trip to Portugal; where should we start?",
     "Ich muss unsere Sommerreise nach Portugal planen; wo sollen wir anfangen?"},
    {"We have two weeks in September and want to see Lisbon and the coast.",
     "Wir haben im September zwei Wochen und wollen Lissabon und die Küste sehen."},
    {"Start with four days in Lisbon, then take the train to Lagos for the beaches.",
     "Beginnt mit vier Tagen in Lissabon und fahrt dann mit dem Zug nach Lagos an die Strände."},
    {"The children are eleven and eight; are there places they would enjoy?",
     "Die Kinder sind elf und acht Jahre alt; gibt es Orte, die ihnen gefallen würden?"},
    {"The Oceanarium in Lisbon and the boat trips to the caves near Lagos are popular with "
     "families.",
     "Das Ozeanarium in Lissabon und die Bootsfahrten zu den Grotten bei Lagos sind bei Familien "
     "beliebt."},
    {"Markus gets seasick, so a long boat trip is not a good idea.",
     "Markus wird seekrank, eine lange Bootsfahrt ist also keine gute Idee."},
    {"Then walk the cliff path from Ponta da Piedade instead; you see the same caves from above.",
     "Dann wandert stattdessen den Klippenweg von der Ponta da Piedade; ihr seht dieselben "
     "Grotten von oben."},
    {"How much should we budget for food per day for a family of four?",
     "Wie viel sollten wir für eine vierköpfige Familie pro Tag für Essen einplanen?"},
    {"About sixty to eighty euros a day if you eat lunch in small local restaurants.",
     "Etwa sechzig bis achtzig Euro am Tag, wenn ihr mittags in kleinen Lokalen esst."},
    {"Next year we also want to visit my sister in Vienna for her wedding.",
     "Nächstes Jahr wollen wir auch meine Schwester in Wien zu ihrer Hochzeit besuchen."},
    {"The night train from Freiburg to Vienna is a relaxed way to travel with children.",
     "Der Nachtzug von Freiburg nach Wien ist eine entspannte Art, mit Kindern zu reisen."},
    {"Can you remind me which documents we need for the children?",
     "Kannst du mich daran erinnern, welche Dokumente wir für die Kinder brauchen?"},
    {"Each child needs a valid passport or identity card for Portugal.",
     "Jedes Kind braucht für Portugal einen gültigen Reisepass oder Personalausweis."},
    {"Please write the plan down as a short list of days and places.",
     "Bitte schreib den Plan als kurze Liste mit Tagen und Orten auf."},
    {"Days 1 to 4 Lisbon and Sintra, days 5 to 7 Porto, days 8 to 14 Lagos and the coast.",
     "Tag 1 bis 4 Lissabon und Sintra, Tag 5 bis 7 Porto, Tag 8 bis 14 Lagos und die Küste."},
};

/* Whether bilingual message m (of the buffer's layout: m 0 alone, then
 * turns m, m + 1 from m = 1) is German: m 0 and every second turn, so
 * 4 of the 8 user messages of 15 (German is held: at least 2, and 1 in
 * 20) and 3 of the 7 replies, each reply in its question's language. */
static bool hit_message_german(unsigned m)
{
    return m == 0 || ((m + 1) / 2) % 2 == 0;
}

/* The English facts' sentences, joined until nwords words: the summary of
 * the sentence texts (English in both kinds: a summary is written in the
 * user's usual language, whose newest message is English). */
static void sentence_summary(char *out, size_t cap, unsigned nwords)
{
    size_t n = 0;
    unsigned w = 0;
    out[0] = '\0';
    for (unsigned f = 0; w < nwords; f = (f + 1) % HIT_FACTS) {
        const char *s = hit_facts[f].en;
        while (*s != '\0' && w < nwords && n + 2 < cap) {
            while (*s == ' ')
                s++;
            const char *e = s;
            while (*e != '\0' && *e != ' ')
                e++;
            size_t len = (size_t)(e - s);
            if (n + len + 2 >= cap)
                return;
            if (n > 0)
                out[n++] = ' ';
            memcpy(out + n, s, len);
            n += len;
            out[n] = '\0';
            w++;
            s = e;
        }
    }
}

/* The hit user: a full buffer, 50 facts and a 150-word summary, one apply. */
static int populate_hit(struct mp_store *store, const struct options *o, uint64_t *nops_total,
                        uint64_t *napplies)
{
    unsigned nm = o->buffer_messages;
    size_t nops_max = nm + HIT_FACTS + 1;
    struct mp_mem_message *msgs = calloc(nm, sizeof(*msgs));
    char(*texts)[TEXT_MAX] = calloc(nm + HIT_FACTS, sizeof(*texts));
    struct mp_op *ops = calloc(nops_max, sizeof(*ops));
    char summary[HIT_WORDS * 16];
    int64_t now = wall_ms();
    size_t nops = 0;
    int rc = MP_ENOMEM;
    if (msgs == NULL || texts == NULL || ops == NULL)
        goto out;
    /* Turns of a user message and its reply; with an odd count the first
     * turn is a lone user message (its reply was cut). */
    for (unsigned m = 0; m < nm; m++) {
        bool user = (nm - m) % 2 == 0 || m == 0;
        char rid[32];
        snprintf(rid, sizeof(rid), "req-hit-%u", m);
        if (o->hit_text == HIT_TEXT_BENCH)
            snprintf(texts[m], TEXT_MAX,
                     user ? "Message %u: how should I index the embeddings table so that nearest "
                            "neighbour queries stay fast once it holds a few million rows?"
                          : "Message %u: use an HNSW index on the vector column, keep the "
                            "dimension fixed, and batch the inserts so the index is built once.",
                     m);
        else {
            const struct en_de *t = &hit_messages[m % HIT_MESSAGES];
            bool de = o->hit_text == HIT_TEXT_BILINGUAL && hit_message_german(m);
            snprintf(texts[m], TEXT_MAX, "%s", de ? t->de : t->en);
        }
        set_message(&msgs[m], user ? MP_ROLE_USER : MP_ROLE_ASSISTANT, texts[m],
                    now - (int64_t)(nm - m) * 1000, rid);
    }
    for (unsigned m = 0; m < nm;) {
        unsigned len = m == 0 && nm % 2 == 1 ? 1 : 2;
        set_turn(&ops[nops++], o->hit_user, now - (int64_t)(nm - m) * 1000, &msgs[m], len,
                 UINT64_MAX, m);
        m += len;
    }
    for (unsigned f = 0; f < HIT_FACTS; f++) {
        char key[MP_ENTITY_KEY_MAX + 1];
        char *value = texts[nm + f];
        snprintf(key, sizeof(key), "fact_%02u", f + 1);
        if (o->hit_text == HIT_TEXT_BENCH)
            snprintf(value, TEXT_MAX, "detail %u of the user's setup: prefers option %c", f + 1,
                     'A' + (int)(f % 26));
        else /* bilingual: every second fact German, 25 of 50 */
            snprintf(value, TEXT_MAX, "%s",
                     o->hit_text == HIT_TEXT_BILINGUAL && f % 2 == 0 ? hit_facts[f].de
                                                                     : hit_facts[f].en);
        set_fact(&ops[nops++], o->hit_user, now, key, value, 0.75 + 0.005 * f, "req-hit-0");
    }
    if (o->hit_text == HIT_TEXT_BENCH)
        make_summary(summary, sizeof(summary), HIT_WORDS, 3);
    else
        sentence_summary(summary, sizeof(summary), HIT_WORDS);
    set_summary(&ops[nops++], o->hit_user, now, summary);
    rc = apply_batch(store, ops, nops);
    *nops_total += nops;
    (*napplies)++;
out:
    free(msgs);
    free(texts);
    free(ops);
    return rc;
}

/* ---- rich users ---- */

/* Whether item i of 0..n-1 is one of k spread evenly over them, counted
 * from phase on (so that two sets with different phases rarely meet). */
static bool spread(uint64_t i, uint64_t n, uint64_t k, uint64_t phase)
{
    if (k == 0 || n == 0)
        return false;
    uint64_t j = (i + phase) % n;
    return (j + 1) * k / n > j * k / n;
}

/* The needles among a rich user's facts (the rest go to the archive). */
static uint64_t needles_in_facts(const struct rich *r)
{
    uint64_t all = r->facts + r->messages;
    return all == 0 ? 0 : (r->needles * r->facts * 2 + all) / (2 * all);
}

/* When n archived messages happened: sessions of len (SESSION_LEN or
 * more) messages MESSAGE_GAP_MS apart, SESSION_GAP_MS from the last
 * message of one to the first of the next, as many sessions as fit in
 * SPAN_MS (100,000 messages: 1,500 sessions of 67), the last message at
 * end. */
struct timeline {
    uint64_t len;
    int64_t stride, start;
};

static struct timeline timeline_of(uint64_t n, int64_t end)
{
    struct timeline t;
    uint64_t sessions = n > 0 ? (n + SESSION_LEN - 1) / SESSION_LEN : 1;
    for (;;) {
        t.len = (n + sessions - 1) / sessions;
        t.stride = SESSION_GAP_MS + (int64_t)t.len * MESSAGE_GAP_MS;
        if (sessions == 1 || (int64_t)sessions * t.stride <= SPAN_MS)
            break;
        sessions--;
    }
    uint64_t last = n > 0 ? (n - 1) / t.len : 0;
    t.start =
        end - (int64_t)last * t.stride - (int64_t)(n > 0 ? (n - 1) % t.len : 0) * MESSAGE_GAP_MS;
    return t;
}

static int64_t message_time(const struct timeline *t, uint64_t i)
{
    return t->start + (int64_t)(i / t->len) * t->stride + (int64_t)(i % t->len) * MESSAGE_GAP_MS;
}

/* What one rich user cost: map in use before and after each phase. */
struct rich_report {
    uint64_t map_before, map_after_facts, map_after_messages;
    uint64_t fact_bytes, message_bytes; /* text: values and keys, message contents */
    double secs_facts, secs_messages;
};

static uint64_t map_used(struct mp_store *store)
{
    struct mp_store_stats st = {0};
    mp_store_stats(store, &st);
    return st.map_used;
}

/* A full buffer (recorded turns, so also archived) and a summary, one apply. */
static int rich_head(struct mp_store *store, const struct options *o, const struct rich *r,
                     struct mp_benchtext *g, uint64_t *nops_total, uint64_t *napplies)
{
    unsigned nm = o->buffer_messages;
    struct mp_mem_message *msgs = calloc(nm, sizeof(*msgs));
    char(*texts)[RICH_TEXT_MAX] = calloc(nm + 1, sizeof(*texts));
    struct mp_op *ops = calloc(nm + 1, sizeof(*ops));
    int64_t now = wall_ms();
    size_t nops = 0;
    int rc = MP_ENOMEM;
    if (msgs == NULL || texts == NULL || ops == NULL)
        goto out;
    for (unsigned m = 0; m < nm; m++) {
        bool user = (nm - m) % 2 == 0 || m == 0;
        char rid[32];
        snprintf(rid, sizeof(rid), "req-rich-%u", m);
        mp_benchtext_message(g, user, false, false, texts[m], RICH_TEXT_MAX);
        set_message(&msgs[m], user ? MP_ROLE_USER : MP_ROLE_ASSISTANT, texts[m],
                    now - (int64_t)(nm - m) * 1000, rid);
    }
    for (unsigned m = 0; m < nm;) {
        unsigned len = m == 0 && nm % 2 == 1 ? 1 : 2;
        set_turn(&ops[nops++], r->id, now - (int64_t)(nm - m) * 1000, &msgs[m], len, UINT64_MAX - 1,
                 m);
        m += len;
    }
    mp_benchtext_words(g, HIT_WORDS, texts[nm], RICH_TEXT_MAX);
    set_summary(&ops[nops++], r->id, now, texts[nm]);
    rc = apply_batch(store, ops, nops);
    *nops_total += nops;
    (*napplies)++;
out:
    free(msgs);
    free(texts);
    free(ops);
    return rc;
}

/* FACTS facts, observed over span up to end, in batches. */
static int rich_facts(struct mp_store *store, const struct options *o, const struct rich *r,
                      struct mp_benchtext *g, int64_t end, int64_t span, struct rich_report *rep,
                      uint64_t *nops_total, uint64_t *napplies)
{
    struct mp_op *ops = calloc(o->batch, sizeof(*ops));
    char(*values)[TEXT_MAX] = calloc(o->batch, sizeof(*values));
    uint64_t k = needles_in_facts(r);
    int rc = ops != NULL && values != NULL ? MP_OK : MP_ENOMEM;
    for (uint64_t i = 0; i < r->facts && rc == MP_OK;) {
        size_t n = 0;
        for (; n < o->batch && i < r->facts; n++, i++) {
            char key[MP_ENTITY_KEY_MAX + 1];
            bool needle = spread(i, r->facts, k, 0);
            bool near = !needle && spread(i, r->facts, k / 2, r->facts / 2);
            int64_t at = end - (int64_t)((double)(r->facts - 1 - i) / (double)r->facts * span);
            mp_benchtext_fact(g, i, needle, near, key, sizeof(key), values[n], TEXT_MAX);
            set_fact(&ops[n], r->id, at, key, values[n],
                     0.5 + 0.5 * (double)(i * 7919 % 1000) / 1000, "req-rich-facts");
            rep->fact_bytes += strlen(key) + strlen(values[n]);
        }
        rc = apply_batch(store, ops, n);
        *nops_total += n;
        (*napplies)++;
    }
    free(ops);
    free(values);
    return rc;
}

/* MESSAGES archived messages (MP_OP_IMPORT_MESSAGE), alternately the
 * user's and the assistant's, in batches. */
static int rich_messages(struct mp_store *store, const struct options *o, const struct rich *r,
                         struct mp_benchtext *g, int64_t end, struct rich_report *rep,
                         uint64_t *nops_total, uint64_t *napplies)
{
    struct mp_op *ops = calloc(o->batch, sizeof(*ops));
    struct mp_mem_message *msgs = calloc(o->batch, sizeof(*msgs));
    char(*texts)[RICH_TEXT_MAX] = calloc(o->batch, sizeof(*texts));
    uint64_t k = r->needles - needles_in_facts(r);
    struct timeline tl = timeline_of(r->messages, end);
    int64_t now = wall_ms();
    int rc = ops != NULL && msgs != NULL && texts != NULL ? MP_OK : MP_ENOMEM;
    for (uint64_t i = 0; i < r->messages && rc == MP_OK;) {
        size_t n = 0;
        for (; n < o->batch && i < r->messages; n++, i++) {
            bool user = i % 2 == 0;
            bool needle = spread(i, r->messages, k, 0);
            bool near = !needle && spread(i, r->messages, k / 2, r->messages / 2);
            char rid[32];
            snprintf(rid, sizeof(rid), "imp-%" PRIu64, i / 2);
            rep->message_bytes +=
                mp_benchtext_message(g, user, needle, near, texts[n], RICH_TEXT_MAX);
            set_message(&msgs[n], user ? MP_ROLE_USER : MP_ROLE_ASSISTANT, texts[n],
                        message_time(&tl, i), rid);
            snprintf(msgs[n].model, sizeof(msgs[n].model), "%s", MODEL);
            memset(&ops[n], 0, sizeof(ops[n]));
            ops[n].kind = MP_OP_IMPORT_MESSAGE;
            ops[n].user = r->id;
            ops[n].user_len = strlen(r->id);
            ops[n].now_ms = now;
            ops[n].u.turn.messages = &msgs[n];
            ops[n].u.turn.nmessages = 1;
        }
        rc = apply_batch(store, ops, n);
        *nops_total += n;
        (*napplies)++;
    }
    free(ops);
    free(msgs);
    free(texts);
    return rc;
}

static int populate_rich(struct mp_store *store, const struct options *o, const struct rich *r,
                         uint64_t seed, uint64_t *nops_total, uint64_t *napplies)
{
    struct mp_benchtext g;
    struct rich_report rep = {0};
    int64_t end = wall_ms() - DAY_MS;
    struct timeline tl = timeline_of(r->messages, end);
    int64_t span = r->messages > 0 ? end - message_time(&tl, 0) : SPAN_MS;
    mp_benchtext_init(&g, seed);
    int rc = rich_head(store, o, r, &g, nops_total, napplies);
    rep.map_before = map_used(store);
    double t0 = mono_s();
    if (rc == MP_OK)
        rc = rich_facts(store, o, r, &g, end, span, &rep, nops_total, napplies);
    rep.map_after_facts = map_used(store);
    double t1 = mono_s();
    if (rc == MP_OK)
        rc = rich_messages(store, o, r, &g, end, &rep, nops_total, napplies);
    rep.map_after_messages = map_used(store);
    rep.secs_facts = t1 - t0;
    rep.secs_messages = mono_s() - t1;
    if (rc != MP_OK)
        return rc;
    printf("RICH user=%s facts=%" PRIu64 " messages=%" PRIu64 " needles_facts=%" PRIu64
           " needles_archive=%" PRIu64 " map_before=%" PRIu64 " map_after_facts=%" PRIu64
           " map_after_messages=%" PRIu64 " fact_text_bytes=%" PRIu64 " message_text_bytes=%" PRIu64
           " seconds_facts=%.2f seconds_messages=%.2f\n",
           r->id, r->facts, r->messages, needles_in_facts(r), r->needles - needles_in_facts(r),
           rep.map_before, rep.map_after_facts, rep.map_after_messages, rep.fact_bytes,
           rep.message_bytes, rep.secs_facts, rep.secs_messages);
    return MP_OK;
}

/* ---- --question ---- */

static int check_question(struct mp_store *store, const struct options *o)
{
    int rc = MP_OK;
    for (size_t u = 0; u < o->nrich && rc == MP_OK; u++)
        rc = mp_benchcheck_question(store, o->rich[u].id, o->question);
    for (size_t u = 0; u < o->nrich && rc == MP_OK && o->vectors > 0; u++)
        rc = mp_benchvec_time(store, o->rich[u].id, o->question, o->vectors);
    if (rc != MP_OK)
        fprintf(stderr, "populate: --question: %s\n", mp_status_name(rc));
    return rc;
}

/* ---- --emit-import ---- */

static int emit_import(const struct options *o)
{
    struct mp_benchtext g;
    char text[RICH_TEXT_MAX], at[40];
    struct timeline tl = timeline_of(o->emit_import, wall_ms() - DAY_MS);
    mp_benchtext_init(&g, 7);
    for (uint64_t i = 0; i < o->emit_import; i++) {
        int64_t ms = message_time(&tl, i);
        time_t secs = (time_t)(ms / 1000);
        struct tm tm;
        if (gmtime_r(&secs, &tm) == NULL)
            return MP_EINVAL;
        size_t n = strftime(at, sizeof(at), "%Y-%m-%dT%H:%M:%S", &tm);
        snprintf(at + n, sizeof(at) - n, ".%03dZ", (int)(ms % 1000));
        /* benchtext writes no '"' or '\\': the text needs no escaping */
        mp_benchtext_message(&g, i % 2 == 0, false, false, text, sizeof(text));
        printf("{\"type\":\"message\",\"role\":\"%s\",\"content\":\"%s\",\"at\":\"%s\","
               "\"id\":\"m%" PRIu64 "\"}\n",
               i % 2 == 0 ? "user" : "assistant", text, at, i);
    }
    return fflush(stdout) == 0 ? MP_OK : MP_EIO;
}

static int parse_uint(const char *s, uint64_t max, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || s[0] == '-' || v > max)
        return MP_EINVAL;
    *out = v;
    return MP_OK;
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: populate --path DIR --users N [--buffer-messages N] [--batch OPS]\n"
            "                [--map-size-mb MB] [--sync full|meta|none] [--hit-user ID]\n"
            "                [--hit-text bench|english|bilingual] [--prefix PREFIX]\n"
            "                [--rich ID:FACTS:MESSAGES:NEEDLES]...\n"
            "                [--question TEXT [--check-only]] [--key-file FILE] [--vectors DIMS]\n"
            "       populate --emit-import N\n"
            "Fills an LMDB memory store: N users named PREFIX<i> (default bench-u<i>) with\n"
            "3 facts, a 20-word summary and 4 messages each, plus the hit user (default\n"
            "bench-hit) with 50 facts, a 150-word summary and --buffer-messages messages\n"
            "(default 15). --hit-text: the hit user's text: bench (the default: one\n"
            "question repeated, \"detail N\" facts, a word-list summary), english (a\n"
            "family's trip and days in sentences) or bilingual (the same, every second\n"
            "fact and 4 of the 8 user messages in German). --batch: ops per write\n"
            "transaction (default 4096). --sync defaults to none. Prints one line:\n"
            "POPULATE users=N ... seconds=F ...\n"
            "--rich (up to 4): a user ID with a full buffer, a summary, FACTS facts and\n"
            "MESSAGES archived messages of English-like text, the needle word \"%s\"\n"
            "in NEEDLES of those items; prints RICH user=ID ... (store size per phase).\n"
            "--question: each rich user read back through the request path's view, and\n"
            "its recall timed: CHECK user=ID question_terms=TERM:DF_FACTS+DF_ARCHIVE,...\n"
            "hits_facts=N hits_archive=N score_us=F recent_us=F relevant_us=F ... (see\n"
            "benchcheck.h); with --check-only on the store as it is (the --rich counts\n"
            "then do not matter). --key-file: the store sealed under that key.\n"
            "--emit-import N: no store; N messages of the rich kind as import JSON Lines.\n",
            MP_BENCHTEXT_NEEDLE);
}

/* ID:FACTS:MESSAGES:NEEDLES into r. */
static int parse_rich(const char *val, struct rich *r)
{
    const char *c1 = strchr(val, ':');
    char num[64];
    uint64_t v[3];
    if (c1 == NULL || c1 == val || (size_t)(c1 - val) > MP_USER_KEY_MAX)
        return MP_EINVAL;
    memcpy(r->id, val, (size_t)(c1 - val));
    r->id[c1 - val] = '\0';
    const char *p = c1 + 1;
    for (int k = 0; k < 3; k++) {
        const char *e = k < 2 ? strchr(p, ':') : p + strlen(p);
        if (e == NULL || e == p || (size_t)(e - p) >= sizeof(num))
            return MP_EINVAL;
        memcpy(num, p, (size_t)(e - p));
        num[e - p] = '\0';
        if (parse_uint(num, 100000000, &v[k]) != MP_OK)
            return MP_EINVAL;
        p = e + 1;
    }
    r->facts = v[0];
    r->messages = v[1];
    r->needles = v[2];
    return r->needles <= r->facts + r->messages ? MP_OK : MP_EINVAL;
}

static int parse_args(int argc, char **argv, struct options *o)
{
    uint64_t v;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage(stdout);
            exit(0);
        }
        if (strcmp(a, "--check-only") == 0) {
            o->check_only = true;
            continue;
        }
        if (val == NULL)
            goto bad;
        i++;
        if (strcmp(a, "--path") == 0) {
            o->path = val;
        } else if (strcmp(a, "--users") == 0 && parse_uint(val, 100000000, &v) == MP_OK) {
            o->users = v;
        } else if (strcmp(a, "--buffer-messages") == 0 && parse_uint(val, 1000, &v) == MP_OK &&
                   v > 0) {
            o->buffer_messages = (unsigned)v;
        } else if (strcmp(a, "--batch") == 0 && parse_uint(val, 1000000, &v) == MP_OK && v > 0) {
            o->batch = (unsigned)v;
        } else if (strcmp(a, "--map-size-mb") == 0 && parse_uint(val, 1048576, &v) == MP_OK &&
                   v > 0) {
            o->map_size_mb = v;
        } else if (strcmp(a, "--sync") == 0 && strcmp(val, "full") == 0) {
            o->sync = MP_STORE_SYNC_FULL;
        } else if (strcmp(a, "--sync") == 0 && strcmp(val, "meta") == 0) {
            o->sync = MP_STORE_SYNC_META;
        } else if (strcmp(a, "--sync") == 0 && strcmp(val, "none") == 0) {
            o->sync = MP_STORE_SYNC_NONE;
        } else if (strcmp(a, "--hit-user") == 0 && strlen(val) > 0 &&
                   strlen(val) <= MP_USER_KEY_MAX) {
            o->hit_user = val;
        } else if (strcmp(a, "--hit-text") == 0 && strcmp(val, "bench") == 0) {
            o->hit_text = HIT_TEXT_BENCH;
        } else if (strcmp(a, "--hit-text") == 0 && strcmp(val, "english") == 0) {
            o->hit_text = HIT_TEXT_ENGLISH;
        } else if (strcmp(a, "--hit-text") == 0 && strcmp(val, "bilingual") == 0) {
            o->hit_text = HIT_TEXT_BILINGUAL;
        } else if (strcmp(a, "--prefix") == 0 && strlen(val) + 20 <= MP_USER_KEY_MAX) {
            o->prefix = val;
        } else if (strcmp(a, "--rich") == 0 && o->nrich < RICH_MAX &&
                   parse_rich(val, &o->rich[o->nrich]) == MP_OK) {
            o->nrich++;
        } else if (strcmp(a, "--question") == 0 && strlen(val) > 0) {
            o->question = val;
        } else if (strcmp(a, "--key-file") == 0) {
            o->key_file = val;
        } else if (strcmp(a, "--vectors") == 0 && parse_uint(val, 8192, &v) == MP_OK && v > 0) {
            o->vectors = (unsigned)v;
        } else if (strcmp(a, "--emit-import") == 0 && parse_uint(val, 10000000, &v) == MP_OK &&
                   v > 0) {
            o->emit_import = v;
        } else {
            goto bad;
        }
    }
    if (o->path != NULL || o->emit_import > 0)
        return MP_OK;
bad:
    usage(stderr);
    return MP_EINVAL;
}

static void report(const struct options *o, struct mp_store *store, double secs, uint64_t nops,
                   uint64_t napplies)
{
    struct mp_store_stats st = {0};
    struct stat sb;
    char data[4096 + 16];
    uint64_t size = 0, disk = 0;
    snprintf(data, sizeof(data), "%s/data.mdb", o->path);
    if (stat(data, &sb) == 0) {
        size = (uint64_t)sb.st_size;
        disk = (uint64_t)sb.st_blocks * 512;
    }
    mp_store_stats(store, &st);
    printf("POPULATE users=%" PRIu64 " hit_user=%s hit_facts=%d hit_summary_words=%d "
           "hit_messages=%u ops=%" PRIu64 " applies=%" PRIu64 " seconds=%.2f "
           "map_used=%" PRIu64 " map_size=%" PRIu64 " file_bytes=%" PRIu64 " disk_bytes=%" PRIu64
           "\n",
           o->users, o->hit_user, HIT_FACTS, HIT_WORDS, o->buffer_messages, nops, napplies, secs,
           st.map_used, st.map_size, size, disk);
}

int main(int argc, char **argv)
{
    struct options o = {.buffer_messages = 15,
                        .batch = 4096,
                        .map_size_mb = 1024,
                        .sync = MP_STORE_SYNC_NONE,
                        .hit_user = "bench-hit",
                        .prefix = "bench-u"};
    struct mp_store *store = NULL;
    struct mp_seal_key key;
    char err[256] = "";
    uint64_t nops = 0, napplies = 0;
    int rc;
    if (parse_args(argc, argv, &o) != MP_OK)
        return 2;
    if (o.emit_import > 0)
        return emit_import(&o) == MP_OK ? 0 : 1;
    if (o.key_file != NULL && mp_seal_key_load(o.key_file, &key, err, sizeof(err)) != MP_OK) {
        fprintf(stderr, "populate: %s\n", err);
        return 1;
    }
    double t0 = mono_s();
    struct mp_store_options so = {.path = o.path,
                                  .map_size = o.map_size_mb << 20,
                                  .map_size_max = 0,
                                  .sync = o.sync,
                                  .key = o.key_file != NULL ? &key : NULL};
    rc = mp_store_open_lmdb(&so, &store, err, sizeof(err));
    if (o.key_file != NULL)
        mp_seal_key_wipe(&key);
    if (rc != MP_OK) {
        fprintf(stderr, "populate: cannot open the store at %s: %s\n", o.path, err);
        return 1;
    }
    if (!o.check_only) {
        rc = populate_small(store, &o, &nops, &napplies);
        if (rc == MP_OK)
            rc = populate_hit(store, &o, &nops, &napplies);
        for (size_t u = 0; u < o.nrich && rc == MP_OK; u++)
            rc = populate_rich(store, &o, &o.rich[u], u + 1, &nops, &napplies);
        for (size_t u = 0; u < o.nrich && rc == MP_OK && o.vectors > 0; u++) {
            uint64_t written = 0;
            rc = mp_benchvec_fill(store, o.rich[u].id, o.vectors, &written);
            printf("VECTORS user=%s written=%" PRIu64 "\n", o.rich[u].id, written);
        }
        double secs = mono_s() - t0;
        if (rc == MP_OK)
            report(&o, store, secs, nops, napplies);
    }
    if (rc == MP_OK && o.question != NULL)
        rc = check_question(store, &o);
    mp_store_free(store);
    return rc == MP_OK ? 0 : 1;
}
