/* safetensors.c - mmap loader for safetensors files (see safetensors.h).
 *
 * Design: map the whole file read-only, parse the header with cJSON, validate
 * every entry against the file size before anything points into the mapping,
 * then sort entries by offset to reject overlaps in one pass.  F32 tensors are
 * used in place; F16/BF16 ones are widened on first use into buffers the file
 * owns.  Spec: github.com/huggingface/safetensors (README, "Format").
 */
#include "safetensors.h"
#include "mem.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* The reference implementation refuses headers over 100 MB; so do we. */
#define ST_MAX_HEADER (100u * 1024 * 1024)

struct st_file {
    char *path;
    const uint8_t *map;      /* whole file, PROT_READ */
    size_t map_len;
    const uint8_t *data;     /* start of the data region */
    size_t data_len;
    size_t n;
    st_tensor *t;            /* n entries, names owned */
    float **conv;            /* n lazily converted copies (or NULL) */
};

const char *st_dtype_name(st_dtype d)
{
    switch (d) {
    case ST_F32: return "F32";
    case ST_F16: return "F16";
    case ST_BF16: return "BF16";
    }
    return "?";
}

static size_t dtype_size(st_dtype d) { return d == ST_F32 ? 4 : 2; }

float st_bf16_to_f32(uint16_t h)
{
    uint32_t u = (uint32_t)h << 16;
    float f;
    memcpy(&f, &u, 4);
    return f;
}

float st_f16_to_f32(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000) << 16, exp = (h >> 10) & 0x1f, man = h & 0x3ff, u;
    float f;

    if (exp == 0x1f) {
        u = sign | 0x7f800000u | (man << 13);          /* inf / nan */
    } else if (exp != 0) {
        u = sign | ((exp + 112) << 23) | (man << 13);  /* rebias 15 -> 127 */
    } else if (man == 0) {
        u = sign;
    } else {                                           /* subnormal: normalise */
        int e = -1;
        do {
            e++;
            man <<= 1;
        } while (!(man & 0x400));
        u = sign | ((uint32_t)(112 - e) << 23) | ((man & 0x3ff) << 13);
    }
    memcpy(&f, &u, 4);
    return f;
}

static int parse_dtype(const char *s, st_dtype *out)
{
    if (strcmp(s, "F32") == 0)
        *out = ST_F32;
    else if (strcmp(s, "F16") == 0)
        *out = ST_F16;
    else if (strcmp(s, "BF16") == 0)
        *out = ST_BF16;
    else
        return -1;
    return 0;
}

/* A JSON number that is a non-negative integer representable exactly
 * (doubles hold integers exactly up to 2^53). */
static int json_uint(const cJSON *j, uint64_t *out)
{
    double v;

    if (!cJSON_IsNumber(j))
        return -1;
    v = j->valuedouble;
    if (!(v >= 0) || v > 9007199254740992.0 || v != (double)(uint64_t)v)
        return -1;
    *out = (uint64_t)v;
    return 0;
}

static int entry_parse(st_file *f, const cJSON *j, st_tensor *t, size_t *begin, err *e)
{
    const cJSON *dt = cJSON_GetObjectItemCaseSensitive(j, "dtype");
    const cJSON *sh = cJSON_GetObjectItemCaseSensitive(j, "shape");
    const cJSON *of = cJSON_GetObjectItemCaseSensitive(j, "data_offsets");
    uint64_t b, en, n_elem = 1;
    int n_dim;

    if (!cJSON_IsObject(j))
        return err_set(e, ERR_PARSE, "%s: tensor '%s': entry is not an object", f->path, t->name);
    if (!cJSON_IsString(dt) || parse_dtype(dt->valuestring, &t->dtype) != 0)
        return err_set(e, ERR_PARSE, "%s: tensor '%s': unsupported dtype %s (want F32, F16 or BF16)",
                       f->path, t->name, cJSON_IsString(dt) ? dt->valuestring : "(missing)");
    if (!cJSON_IsArray(sh))
        return err_set(e, ERR_PARSE, "%s: tensor '%s': shape missing or not an array", f->path, t->name);
    n_dim = cJSON_GetArraySize(sh);
    if (n_dim > ST_MAX_DIM)
        return err_set(e, ERR_PARSE, "%s: tensor '%s': %d dims (at most %d)", f->path, t->name,
                       n_dim, ST_MAX_DIM);
    t->n_dim = n_dim;
    for (int i = 0; i < n_dim; i++) {
        uint64_t d;
        if (json_uint(cJSON_GetArrayItem(sh, i), &d) != 0)
            return err_set(e, ERR_PARSE, "%s: tensor '%s': shape[%d] is not a non-negative integer",
                           f->path, t->name, i);
        /* Checked product: a lying header must not wrap around. */
        if (d && n_elem > UINT64_MAX / 8 / d)
            return err_set(e, ERR_PARSE, "%s: tensor '%s': shape product overflows", f->path, t->name);
        n_elem *= d;
        t->shape[i] = (int64_t)d;
    }
    if (!cJSON_IsArray(of) || cJSON_GetArraySize(of) != 2 ||
        json_uint(cJSON_GetArrayItem(of, 0), &b) != 0 ||
        json_uint(cJSON_GetArrayItem(of, 1), &en) != 0)
        return err_set(e, ERR_PARSE, "%s: tensor '%s': data_offsets must be [begin, end]",
                       f->path, t->name);
    if (b > en || en > f->data_len)
        return err_set(e, ERR_PARSE,
                       "%s: tensor '%s': data_offsets [%llu, %llu] outside the data region (%zu bytes)",
                       f->path, t->name, (unsigned long long)b, (unsigned long long)en, f->data_len);
    if (n_elem * dtype_size(t->dtype) != en - b)
        return err_set(e, ERR_PARSE,
                       "%s: tensor '%s': shape needs %llu bytes of %s but data_offsets span %llu",
                       f->path, t->name, (unsigned long long)(n_elem * dtype_size(t->dtype)),
                       st_dtype_name(t->dtype), (unsigned long long)(en - b));
    t->n_elem = (size_t)n_elem;
    t->nbytes = (size_t)(en - b);
    t->data = f->data + b;
    *begin = (size_t)b;
    return 0;
}

