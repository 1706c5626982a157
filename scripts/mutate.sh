#!/bin/bash
# Mutation testing of the core parsers: applies each mutant of a fixed list
# (a flipped bound, an inverted condition, an off-by-one constant, a changed
# status) to a scratch copy of the tree, one at a time, rebuilds core and its
# unit tests there and runs the core suite. A mutant the suite still passes
# "survived": the tests cannot tell that code from the real one.
# Usage: scripts/mutate.sh [--short|--long]
#   --long (default): every mutant (a few minutes on 2 cores)
#   --short: the first 3
# Not run in CI. Never touches the working tree: the scratch copy (of the
# working tree, uncommitted edits included) lives in a mktemp -d, removed at
# exit. Prints a table and the survivors; a survivor whose entry carries a
# "=" line is known equivalent or harmless, for the reason given there.
# Exits 0 when every mutant was applied, built and judged (whatever
# survived); 1 when one could not be applied ("stale": its original text is
# not found exactly once, the source moved on; fix the list) or did not
# build, or when the unmutated suite fails; 2 on bad usage.
set -eu
cd "$(dirname "$0")/.."
root=$PWD
case "${1:---long}" in
--long) limit=0 ;;
--short) limit=3 ;;
*) echo "usage: scripts/mutate.sh [--short|--long]" >&2; exit 2 ;;
esac

