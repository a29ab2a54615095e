# realdata.sh - sourced by bench scripts: builds embedlab databases of the
# real datasets in /work/shared/data-style folders (never copied into the
# repository).  Usage, after `. bench/realdata.sh`:
#     realdata_db NAME DB      NAME: ml (ml-latest-small), epub (epub-wu),
#                              groceries, demo (data/demo); returns 77 when the
#                              dataset is absent
# DATA (or $EMBEDLAB_DATA; default ../shared/data from the repository) holds
# ml-latest-small/, epub-wu/, groceries/.  APP is the embedlab binary.
DATA=${DATA:-${EMBEDLAB_DATA:-}}
if [ -z "$DATA" ]; then
    for d in ../shared/data ../../shared/data /work/shared/data; do
        [ -d "$d" ] && { DATA=$(cd "$d" && pwd); break; }
    done
fi
realdata_db() {
    local name=$1 db=$2 tmp
    rm -f "$db"
    case $name in
    ml)
        [ -f "$DATA/ml-latest-small/ratings.csv" ] || return 77
        "$APP" --db "$db" -c "load movielens $DATA/ml-latest-small" >/dev/null ;;
    demo)
        "$APP" --db "$db" -c "load catalog data/demo/catalog.csv" \
            -c "load sessions data/demo/sessions.csv" >/dev/null ;;
    epub|groceries)
        local src=$DATA/epub-wu
        [ "$name" = groceries ] && src=$DATA/groceries
        [ -d "$src" ] || return 77
        tmp=$(mktemp -d)
        /usr/bin/python3 bench/convert_real.py "$name" "$src" "$tmp" &&
        "$APP" --db "$db" -c "load catalog $tmp/catalog.csv" \
            -c "load sessions $tmp/sessions.csv" >/dev/null
        local rc=$?
        rm -rf "$tmp"
        return $rc ;;
    *) echo "realdata_db: unknown dataset $name" >&2; return 2 ;;
    esac
}