typedef struct span { size_t begin, end, idx; } span;

static int span_cmp(const void *a, const void *b)
{
    const span *x = a, *y = b;
    if (x->begin != y->begin)
        return x->begin < y->begin ? -1 : 1;
    return x->end < y->end ? -1 : x->end > y->end;
}

static int header_parse(st_file *f, const char *json, size_t len, err *e)
{
    cJSON *root = cJSON_ParseWithLength(json, len);
    span *sp = NULL;
    int rc = 0;
    size_t n = 0;

    if (!root)
        return err_set(e, ERR_PARSE, "%s: header is not valid JSON", f->path);
    if (!cJSON_IsObject(root)) {
        rc = err_set(e, ERR_PARSE, "%s: header is not a JSON object", f->path);
        goto out;
    }
    for (cJSON *c = root->child; c; c = c->next)
        if (strcmp(c->string, "__metadata__") != 0)
            n++;
    f->t = mem_calloc(n ? n : 1, sizeof *f->t);
    f->conv = mem_calloc(n ? n : 1, sizeof *f->conv);
    sp = mem_array(n ? n : 1, sizeof *sp);
    if (!f->t || !f->conv || !sp) {
        rc = err_set(e, ERR_NOMEM, "%s: out of memory for %zu tensors", f->path, n);
        goto out;
    }
    for (cJSON *c = root->child; c; c = c->next) {
        st_tensor *t;
        if (strcmp(c->string, "__metadata__") == 0)
            continue;
        t = &f->t[f->n];
        t->name = mem_strdup(c->string);
        if (!t->name) {
            rc = err_set(e, ERR_NOMEM, "%s: out of memory", f->path);
            goto out;
        }
        f->n++;
        for (size_t i = 0; i + 1 < f->n; i++)
            if (strcmp(f->t[i].name, t->name) == 0) {
                rc = err_set(e, ERR_PARSE, "%s: tensor '%s' appears twice", f->path, t->name);
                goto out;
            }
        rc = entry_parse(f, c, t, &sp[f->n - 1].begin, e);
        if (rc)
            goto out;
        sp[f->n - 1].end = sp[f->n - 1].begin + t->nbytes;
        sp[f->n - 1].idx = f->n - 1;
    }
    /* Sorted by begin, a tensor overlaps an earlier one iff it starts before
     * the furthest end seen so far (empty tensors overlap nothing). */
    qsort(sp, f->n, sizeof *sp, span_cmp);
    for (size_t i = 0, far = 0, far_i = 0; i < f->n; i++) {
        if (sp[i].end > sp[i].begin && sp[i].begin < far) {
            rc = err_set(e, ERR_PARSE, "%s: tensors '%s' and '%s' overlap", f->path,
                         f->t[sp[far_i].idx].name, f->t[sp[i].idx].name);
            goto out;
        }
        if (sp[i].end > far) {
            far = sp[i].end;
            far_i = i;
        }
    }
out:
    mem_free(sp);
    cJSON_Delete(root);
    return rc;
}

