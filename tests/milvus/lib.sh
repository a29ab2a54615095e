# lib.sh - sourced by the milvus e2e scripts: starts the contract server
# (tests/milvus/contract_server.py) on a free loopback port and stops it on
# exit.  Needs $EMBEDLAB (tests/run.sh sets it) and Debian's python3.
#   mv_start [server options]   sets $port and $uri; server errors go to $tmp/server.log
#   ctl faults JSON | clear | collection JSON | call PATH JSON | get KEY | clean
#                               drives the server (bash's /dev/tcp: no python start-up)
#   run ARGS...                 embedlab on $db with --no-timing
#   fail MESSAGE                prints FAIL: MESSAGE and exits 1
app=${EMBEDLAB:?}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
py=/usr/bin/python3
[ -x "$py" ] || { echo "no /usr/bin/python3 (scripts/deps.sh test installs it)"; exit 77; }
tmp=$(mktemp -d)
srv_pid=
mv_stop() {
    [ -n "$srv_pid" ] && kill "$srv_pid" 2>/dev/null && wait "$srv_pid" 2>/dev/null
    srv_pid=
}
trap 'mv_stop; rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; [ -s "$tmp/server.log" ] && tail -5 "$tmp/server.log"; exit 1; }
run() { "$app" --db "$db" --no-timing "$@"; }
mv_start() {
    mv_stop
    rm -f "$tmp/port"
    "$py" "$here/contract_server.py" --port-file "$tmp/port" --idle-timeout 120 "$@" \
        2>>"$tmp/server.log" &
    srv_pid=$!
    for _ in $(seq 100); do [ -s "$tmp/port" ] && break; sleep 0.05; done
    [ -s "$tmp/port" ] || fail "the contract server did not start"
    port=$(cat "$tmp/port")
    uri=http://127.0.0.1:$port
}
# http METHOD PATH [BODY]: the answer's body (HTTP/1.0: the server closes after it)
http() {
    local body=${3:-} n
    n=$(printf %s "$body" | wc -c)
    exec 3<>"/dev/tcp/127.0.0.1/$port" || fail "cannot reach the contract server"
    printf '%s %s HTTP/1.0\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s' \
        "$1" "$2" "$n" "$body" >&3
    sed '1,/^\r$/d' <&3
    exec 3>&-
}
ctl() {
    case $1 in
    faults) http POST /contract/faults "{\"faults\": $2}" >/dev/null ;;
    clear) http POST /contract/clear '{}' >/dev/null ;;
    collection) http POST /contract/collection "$2" >/dev/null ;;
    call) http POST "/v2/vectordb/$2" "$3" ;;
    get) http GET "/contract/value/$2" ;;
    stats) http GET /contract/stats ;;
    clean)
        local v
        v=$(http GET /contract/value/violations)
        [ "$v" = "[]" ] || { echo "contract violations: $v"; return 1; } ;;
    *) fail "ctl: unknown command $1" ;;
    esac
}
