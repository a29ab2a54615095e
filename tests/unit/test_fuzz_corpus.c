/* test_fuzz_corpus.c - replays tests/fuzz/corpus/ through the two fuzz
 * targets (as SQLite's fuzzcheck does), so a gcc-only build and the ASan
 * run still exercise every seed and every past crasher. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LLVMFuzzerTestOneInput fuzz_safetensors_one
#include "../fuzz/fuzz_safetensors.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_wordpiece_one
#include "../fuzz/fuzz_wordpiece.c"
#undef LLVMFuzzerTestOneInput

static int replay(const char *dir, int (*fn)(const uint8_t *, size_t))
{
    DIR *d = opendir(dir);
    struct dirent *de;
    int n = 0;

    if (!d)
        return -1;
    while ((de = readdir(d))) {
        char path[512];
        FILE *f;
        long len;
        uint8_t *buf;
        if (de->d_name[0] == '.')
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        f = fopen(path, "rb");
        if (!f)
            continue;
        fseek(f, 0, SEEK_END);
        len = ftell(f);
        fseek(f, 0, SEEK_SET);
        buf = malloc((size_t)len + 1);
        if (buf && fread(buf, 1, (size_t)len, f) == (size_t)len) {
            assert_int_equal(fn(buf, (size_t)len), 0);
            n++;
        }
        free(buf);
        fclose(f);
    }
    closedir(d);
    return n;
}

static void test_safetensors_corpus(void **st)
{
    (void)st;
    assert_true(replay("fuzz/corpus/safetensors", fuzz_safetensors_one) >= 3);
}

static void test_wordpiece_corpus(void **st)
{
    (void)st;
    assert_true(replay("fuzz/corpus/wordpiece", fuzz_wordpiece_one) >= 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_safetensors_corpus),
        cmocka_unit_test(test_wordpiece_corpus),
    };
    return cmocka_run_group_tests_name("fuzz_corpus", tests, NULL, NULL);
}
