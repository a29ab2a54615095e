/* textenc_words.c - words for the builtin text encoder: the tokeniser, a
 * word vocabulary (string -> id, counts), hashed character n-grams, and the
 * pretrained word-vector file ("words file") that `pretrain text` writes and
 * the builtin encoder starts from.
 *
 * Words file, little-endian, every section 8-byte aligned:
 *   "EMBLWORD", u32 version (1), u32 dim, u32 n_words, u32 n_buckets,
 *   u32 minn, u32 maxn, u64 total (corpus tokens), u64 arena_len,
 *   char sources[64] (NUL-padded), then
 *   arena       n_words distinct NUL-terminated words (padded to 8)
 *   counts      u64 [n_words]              corpus counts, > 0
 *   lemma       u32 [n_words] (padded to 8) the id of each word's base form
 *               (WordNet morphy: "playing" -> "play"); a base is its own
 *   in, out     f32 scale[n] + i8 [n x dim] each (row-wise symmetric int8:
 *               value = q * scale / 127); n = n_words, padded to 8
 *   buckets     f32 scale[n_buckets] + i8 [n_buckets x dim]
 *   u64 FNV-1a 64 of every byte before it.
 * A file is untrusted input: every size is checked against the bytes present
 * before anything is allocated, and the checksum must match.
 */
#include "textenc_int.h"
#include "mem.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <utf8proc.h>

/* ---- tokeniser ------------------------------------------------------------- */

uint32_t textenc_fnv1a32(const char *s, size_t n)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 16777619u;
    }
    return h;
}

uint64_t textenc_fnv1a64(uint64_t h, const void *p, size_t n)
{
    const unsigned char *s = p;
    for (size_t i = 0; i < n; i++) {
        h ^= s[i];
        h *= 1099511628211ull;
    }
    return h;
}

static int is_cjk_cp(int32_t c)
{
    return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) ||
           (c >= 0x20000 && c <= 0x2A6DF) || (c >= 0xF900 && c <= 0xFAFF);
}

