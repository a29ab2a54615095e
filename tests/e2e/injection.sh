#!/bin/bash
# injection.sh - hostile catalog text is data, never code or terminal control.
# Ids, titles and descriptions holding SQL (`'); DROP TABLE items; --`), printf
# directives (`%n%s`) and terminal escapes (CSI ESC[2J, OSC ESC]0;...BEL, a C1
# CSI) are
#  - stored verbatim (the bytes read back with the sqlite3 CLI are the input's),
#  - shown as plain text: no ESC/BEL/C1 byte in text output or error messages,
#    escaped (\u001b, \u009b) in JSON; CSV output is data for other programs
#    and keeps the bytes verbatim (only its error messages are checked),
#  - harmless to the schema: the items table is still there and complete.
set -u
cd "$(dirname "$0")/../.."
APP=${EMBEDLAB:-$PWD/build/release/embedlab}
command -v sqlite3 >/dev/null || { echo "sqlite3 CLI missing (scripts/deps.sh test)"; exit 77; }
tmp=$(mktemp -d)
trap '[ -n "${KEEP:-}" ] && cp -r "$tmp" /tmp/inj.keep; rm -rf "$tmp"' EXIT
fail=0
die() { echo "FAIL: $*"; fail=1; }
db=$tmp/lab.db
ESC=$'\033' BEL=$'\007' CSI1=$'\302\233'

sqlid="'); DROP TABLE items; --"
{
    echo 'id,title,description,category'
    printf '"%s",SQL in the id,"x"");DROP TABLE events;--",c1\n' "$sqlid"
    printf 'P%%n%%s,%%n%%s%%x%%p title,%%s%%s%%s%%n,%%d\n'
    printf 'E1,"clear%s[2Jscreen","title%s]0;pwned%srest",c%s[31mred\n' "$ESC" "$ESC" "$BEL" "$ESC"
    printf 'E2,c1 csi %s2J here,plain,c2\n' "$CSI1"
} > "$tmp/evil.csv"
{
    echo 'session_id,item_id,timestamp,user_id'
    printf '"%s",%s,1,"%s"\n' "$sqlid" "$sqlid" "$sqlid"
    printf '"%s",P%%n%%s,2,"%s"\n' "$sqlid" "$sqlid"
    printf '"%s",E1,3,"%s"\n' "$sqlid" "$sqlid"
    printf 's%s[2J,E2,1,u%s]0;x%s\n' "$ESC" "$ESC" "$BEL"
    printf 's%s[2J,E1,2,u%s]0;x%s\n' "$ESC" "$ESC" "$BEL"
    printf 's%s[2J,P%%n%%s,3,u%s]0;x%s\n' "$ESC" "$ESC" "$BEL"
} > "$tmp/evil.sessions.csv"

"$APP" --db "$db" -c "load catalog $tmp/evil.csv" -c "load sessions $tmp/evil.sessions.csv" \
    >"$tmp/load.out" 2>"$tmp/load.err" || die "load: $(cat "$tmp/load.err")"

# stored verbatim
[ "$(sqlite3 "$db" "SELECT count(*) FROM items")" = 4 ] || die "items table incomplete"
[ "$(sqlite3 "$db" "SELECT ext_id FROM items WHERE id = 1")" = "$sqlid" ] || die "SQL id not verbatim"
[ "$(sqlite3 "$db" "SELECT description FROM items WHERE id = 1")" = 'x");DROP TABLE events;--' ] ||
    die "SQL description not verbatim"
[ "$(sqlite3 "$db" "SELECT title FROM items WHERE ext_id = 'P%n%s'")" = '%n%s%x%p title' ] ||
    die "printf title not verbatim"
[ "$(sqlite3 "$db" "SELECT hex(title) FROM items WHERE ext_id = 'E1'")" = \
  "$(printf 'clear%s[2Jscreen' "$ESC" | od -An -tx1 | tr -d ' \n' | tr a-f A-F)" ] ||
    die "escape sequence not stored verbatim"
[ "$(sqlite3 "$db" "SELECT count(*) FROM events")" = 6 ] || die "events table incomplete"
[ "$(sqlite3 "$db" "SELECT count(DISTINCT user) FROM events WHERE user = session")" = 1 ] ||
    die "SQL user/session ids not verbatim"

# shown as text
cmds=(-c items -c "show \"$sqlid\"" -c "show P%n%s" -c "show E1" -c "show E2" -c "sessions"
      -c "sessions user=\"$sqlid\"" -c "train item2vec dim=4 epochs=1 threads=1"
      -c "similar \"$sqlid\"" -c "recommend user \"u${ESC}]0;x${BEL}\"" -c "show \"${ESC}[2J\"")
"$APP" --db "$db" "${cmds[@]}" >"$tmp/text.out" 2>"$tmp/text.err"
"$APP" --db "$db" --csv "${cmds[@]}" >"$tmp/csv.out" 2>"$tmp/csv.err"
"$APP" --db "$db" --json "${cmds[@]}" >"$tmp/json.out" 2>"$tmp/json.err"
for f in text.out text.err csv.err json.out json.err load.out load.err; do
    if LC_ALL=C grep -q "[$ESC$BEL]" "$tmp/$f" || LC_ALL=C grep -qF "$CSI1" "$tmp/$f"; then
        die "raw control byte in $f:"; od -c "$tmp/$f" | grep -E '033|007|302 233' | head -3
    fi
done
grep -qF "$sqlid" "$tmp/text.out" || die "the SQL id is not shown as text"
grep -qF '%n%s%x%p title' "$tmp/text.out" || die "the printf title is not shown as text"
grep -qF '^[[2J' "$tmp/text.out" || die "ESC is not shown as ^[ in text output"
grep -qF '\u001b[2J' "$tmp/json.out" || die "ESC is not escaped as \\u001b in JSON"
grep -q "error: unknown item '^\[\[2J'" "$tmp/text.err" || die "error message not sanitised: $(cat "$tmp/text.err")"

# the schema survived
[ "$(sqlite3 "$db" "SELECT count(*) FROM sqlite_master WHERE name IN ('items', 'events')")" = 2 ] ||
    die "a table is gone"
[ "$(sqlite3 "$db" 'PRAGMA integrity_check')" = ok ] || die "integrity_check"
[ "$(grep -c "^error:" "$tmp/text.err")" = 1 ] || die "only the last show should fail: $(cat "$tmp/text.err")"
[ $fail -eq 0 ] && echo "ok   hostile ids and text stored verbatim, shown as plain text"
exit $fail
