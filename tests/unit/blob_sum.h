/* blob_sum.h - the index blob checksum, as documented in src/index/index.c:
 * multiply-xorshift over 8-byte words with the FNV-1a constants, then the
 * byte tail, xor the length.  Tests and fuzzers use it to forge blobs whose
 * structure, not checksum, is wrong. */
#ifndef EMBEDLAB_TEST_BLOB_SUM_H
#define EMBEDLAB_TEST_BLOB_SUM_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

static inline uint64_t blob_sum(const uint8_t *p, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ull;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, p + i, 8);
        h = (h ^ w) * 0x100000001b3ull;
        h ^= h >> 29;
    }
    for (; i < n; i++)
        h = (h ^ p[i]) * 0x100000001b3ull;
    return h ^ (uint64_t)n;
}

#endif