st_file *st_open(const char *path, err *e)
{
    st_file *f = mem_calloc(1, sizeof *f);
    struct stat stt;
    uint64_t hlen = 0;
    int fd = -1;

    if (!f || !(f->path = mem_strdup(path))) {
        err_set(e, ERR_NOMEM, "%s: out of memory", path);
        goto fail;
    }
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        err_set(e, errno == ENOENT ? ERR_NOTFOUND : ERR_IO, "%s: %s", path, strerror(errno));
        goto fail;
    }
    if (fstat(fd, &stt) != 0 || !S_ISREG(stt.st_mode)) {
        err_set(e, ERR_IO, "%s: not a regular file", path);
        goto fail;
    }
    if ((uint64_t)stt.st_size < 8) {
        err_set(e, ERR_PARSE, "%s: truncated: %lld bytes, no 8-byte header length", path,
                (long long)stt.st_size);
        goto fail;
    }
    f->map_len = (size_t)stt.st_size;
    f->map = mmap(NULL, f->map_len, PROT_READ, MAP_PRIVATE, fd, 0);
    if (f->map == MAP_FAILED) {
        f->map = NULL;
        err_set(e, ERR_IO, "%s: mmap: %s", path, strerror(errno));
        goto fail;
    }
    close(fd);
    fd = -1;
    for (int i = 7; i >= 0; i--)
        hlen = (hlen << 8) | f->map[i];
    if (hlen > f->map_len - 8) {
        err_set(e, ERR_PARSE, "%s: header length %llu exceeds the file (%zu bytes): truncated or corrupt",
                path, (unsigned long long)hlen, f->map_len);
        goto fail;
    }
    if (hlen > ST_MAX_HEADER || hlen < 2) {
        err_set(e, ERR_PARSE, "%s: implausible header length %llu", path, (unsigned long long)hlen);
        goto fail;
    }
    f->data = f->map + 8 + hlen;
    f->data_len = f->map_len - 8 - (size_t)hlen;
    if (header_parse(f, (const char *)f->map + 8, (size_t)hlen, e) != 0)
        goto fail;
    return f;
fail:
    if (fd >= 0)
        close(fd);
    st_close(f);
    return NULL;
}

void st_close(st_file *f)
{
    if (!f)
        return;
    for (size_t i = 0; i < f->n; i++) {
        mem_free((void *)f->t[i].name);
        if (f->conv)
            mem_free(f->conv[i]);
    }
    mem_free(f->t);
    mem_free(f->conv);
    if (f->map)
        munmap((void *)f->map, f->map_len);
    mem_free(f->path);
    mem_free(f);
}

const char *st_path(const st_file *f) { return f->path; }
size_t st_count(const st_file *f) { return f->n; }
const st_tensor *st_at(const st_file *f, size_t i) { return i < f->n ? &f->t[i] : NULL; }

const st_tensor *st_find(const st_file *f, const char *name)
{
    for (size_t i = 0; i < f->n; i++)
        if (strcmp(f->t[i].name, name) == 0)
            return &f->t[i];
    return NULL;
}

const float *st_f32(st_file *f, const st_tensor *t, err *e)
{
    size_t i = (size_t)(t - f->t);
    const uint8_t *src = t->data;
    float *dst;

    if (t->dtype == ST_F32 && ((uintptr_t)src & 3) == 0)
        return (const float *)src;
    if (f->conv[i])
        return f->conv[i];
    dst = mem_aligned(64, t->n_elem * sizeof(float) + 64);
    if (!dst) {
        err_set(e, ERR_NOMEM, "%s: tensor '%s': out of memory converting %zu values", f->path,
                t->name, t->n_elem);
        return NULL;
    }
    /* Little-endian on disk; assemble bytes so the host order does not matter. */
    for (size_t k = 0; k < t->n_elem; k++) {
        if (t->dtype == ST_F32) {
            uint32_t u = (uint32_t)src[4 * k] | (uint32_t)src[4 * k + 1] << 8 |
                         (uint32_t)src[4 * k + 2] << 16 | (uint32_t)src[4 * k + 3] << 24;
            memcpy(&dst[k], &u, 4);
        } else {
            uint16_t h = (uint16_t)(src[2 * k] | src[2 * k + 1] << 8);
            dst[k] = t->dtype == ST_F16 ? st_f16_to_f32(h) : st_bf16_to_f32(h);
        }
    }
    f->conv[i] = dst;
    return dst;
}

static void shape_str(char *buf, size_t cap, int n_dim, const int64_t *shape)
{
    size_t o = 0;
    o += (size_t)snprintf(buf, cap, "[");
    for (int i = 0; i < n_dim && o < cap; i++)
        o += (size_t)snprintf(buf + o, cap - o, "%s%lld", i ? ", " : "", (long long)shape[i]);
    if (o < cap)
        snprintf(buf + o, cap - o, "]");
}

int st_check_shape(const st_file *f, const st_tensor *t, int n_dim, const int64_t *shape, err *e)
{
    char got[96], want[96];
    int ok = t->n_dim == n_dim;

    for (int i = 0; ok && i < n_dim; i++)
        ok = t->shape[i] == shape[i];
    if (ok)
        return 0;
    shape_str(got, sizeof got, t->n_dim, t->shape);
    shape_str(want, sizeof want, n_dim, shape);
    return err_set(e, ERR_PARSE, "%s: tensor '%s' has shape %s but config.json implies %s",
                   f->path, t->name, got, want);
}
