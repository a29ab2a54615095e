/* fuzz_safetensors.c - st_open on an untrusted file, then every accessor: each
 * tensor is converted to float32 and summed (so a bad offset that slipped
 * through is read by ASan), and its shape checked against itself. */
#include "fuzz_util.h"
#include "safetensors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_write("model.safetensors", data, size);
    volatile float sink = 0;
    st_file *f;
    err e;

    f = st_open(path, &e);
    fuzz_note("st_open", f ? 0 : -1, &e);
    if (!f)
        return 0;
    for (size_t i = 0; i < st_count(f); i++) {
        const st_tensor *t = st_at(f, i);
        const float *x;
        if (st_find(f, t->name) == NULL)
            abort();   /* every listed tensor must be found by its name */
        st_check_shape(f, t, t->n_dim, t->shape, &e);
        x = st_f32(f, t, &e);
        if (x && t->n_elem)
            sink += x[0] + x[t->n_elem - 1];
    }
    (void)sink;
    st_close(f);
    return 0;
}
