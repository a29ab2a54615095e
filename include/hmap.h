/* hmap.h - the engine's one hash map: string or int64 keys -> int64 values.
 *
 * Open addressing, linear probing, load <= 1/2, power-of-two size.  An int64
 * map's slots are {key, value} pairs: a lookup that hits reads one slot.  A
 * string map's slots are 8 bytes: 32 bits of the key's hash and where its
 * record lies in the map's arena (value, length, the bytes, NUL), so the
 * table stays small, a probe rarely reads a key that does not match, and
 * growing never reads a key at all.  String keys are any bytes with a length.
 *
 * A map holds either string keys or int64 keys, never both.  There is no
 * deletion: no caller needs it.  All memory comes from mem.h; a call that
 * fails leaves the map as it was.  Lookups only read, so any number of
 * threads may look up while nobody adds.
 *
 *     hmap m = {0};                               (or hmap_init(&m))
 *     if (!hmap_add_str(&m, "P1", 2, rowid, NULL)) -> out of memory
 *     int64_t *v = hmap_get_str(&m, "P1", 2);     (NULL when absent)
 *     hmap_done(&m);
 */
#ifndef EMBEDLAB_HMAP_H
#define EMBEDLAB_HMAP_H

#include <stddef.h>
#include <stdint.h>

typedef struct hmap_slot {
    uint64_t k;             /* the key; 0 marks an empty slot */
    int64_t v;
} hmap_slot;

typedef struct hmap {
    size_t cap, n;          /* slots (0 or a power of two), keys */
    hmap_slot *slot;        /* int64 keys */
    int has_zero;           /* int64 keys: key 0 lives here, beside the table */
    int64_t zero_v;
    uint64_t *ref;          /* string keys: hash tag << 32 | record offset / 8; 0 = empty */
    char *arena;            /* string keys: records of int64 value, u32 length, bytes, NUL */
    size_t arena_len, arena_cap;
} hmap;

/* The most string keys a map holds (its slots are placed by 32 hash bits). */
#define HMAP_MAX_STR ((size_t)INT32_MAX)

void hmap_init(hmap *m);    /* the same as `hmap m = {0}` */
void hmap_done(hmap *m);    /* frees everything; the map is empty and usable again */

/* Makes room for n keys in all (string keys: of key_bytes bytes in all), so
 * adding up to that allocates nothing.  0 or -ERR_NOMEM. */
int hmap_reserve_i64(hmap *m, size_t n);
int hmap_reserve_str(hmap *m, size_t n, size_t key_bytes);

/* The value of key, or NULL when absent.  The address is valid (and the
 * value may be changed through it) until the next add. */
int64_t *hmap_get_i64(const hmap *m, int64_t key);
int64_t *hmap_get_str(const hmap *m, const char *key, size_t len);

/* Adds key with value val unless it is there (then its value is kept);
 * *added (may be NULL) says which.  Returns the address of the key's value,
 * valid until the next add, or NULL when out of memory (map unchanged).
 * A string key must not point into the map. */
int64_t *hmap_add_i64(hmap *m, int64_t key, int64_t val, int *added);
int64_t *hmap_add_str(hmap *m, const char *key, size_t len, int64_t val, int *added);

/* Visits every key once, in no particular order; returns the address of
 * its value (which may be changed), or NULL when done:
 *     size_t it = 0;  int64_t key, *v;
 *     while ((v = hmap_next_i64(m, &it, &key))) ...
 * key/len may be NULL.  No adds while visiting. */
int64_t *hmap_next_i64(const hmap *m, size_t *it, int64_t *key);
int64_t *hmap_next_str(const hmap *m, size_t *it, const char **key, size_t *len);

/* Bytes the map holds (table and key arena). */
size_t hmap_mem(const hmap *m);

static inline size_t hmap_count(const hmap *m) { return m->n; }

#endif
