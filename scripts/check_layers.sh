#!/bin/bash
# check_layers.sh [ROOT] - the layer rule of docs/ARCHITECTURE.md, enforced.
#
# The folders under src/ are layers, lowest first:
#     base  data  model  index  app  ui
# A file may include a header of its own layer or of a layer below it,
# never one above.  A public header include/X.h belongs to the layer whose
# folder holds X.c (or X_*.c).  A header inside src/LAYER/ (cmd_int.h,
# lab_int.h, tui_int.h, ...) is internal to that layer: no other folder
# includes it.  Third-party headers stay where they belong: <sqlite3.h> in
# src/data/store.c, <cblas.h> in src/base/vec.c, <curl/curl.h> in
# src/index/http.c, curses and readline in src/ui/, <microhttpd.h> in
# src/ui/serve.c.
#
# Prints one line per violation (FILE:LINE: what) and exits 1 if there is
# any; 0 and nothing printed otherwise.  ROOT defaults to the current folder.
set -u
root=${1:-.}
cd "$root" || exit 2
layers=(base data model index app ui)
bad=0

rank_of() {   # rank of a layer name, -1 when unknown
    local i
    for i in "${!layers[@]}"; do
        [ "${layers[$i]}" = "$1" ] && { echo "$i"; return; }
    done
    echo -1
}

# The layer of a public header: where its module's source lives.
header_layer() {
    local base=${1%.h} l
    for l in "${layers[@]}"; do
        if [ -f "src/$l/$base.c" ] || compgen -G "src/$l/${base}_*.c" >/dev/null; then
            echo "$l"
            return
        fi
    done
    echo ""
}

complain() {
    echo "$1"
    bad=1
}

for h in include/*.h; do
    [ -f "$h" ] || continue
    [ -n "$(header_layer "$(basename "$h")")" ] ||
        complain "$h: no module for it in src/{$(IFS=,; echo "${layers[*]}")}/ (name its .c after it)"
done

for layer in "${layers[@]}"; do
    own=$(rank_of "$layer")
    for f in src/"$layer"/*.c src/"$layer"/*.h; do
        [ -f "$f" ] || continue
        while IFS=: read -r line inc; do
            name=$(sed -E 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"([^"]+)".*/\1/' <<<"$inc")
            if [ -f "src/$layer/$name" ] && [[ "$name" != */* ]]; then
                continue                                   # this layer's own internal header
            fi
            if [ -f "include/$name" ]; then
                hl=$(header_layer "$name")
                [ -z "$hl" ] && continue                   # reported above
                if [ "$(rank_of "$hl")" -gt "$own" ]; then
                    complain "$f:$line: includes $name of layer $hl, above $layer"
                fi
                continue
            fi
            target=$(realpath -m --relative-to=. "$(dirname "$f")/$name")
            if [[ "$target" == src/*/* ]]; then
                tl=$(cut -d/ -f2 <<<"$target")
                complain "$f:$line: includes $name, internal to src/$tl/"
            else
                complain "$f:$line: includes $name, which is neither in include/ nor in src/$layer/"
            fi
        done < <(grep -nE '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' "$f" | cut -d: -f1,2-)
    done
done

# third-party headers: only their one owner includes them
only() {   # PATTERN ALLOWED-REGEX WHAT
    local f
    for f in $(grep -rlE "^[[:space:]]*#[[:space:]]*include[[:space:]]*<$1" src 2>/dev/null); do
        [[ "$f" =~ $2 ]] || complain "$f: includes $3 (only ${4})"
    done
}
only 'sqlite3\.h>' '^src/data/store\.c$' '<sqlite3.h>' 'src/data/store.c'
only 'cblas\.h>' '^src/base/vec\.c$' '<cblas.h>' 'src/base/vec.c'
only 'curl/' '^src/index/http\.c$' '<curl/curl.h>' 'src/index/http.c'
only 'n?curses' '^src/ui/' 'curses' 'src/ui/'
only 'readline/' '^src/ui/' 'readline' 'src/ui/'
only 'microhttpd\.h>' '^src/ui/serve\.c$' '<microhttpd.h>' 'src/ui/serve.c'

exit $bad
