/* fuzz_movielens.c - import_movielens on a folder built from the input.
 * Byte 0: bit 0 picks ml-latest-small (movies.csv, ratings.csv, tags.csv) or
 * ml-100k (u.item, u.data); bit 1 --skip-bad; bit 2 min_rating=3.  The rest
 * is split at each "\n@@\n" into the files in that order (a missing part is
 * a missing file). */
#include "fuzz_util.h"
#include "import.h"
#include "store.h"

#define SEP "\n@@\n"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const latest[] = {"ml/movies.csv", "ml/ratings.csv", "ml/tags.csv"};
    static const char *const ml100k[] = {"ml/u.item", "ml/u.data"};
    static const char *const all[] = {"movies.csv", "ratings.csv", "tags.csv", "u.item",
                                      "u.data"};
    const char *const *files;
    size_t n_files;
    const uint8_t *part, *rest;
    size_t n_part, n_rest;
    char dir[512], p[600];
    import_opts o;
    import_report r = {0};
    store *s;
    err e;

    if (size < 1)
        return 0;
    snprintf(dir, sizeof dir, "%s/ml", fuzz_dir());
    mkdir(dir, 0700);
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        snprintf(p, sizeof p, "%s/%s", dir, all[i]);
        unlink(p);
    }
    files = data[0] & 1 ? ml100k : latest;
    n_files = data[0] & 1 ? 2 : 3;
    rest = data + 1;
    n_rest = size - 1;
    for (size_t i = 0; i < n_files && rest; i++) {
        fuzz_split(rest, n_rest, SEP, &part, &n_part, &rest, &n_rest);
        fuzz_write(files[i], part, n_part);
    }
    import_opts_default(&o);
    o.skip_bad = (data[0] >> 1) & 1;
    o.min_rating = (data[0] >> 2) & 1 ? 3.0 : 0.0;
    s = store_open(":memory:", &e);
    if (!s)
        abort();
    fuzz_note("import_movielens", import_movielens(s, dir, &o, NULL, &r, &e), &e);
    import_report_done(&r);
    store_close(s);
    return 0;
}