# Each mutant: "@ name file", "- original" (one line of file, exactly once,
# leading blanks ignored), "+ replacement", and "= reason" when it is known
# to survive. Keep the first three first: they are --short.
mutants() {
    cat <<'EOF'
@ json_ctl_mask core/json/json_scan.c
- uint64_t t = (x - ONES * 0x20) & ~x;
+ uint64_t t = (x - ONES * 0x1F) & ~x;
@ json_low_surrogate_lo core/json/json_scan.c
- if (lo < 0xDC00 || lo > 0xDFFF)
+ if (lo <= 0xDC00 || lo > 0xDFFF)
@ uid_nonchar_hi core/user_id.c
- return (c >= 0xFDD0 && c <= 0xFDEF) || (c & 0xFFFE) == 0xFFFE;
+ return (c >= 0xFDD0 && c < 0xFDEF) || (c & 0xFFFE) == 0xFFFE;
@ json_low_surrogate_hi core/json/json_scan.c
- if (lo < 0xDC00 || lo > 0xDFFF)
+ if (lo < 0xDC00 || lo >= 0xDFFF)
@ json_ctl_mask_up core/json/json_scan.c
- uint64_t t = (x - ONES * 0x20) & ~x;
+ uint64_t t = (x - ONES * 0x21) & ~x;
= equivalent: a space is then "special" to the 8-byte test, and the byte loop that follows accepts it; only speed changes
@ json_fast_path_high_bit core/json/json_scan.c
- return ((t | x) & HIGHS) != 0;
+ return (t & HIGHS) != 0;
@ json_plain_space core/json/json_scan.c
- return c >= 0x20 && c < 0x80 && c != '"' && c != '\\';
+ return c > 0x20 && c < 0x80 && c != '"' && c != '\\';
@ json_plain_high core/json/json_scan.c
- return c >= 0x20 && c < 0x80 && c != '"' && c != '\\';
+ return c >= 0x20 && c <= 0x80 && c != '"' && c != '\\';
@ json_high_surrogate_lo core/json/json_scan.c
- if (hi < 0xD800 || hi > 0xDBFF) {
+ if (hi <= 0xD800 || hi > 0xDBFF) {
@ json_lone_low_surrogate core/json/json_scan.c
- if (hi < 0 || (hi >= 0xDC00 && hi <= 0xDFFF))
+ if (hi < 0 || (hi > 0xDC00 && hi <= 0xDFFF))
@ json_fraction_digits core/json/json_scan.c
- if (j == i + 1)
+ if (j == i)
@ json_exponent_digits core/json/json_scan.c
- if (j == i)
+ if (j < i)
@ json_depth_cap core/json/json_scan.c
- if (*depth >= max_depth)
+ if (*depth > max_depth)
@ json_find_member_depth core/json/json_scan.c
- if (scan(s, len, i, MP_JSON_MAX_DEPTH - 1, &vs, &ve) != MP_OK)
+ if (scan(s, len, i, MP_JSON_MAX_DEPTH, &vs, &ve) != MP_OK)
@ json_ws_formfeed core/json/json_scan.c
- return c == ' ' || c == '\t' || c == '\n' || c == '\r';
+ return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f';
@ json_trailing_bytes core/json/json_scan.c
- if (ws(s, len, pos + 1) != len)
+ if (ws(s, len, pos + 1) > len)
@ json_decode_escaped_nul core/json/json_scan.c
- if (k == 0 || cp == 0)
+ if (k == 0)
@ json_next_trailing_comma core/json/json_scan.c
- return *pos == last ? MP_EINVAL : MP_OK; /* a trailing comma */
+ return *pos == last ? MP_NOTFOUND : MP_OK; /* a trailing comma */
= equivalent: mp_json_next turns any status but MP_OK from next_pos into MP_EINVAL
@ uid_nonchar_lo core/user_id.c
- return (c >= 0xFDD0 && c <= 0xFDEF) || (c & 0xFFFE) == 0xFFFE;
+ return (c > 0xFDD0 && c <= 0xFDEF) || (c & 0xFFFE) == 0xFFFE;
@ uid_nonchar_plane_end core/user_id.c
- return (c >= 0xFDD0 && c <= 0xFDEF) || (c & 0xFFFE) == 0xFFFE;
+ return (c >= 0xFDD0 && c <= 0xFDEF) || (c & 0xFFFF) == 0xFFFE;
@ uid_c0_bound core/user_id.c
- if (c < 0x20 || (c >= 0x7F && c <= 0x9F) || c == 0xAD)
+ if (c <= 0x20 || (c >= 0x7F && c <= 0x9F) || c == 0xAD)
@ uid_c1_end core/user_id.c
- if (c < 0x20 || (c >= 0x7F && c <= 0x9F) || c == 0xAD)
+ if (c < 0x20 || (c >= 0x7F && c < 0x9F) || c == 0xAD)
@ uid_bidi_end core/user_id.c
- if ((c >= 0x200B && c <= 0x200F) || (c >= 0x202A && c <= 0x202E))
+ if ((c >= 0x200B && c <= 0x200F) || (c >= 0x202A && c < 0x202E))
@ uid_word_joiner_end core/user_id.c
- if ((c >= 0x2060 && c <= 0x206F) || c == 0xFEFF)
+ if ((c >= 0x2060 && c < 0x206F) || c == 0xFEFF)
@ uid_max_len core/user_id.c
- if (id == NULL || len == 0 || len > MP_USER_ID_MAX)
+ if (id == NULL || len == 0 || len >= MP_USER_ID_MAX)
@ uid_percent_byte core/user_id.c
- if (!(j - i == 3 && is_hex(s[i + 1]) && is_hex(s[i + 2])))
+ if (!(j - i == 2 && is_hex(s[i + 1]) && is_hex(s[i + 2])))
@ http_length_overflow core/http/http_parse.c
- if (v > (INT64_MAX - d) / 10)
+ if (v >= (INT64_MAX - d) / 10)
@ http_length_conflict core/http/http_parse.c
- if (k->content_length >= 0 && k->content_length != v)
+ if (k->content_length > 0 && k->content_length != v)
@ http_te_with_length core/http/http_parse.c
- if (k.has_te && (k.content_length >= 0 || h.minor_version == 0))
+ if (k.has_te && (k.content_length > 0 || h.minor_version == 0))
@ http_chunk_size_digits core/http/http_parse.c
- if (c->line_len > MAX_SIZE_DIGITS)
+ if (c->line_len >= MAX_SIZE_DIGITS)
@ http_chunk_room core/http/http_parse.c
- if (c->remaining > room)
+ if (c->remaining >= room)
@ sse_done_exact core/http/sse.c
- done = fl.value_len == 6 && memcmp(fl.value, "[DONE]", 6) == 0;
+ done = fl.value_len >= 6 && memcmp(fl.value, "[DONE]", 6) == 0;
@ sse_done_single_line core/http/sse.c
- return data_lines == 1 && done;
+ return data_lines >= 1 && done;
@ sse_data_name core/http/sse.c
- return fl->name_len == 4 && memcmp(fl->name, "data", 4) == 0;
+ return fl->name_len >= 4 && memcmp(fl->name, "data", 4) == 0;
@ sse_value_space core/http/sse.c
- vstart += vstart < end - start && line[vstart] == ' ';
+ vstart += vstart < end - start && line[vstart] == '\t';
@ sse_empty_crlf core/http/sse.c
- return event_done(s, p + 1 + (p + 1 < len && buf[p + 1] == '\n'), event_len);
+ return event_done(s, p + 1, event_len);
@ sse_lf_window core/http/sse.c
- size_t n = f->len - p < LF_WINDOW ? f->len - p : LF_WINDOW;
+ size_t n = f->len - p <= LF_WINDOW ? f->len - p : LF_WINDOW;
= equivalent: when the rest is exactly LF_WINDOW bytes both arms are the same number
@ chat_escaped_quote core/wire/chatreq.c
- if ((j - b) % 2 == 0)
+ if ((j - b) % 2 == 1)
@ chat_comma_after core/wire/chatreq.c
- r->insert_needs_comma_after = lead == 0 && r->nmsgs > 0;
+ r->insert_needs_comma_after = lead == 0 && r->nmsgs > 1;
@ chat_first_new_user core/wire/chatreq.c
- k = i + 1;
+ k = i;
= equivalent: msgs[i] is an assistant or tool message, which the while loop below steps over anyway
@ chat_pair_low_lo core/wire/chatreq.c
- if (lo >= 0xDC00 && lo <= 0xDFFF) {
+ if (lo > 0xDC00 && lo <= 0xDFFF) {
@ chat_lone_surrogate core/wire/chatreq.c
- if (cp >= 0xD800 && cp <= 0xDFFF)
+ if (cp >= 0xD800 && cp < 0xDFFF)
@ chat_text_cap core/wire/chatreq.c
- if (cap < m->text_len)
+ if (cap <= m->text_len)
@ comp_choice_index core/wire/completion.c
- return span_is(buf, is, ie, "0");
+ return span_is(buf, is, ie, "1");
@ comp_choice_position core/wire/completion.c
- return position == 0;
+ return position <= 1;
@ comp_finish_reason core/wire/completion.c
- if (member(data, cs, ce, "finish_reason", &vs, &ve) == MP_OK && !span_is(data, vs, ve, "null"))
+ if (member(data, cs, ce, "finish_reason", &vs, &ve) == MP_OK && span_is(data, vs, ve, "null"))
@ comp_complete core/wire/completion.c
- return (c->done || c->finished) && !c->failed;
+ return (c->done && c->finished) && !c->failed;
@ comp_empty_text core/wire/completion.c
- if (rc == MP_OK && n == 0)
+ if (rc == MP_OK && n == 1)
@ admin_limit_max core/adminpath.c
- if (value > MP_ADMIN_LIMIT_MAX)
+ if (value >= MP_ADMIN_LIMIT_MAX)
@ admin_limit_leading_zero core/adminpath.c
- if (pct_decode(v.p, v.n, true, buf, sizeof(buf), &n) != MP_OK || n == 0 || buf[0] == '0')
+ if (pct_decode(v.p, v.n, true, buf, sizeof(buf), &n) != MP_OK || n == 0)
@ admin_max_segments core/adminpath.c
- if (n == MAX_SEGMENTS || s.n == 0 || span_is(s, ".") || span_is(s, ".."))
+ if (n + 1 == MAX_SEGMENTS || s.n == 0 || span_is(s, ".") || span_is(s, ".."))
@ admin_user_routes core/adminpath.c
- if (t->route >= MP_ADMIN_USER_MEMORY && t->route <= MP_ADMIN_USER_ENTITY) {
+ if (t->route > MP_ADMIN_USER_MEMORY && t->route <= MP_ADMIN_USER_ENTITY) {
@ admin_cursor_digit core/adminpath.c
- return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
+ return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c < '9') || c == '_' ||
@ admin_tenant_len core/adminpath.c
- if (pct_decode(v.p, v.n, true, buf, sizeof(buf), &n) != MP_OK || n != MP_ADMIN_TENANT_LEN)
+ if (pct_decode(v.p, v.n, true, buf, sizeof(buf), &n) != MP_OK || n < MP_ADMIN_TENANT_LEN)
= equivalent: buf holds MP_ADMIN_TENANT_LEN bytes, so pct_decode has already refused anything longer
@ admin_prefix_len core/adminpath.c
- if (path_len < ADMIN_PREFIX_LEN || memcmp(target, ADMIN_PREFIX, ADMIN_PREFIX_LEN) != 0)
+ if (path_len <= ADMIN_PREFIX_LEN || memcmp(target, ADMIN_PREFIX, ADMIN_PREFIX_LEN) != 0)
= equivalent: "/admin/" alone has one empty segment, which split_segments refuses with the same MP_NOTFOUND
@ utf8_encode_two_bytes core/json/utf8.c
- if (cp < 0x800) {
+ if (cp <= 0x800) {
@ utf8_encode_surrogate_end core/json/utf8.c
- if (cp >= 0xD800 && cp <= 0xDFFF)
+ if (cp >= 0xD800 && cp < 0xDFFF)
@ utf8_encode_max core/json/utf8.c
- if (cp > 0x10FFFF)
+ if (cp >= 0x10FFFF)
@ utf8_subpart_hi core/json/utf8.c
- if (s[i] < lo || s[i] > hi)
+ if (s[i] < lo || s[i] >= hi)
@ utf8_lead_c2 core/json/utf8.h
- if (b < 0xC2)
+ if (b < 0xC1)
@ utf8_lead_e0_lo core/json/utf8.h
- *lo = b == 0xE0 ? 0xA0 : 0x80;
+ *lo = b == 0xE0 ? 0x9F : 0x80;
@ utf8_lead_f4_hi core/json/utf8.h
- *hi = b == 0xF4 ? 0x8F : 0xBF;
+ *hi = b == 0xF4 ? 0x90 : 0xBF;
@ utf8_lead_f5 core/json/utf8.h
- if (b < 0xF5) {
+ if (b <= 0xF5) {
@ utf8_continuation_hi core/json/utf8.h
- if (s[i] < 0x80 || s[i] > 0xBF)
+ if (s[i] < 0x80 || s[i] > 0xC0)
@ utf8_truncated core/json/utf8.h
- if (need <= 1 || need > n) {
+ if (need <= 1 || need >= n) {
EOF
}

# Replaces the one line of $1 whose text (blanks trimmed) is $2 with $3,
# keeping its indentation. Exit 3 when $2 is not there exactly once.
apply_mutant() {
    python3 - "$1" "$2" "$3" <<'EOF'
import sys
path, old, new = sys.argv[1:]
lines = open(path, encoding="utf-8").read().split("\n")
hits = [i for i, line in enumerate(lines) if line.strip() == old]
if len(hits) != 1:
    sys.exit(3)
line = lines[hits[0]]
lines[hits[0]] = line[: len(line) - len(line.lstrip())] + new
open(path, "w", encoding="utf-8").write("\n".join(lines))
EOF
}

scratch=$(mktemp -d "${TMPDIR:-/tmp}/memproxy-mutate.XXXXXX")
trap 'rm -rf "$scratch"' EXIT
src=$scratch/src
build=$scratch/build
mkdir -p "$src"
git ls-files -z -co --exclude-standard | tar -C "$root" --null -T - -cf - | tar -C "$src" -xf -

targets=""
for t in "$src"/tests/core/test_*.c "$src"/tests/core/*/test_*.c; do
    # tests/core/meson.build defines them all, those of a subfolder too
    targets="$targets tests/core/$(basename "$t" .c)"
done
build_core() {
    # shellcheck disable=SC2086 # one word per target
    ninja -C "$build" -j2 $targets >"$scratch/ninja.log" 2>&1
}
run_core() {
    meson test -C "$build" --suite core --no-rebuild --num-processes 2 \
        --timeout-multiplier 0.25 >"$scratch/test.log" 2>&1
}

echo "setting up a scratch build in $scratch"
meson setup "$build" "$src" -Dtests=true -Dfuzz=false >"$scratch/setup.log" 2>&1 ||
    { cat "$scratch/setup.log"; exit 1; }
if ! build_core || ! run_core; then
    echo "the unmutated core suite fails; fix that first" >&2
    tail -30 "$scratch/ninja.log" "$scratch/test.log" >&2
    exit 1
fi

n=0 killed=0 survived=0 explained=0 broken=0
survivors=""
judge() { # name file old new reason
    local name=$1 file=$2 old=$3 new=$4 reason=$5 result rc=0
    n=$((n + 1))
    cp "$src/$file" "$scratch/orig"
    apply_mutant "$src/$file" "$old" "$new" || rc=$?
    if [ "$rc" -ne 0 ]; then
        result=stale
        broken=$((broken + 1))
    elif ! build_core; then
        result=nobuild
        broken=$((broken + 1))
    elif run_core; then
        result=SURVIVED
        survived=$((survived + 1))
        if [ -n "$reason" ]; then
            explained=$((explained + 1))
            survivors="$survivors  $name ($file): $reason"$'\n'
        else
            survivors="$survivors  $name ($file): NO REASON: kill it with a test, or give one"$'\n'
        fi
    else
        result=killed
        killed=$((killed + 1))
    fi
    cp "$scratch/orig" "$src/$file"
    printf '%-28s %-20s %s\n' "$name" "$file" "$result"
}

name="" file="" old="" new="" reason=""
flush() {
    if [ -n "$name" ]; then
        if [ "$limit" -eq 0 ] || [ "$n" -lt "$limit" ]; then
            judge "$name" "$file" "$old" "$new" "$reason"
        fi
    fi
    name="" file="" old="" new="" reason=""
}
printf '%-28s %-20s %s\n' mutant file result
while IFS= read -r line; do
    case $line in
    "@ "*) flush; set -- ${line#@ }; name=$1; file=$2 ;;
    "- "*) old=${line#- } ;;
    "+ "*) new=${line#+ } ;;
    "= "*) reason=${line#= } ;;
    *) echo "mutate.sh: bad list line: $line" >&2; exit 1 ;;
    esac
done < <(mutants)
flush

echo
echo "$n mutants: $killed killed, $survived survived ($explained with a reason), $broken not applied"
if [ -n "$survivors" ]; then
    echo "survivors:"
    printf '%s' "$survivors"
fi
if [ "$broken" -gt 0 ]; then
    echo "some mutants could not be applied (stale: the original line is gone or not unique;" \
         "nobuild: the mutant does not compile); update the list in scripts/mutate.sh" >&2
    exit 1
fi
exit 0
