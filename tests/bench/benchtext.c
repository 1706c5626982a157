/* benchtext: deterministic English-like text for tests/bench/populate (see
 * benchtext.h). Not a language model: a few sentence patterns over word
 * lists, enough for the index to see Zipf-like term frequencies. */
#include "benchtext.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define N(a) (sizeof(a) / sizeof((a)[0]))

static const char *const subjects[] = {
    "I",        "We",         "My sister",      "My partner",    "My brother",
    "The kids", "My manager", "My friend Sam",  "Our neighbour", "My dad",
    "My mom",   "The team",   "My cousin Lena", "Our landlord",  "My colleague Omar",
};
static const char *const verbs[] = {
    "bought",   "fixed",    "visited",   "planned",      "cooked",    "painted",   "booked",
    "cleaned",  "sold",     "borrowed",  "watched",      "ordered",   "repaired",  "packed",
    "tried",    "found",    "lost",      "built",        "tested",    "moved",     "shared",
    "started",  "finished", "cancelled", "rented",       "delivered", "organised", "recommended",
    "returned", "replaced", "measured",  "photographed", "compared",  "upgraded",  "installed",
    "signed",   "printed",  "collected", "decorated",    "insured",   "reviewed",  "sketched",
};
static const char *const adjectives[] = {
    "new",      "old",         "small",       "big",     "cheap",   "expensive", "quiet",
    "busy",     "red",         "blue",        "green",   "wooden",  "broken",    "favourite",
    "local",    "early",       "late",        "long",    "short",   "heavy",     "light",
    "warm",     "cold",        "bright",      "simple",  "strange", "spare",     "shiny",
    "noisy",    "comfortable", "second-hand", "fragile", "modern",  "rustic",    "portable",
    "reliable", "tiny",        "huge",        "dusty",   "elegant", "sturdy",    "awkward",
    "generous", "practical",   "vintage",     "striped", "organic",
};
static const char *const nouns[] = {
    "car",       "bike",        "garden",   "kitchen",    "laptop",       "phone",      "book",
    "recipe",    "flight",      "hotel",    "ticket",     "concert",      "dentist",    "doctor",
    "gym",       "dog",         "cat",      "plant",      "sofa",         "desk",       "chair",
    "lamp",      "camera",      "guitar",   "piano",      "jacket",       "shoes",      "coffee",
    "tea",       "bread",       "soup",     "pasta",      "salad",        "cake",       "market",
    "library",   "museum",      "park",     "beach",      "mountain",     "train",      "bus",
    "office",    "meeting",     "report",   "project",    "budget",       "invoice",    "printer",
    "router",    "server",      "database", "website",    "newsletter",   "course",     "exam",
    "lesson",    "class",       "teacher",  "student",    "birthday",     "wedding",    "party",
    "holiday",   "trip",        "passport", "visa",       "insurance",    "rent",       "mortgage",
    "bank",      "loan",        "salary",   "interview",  "job",          "contract",   "lawyer",
    "plumber",   "electrician", "roof",     "window",     "door",         "fence",      "garage",
    "basement",  "attic",       "balcony",  "oven",       "fridge",       "heater",     "boiler",
    "mattress",  "curtains",    "carpet",   "mirror",     "shelf",        "backpack",   "tent",
    "stove",     "map",         "compass",  "umbrella",   "scarf",        "sweater",    "watch",
    "ring",      "necklace",    "painting", "sculpture",  "novel",        "podcast",    "album",
    "playlist",  "movie",       "series",   "game",       "puzzle",       "board",      "chess",
    "tennis",    "football",    "marathon", "yoga",       "swimming",     "climbing",   "ski",
    "snowboard", "sled",        "scooter",  "motorbike",  "van",          "truck",      "tractor",
    "boat",      "ferry",       "airport",  "station",    "pier",         "bakery",     "butcher",
    "pharmacy",  "clinic",      "hospital", "school",     "kindergarten", "university", "notebook",
    "pen",       "keyboard",    "monitor",  "headphones", "speaker",      "microphone", "tablet",
    "charger",   "battery",
};
static const char *const places[] = {
    "downtown",      "at the office",     "near the station",     "in the city centre",
    "at home",       "at the old market", "next to the bakery",   "on the north side",
    "by the school", "in the garden",     "at my parents' place", "in the suburbs",
};
static const char *const times[] = {
    "yesterday",    "last week",    "this morning",     "on Saturday",
    "tonight",      "a while ago",  "over the weekend", "after work",
    "before lunch", "every Sunday", "two days ago",     "on Friday evening",
};
static const char *const topics[] = {"preference", "plan",    "hobby", "pet",    "trip",
                                     "project",    "health",  "work",  "family", "food",
                                     "home",       "finance", "study", "music"};
static const char *const cluster[] = {"paddle", "river",   "lake",    "rapids",
                                      "canoe",  "harbour", "current", "shore"};

