/* cmd_text.c - the text encoder commands: encode text, embed, pretrain text.  The
 * encoder's lifecycle (which encoder, training the builtin one, saving it
 * with the vectors, reopening it for queries) is lab_text.c's; these only
 * parse, call it and report. */
#include "bert.h"
#include "cmd_int.h"
#include "mem.h"
#include "textenc.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The builtin encoder without a words file learns its words from the
 * catalog alone: below this many texts there is too little to learn from. */
#define CMD_FEW_TEXTS 50

static int c_encode_text(lab *L, const cmd_args *a, table_list *out, err *e)
{
    lab_encode_opts o = {.model = cmd_str(a, "model", NULL), .only_new = cmd_flag(a, "new"),
                         .words = cmd_str(a, "words", NULL)};
    lab_encode_report r;
    table *t;
    long batch, threads = L->set.threads;
    char ixmsg[320];
    int rc, precision;

    if ((rc = cmd_opt_long(a, "batch", &batch, e)) ||
        (rc = cmd_opt_long(a, "threads", &threads, e)) ||
        (rc = cmd_opt_choice(a, "precision", &precision, e)))
        return rc;
    o.batch = (size_t)batch;
    o.threads = (int)threads;
    o.bf16 = precision;
    if ((rc = lab_text_encode(L, &o, &r, e)))
        return rc;
    /* the encoder's rate: training, saving and the index are not in it */
    double ips = r.encode_seconds > 0 ? r.n_encoded / r.encode_seconds : 0;
    if (o.only_new && r.n_encoded == 0)
        t = table_list_msg(out, "text: all %zu items already have vectors (%s)", r.n_total,
                           r.label);
    else if (o.only_new)
        t = table_list_msg(out, "text: %zu new items encoded with %s (%zu items have vectors)",
                           r.n_encoded, r.label, r.n_total);
    else if (L->set.no_timing)
        t = table_list_msg(out, "text: %zu items x %zu dims with %s", r.n_encoded, r.dim,
                           r.label);
    else
        t = table_list_msg(out, "text: %zu items x %zu dims with %s in %.2f s (%s%.0f items/s "
                           "encoding)%s%s",
                           r.n_encoded, r.dim, r.label, r.seconds,
                           r.builtin ? "trained first; " : "", ips, r.bf16 ? "; bf16: " : "",
                           r.bf16 ? bert_bf16_kernel() : "");
    int nt = L->set.no_timing;
    rc = t && table_field_str(t, "encoder", r.label) == 0 &&
                 table_fields(t, "items", (double)r.n_encoded, "items_with_vectors",
                              (double)r.n_total, "dim", (double)r.dim, "seconds",
                              nt ? NAN : r.seconds, "items_per_s", nt ? NAN : ips, NULL) == 0
             ? 0 : cmd_nomem(e);
    if (rc == 0 && r.builtin && !r.pretrained && r.n_total < CMD_FEW_TEXTS &&
        !table_list_msg(out, "note: the builtin encoder learnt its words from %zu item texts "
                        "only: its vectors mean little (a BERT model folder, model=DIR, knows "
                        "the language)", r.n_total))
        rc = cmd_nomem(e);
    if (rc == 0 && r.n_encoded && lab_ix_report_text(L, &r.ix, "text", ixmsg, sizeof ixmsg) > 0 &&
        !table_list_msg(out, "%s", ixmsg))
        rc = cmd_nomem(e);
    return rc;
}

static int put_vector(table *t, const float *v, size_t dim)
{
    size_t cap = dim * 18 + 4, o = 0;
    char *s = mem_alloc(cap);
    int rc;
    if (!s)
        return -ERR_NOMEM;
    s[o++] = '[';
    for (size_t i = 0; i < dim; i++)
        o += (size_t)snprintf(s + o, cap - o, "%s%.9g", i ? "," : "", v[i]);
    snprintf(s + o, cap - o, "]");
    rc = table_note(t, "%s", s);
    mem_free(s);
    return rc;
}

