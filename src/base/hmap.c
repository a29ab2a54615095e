/* hmap.c - string/int64 hash map (see hmap.h).
 *
 * Slot key 0 marks an empty slot.  An int64 map keeps key 0 itself beside
 * the table (has_zero, zero_v).  A string slot (ref) is never 0 because
 * arena records start at offset 8; its home is its tag & (cap - 1) and the
 * table never exceeds 2^32 slots (HMAP_MAX_STR), so growing re-places string
 * slots from their tags alone.
 */
#include "hmap.h"

#include <string.h>

#include "err.h"
#include "mem.h"

/* splitmix64's finaliser: every key bit reaches every hash bit. */
static uint64_t hash_i64(int64_t key)
{
    uint64_t z = (uint64_t)key + 0x9e3779b97f4a7c15ull;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* 8 bytes a step with a multiply-xorshift mix, then a full avalanche: keys
 * are short (ids, tokens), so this beats a byte-wise FNV by a wide margin. */
static uint32_t hash_str(const char *k, size_t len)
{
    uint64_t h = 0x9E3779B97F4A7C15ull ^ (len * 0xff51afd7ed558ccdull), w;
    size_t i = 0;

    for (; i + 8 <= len; i += 8) {
        memcpy(&w, k + i, 8);
        h = (h ^ w) * 0xbf58476d1ce4e5b9ull;
        h ^= h >> 31;
    }
    if (i < len) {
        w = 0;
        memcpy(&w, k + i, len - i);
        h = (h ^ w) * 0xbf58476d1ce4e5b9ull;
    }
    h ^= h >> 33;
    h *= 0x94d049bb133111ebull;
    h ^= h >> 29;
    return (uint32_t)h;
}

void hmap_init(hmap *m) { memset(m, 0, sizeof *m); }

void hmap_done(hmap *m)
{
    mem_free(m->slot);
    mem_free(m->ref);
    mem_free(m->arena);
    memset(m, 0, sizeof *m);
}

size_t hmap_mem(const hmap *m)
{
    return m->cap * (m->ref ? sizeof *m->ref : sizeof *m->slot) + m->arena_cap;
}

/* Grows the table (ref for string keys, slot for int64 keys) to hold n keys
 * at load <= 1/2.  Clearing the new table in order faults its pages in far
 * faster than the random first touches of the inserts would. */
static int grow(hmap *m, size_t n, int str)
{
    size_t size = str ? sizeof *m->ref : sizeof *m->slot, cap = m->cap ? m->cap : 16, mask;
    void *t;

    if (str && n > HMAP_MAX_STR)
        return -ERR_NOMEM;
    while (cap / 2 < n) {
        if (cap > SIZE_MAX / 2 / size)
            return -ERR_NOMEM;
        cap *= 2;
    }
    if (cap == m->cap)
        return 0;
    if (!(t = mem_array(cap, size)))
        return -ERR_NOMEM;
    memset(t, 0, cap * size);
    mask = cap - 1;
    for (size_t j = 0; j < m->cap; j++) {
        uint64_t k = str ? m->ref[j] : m->slot[j].k;
        size_t i;
        if (!k)
            continue;
        i = (size_t)(str ? k >> 32 : hash_i64((int64_t)k)) & mask;
        if (str) {
            uint64_t *r = t;
            while (r[i])
                i = (i + 1) & mask;
            r[i] = k;
        } else {
            hmap_slot *sl = t;
            while (sl[i].k)
                i = (i + 1) & mask;
            sl[i] = m->slot[j];
        }
    }
    if (str) {
        mem_free(m->ref);
        m->ref = t;
    } else {
        mem_free(m->slot);
        m->slot = t;
    }
    m->cap = cap;
    return 0;
}

/* ---- int64 keys ------------------------------------------------------------ */

int hmap_reserve_i64(hmap *m, size_t n) { return grow(m, n, 0); }

int64_t *hmap_get_i64(const hmap *m, int64_t key)
{
    size_t mask = m->cap - 1, i;
    if (key == 0)
        return m->has_zero ? (int64_t *)&m->zero_v : NULL;
    if (!m->cap)
        return NULL;
    for (i = (size_t)hash_i64(key) & mask;; i = (i + 1) & mask) {
        if (m->slot[i].k == (uint64_t)key)
            return &m->slot[i].v;
        if (!m->slot[i].k)
            return NULL;
    }
}

int64_t *hmap_add_i64(hmap *m, int64_t key, int64_t val, int *added)
{
    hmap_slot *sl = m->slot;
    size_t mask = m->cap - 1, i;
    int add = 0;

    if (key == 0) {
        if (!m->has_zero) {
            m->has_zero = 1;
            m->zero_v = val;
            m->n++;
            add = 1;
        }
        if (added)
            *added = add;
        return &m->zero_v;
    }
    if (!m->cap || m->cap / 2 < m->n + 1) {
        /* full (or no table yet): a key that is there needs no room */
        int64_t *v = hmap_get_i64(m, key);
        if (v) {
            if (added)
                *added = 0;
            return v;
        }
        if (grow(m, m->n + 1, 0))
            return NULL;
        sl = m->slot;
        mask = m->cap - 1;
    }
    for (i = (size_t)hash_i64(key) & mask; sl[i].k; i = (i + 1) & mask)
        if (sl[i].k == (uint64_t)key)
            goto done;
    sl[i].k = (uint64_t)key;
    sl[i].v = val;
    m->n++;
    add = 1;
done:
    if (added)
        *added = add;
    return &sl[i].v;
}

int64_t *hmap_next_i64(const hmap *m, size_t *it, int64_t *key)
{
    while (*it < m->cap) {
        hmap_slot *s = &m->slot[(*it)++];
        if (s->k) {
            if (key)
                *key = (int64_t)s->k;
            return &s->v;
        }
    }
    if (*it == m->cap && m->has_zero) {
        (*it)++;
        if (key)
            *key = 0;
        return (int64_t *)&m->zero_v;
    }
    return NULL;
}

/* ---- string keys ------------------------------------------------------------ */

/* A record: int64 value, u32 length, the bytes, NUL; 8-aligned. */
#define REC_HEAD 12
static size_t record_len(size_t len) { return (REC_HEAD + len + 1 + 7) & ~(size_t)7; }

static char *record(const hmap *m, uint64_t ref) { return m->arena + (size_t)(uint32_t)ref * 8; }

/* Makes room for `more` arena bytes (exactly: no doubling when exact). */
static int arena_room(hmap *m, size_t more, int exact)
{
    size_t len = m->arena_len ? m->arena_len : 8;   /* offset 0 would make ref 0 */
    if (more > SIZE_MAX - len || (len + more) / 8 > UINT32_MAX)
        return -ERR_NOMEM;
    if (exact && len + more > m->arena_cap) {
        char *a = mem_realloc(m->arena, len + more);
        if (!a)
            return -ERR_NOMEM;
        m->arena = a;
        m->arena_cap = len + more;
    } else if (mem_grow(&m->arena, &m->arena_cap, len + more, 1)) {
        return -ERR_NOMEM;
    }
    m->arena_len = len;
    return 0;
}

int hmap_reserve_str(hmap *m, size_t n, size_t key_bytes)
{
    /* a record is at most its bytes + REC_HEAD + NUL + 7 of padding */
    if (n > HMAP_MAX_STR || key_bytes > SIZE_MAX - n * (REC_HEAD + 8) ||
        arena_room(m, key_bytes + n * (REC_HEAD + 8), 1))
        return -ERR_NOMEM;
    return grow(m, n, 1);
}

/* The slot holding key, or the empty slot where it would go (cap > 0). */
static size_t find_str(const hmap *m, uint32_t tag, const char *key, size_t len)
{
    size_t mask = m->cap - 1, i = tag & mask;
    for (;; i = (i + 1) & mask) {
        uint64_t r = m->ref[i];
        const char *rec;
        uint32_t kl;
        if (!r)
            return i;
        if ((uint32_t)(r >> 32) != tag)
            continue;
        rec = record(m, r);
        memcpy(&kl, rec + 8, 4);
        if (kl == len && memcmp(rec + REC_HEAD, key, len) == 0)
            return i;
    }
}

int64_t *hmap_get_str(const hmap *m, const char *key, size_t len)
{
    size_t i;
    if (!m->cap)
        return NULL;
    i = find_str(m, hash_str(key, len), key, len);
    return m->ref[i] ? (int64_t *)record(m, m->ref[i]) : NULL;
}

int64_t *hmap_add_str(hmap *m, const char *key, size_t len, int64_t val, int *added)
{
    uint32_t tag = hash_str(key, len), kl = (uint32_t)len;
    size_t i = 0, rec = record_len(len), off;
    char *r;

    if (added)
        *added = 0;
    if (m->cap) {
        i = find_str(m, tag, key, len);
        if (m->ref[i])
            return (int64_t *)record(m, m->ref[i]);
    }
    if (len > UINT32_MAX - 32 || arena_room(m, rec, 0))
        return NULL;
    if (!m->cap || m->cap / 2 < m->n + 1) {
        if (grow(m, m->n + 1, 1))
            return NULL;
        i = find_str(m, tag, key, len);
    }
    off = m->arena_len;
    r = m->arena + off;
    memcpy(r, &val, 8);
    memcpy(r + 8, &kl, 4);
    if (len)
        memcpy(r + REC_HEAD, key, len);
    memset(r + REC_HEAD + len, 0, rec - REC_HEAD - len);
    m->arena_len += rec;
    m->ref[i] = (uint64_t)tag << 32 | (uint64_t)(off / 8);
    m->n++;
    if (added)
        *added = 1;
    return (int64_t *)r;
}

int64_t *hmap_next_str(const hmap *m, size_t *it, const char **key, size_t *len)
{
    while (*it < m->cap) {
        uint64_t ref = m->ref[(*it)++];
        if (ref) {
            char *r = record(m, ref);
            uint32_t kl;
            memcpy(&kl, r + 8, 4);
            if (key)
                *key = r + REC_HEAD;
            if (len)
                *len = kl;
            return (int64_t *)r;
        }
    }
    return NULL;
}