static uint64_t next(struct mp_benchtext *g)
{
    uint64_t z = (g->state += 0x9E3779B97F4A7C15ull); /* splitmix64 */
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static double unit(struct mp_benchtext *g)
{
    return (double)(next(g) >> 11) / 9007199254740992.0; /* [0, 1) */
}

/* Index k in 0..n-1 with P(k) about proportional to 1/(k+1)^ZIPF_S (the
 * inverse of the continuous distribution's CDF). An exponent below 1: the
 * lists are short, and with 1 their first words would be in a third of the
 * messages; with 0.7 the commonest word of the larger lists is in a
 * quarter of them or less, about what "really" or "great" reach in chat. */
#define ZIPF_S 0.7
static size_t zipf(struct mp_benchtext *g, size_t n)
{
    double e = 1.0 - ZIPF_S, top = pow((double)n + 1.0, e) - 1.0;
    size_t k = (size_t)pow(1.0 + unit(g) * top, 1.0 / e) - 1;
    return k < n ? k : n - 1;
}

static size_t uniform(struct mp_benchtext *g, size_t n)
{
    return (size_t)(next(g) % n);
}

#define Z(list) list[zipf(g, N(list))]

void mp_benchtext_init(struct mp_benchtext *g, uint64_t seed)
{
    g->state = seed * 0x2545F4914F6CDD1Dull + 1;
}

/* Appends a formatted sentence to out[*n..cap), a space before it unless
 * it is the first; never overflows. */
static void put(char *out, size_t cap, size_t *n, const char *s)
{
    int k = snprintf(out + *n, cap - *n, "%s%s", *n > 0 ? " " : "", s);
    if (k > 0)
        *n = *n + (size_t)k < cap ? *n + (size_t)k : cap - 1;
}

/* One sentence of a user's (patterns 0..11) or an assistant's (12..23).
 * Many patterns, so that no pattern word is in more than a few percent of
 * the messages, as the commonest content words of real chat are. */
static void sentence(struct mp_benchtext *g, bool user, char *s, size_t cap)
{
    const char *const *J = adjectives, *const *V = verbs;
    size_t nj = N(adjectives), nv = N(verbs);
#define ZJ J[zipf(g, nj)]
#define ZV V[zipf(g, nv)]
    switch ((unsigned)uniform(g, 12) + (user ? 0 : 12)) {
    case 0:
        snprintf(s, cap, "%s %s a %s %s %s %s.", Z(subjects), ZV, ZJ, Z(nouns), Z(places),
                 Z(times));
        break;
    case 1:
        snprintf(s, cap, "Can you help me choose between the %s %s and the %s?", ZJ, Z(nouns),
                 Z(nouns));
        break;
    case 2:
        snprintf(s, cap, "I think the %s is too %s for the %s.", Z(nouns), ZJ, Z(nouns));
        break;
    case 3:
        snprintf(s, cap, "%s %s the %s and the %s %s %s.", Z(subjects), ZV, Z(nouns), ZJ, Z(nouns),
                 Z(times));
        break;
    case 4:
        snprintf(s, cap, "How much should a %s %s cost?", ZJ, Z(nouns));
        break;
    case 5:
        snprintf(s, cap, "%s still needs a %s for the %s.", Z(subjects), Z(nouns), Z(nouns));
        break;
    case 6:
        snprintf(s, cap, "Is it worth getting a %s %s %s?", ZJ, Z(nouns), Z(places));
        break;
    case 7:
        snprintf(s, cap, "The %s was %s but the %s was %s.", Z(nouns), ZJ, Z(nouns), ZJ);
        break;
    case 8:
        snprintf(s, cap, "%s %s our %s %s.", Z(subjects), ZV, Z(nouns), Z(times));
        break;
    case 9:
        snprintf(s, cap, "I'm worried that the %s will not fit in the %s.", Z(nouns), Z(nouns));
        break;
    case 10:
        snprintf(s, cap, "Please remind me to bring the %s %s.", Z(nouns), Z(times));
        break;
    case 11:
        snprintf(s, cap, "Honestly the %s %s made my day.", ZJ, Z(nouns));
        break;
    case 12:
        snprintf(s, cap, "A %s %s is usually a good fit for the %s.", ZJ, Z(nouns), Z(nouns));
        break;
    case 13:
        snprintf(s, cap, "You might compare the %s with a %s %s first.", Z(nouns), ZJ, Z(nouns));
        break;
    case 14:
        snprintf(s, cap, "If the %s feels %s, try the %s %s.", Z(nouns), ZJ, Z(nouns), Z(places));
        break;
    case 15:
        snprintf(s, cap, "Keep the %s and the %s together so the %s stays %s.", Z(nouns), Z(nouns),
                 Z(nouns), ZJ);
        break;
    case 16:
        snprintf(s, cap, "Most people find the %s %s easier than the %s.", ZJ, Z(nouns), Z(nouns));
        break;
    case 17:
        snprintf(s, cap, "Ask whoever %s the %s whether the %s is included.", ZV, Z(nouns),
                 Z(nouns));
        break;
    case 18:
        snprintf(s, cap, "That depends on how %s the %s is.", ZJ, Z(nouns));
        break;
    case 19:
        snprintf(s, cap, "Here is a plan: the %s first, then the %s %s.", Z(nouns), Z(nouns),
                 Z(places));
        break;
    case 20:
        snprintf(s, cap, "Sounds like the %s %s went well.", ZJ, Z(nouns));
        break;
    case 21:
        snprintf(s, cap, "Write down the %s so you can check it against the %s.", Z(nouns),
                 Z(nouns));
        break;
    case 22:
        snprintf(s, cap, "A %s %s rarely lasts long without a %s.", ZJ, Z(nouns), Z(nouns));
        break;
    default:
        snprintf(s, cap, "I would book the %s %s before the %s gets busy.", ZJ, Z(nouns), Z(nouns));
        break;
    }
#undef ZJ
#undef ZV
}

/* Two distinct cluster words. */
static void pair(struct mp_benchtext *g, const char **a, const char **b)
{
    size_t i = uniform(g, N(cluster)), j = (i + 1 + uniform(g, N(cluster) - 1)) % N(cluster);
    *a = cluster[i];
    *b = cluster[j];
}

/* The needle's sentence: the needle with cluster words, the other slots
 * drawn like any sentence's, so that the needle's items share no more
 * common words than chance gives (feedback reads them). */
static void needle_sentence(struct mp_benchtext *g, bool user, char *s, size_t cap)
{
    const char *a, *b, *x = MP_BENCHTEXT_NEEDLE;
    pair(g, &a, &b);
    switch ((unsigned)uniform(g, 3) + (user ? 0 : 3)) {
    case 0:
        snprintf(s, cap, "%s %s the %s %s by the %s %s.", Z(subjects), Z(verbs), Z(adjectives), x,
                 a, Z(times));
        break;
    case 1:
        snprintf(s, cap, "Is the %s too %s for the %s?", x, Z(adjectives), a);
        break;
    case 2:
        snprintf(s, cap, "%s %s a %s for the %s %s.", Z(subjects), Z(verbs), a, x, Z(places));
        break;
    case 3:
        snprintf(s, cap, "For the %s, check the %s and the %s first.", x, a, b);
        break;
    case 4:
        snprintf(s, cap, "A %s %s handles the %s better than a %s.", Z(adjectives), x, a, Z(nouns));
        break;
    default:
        snprintf(s, cap, "Bring the %s whenever the %s goes out %s.", a, x, Z(times));
        break;
    }
}

static void near_sentence(struct mp_benchtext *g, char *s, size_t cap)
{
    const char *a, *b;
    pair(g, &a, &b);
    switch (uniform(g, 3)) {
    case 0:
        snprintf(s, cap, "%s walked along the %s %s.", Z(subjects), a, Z(times));
        break;
    case 1:
        snprintf(s, cap, "The %s near the %s was %s.", a, b, Z(adjectives));
        break;
    default:
        snprintf(s, cap, "%s %s a %s by the %s.", Z(subjects), Z(verbs), Z(nouns), a);
        break;
    }
}

size_t mp_benchtext_message(struct mp_benchtext *g, bool user, bool needle, bool near, char *out,
                            size_t cap)
{
    char s[256];
    size_t n = 0;
    unsigned count = user ? 1 + (unsigned)uniform(g, 2) : 2 + (unsigned)uniform(g, 3);
    out[0] = '\0';
    if (needle) {
        needle_sentence(g, user, s, sizeof(s));
        put(out, cap, &n, s);
    } else if (near) {
        near_sentence(g, s, sizeof(s));
        put(out, cap, &n, s);
    }
    for (unsigned k = needle || near ? 1 : 0; k < count; k++) {
        sentence(g, user, s, sizeof(s));
        put(out, cap, &n, s);
    }
    return n;
}

size_t mp_benchtext_fact(struct mp_benchtext *g, uint64_t i, bool needle, bool near, char *key,
                         size_t keycap, char *value, size_t cap)
{
    snprintf(key, keycap, "%s_%llu", Z(topics), (unsigned long long)i);
    if (needle)
        needle_sentence(g, true, value, cap);
    else if (near)
        near_sentence(g, value, cap);
    else
        sentence(g, true, value, cap);
    return strlen(value);
}

size_t mp_benchtext_words(struct mp_benchtext *g, unsigned nwords, char *out, size_t cap)
{
    char s[256];
    size_t n = 0, words = 0;
    out[0] = '\0';
    while (words < nwords && n + 1 < cap) {
        sentence(g, (words & 1) == 0, s, sizeof(s));
        char *save = NULL;
        for (char *w = strtok_r(s, " ", &save); w != NULL && words < nwords;
             w = strtok_r(NULL, " ", &save)) {
            put(out, cap, &n, w);
            words++;
        }
    }
    if (n > 0 && out[n - 1] != '.' && out[n - 1] != '?' && n + 1 < cap) {
        out[n++] = '.';
        out[n] = '\0';
    }
    return n;
}
