# serve_lib.bash - sourced by the serve*.sh tests: a small database and a
# server on a free loopback port (port 0: the kernel picks one; the server
# prints it).
#   serve_db DB [MODEL]   demo catalog of 60 items, item2vec, text (tiny BERT
#                         fixture, or the builtin encoder with MODEL=builtin),
#                         an HNSW index over text
#   serve_start DB ARGS   starts `embedlab serve`, sets $pid $port $base $log
#   serve_stop [SIG]      stops it (TERM by default) and checks exit status 0
# Needs $app, $tmp and fail().
fx=$(cd "$(dirname "${BASH_SOURCE[0]}")/../fixtures" && pwd)

serve_db() {
    local db=$1 model=${2:-$fx/tiny-bert}
    "$app" --db "$db" --strict -c 'gen demo --items 60 --sessions 80' \
        -c 'train item2vec epochs=5 threads=1' -c "encode text model=$model" \
        -c 'index build text hnsw' >"$tmp/db.log" 2>&1 || fail "making $db: $(cat "$tmp/db.log")"
}

serve_start() {
    local db=$1
    shift
    log=$tmp/serve.$RANDOM.log
    "$app" serve --db "$db" --listen 127.0.0.1:0 --threads 2 --poll-ms 100 "$@" 2>"$log" &
    pid=$!
    for _ in $(seq 100); do
        port=$(grep -o 'listening on http://127\.0\.0\.1:[0-9]*' "$log" | sed 's/.*://')
        [ -n "$port" ] && break
        kill -0 "$pid" 2>/dev/null || fail "serve did not start: $(cat "$log")"
        sleep 0.05
    done
    [ -n "$port" ] || fail "serve did not say where it listens: $(cat "$log")"
    base=http://127.0.0.1:$port
}

serve_stop() {
    local sig=${1:-TERM} rc
    kill -"$sig" "$pid"
    wait "$pid"
    rc=$?
    [ "$rc" -eq 0 ] || fail "serve exited $rc after SIG$sig: $(tail -5 "$log")"
    grep -q 'embedlab serve: stopped' "$log" || fail "no clean stop: $(tail -5 "$log")"
    pid=
}

# curl with the status on the last line: body, then "\n" status
req() { curl -s -m 10 -w '\n%{http_code}' "$@"; }
status_of() { tail -n1 <<<"$1"; }
body_of() { sed '$d' <<<"$1"; }
