/* cmd_int.h - shared by the command files in src/app (not a public API).
 *
 * Each area keeps its commands in its own file (cmd_data.c, ...) and
 * exports a NULL-terminated cmd_def array that cmd.c lists.  Arguments are
 * parsed once into cmd_args: positional words, key=value pairs, and flags.
 * `--key value`, `--key=value` and `key=value` are the same thing for keys
 * a command declares with a trailing '=' in its params string.
 */
#ifndef EMBEDLAB_CMD_INT_H
#define EMBEDLAB_CMD_INT_H

#include "cmd.h"
#include "lab_int.h"

#define CMD_MAX_ARGS 64

typedef struct cmd_args {
    const char *cmd;                 /* the command's name */
    int argc;                        /* positional words */
    char *argv[CMD_MAX_ARGS];
    int n_kv;                        /* key=value pairs and flags (value NULL) */
    char *key[CMD_MAX_ARGS];
    char *val[CMD_MAX_ARGS];
} cmd_args;

typedef int (*cmd_fn)(lab *L, const cmd_args *a, table_list *out, err *e);

typedef struct cmd_def {
    const char *name;     /* one or two words: "load catalog" */
    cmd_fn fn;
    const char *usage;    /* "load catalog FILE [--format csv|tsv|jsonl] [--skip-bad]" */
    const char *help;     /* one paragraph */
    const char *params;   /* accepted keys: "format= skip-bad"; '*=' accepts any key=value */
    int min_pos, max_pos; /* positional argument count bounds (-1: no max) */
} cmd_def;

extern const cmd_def cmd_defs_core[];
extern const cmd_def cmd_defs_data[];
extern const cmd_def cmd_defs_rec[];
extern const cmd_def cmd_defs_model[];
extern const cmd_def cmd_defs_index[];
extern const cmd_def cmd_defs_eval[];
extern const cmd_def cmd_defs_text[];

/* Argument helpers: return 0 or -ERR_USAGE with a message naming the key. */
const char *cmd_str(const cmd_args *a, const char *key, const char *def);
int cmd_flag(const cmd_args *a, const char *key);
int cmd_long(const cmd_args *a, const char *key, long def, long min, long max, long *out, err *e);
int cmd_double(const cmd_args *a, const char *key, double def, double min, double max,
               double *out, err *e);
/* One of a set of words ("csv|tsv|jsonl"); *out is the index. */
int cmd_choice(const cmd_args *a, const char *key, const char *choices, int def, int *out,
               err *e);

struct rec_list;
struct rec_models;
struct rec_query;
/* Appends one recommender's list as a "similar" table (cmd_rec.c). */
int cmd_rec_table(lab *L, table_list *out, int method, const struct rec_list *rl, err *e);
/* The three lists (Item2Vec, LLM, Hybrid) for q, with a's item filters. */
int cmd_rec_panes(lab *L, const struct rec_models *ms, const struct rec_query *q,
                  const cmd_args *a, size_t k, table_list *out, err *e);

/* Item filters: category=, title= (a word of it) and any attribute=value of
 * the attrs JSON.  cmd_item_matches tests one catalog row (cmd_data.c);
 * cmd_item_filter returns a per-row bitmap (caller frees with mem_free), or
 * NULL in *rows when a has no filter; 0 or -ERR_NOMEM. */
int cmd_item_matches(const store_catalog *c, size_t r, const cmd_args *a);
int cmd_item_filter(lab *L, const cmd_args *a, uint8_t **rows, err *e);

/* After model `model` was saved again as version `to` with the same encoder
 * (delete item), the stored builtin text encoder of version `from` follows
 * it (cmd_text.c); nothing for other models.  0 or a negative ERR_*. */
int cmd_text_encoder_follow(lab *L, const char *model, int64_t from, int64_t to, err *e);

/* Output helpers */
table *cmd_table(table_list *out, const char *title);   /* NULL = OOM */
int cmd_nomem(err *e);

#endif