int textenc_split_words(const char *text, size_t len, textenc_word_fn fn, void *ud)
{
    const utf8proc_uint8_t *p = (const utf8proc_uint8_t *)text;
    char w[TEXTENC_MAX_WORD * 4 + 4];
    size_t wl = 0, nc = 0;
    int rc;

    for (size_t i = 0; i <= len;) {
        utf8proc_int32_t c = ' ', d[8];
        utf8proc_ssize_t k = 1, nd;
        int bound = 0;
        if (i < len) {
            if (p[i] < 0x80) {   /* ASCII: no decomposition needed */
                unsigned char ch = p[i++];
                if ((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
                    (ch >= 'A' && ch <= 'Z')) {
                    if (nc < TEXTENC_MAX_WORD) {
                        w[wl++] = (char)(ch >= 'A' && ch <= 'Z' ? ch + 32 : ch);
                        nc++;
                    }
                    continue;
                }
                if (wl && (rc = fn(ud, w, wl)) != 0)
                    return rc;
                wl = nc = 0;
                continue;
            }
            k = utf8proc_iterate(p + i, (utf8proc_ssize_t)(len - i), &c);
            if (k <= 0) {
                k = 1;
                c = ' ';
            }
        }
        i += (size_t)k;
        nd = utf8proc_decompose_char(utf8proc_tolower(c), d, 8, UTF8PROC_DECOMPOSE, &bound);
        if (nd <= 0 || nd > 8) {
            d[0] = c;
            nd = 1;
        }
        for (utf8proc_ssize_t j = 0; j < nd; j++) {
            utf8proc_category_t cat = utf8proc_category(d[j]);
            int word_char = (cat >= UTF8PROC_CATEGORY_LU && cat <= UTF8PROC_CATEGORY_LO) ||
                            (cat >= UTF8PROC_CATEGORY_ND && cat <= UTF8PROC_CATEGORY_NO);
            if (cat == UTF8PROC_CATEGORY_MN || cat == UTF8PROC_CATEGORY_MC)
                continue;   /* accents */
            if (!word_char || is_cjk_cp(d[j])) {
                if (wl && (rc = fn(ud, w, wl)) != 0)
                    return rc;
                wl = nc = 0;
                if (word_char) {
                    size_t n = (size_t)utf8proc_encode_char(d[j], (utf8proc_uint8_t *)w);
                    if ((rc = fn(ud, w, n)) != 0)
                        return rc;
                }
                continue;
            }
            if (nc < TEXTENC_MAX_WORD) {
                wl += (size_t)utf8proc_encode_char(d[j], (utf8proc_uint8_t *)w + wl);
                nc++;
            }
        }
    }
    return 0;
}

size_t textenc_ngrams(const char *w, size_t len, int minn, int maxn, uint32_t buckets,
                      uint32_t *out, size_t cap)
{
    char buf[TEXTENC_MAX_WORD * 4 + 8];
    size_t off[TEXTENC_MAX_WORD + 3], nc = 0, n = 0, bl = 0;
    const utf8proc_uint8_t *p;

    if (len > TEXTENC_MAX_WORD * 4 || buckets == 0)
        return 0;
    buf[bl++] = '<';
    memcpy(buf + bl, w, len);
    bl += len;
    buf[bl++] = '>';
    p = (const utf8proc_uint8_t *)buf;
    for (size_t i = 0; i < bl && nc < TEXTENC_MAX_WORD + 2;) {
        utf8proc_int32_t c;
        utf8proc_ssize_t k = utf8proc_iterate(p + i, (utf8proc_ssize_t)(bl - i), &c);
        off[nc++] = i;
        i += k > 0 ? (size_t)k : 1;
    }
    off[nc] = bl;
    for (size_t s = 0; s < nc; s++)
        for (int g = minn; g <= maxn && s + (size_t)g <= nc; g++) {
            if (g == (int)nc)   /* the whole "<word>" is the word itself */
                continue;
            if (n < cap)
                out[n++] = textenc_fnv1a32(buf + off[s], off[s + g] - off[s]) % buckets;
        }
    return n;
}

/* ---- vocabulary -------------------------------------------------------------- */

int32_t textenc_vocab_find(const textenc_vocab *v, const char *w, size_t len)
{
    const int64_t *id = hmap_get_str(&v->ids, w, len);
    return id ? (int32_t)*id : -1;
}

int textenc_vocab_add(textenc_vocab *v, const char *w, size_t len, uint64_t count, int32_t *id)
{
    int32_t f = textenc_vocab_find(v, w, len);
    size_t cap = v->cap;

    if (f >= 0) {
        v->count[f] += count;
        v->total += count;
        if (id)
            *id = f;
        return 0;
    }
    if (v->n >= INT32_MAX / 2)
        return -ERR_RANGE;
    if (mem_grow(&v->woff, &v->cap, v->n + 1, sizeof *v->woff) != 0)
        return -ERR_NOMEM;
    if (cap != v->cap) {   /* count[] follows woff[]'s capacity */
        uint64_t *c = mem_realloc_array(v->count, v->cap, sizeof *c);
        if (!c)
            return -ERR_NOMEM;
        v->count = c;
    }
    if (mem_grow(&v->arena, &v->arena_cap, v->arena_len + len + 1, 1) != 0)
        return -ERR_NOMEM;
    if (!hmap_add_str(&v->ids, w, len, (int64_t)v->n, NULL))
        return -ERR_NOMEM;
    memcpy(v->arena + v->arena_len, w, len);
    v->arena[v->arena_len + len] = '\0';
    v->woff[v->n] = v->arena_len;
    v->count[v->n] = count;
    v->total += count;
    v->arena_len += len + 1;
    if (id)
        *id = (int32_t)v->n;
    v->n++;
    return 0;
}

int textenc_vocab_count_word(void *ud, const char *w, size_t len)
{
    return textenc_vocab_add(ud, w, len, 1, NULL);
}

void textenc_vocab_done(textenc_vocab *v)
{
    if (!v)
        return;
    mem_free(v->arena);
    mem_free(v->woff);
    mem_free(v->count);
    hmap_done(&v->ids);
    memset(v, 0, sizeof *v);
}

/* ---- int8 rows ------------------------------------------------------------------ */

void textenc_q8_row(const float *v, size_t dim, float *scale, int8_t *q)
{
    float m = 0;
    for (size_t i = 0; i < dim; i++)
        m = fmaxf(m, fabsf(v[i]));
    *scale = m;
    for (size_t i = 0; i < dim; i++)
        q[i] = m > 0 ? (int8_t)lrintf(v[i] / m * 127.0f) : 0;
}

static void dq8(const int8_t *q, float scale, size_t dim, float *out)
{
    float s = scale / 127.0f;
    for (size_t i = 0; i < dim; i++)
        out[i] = (float)q[i] * s;
}

/* ---- the words file ------------------------------------------------------------ */

#define TW_MAGIC "EMBLWORD"
#define TW_VERSION 1u
#define TW_HEADER 120   /* 8 + 6 * 4 + 2 * 8 + 64 + 8 (pad) */
#define TW_MAX_DIM 1024u
#define TW_MAX_ROWS (1u << 24)

static size_t pad8(size_t n) { return (n + 7) & ~(size_t)7; }

/* Bytes of one quantised section of n rows. */
static size_t q8_bytes(size_t n, size_t dim) { return pad8(n * 4) + pad8(n * dim); }

void textenc_words_in(const textenc_words *w, int32_t id, float *out)
{
    dq8(w->in + (size_t)id * w->dim, w->in_scale[id], w->dim, out);
}

void textenc_words_vec(const textenc_words *w, int32_t id, float *out, float *tmp)
{
    textenc_words_in(w, id, out);
    textenc_words_out(w, id, tmp);
    for (size_t i = 0; i < w->dim; i++)
        out[i] += tmp[i];
}

void textenc_words_out(const textenc_words *w, int32_t id, float *out)
{
    dq8(w->out + (size_t)id * w->dim, w->out_scale[id], w->dim, out);
}

size_t textenc_words_subword(const textenc_words *w, const char *s, size_t len, float *out,
                             float *tmp)
{
    uint32_t g[TEXTENC_MAX_NGRAMS];
    size_t n = textenc_ngrams(s, len, (int)w->minn, (int)w->maxn, w->n_buckets, g,
                              TEXTENC_MAX_NGRAMS);
    memset(out, 0, w->dim * sizeof *out);
    for (size_t k = 0; k < n; k++) {
        dq8(w->bucket + (size_t)g[k] * w->dim, w->bucket_scale[g[k]], w->dim, tmp);
        for (size_t i = 0; i < w->dim; i++)
            out[i] += tmp[i];
    }
    if (n)
        for (size_t i = 0; i < w->dim; i++)
            out[i] /= (float)n;
    return n;
}

void textenc_words_free(textenc_words *w)
{
    if (!w)
        return;
    textenc_vocab_done(&w->vocab);
    mem_free(w->buf);
    mem_free(w);
}

static uint32_t rd32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

static uint64_t rd64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

textenc_words *textenc_words_parse(void *buf, size_t len, err *e)
{
    textenc_words *w = mem_calloc(1, sizeof *w);
    const uint8_t *p = buf;
    uint64_t alen, need, pos;
    size_t D;

    if (!w) {
        mem_free(buf);
        err_set(e, ERR_NOMEM, "out of memory");
        return NULL;
    }
    w->buf = buf;
    w->len = len;
    if (len < TW_HEADER + 8 || memcmp(p, TW_MAGIC, 8) != 0) {
        err_set(e, ERR_PARSE, "not an embedlab words file (no EMBLWORD header)");
        goto fail;
    }
    if (rd32(p + 8) != TW_VERSION) {
        err_set(e, ERR_UNSUPPORTED, "words file version %u (this build reads %u)", rd32(p + 8),
                TW_VERSION);
        goto fail;
    }
    w->dim = rd32(p + 12);
    w->n_words = rd32(p + 16);
    w->n_buckets = rd32(p + 20);
    w->minn = rd32(p + 24);
    w->maxn = rd32(p + 28);
    w->total = rd64(p + 32);
    alen = rd64(p + 40);
    memcpy(w->sources, p + 48, sizeof w->sources);
    w->sources[sizeof w->sources - 1] = '\0';
    if (w->dim < 1 || w->dim > TW_MAX_DIM || w->n_words < 1 || w->n_words > TW_MAX_ROWS ||
        w->n_buckets > TW_MAX_ROWS || w->minn < 1 || w->maxn < w->minn || w->maxn > 16 ||
        alen > len || alen < 2 * (uint64_t)w->n_words || w->total < w->n_words) {
        err_set(e, ERR_PARSE, "words file: header out of range (dim %u, %u words, %u buckets)",
                w->dim, w->n_words, w->n_buckets);
        goto fail;
    }
    D = w->dim;
    /* sizes in 64 bits: n_words, n_buckets < 2^24 and dim <= 1024 cannot overflow */
    need = TW_HEADER + pad8(alen) + 8 * (uint64_t)w->n_words + pad8((size_t)w->n_words * 4) +
           2 * q8_bytes(w->n_words, D) +
           q8_bytes(w->n_buckets, D) + 8;
    if (need != len) {
        err_set(e, ERR_PARSE, "words file: %zu bytes, the header describes %llu", len,
                (unsigned long long)need);
        goto fail;
    }
    if (textenc_fnv1a64(TEXTENC_FNV64_INIT, p, len - 8) != rd64(p + len - 8)) {
        err_set(e, ERR_PARSE, "words file: checksum mismatch (truncated or corrupted)");
        goto fail;
    }
    w->digest = rd64(p + len - 8);
    pos = TW_HEADER;
    {
        const char *arena = (const char *)p + pos;
        size_t at = 0;
        for (uint32_t i = 0; i < w->n_words; i++) {
            const char *z = at < alen ? memchr(arena + at, '\0', alen - at) : NULL;
            int32_t id;
            int rc;
            if (!z || z == arena + at) {
                err_set(e, ERR_PARSE, "words file: word %u is empty or unterminated", i);
                goto fail;
            }
            if ((rc = textenc_vocab_add(&w->vocab, arena + at, (size_t)(z - arena - at), 0, &id))) {
                err_set(e, -rc, "words file: %s", err_name(-rc));
                goto fail;
            }
            if ((uint32_t)id != i) {
                err_set(e, ERR_PARSE, "words file: word %u repeats an earlier word", i);
                goto fail;
            }
            at = (size_t)(z - arena) + 1;
        }
        if (at != alen) {
            err_set(e, ERR_PARSE, "words file: %llu bytes after the last word",
                    (unsigned long long)(alen - at));
            goto fail;
        }
    }
    pos += pad8(alen);
    w->vocab.total = 0;
    for (uint32_t i = 0; i < w->n_words; i++) {
        uint64_t c = rd64(p + pos + 8 * (size_t)i);
        if (c == 0 || c > w->total) {
            err_set(e, ERR_PARSE, "words file: word %u has count %llu", i, (unsigned long long)c);
            goto fail;
        }
        w->vocab.count[i] = c;
        w->vocab.total += c;
    }
    if (w->vocab.total > w->total) {
        err_set(e, ERR_PARSE, "words file: counts exceed the corpus total");
        goto fail;
    }
    pos += 8 * (uint64_t)w->n_words;
    w->lemma = (const uint32_t *)(p + pos);
    for (uint32_t i = 0; i < w->n_words; i++)
        if (w->lemma[i] >= w->n_words || w->lemma[w->lemma[i]] != w->lemma[i]) {
            err_set(e, ERR_PARSE, "words file: word %u has a bad lemma", i);
            goto fail;
        }
    pos += pad8((size_t)w->n_words * 4);
    /* float sections start 8-aligned in a buffer from mem_alloc (16-aligned) */
    w->in_scale = (const float *)(p + pos);
    w->in = (const int8_t *)(p + pos + pad8((size_t)w->n_words * 4));
    pos += q8_bytes(w->n_words, D);
    w->out_scale = (const float *)(p + pos);
    w->out = (const int8_t *)(p + pos + pad8((size_t)w->n_words * 4));
    pos += q8_bytes(w->n_words, D);
    w->bucket_scale = (const float *)(p + pos);
    w->bucket = (const int8_t *)(p + pos + pad8((size_t)w->n_buckets * 4));
    for (uint32_t i = 0; i < w->n_words; i++)
        if (!isfinite(w->in_scale[i]) || w->in_scale[i] < 0 || !isfinite(w->out_scale[i]) ||
            w->out_scale[i] < 0) {
            err_set(e, ERR_PARSE, "words file: row %u has a bad scale", i);
            goto fail;
        }
    for (uint32_t i = 0; i < w->n_buckets; i++)
        if (!isfinite(w->bucket_scale[i]) || w->bucket_scale[i] < 0) {
            err_set(e, ERR_PARSE, "words file: bucket %u has a bad scale", i);
            goto fail;
        }
    return w;
fail:
    textenc_words_free(w);
    return NULL;
}

textenc_words *textenc_words_load(const char *path, err *e)
{
    FILE *f = fopen(path, "rb");
    struct stat st;
    uint8_t *buf = NULL;
    textenc_words *w;

    if (!f) {
        err_set(e, ERR_IO, "%s: %s", path, strerror(errno));
        return NULL;
    }
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode) || st.st_size <= 0 ||
        (uint64_t)st.st_size > ((uint64_t)1 << 34)) {
        fclose(f);
        err_set(e, ERR_IO, "%s: not a regular file of a plausible size", path);
        return NULL;
    }
    if (!(buf = mem_alloc((size_t)st.st_size))) {
        fclose(f);
        err_set(e, ERR_NOMEM, "%s: out of memory for %lld bytes", path, (long long)st.st_size);
        return NULL;
    }
    if (fread(buf, 1, (size_t)st.st_size, f) != (size_t)st.st_size) {
        fclose(f);
        mem_free(buf);
        err_set(e, ERR_IO, "%s: short read", path);
        return NULL;
    }
    fclose(f);
    w = textenc_words_parse(buf, (size_t)st.st_size, e);
    if (!w)
        err_prefix(e, "%s", path);
    return w;
}

