/* fuzz_safetensors.c - libFuzzer target for the safetensors loader: any
 * bytes as a model.safetensors file must give a clean error or a valid
 * table whose tensors all lie inside the file.
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -Iinclude \
 *     tests/fuzz/fuzz_safetensors.c src/model/safetensors.c src/base/mem.c \
 *     src/base/err.c -lcjson -o fuzz_safetensors
 * Built without -fsanitize=fuzzer (FUZZ_MAIN) it replays files given as
 * arguments, as SQLite's fuzzcheck does. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "safetensors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char path[64];
    FILE *f;
    st_file *st;
    err e;

    if (!path[0])
        snprintf(path, sizeof path, "/tmp/fuzz-st-%d.safetensors", (int)getpid());
    f = fopen(path, "wb");
    if (!f)
        return 0;
    if (size)
        fwrite(data, 1, size, f);
    fclose(f);
    st = st_open(path, &e);
    if (st) {
        for (size_t i = 0; i < st_count(st); i++) {
            const st_tensor *t = st_at(st, i);
            const float *v = st_f32(st, t, &e);
            volatile float sink = 0;
            for (size_t k = 0; v && k < t->n_elem; k++)
                sink += v[k];
            (void)sink;
        }
        st_close(st);
    }
    return 0;
}

#ifdef FUZZ_MAIN
int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        FILE *f = fopen(argv[i], "rb");
        uint8_t *buf;
        long n;
        if (!f)
            continue;
        fseek(f, 0, SEEK_END);
        n = ftell(f);
        fseek(f, 0, SEEK_SET);
        buf = malloc((size_t)n + 1);
        if (buf && fread(buf, 1, (size_t)n, f) == (size_t)n)
            LLVMFuzzerTestOneInput(buf, (size_t)n);
        free(buf);
        fclose(f);
    }
    return 0;
}
#endif