static void put_utf8(char *o, size_t *n, uint32_t cp)
{
    if (cp < 0x80)
        o[(*n)++] = (char)cp;
    else if (cp < 0x800) {
        o[(*n)++] = (char)(0xC0 | cp >> 6);
        o[(*n)++] = (char)(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        o[(*n)++] = (char)(0xE0 | cp >> 12);
        o[(*n)++] = (char)(0x80 | ((cp >> 6) & 0x3F));
        o[(*n)++] = (char)(0x80 | (cp & 0x3F));
    } else {
        o[(*n)++] = (char)(0xF0 | cp >> 18);
        o[(*n)++] = (char)(0x80 | ((cp >> 12) & 0x3F));
        o[(*n)++] = (char)(0x80 | ((cp >> 6) & 0x3F));
        o[(*n)++] = (char)(0x80 | (cp & 0x3F));
    }
}

static int hex4(const char *s, uint32_t *v)
{
    *v = 0;
    for (int i = 0; i < 4; i++) {
        char c = s[i];
        int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
              : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
        if (d < 0)
            return -1;
        *v = *v << 4 | (uint32_t)d;
    }
    return 0;
}

/* Decodes a line holding one JSON string into out (caller-freed) with its
 * byte length: unlike cJSON it keeps \u0000, so texts with any characters
 * reach the encoder exactly.  0 or -1 (not a JSON string). */
static int json_string_line(const char *line, char **out, size_t *len)
{
    const char *p = line;
    char *o;
    size_t n = 0;

    while (*p == ' ' || *p == '\t')
        p++;
    if (*p++ != '"' || !(o = mem_alloc(strlen(p) + 1)))
        return -1;
    for (; *p && *p != '"'; p++) {
        if ((unsigned char)*p < 0x20)
            goto bad;
        if (*p != '\\') {
            o[n++] = *p;
            continue;
        }
        switch (*++p) {
        case '"': o[n++] = '"'; break;
        case '\\': o[n++] = '\\'; break;
        case '/': o[n++] = '/'; break;
        case 'b': o[n++] = '\b'; break;
        case 'f': o[n++] = '\f'; break;
        case 'n': o[n++] = '\n'; break;
        case 'r': o[n++] = '\r'; break;
        case 't': o[n++] = '\t'; break;
        case 'u': {
            uint32_t cp, lo;
            if (hex4(p + 1, &cp))
                goto bad;
            p += 4;
            if (cp >= 0xD800 && cp < 0xDC00 && p[1] == '\\' && p[2] == 'u' &&
                hex4(p + 3, &lo) == 0 && lo >= 0xDC00 && lo < 0xE000) {
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                p += 6;
            } else if (cp >= 0xD800 && cp < 0xE000)
                cp = 0xFFFD;   /* a lone surrogate */
            put_utf8(o, &n, cp);
            break;
        }
        default:
            goto bad;
        }
    }
    if (*p != '"' || p[1 + strspn(p + 1, " \t\r\n")] != '\0')
        goto bad;
    o[n] = '\0';
    *out = o;
    *len = n;
    return 0;
bad:
    mem_free(o);
    return -1;
}

/* Texts per encoder call of `embed --jsonl`: enough for the encoder to sort
 * them by length into full batches for all its workers, few enough that a
 * file of any length streams in bounded memory. */
#define EMBED_CHUNK 1024

/* The vectors of texts[0..n) as notes of the list's last table (a new one
 * after a flush), then the list is flushed: printed and freed when the
 * front end streams, kept otherwise. */
static int embed_part(lab *L, const char *model, char **texts, const size_t *lens, size_t n,
                      table_list *out, err *e)
{
    float *v = NULL;
    size_t dim = 0;
    table *t;
    int rc;

    if (n == 0)
        return 0;
    if ((rc = lab_text_embed_with(L, model, (const char *const *)texts, lens, n, &v, &dim, NULL,
                                  e)))
        return rc;
    if (!(t = out->n ? out->t[out->n - 1] : cmd_table(out, "")))
        rc = cmd_nomem(e);
    for (size_t i = 0; rc == 0 && i < n; i++)
        if (put_vector(t, v + i * dim, dim))
            rc = cmd_nomem(e);
    mem_free(v);
    if (rc == 0 && (rc = table_list_flush(out)))
        rc = err_set(e, -rc, "embed: the vectors could not be written (output closed or full)");
    return rc;
}

/* embed "text" | embed --jsonl FILE: vectors as JSON arrays, one per line,
 * with the stored text vectors' encoder, or a model folder (--model DIR,
 * or the search order when nothing is stored: no catalog needed).  FILE is
 * read EMBED_CHUNK lines at a time, each part encoded in one call and its
 * vectors handed to the front end before the next part is read. */
static int c_embed(lab *L, const cmd_args *a, table_list *out, err *e)
{
    const char *file = cmd_str(a, "jsonl", NULL), *model = cmd_str(a, "model", NULL);
    char **texts = NULL, *line = NULL;
    size_t *lens = NULL, n = 0, cap = 0, lineno = 0;
    FILE *f;
    int rc = 0;

    if (!file) {
        char u[512], *text;
        size_t len;
        if (a->argc == 0)
            return err_set(e, ERR_USAGE, "usage: %s", cmd_usage(a->def, u, sizeof u));
        if (!(text = cmd_join_args(a)))
            return cmd_nomem(e);
        len = strlen(text);
        rc = embed_part(L, model, &text, &len, 1, out, e);
        mem_free(text);
        return rc;
    }
    if (a->argc > 0)
        return err_set(e, ERR_USAGE, "embed: TEXT or --jsonl FILE, not both");
    if (!(f = fopen(file, "r")))
        return err_set(e, ERR_IO, "%s: cannot open", file);
    texts = mem_array(EMBED_CHUNK, sizeof *texts);
    lens = mem_array(EMBED_CHUNK, sizeof *lens);
    if (!texts || !lens)
        rc = cmd_nomem(e);
    while (rc == 0 && getline(&line, &cap, f) >= 0) {
        lineno++;
        if (strspn(line, " \t\r\n") == strlen(line))
            continue;
        if (json_string_line(line, &texts[n], &lens[n])) {
            /* the vectors of the lines before it, then the error */
            if ((rc = embed_part(L, model, texts, lens, n, out, e)) == 0)
                rc = err_set(e, ERR_PARSE, "%s:%zu: expected one JSON string per line", file,
                             lineno);
            break;
        }
        if (++n == EMBED_CHUNK) {
            rc = embed_part(L, model, texts, lens, n, out, e);
            while (n)
                mem_free(texts[--n]);
        }
    }
    if (rc == 0 && ferror(f))
        rc = err_set(e, ERR_IO, "%s:%zu: read error", file, lineno + 1);
    if (rc == 0)
        rc = embed_part(L, model, texts, lens, n, out, e);
    while (n)
        mem_free(texts[--n]);
    mem_free(texts);
    mem_free(lens);
    free(line);
    fclose(f);
    return rc;
}

/* pretrain text FILE wordnet=DIR gcide=FILE [...]: the builtin encoder's
 * English word vectors, from dictionaries (`make builtin-model` runs it). */
static int c_pretrain_text(lab *L, const cmd_args *a, table_list *out, err *e)
{
    textenc_pretrain_opts o = textenc_pretrain_opts_default();
    textenc_pretrain_stats st;
    long dim, epochs, window, negative, min_count, max_words, buckets, threads;
    uint64_t seed;
    double sample;
    char idx[4200];
    int rc;

    o.wordnet = cmd_str(a, "wordnet", NULL);
    o.gcide = cmd_str(a, "gcide", NULL);
    if ((rc = cmd_opt_long(a, "dim", &dim, e)) || (rc = cmd_opt_long(a, "epochs", &epochs, e)) ||
        (rc = cmd_opt_long(a, "window", &window, e)) ||
        (rc = cmd_opt_long(a, "negative", &negative, e)) ||
        (rc = cmd_opt_long(a, "min_count", &min_count, e)) ||
        (rc = cmd_opt_long(a, "max_words", &max_words, e)) ||
        (rc = cmd_opt_long(a, "buckets", &buckets, e)) ||
        (rc = cmd_opt_long(a, "threads", &threads, e)) || (rc = cmd_opt_u64(a, "seed", &seed, e)) ||
        (rc = cmd_opt_double(a, "sample", &sample, e)))
        return rc;
    o.dim = (int)dim;
    o.epochs = (int)epochs;
    o.window = (int)window;
    o.negative = (int)negative;
    o.min_count = (int)min_count;
    o.max_words = (int)max_words;
    o.buckets = (int)buckets;
    o.threads = (int)threads;
    o.seed = seed;
    o.sample = sample;
    if (o.gcide) {
        snprintf(idx, sizeof idx, "%.4000s", cmd_str(a, "gcide_index", ""));
        if (!idx[0]) {   /* gcide.dict -> gcide.index */
            const char *dot = strrchr(o.gcide, '.');
            snprintf(idx, sizeof idx, "%.*s.index", (int)(dot ? dot - o.gcide : (long)strlen(o.gcide)),
                     o.gcide);
        }
        o.gcide_index = idx;
    }
    rc = textenc_pretrain(&o, a->argv[0], &L->prog, &st, e);
    progress_end(&L->prog);
    if (rc)
        return rc;
    if (!table_list_msg(out, "%s: %zu words x %d dims from %zu definitions, examples and "
                        "quotations (%llu tokens); subword fit cosine %.3f",
                        a->argv[0], st.n_words, o.dim, st.n_seq, (unsigned long long)st.n_tok,
                        st.subword_cos))
        return cmd_nomem(e);
    if (!L->set.no_timing &&
        !table_list_msg(out, "read %.1f s, train %.1f s, subwords %.1f s", st.seconds_read,
                        st.seconds_train, st.seconds_subwords))
        return cmd_nomem(e);
    return 0;
}

static const opt_def encode_opts[] = {
    {.name = "model", .type = OPT_STR, .arg = "DIR|builtin|auto",
     .help = "a BERT model folder, the builtin encoder, or the first found (auto)"},
    {.name = "batch", .type = OPT_INT, .min = 1, .max = 4096, .def = "64",
     .help = "texts per forward pass"},
    {.name = "threads", .type = OPT_INT, .min = 1, .max = 256, .arg = "2",
     .help = "worker threads (default: `set threads`)"},
    {.name = "precision", .type = OPT_CHOICE, .arg = "fp32|bf16", .def = "fp32",
     .help = "bf16: AMX tiles or vdpbf16ps (avx512bf16) where the CPU has them, else bf16 "
             "weights with fp32 arithmetic up to 64 tokens per product (the output and `info` "
             "say which)"},
    {.name = "words", .type = OPT_STR, .arg = "FILE|none",
     .help = "the builtin encoder's pretrained words file, or none (catalog only)"},
    {.name = "new", .type = OPT_FLAG, .help = "only items without a text vector"},
    {0},
};

/* The defaults are textenc_pretrain_opts_default()'s. */
static const opt_def pretrain_opts[] = {
    {.name = "wordnet", .type = OPT_STR, .arg = "DIR",
     .help = "WordNet 3.0 database folder (/usr/share/wordnet)"},
    {.name = "gcide", .type = OPT_STR, .arg = "FILE",
     .help = "GCIDE dictd text, uncompressed (gcide.dict)"},
    {.name = "gcide_index", .type = OPT_STR, .arg = "FILE",
     .help = "its index (default: FILE with .index)"},
    {.name = "dim", .type = OPT_INT, .min = 8, .max = 1024, .def = "128", .help = "vector width"},
    {.name = "epochs", .type = OPT_INT, .min = 1, .max = 100, .def = "5", .help = "SGNS passes"},
    {.name = "window", .type = OPT_INT, .min = 1, .max = 100, .def = "10",
     .help = "context window (a whole definition)"},
    {.name = "negative", .type = OPT_INT, .min = 1, .max = 50, .def = "5",
     .help = "noise words per pair"},
    {.name = "min_count", .type = OPT_INT, .min = 1, .max = 1000000, .def = "5",
     .help = "rarer words are dropped"},
    {.name = "max_words", .type = OPT_INT, .min = 100, .max = 1 << 24, .def = "100000",
     .help = "vocabulary cap, most frequent first"},
    {.name = "buckets", .type = OPT_INT, .min = 1, .max = 1 << 24, .def = "100000",
     .help = "subword hash buckets"},
    {.name = "sample", .type = OPT_REAL, .min = 0, .max = 0.999, .def = "1e-4",
     .help = "subsampling threshold"},
    {.name = "threads", .type = OPT_INT, .min = 1, .max = 256, .def = "1",
     .help = "1: the same file on every run"},
    {.name = "seed", .type = OPT_U64, .def = "1", .help = "random seed"},
    {0},
};

static const opt_def embed_opts[] = {
    {.name = "jsonl", .type = OPT_STR, .arg = "FILE", .flags = OPT_DASHED,
     .help = "one JSON string per line"},
    {.name = "model", .type = OPT_STR, .arg = "DIR", .flags = OPT_DASHED,
     .help = "a BERT model folder (default: the encoder of the stored text vectors)"},
    {0},
};

const cmd_def cmd_defs_text[] = {
    {.name = "encode text", .fn = c_encode_text, .usage = "encode text",
     .help = "Encode every item's text (title. category. description) into normalised vectors: "
     "with a BERT model folder if one is found, else the builtin encoder. The builtin encoder "
     "starts from English word vectors pretrained on dictionaries (the words file `make "
     "builtin-model` builds; words=FILE names one, words=none skips it) and adapts them to "
     "this catalog; without a words file it is trained on this catalog alone. "
     "precision=bf16 runs the products on AMX tiles where the CPU has them, else "
     "with vdpbf16ps where it has avx512bf16 (Zen 4, Cooper Lake; both bf16, fp32 sums), "
     "elsewhere with bf16 weights (half the bytes to read) and fp32 arithmetic up to 64 "
     "tokens per product, fp32 above; the output and `info` say which (the first layer keeps "
     "~16-bit operands, cosine >= 0.999 against fp32 on the benchmark model). --new: only items without "
     "a text vector (added by `load catalog`), same encoder; the index takes them as inserts. Ctrl-C keeps the previous vectors and index.",
     .opts = encode_opts},
    {.name = "embed", .fn = c_embed, .usage = "embed [\"TEXT\"]",
     .help = "Print the vector of TEXT, or of each JSON string line of FILE, as JSON arrays "
     "(one per line, every number). The encoder is the one "
     "that made the stored text vectors; with --model DIR, or when there are none, a BERT "
     "model folder (DIR, $EMBEDLAB_MODEL, $XDG_DATA_HOME/embedlab/models/, data/models/), "
     "so embed works on an empty database like sentence-transformers' encode. FILE is read "
     "and encoded 1,024 lines at a time, each part printed before the next is read: any "
     "length runs in bounded memory.",
     .min_pos = 0, .max_pos = CMD_MAX_ARGS, .opts = embed_opts},
    {.name = "pretrain text", .fn = c_pretrain_text, .usage = "pretrain text FILE",
     .help = "Pretrain the builtin encoder's English word vectors on dictionaries and write them "
     "to FILE (a words file): WordNet 3.0 (wordnet=/usr/share/wordnet) and GCIDE (gcide=FILE, "
     "the uncompressed dictd text, with its .index beside it). `make builtin-model` runs it; "
     "threads=1 gives the same file on every run.",
     .min_pos = 1, .max_pos = 1, .opts = pretrain_opts},
    {0},
};
