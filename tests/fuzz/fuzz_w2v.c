/* fuzz_w2v.c - i2v_w2v_load (word2vec text and binary, as gensim writes them)
 * on untrusted bytes.  Byte 0 bit 0 picks binary; the rest is the file.  A
 * loaded file is checked for its contract (finite values, non-empty keys)
 * and every value read, so a wrong size that slipped through is seen. */
#include <math.h>

#include "fuzz_util.h"
#include "item2vec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    i2v_w2v w;
    const char *path;
    err e;
    int rc;

    if (size < 1)
        return 0;
    path = fuzz_write("v.w2v", data + 1, size - 1);
    rc = i2v_w2v_load(path, data[0] & 1 ? I2V_W2V_BINARY : I2V_W2V_TEXT, &w, &e);
    fuzz_note("i2v_w2v_load", rc, &e);
    if (rc == 0) {
        for (size_t i = 0; i < w.n; i++) {
            if (!w.keys[i] || !w.keys[i][0])
                abort();
            for (size_t j = 0; j < w.dim; j++)
                if (!isfinite(w.data[i * w.dim + j]))
                    abort();
        }
        i2v_w2v_done(&w);
    }
    return 0;
}
