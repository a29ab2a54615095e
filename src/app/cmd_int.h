/* cmd_int.h - shared by the command files in src/app (not a public API).
 *
 * Each area keeps its commands in its own file (cmd_data.c, ...) and
 * exports a NULL-terminated cmd_def array that cmd.c lists.  A command
 * declares its parameters as option descriptors (opt.h): cmd.c checks every
 * key and value against them before the command runs, and builds the usage
 * line, `help`, completion and the "unknown parameter ... did you mean"
 * message from them.  Arguments are parsed once into cmd_args: positional
 * words, key=value pairs, and flags; `--key value`, `--key=value` and
 * `key=value` are the same thing.  A command then reads typed values with
 * cmd_opt_long & co.: thin commands parse, call the lab, fill a table.
 */
#ifndef EMBEDLAB_CMD_INT_H
#define EMBEDLAB_CMD_INT_H

#include "cmd.h"
#include "lab_int.h"
#include "opt.h"

#define CMD_MAX_ARGS 64

typedef struct cmd_args {
    const char *cmd;                 /* the command's name */
    int argc;                        /* positional words */
    char *argv[CMD_MAX_ARGS];
    int n_kv;                        /* key=value pairs and flags (value NULL) */
    char *key[CMD_MAX_ARGS];
    char *val[CMD_MAX_ARGS];
    unsigned char filt[CMD_MAX_ARGS]; /* 1: an item filter (category=, title=, ATTR=) */
    const struct cmd_def *def;       /* the command's definition */
} cmd_args;

/* A command: e and out are never NULL (cmd_exec sees to it), so `return
 * -e->code` after a lab_* call that set e is safe here. */
typedef int (*cmd_fn)(lab *L, const cmd_args *a, table_list *out, err *e);

/* cmd_def.flags */
enum {
    CMD_ATTRS = 1,   /* also accepts ATTR=VALUE for any attribute the catalog has */
    CMD_KEYS = 2,    /* `set`: the first word is a key of opts, the second its value */
};

typedef struct cmd_def {
    const char *name;     /* one or two words: "load catalog" */
    cmd_fn fn;
    const char *usage;    /* the synopsis of the words ("load catalog FILE"); the
                             options are added from opts and opts2 */
    const char *help;     /* one paragraph */
    int min_pos, max_pos; /* positional argument count bounds (-1: no max) */
    const opt_def *opts;  /* the parameters (opt.h), NULL-name terminated; cmd_no_opts
                             for none */
    const opt_def *opts2; /* more, from an engine module (i2v_param_defs), or NULL */
    int flags;            /* CMD_* */
} cmd_def;

/* The usage line of d ("similar ITEM [k=10] [category=C] ..."), from its
 * synopsis and option descriptors.  Returns buf. */
const char *cmd_usage(const cmd_def *d, char *buf, size_t cap);

extern const cmd_def cmd_defs_core[];
extern const cmd_def cmd_defs_data[];
extern const cmd_def cmd_defs_rec[];
extern const cmd_def cmd_defs_model[];
extern const cmd_def cmd_defs_baseline[];
extern const cmd_def cmd_defs_index[];
extern const cmd_def cmd_defs_eval[];
extern const cmd_def cmd_defs_text[];

/* Typed values of declared parameters (cmd.c has checked them already).
 * When the key was not given, *out is the descriptor's default, or stays as
 * the caller set it when the descriptor has none (a setting such as `set k`).
 * 0, or -ERR_USAGE naming the command and key. */
int cmd_opt_long(const cmd_args *a, const char *key, long *out, err *e);
int cmd_opt_u64(const cmd_args *a, const char *key, uint64_t *out, err *e);
int cmd_opt_double(const cmd_args *a, const char *key, double *out, err *e);
int cmd_opt_choice(const cmd_args *a, const char *key, int *out, err *e);

/* A text parameter (def when not given), and a flag (1 when given bare or
 * as 1/true/yes). */
const char *cmd_str(const cmd_args *a, const char *key, const char *def);
int cmd_flag(const cmd_args *a, const char *key);

/* The positional words joined by single spaces (query's and embed's text),
 * whole; caller frees with mem_free.  NULL on OOM. */
char *cmd_join_args(const cmd_args *a);

/* Too little data to learn from: Item2Vec trained on fewer than
 * CMD_FEW_EVENTS events, or fewer than CMD_FEW_PER_ITEM per item, barely
 * moves its vectors from their random start (word2vec's subsampling skips
 * most events of a small corpus too, unless sample is 0).  cmd_few_events_note
 * adds a note saying so to t (nothing when there is enough); 0 or -ERR_NOMEM. */
#define CMD_FEW_EVENTS 1000
#define CMD_FEW_PER_ITEM 5
int cmd_few_events_note(table *t, size_t n_events, size_t n_items, double sample);

/* Shared descriptor tables: none, and the item filters category= and
 * title= (commands that filter items use it as opts2, with CMD_ATTRS). */
extern const opt_def cmd_no_opts[];
extern const opt_def cmd_filter_opts[];

/* Item filters (cmd.c): category=, title= (a word of it) and ATTR=value for
 * an attribute of the attrs JSON - the keys marked in a->filt.
 * cmd_item_matches tests one catalog row; cmd_item_filter returns a per-row
 * bitmap (caller frees with mem_free), or NULL in *rows when a has no
 * filter; 0 or -ERR_NOMEM. */
int cmd_item_matches(const store_catalog *c, size_t r, const cmd_args *a);
int cmd_item_filter(lab *L, const cmd_args *a, uint8_t **rows, err *e);
/* The same filters as terms for a remote index (up to cap); the count. */
size_t cmd_item_terms(const cmd_args *a, index_term *terms, size_t cap);

struct i2v_params;
/* Trains Item2Vec with p (lab_train_item2vec: every session, or with update
 * the sessions added since) and appends the report (cmd_model.c). */
int cmd_train_item2vec(lab *L, const struct i2v_params *p, int update, table_list *out,
                       err *e);

/* Output helpers */
table *cmd_table(table_list *out, const char *title);   /* NULL = OOM */
int cmd_nomem(err *e);

#endif
