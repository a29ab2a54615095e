/* fuzz_bert.c - bert_load's JSON side: a model folder whose weights and vocab
 * are the valid tiny fixture (tests/fixtures/tiny-bert, copied once) and whose
 * config.json, 1_Pooling/config.json, sentence_bert_config.json and
 * tokenizer_config.json come from the input, split at each "\n@@\n" (a
 * missing part leaves that file out).  A model that loads encodes one short
 * sentence, so a config that passes the checks but lies is caught by ASan.
 * EMBEDLAB_FIXTURES overrides the fixture folder (default: found from the
 * current directory, the repository root or tests/). */
#include "bert.h"
#include "fuzz_util.h"

#define SEP "\n@@\n"

static int copy_file(const char *from, const char *to_name)
{
    FILE *f = fopen(from, "rb");
    static char buf[1 << 20];
    size_t n;

    if (!f)
        return -1;
    n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    fuzz_write(to_name, buf, n);
    return 0;
}

static void setup(void)
{
    static const char *const bases[] = {"tests/fixtures/tiny-bert", "fixtures/tiny-bert",
                                        "../tests/fixtures/tiny-bert"};
    const char *env = getenv("EMBEDLAB_FIXTURES");
    char p[512];

    for (size_t i = 0; i < 4; i++) {
        const char *b = i == 0 ? env : bases[i - 1];
        if (!b)
            continue;
        snprintf(p, sizeof p, "%s/model.safetensors", b);
        if (copy_file(p, "m/model.safetensors") == 0) {
            snprintf(p, sizeof p, "%s/vocab.txt", b);
            if (copy_file(p, "m/vocab.txt") == 0)
                return;
        }
    }
    fprintf(stderr, "fuzz_bert: tests/fixtures/tiny-bert not found (set EMBEDLAB_FIXTURES)\n");
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const files[] = {"m/config.json", "m/1_Pooling/config.json",
                                        "m/sentence_bert_config.json",
                                        "m/tokenizer_config.json"};
    static int ready;
    const uint8_t *part, *rest = data;
    size_t n_part, n_rest = size;
    char dir[512], p[600];
    bert_model *m;
    bert_opts o = bert_opts_default();
    err e;

    if (!ready) {
        setup();
        ready = 1;
    }
    snprintf(dir, sizeof dir, "%s/m", fuzz_dir());
    for (size_t i = 0; i < 4; i++) {
        snprintf(p, sizeof p, "%s/%s", fuzz_dir(), files[i]);
        unlink(p);
    }
    for (size_t i = 0; i < 4 && rest; i++) {
        fuzz_split(rest, n_rest, SEP, &part, &n_part, &rest, &n_rest);
        fuzz_write(files[i], part, n_part);
    }
    o.threads = 1;
    o.blas_threads = 1;
    m = bert_load(dir, &o, &e);
    fuzz_note("bert_load", m ? 0 : -1, &e);
    if (m) {
        const char *text = "a red shoe, \xe4\xb8\xad\xe6\x96\x87 text";
        float *out = malloc(bert_dim(m) * sizeof *out);
        if (!out)
            abort();
        fuzz_note("bert_encode", bert_encode(m, &text, NULL, 1, out, NULL, &e), &e);
        free(out);
        bert_free(m);
    }
    return 0;
}
