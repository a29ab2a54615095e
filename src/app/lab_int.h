/* lab_int.h - the lab's fields, shared by the files of the app layer
 * (src/app/).  Not a public API: front ends (src/ui/) use lab.h's functions,
 * and `make check-layers` refuses this header anywhere outside src/app/ and
 * the tests. */
#ifndef EMBEDLAB_LAB_INT_H
#define EMBEDLAB_LAB_INT_H

#include "lab.h"

#include "hmap.h"

struct table;

struct lab {
    store *db;
    char *db_path;
    char *model_dir;     /* lab_set_model_dir: `encode text`'s first choice, or NULL */
    char *words_file;    /* lab_set_words_file: the builtin encoder's words file
                            ("none": catalog only), or NULL: searched */
    lab_settings set;
    progress prog;       /* the running job's progress and cancel flag */

    /* caches (lazy) */
    int have_catalog;
    store_catalog cat;
    hmap ext_rows;       /* catalog id -> catalog row */
    char **attr_names;   /* attribute keys of the catalog's attrs, sorted, or NULL */
    size_t n_attr_names;
    int have_attr_names;
    int have_corpus;
    store_corpus corpus;

    lab_model models[LAB_MAX_MODELS];
    size_t n_models;
    bl_model *baselines[BL_N_KINDS];   /* stored baselines, loaded on first use */

    /* A running job's latest partial result (eval's metrics so far), handed
     * to a front end on another thread: the only lab fields that may be
     * touched while a job runs, through lab_live_publish/lab_live_take. */
    pthread_mutex_t live_mu;
    struct table *live;

    void *textenc;       /* the stored text vectors' encoder (textenc.h), or NULL */
    void *embed_enc;     /* `embed`'s model folder encoder (lab_text.c), or NULL */
    char *embed_path;    /* ... and its folder */

    /* The front end's reader of a remote index's token (lab_set_token_reader). */
    int (*token_fn)(void *ud, const char *token_file, char *out, size_t cap, err *e);
    void *token_ud;
};

/* Frees the loaded text encoders (lab_close). */
void lab_text_done(lab *L);

#endif