/* ---- writing ---------------------------------------------------------------------- */

typedef struct wout {
    FILE *f;
    uint64_t h;
    int fail;
} wout;

static void wr(wout *o, const void *p, size_t n)
{
    if (o->fail || (n && fwrite(p, 1, n, o->f) != n)) {
        o->fail = 1;
        return;
    }
    o->h = textenc_fnv1a64(o->h, p, n);
}

static void wr_pad(wout *o, size_t n)
{
    static const uint8_t z[8];
    if (pad8(n) > n)
        wr(o, z, pad8(n) - n);
}

static void wr32(wout *o, uint32_t v) { wr(o, &v, 4); }
static void wr64(wout *o, uint64_t v) { wr(o, &v, 8); }

/* One quantised section: n rows of `rows` (floats). */
static int wr_q8(wout *o, const float *rows, size_t n, size_t dim)
{
    float *scale = mem_array(n ? n : 1, sizeof *scale);
    int8_t *q = mem_array(n * dim > 0 ? n * dim : 1, 1);
    if (!scale || !q) {
        mem_free(scale);
        mem_free(q);
        return -ERR_NOMEM;
    }
    for (size_t i = 0; i < n; i++)
        textenc_q8_row(rows + i * dim, dim, scale + i, q + i * dim);
    wr(o, scale, n * 4);
    wr_pad(o, n * 4);
    wr(o, q, n * dim);
    wr_pad(o, n * dim);
    mem_free(scale);
    mem_free(q);
    return 0;
}

