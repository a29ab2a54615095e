/* safetensors.h - read-only loader for the safetensors weight format.
 *
 * Format (huggingface/safetensors): u64 little-endian header length N, N bytes
 * of JSON {"name": {"dtype", "shape", "data_offsets": [begin, end]}, ...,
 * "__metadata__": {...}}, then the data region; offsets are relative to it.
 * The file is mmapped; nothing in the header is trusted: the length must fit
 * the file, dtypes are F32/F16/BF16 only, shape product * dtype size must equal
 * end - begin, offsets must lie in the data region and tensors may not
 * overlap.  Every failure is -ERR_PARSE naming the file and the tensor.
 */
#ifndef EMBEDLAB_SAFETENSORS_H
#define EMBEDLAB_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define ST_MAX_DIM 8

typedef enum st_dtype { ST_F32, ST_F16, ST_BF16 } st_dtype;

typedef struct st_tensor {
    const char *name;          /* owned by the file */
    st_dtype dtype;
    int n_dim;
    int64_t shape[ST_MAX_DIM];
    size_t n_elem;
    size_t nbytes;
    const void *data;          /* points into the read-only mapping */
} st_tensor;

typedef struct st_file st_file;

/* Maps and validates `path`.  NULL on failure with e set (ERR_IO, ERR_PARSE,
 * ERR_NOMEM). */
st_file *st_open(const char *path, err *e);
void st_close(st_file *f);                    /* NULL-safe; unmaps */

const char *st_path(const st_file *f);
size_t st_count(const st_file *f);
const st_tensor *st_at(const st_file *f, size_t i);       /* i < st_count */
const st_tensor *st_find(const st_file *f, const char *name);  /* or NULL */
const char *st_dtype_name(st_dtype d);

/* The tensor as float32: a pointer into the mapping when it is stored as
 * aligned F32, otherwise a converted copy owned by the file (F16 and BF16 are
 * widened exactly).  Valid until st_close.  NULL with ERR_NOMEM. */
const float *st_f32(st_file *f, const st_tensor *t, err *e);

/* Checks that `t` has exactly the n_dim dims in `shape`; -ERR_PARSE naming
 * the file, the tensor, the found and the expected shape otherwise. */
int st_check_shape(const st_file *f, const st_tensor *t, int n_dim,
                   const int64_t *shape, err *e);

/* Conversions (exposed for the tests and the bf16 path). */
float st_f16_to_f32(uint16_t h);
float st_bf16_to_f32(uint16_t h);

#endif
