/* A refused import file in words (importwhy.h): each reader's reason
 * (mp_import_error.why, a field's name or a short phrase) said as what
 * is wrong with that field. */
#include "import/importwhy.h"

#include <stdio.h>
#include <string.h>

/* What a reader's reason means: the field and what is wrong with it. */
static const struct {
    const char *why, *words;
} WHY_WORDS[] = {
    {"not JSON", "the file is not JSON"},
    {"not a list of conversations", "the file is not a list of conversations"},
    {"not a JSON object", "the line is not a JSON object"},
    {"not UTF-8 text", "the line is not UTF-8 text, or holds a control character"},
    {"conversation_id", "field `conversation_id` (or `id`) is missing or not a string"},
    {"uuid", "field `uuid` is missing or not a string"},
    {"mapping", "field `mapping` is missing or not an object of nodes"},
    {"current_node", "field `current_node` names no node of `mapping`"},
    {"parent", "field `parent` names no node of `mapping`, or the parents go round in a loop"},
    {"chat_messages", "field `chat_messages` is missing or not a list of messages"},
    {"current_leaf_message_uuid", "field `current_leaf_message_uuid` names no message"},
    {"parent_message_uuid",
     "field `parent_message_uuid` names no message, or the parents go round in a loop"},
    {"author", "field `author` is missing or not an object"},
    {"sender", "field `sender` is missing or not a string"},
    {"content", "field `content` is not a message's content"},
    {"text", "field `text` is not a string"},
    {"create_time", "field `create_time` is missing or not seconds since 1970"},
    {"created_at", "field `created_at` is not an RFC 3339 time"},
    {"at", "its time is missing, not an RFC 3339 time, or before 1970"},
    {"type", "field `type` is missing or not message, fact or settings"},
    {"role", "field `role` is missing or not user or assistant"},
    {"key", "field `key` is missing or not a key"},
    {"value", "field `value` is missing, empty, too long or holds a control character"},
    {"confidence", "field `confidence` is not a number from 0 to 1"},
    {"mode", "field `mode` is missing or not a memory setting"},
    {"id", "field `id` is not a string of 1 to 256 bytes"},
    {"lang", "field `lang` is not a language code such as \"en\""},
};

/* What a reason means in words; NULL: none known. */
static const char *words_of(const char *why)
{
    for (size_t i = 0; i < sizeof(WHY_WORDS) / sizeof(WHY_WORDS[0]); i++)
        if (strcmp(WHY_WORDS[i].why, why) == 0)
            return WHY_WORDS[i].words;
    return NULL;
}

/* Where the file went wrong, into where[0..cap). */
static void say_where(const struct mp_import_error *err, const char *file, char *where, size_t cap)
{
    int k = err->line == 0 ? snprintf(where, cap, "The upload")
            : file != NULL ? snprintf(where, cap, "%s, line %zu", file, err->line)
                           : snprintf(where, cap, "Line %zu", err->line);
    if (err->conversation > 0 && k > 0 && (size_t)k < cap)
        k += snprintf(where + k, cap - (size_t)k, ", conversation %zu%s%s%s", err->conversation,
                      err->title[0] != '\0' ? " (\"" : "", err->title,
                      err->title[0] != '\0' ? "\")" : "");
    if (err->message > 0 && k > 0 && (size_t)k < cap)
        snprintf(where + k, cap - (size_t)k, ", message %zu", err->message);
}

void mp_importwhy_say(const struct mp_import_error *err, const char *file, char *out, size_t cap)
{
    char where[140];
    const char *why = err->why != NULL ? err->why : "";
    say_where(err, file, where, sizeof(where));
    if (err->future)
        snprintf(out, cap, "%s: its time is more than a day past now. Nothing was imported.",
                 where);
    else if (words_of(why) != NULL)
        snprintf(out, cap, "%s: %s. Nothing was imported.", where, words_of(why));
    else if (err->line == 0) /* the ZIP's reasons are words already */
        snprintf(out, cap, "%s: %s. Nothing was imported.", where, why);
    else
        snprintf(out, cap, "%s: field `%s` is not valid. Nothing was imported.", where, why);
}