int textenc_words_write(const char *path, const textenc_vocab *v, const int32_t *lemma,
                        size_t dim, const float *in,
                        const float *out, const float *buckets, uint32_t n_buckets, int minn,
                        int maxn, uint64_t total, const char *sources, err *e)
{
    char tmp[4200], src[64] = {0};
    wout o = {NULL, TEXTENC_FNV64_INIT, 0};
    int rc = 0;

    if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp)
        return err_set(e, ERR_RANGE, "%s: path too long", path);
    if (!(o.f = fopen(tmp, "wb")))
        return err_set(e, ERR_IO, "%s: %s", tmp, strerror(errno));
    snprintf(src, sizeof src, "%s", sources ? sources : "");
    wr(&o, TW_MAGIC, 8);
    wr32(&o, TW_VERSION);
    wr32(&o, (uint32_t)dim);
    wr32(&o, (uint32_t)v->n);
    wr32(&o, n_buckets);
    wr32(&o, (uint32_t)minn);
    wr32(&o, (uint32_t)maxn);
    wr64(&o, total);
    wr64(&o, v->arena_len);
    wr(&o, src, sizeof src);
    wr64(&o, 0);
    wr(&o, v->arena, v->arena_len);
    wr_pad(&o, v->arena_len);
    wr(&o, v->count, v->n * 8);
    wr(&o, lemma, v->n * 4);
    wr_pad(&o, v->n * 4);
    if ((rc = wr_q8(&o, in, v->n, dim)) || (rc = wr_q8(&o, out, v->n, dim)) ||
        (rc = wr_q8(&o, buckets, n_buckets, dim))) {
        fclose(o.f);
        remove(tmp);
        return err_set(e, -rc, "writing %s: out of memory", path);
    }
    {
        uint64_t h = o.h;
        wr64(&o, h);
    }
    if (fclose(o.f) != 0)
        o.fail = 1;
    if (o.fail || rename(tmp, path) != 0) {
        remove(tmp);
        return err_set(e, ERR_IO, "writing %s: %s", path, strerror(errno));
    }
    return 0;
}
