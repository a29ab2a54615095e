/* cmd_model.c - training and moving vectors: train item2vec, export vectors,
 * import vectors, map, fuse.
 *
 * Training itself (full or --update, saving with the index) is
 * lab_train_item2vec's (lab_train.c), fusing lab_fuse's (lab_vectors.c);
 * these parse, call and report.
 */
#include "cmd_int.h"
#include "index.h"
#include "item2vec.h"
#include "mem.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int c_train_item2vec(lab *L, const cmd_args *a, table_list *out, err *e)
{
    i2v_params p = i2v_params_default();
    int rc;

    for (int i = 0; i < a->n_kv; i++)   /* cmd.c checked them against i2v_param_defs */
        if (opt_find(i2v_param_defs, a->key[i]) &&
            (rc = i2v_params_set(&p, a->key[i], a->val[i] ? a->val[i] : "", e))) {
            err_prefix(e, "train item2vec");
            return rc;
        }
    return cmd_train_item2vec(L, &p, cmd_flag(a, "update"), out, e);
}

int cmd_train_item2vec(lab *L, const i2v_params *pp, int update, table_list *out, err *e)
{
    const i2v_params p = *pp;
    lab_train_report r;
    char ixmsg[320];
    int rc;
    table *t;

    if ((rc = lab_train_item2vec(L, &p, update, &r, e)))
        return rc;
    if (r.up_to_date)
        return table_list_msg(out, "item2vec is up to date: no sessions were added since it "
                              "was trained (events up to #%lld); nothing changed",
                              (long long)r.watermark) ? 0 : cmd_nomem(e);
    const i2v_stats st = r.st;
    const int has_wm = r.has_watermark;
    t = cmd_table(out, "");
    if (!t)
        rc = cmd_nomem(e);
    else if (L->set.no_timing)
        rc = table_note(t, "item2vec: %zu items x %d dims from %zu %ssessions (%zu tokens), "
                        "%d epoch%s%s", st.n_items, p.sg.dim, st.n_seq,
                        update && has_wm ? "new " : "", st.n_tok, p.sg.epochs,
                        p.sg.epochs == 1 ? "" : "s", update ? ", updated" : "");
    else
        rc = table_note(t, "item2vec: %zu items x %d dims from %zu %ssessions (%zu tokens), "
                        "%d epoch%s in %.2f s (%.0f tokens/s)%s", st.n_items, p.sg.dim,
                        st.n_seq, update && has_wm ? "new " : "", st.n_tok, p.sg.epochs,
                        p.sg.epochs == 1 ? "" : "s", st.seconds,
                        st.seconds > 0 ? (double)st.n_tok * p.sg.epochs / st.seconds : 0,
                        update ? ", updated" : "");
    /* subsampling: what it kept of the tokens over all epochs */
    double kept = st.sg.n_tok && p.sg.epochs ? (double)st.sg.n_kept /
                                               ((double)st.sg.n_tok * p.sg.epochs) : 1;
    if (rc == 0 && st.sample_auto && st.sample == 0)
        rc = table_note(t, "sample=auto chose 0 (no subsampling): at 1e-3 it would keep only "
                        "%.0f%% of the tokens of these %zu items, most of which count as "
                        "frequent; sample=1e-3 forces it", st.auto_keep * 100, st.n_items);
    else if (rc == 0 && kept < 0.5)   /* an explicit sample= dropped most events */
        rc = table_note(t, "subsampling (sample=%g) kept only %.0f%% of the tokens: most events "
                        "were not trained on (sample=auto or sample=0 keep them; `tune "
                        "item2vec` compares)", st.sample, kept * 100);
    if (rc == 0) {
        int nt = L->set.no_timing;
        rc = table_fields(t, "items", (double)st.n_items, "dim", (double)p.sg.dim, "sessions",
                          (double)st.n_seq, "tokens", (double)st.n_tok, "epochs",
                          (double)p.sg.epochs, "new_items", (double)st.n_new_items, "sample",
                          st.sample, "kept", kept, "seconds",
                          nt ? NAN : st.seconds, "tokens_per_s",
                          nt || st.seconds <= 0 ? NAN
                                                : (double)st.n_tok * p.sg.epochs / st.seconds,
                          NULL);
    }
    if (rc == 0 && !update)
        rc = cmd_few_events_note(t, st.n_tok, st.n_items, p.sg.sample);
    if (rc == 0 && update && !has_wm)
        rc = table_note(t, "the stored model recorded no watermark (imported, or trained by an "
                        "older embedlab): the update trained on every session");
    if (rc == 0 && update && st.n_new_items)
        rc = table_note(t, "%zu new items got vectors", st.n_new_items);
    if (rc == 0 && lab_ix_report_text(L, &r.ix, "item2vec", ixmsg, sizeof ixmsg) > 0)
        rc = table_note(t, "%s", ixmsg);
    return rc ? cmd_nomem(e) : 0;
}


/* ---- export / import ---------------------------------------------------- */

static int c_export_vectors(lab *L, const cmd_args *a, table_list *out, err *e)
{
    const char *name = a->argv[0], *path = a->argv[1];
    int fmt = lab_vec_format_guess(path, LAB_VEC_W2V), rc;
    size_t n, dim;

    if ((rc = cmd_opt_choice(a, "format", &fmt, e)) ||
        (rc = lab_export_vectors(L, name, path, fmt, &n, &dim, e)))
        return rc;
    return table_list_msg(out, "exported %zu vectors of %s (dim %zu) to %s", n, name, dim,
                          path) ? 0 : cmd_nomem(e);
}

static int c_import_vectors(lab *L, const cmd_args *a, table_list *out, err *e)
{
    const char *path = a->argv[0], *name = cmd_str(a, "name", "imported");
    int fmt = lab_vec_format_guess(path, LAB_VEC_W2V), rc;
    lab_import_report r;
    char ixmsg[320];

    if ((rc = cmd_opt_choice(a, "format", &fmt, e)) ||
        (rc = lab_import_vectors(L, path, fmt, name, &r, e)))
        return rc;
    if (!table_list_msg(out, "imported %zu vectors (dim %zu) as model '%s'%s", r.n, r.dim, name,
                        r.unknown ? "; keys not in the catalog were skipped" : "") ||
        (r.unknown && !table_list_msg(out, "%zu unknown keys skipped", r.unknown)) ||
        (lab_ix_report_text(L, &r.ix, name, ixmsg, sizeof ixmsg) > 0 &&
         !table_list_msg(out, "%s", ixmsg)))
        return cmd_nomem(e);
    return 0;
}

/* map MODEL: the embedding map as a table (id, category, x, y); the TUI's
 * map view draws the same lab_map. */
static int c_map(lab *L, const cmd_args *a, table_list *out, err *e)
{
    const char *name = a->argv[0];
    const store_catalog *c;
    lab_map m;
    char title[128];
    table *t;
    int rc;

    if ((rc = lab_map_make(L, name, &m, e)))
        return rc;
    c = lab_catalog(L, e);   /* loaded by lab_map_make */
    snprintf(title, sizeof title, "map %s", name);
    t = cmd_table(out, title);
    rc = -ERR_NOMEM;
    if (!c || !t || table_set_kind(t, TABLE_MAP) || table_col(t, "id", 0) ||
        table_col(t, "category", 0) || table_col(t, "x", 1) || table_col(t, "y", 1) ||
        table_field_num(t, "explained_x", m.explained[0]) ||
        table_field_num(t, "explained_y", m.explained[1]) ||
        table_field_num(t, "n", (double)m.n) || table_field_num(t, "dim", (double)m.dim))
        goto done;
    for (size_t i = 0; i < m.n; i++) {
        long r = lab_find_id(L, m.ids[i]);
        if (table_row(t) || table_str(t, r >= 0 ? c->ext_id[r] : "?") ||
            table_str(t, m.cat[i] >= 0 ? m.cats[m.cat[i]] : "") ||
            table_num(t, m.xy[2 * i], 4) || table_num(t, m.xy[2 * i + 1], 4))
            goto done;
    }
    if (table_note(t, "PCA of %zu vectors (%zu-D) to 2-D: x keeps %.1f%% of the variance, "
                   "y %.1f%%", m.n, m.dim, 100 * m.explained[0], 100 * m.explained[1]))
        goto done;
    rc = 0;
done:
    lab_map_done(&m);
    return rc == -ERR_NOMEM ? cmd_nomem(e) : rc;
}

static const opt_def train_opts[] = {
    {.name = "update", .type = OPT_FLAG,
     .help = "continue the stored model on the sessions added since it was trained"},
    {0},
};

static const opt_def export_opts[] = {
    {.name = "format", .type = OPT_CHOICE, .arg = LAB_VEC_FORMATS,
     .flags = OPT_DASHED, .help = "file format (default: from the name)"},
    {0},
};

static const opt_def import_opts[] = {
    {.name = "name", .type = OPT_STR, .arg = "NAME", .def = "imported", .flags = OPT_DASHED,
     .help = "the model's name"},
    {.name = "format", .type = OPT_CHOICE, .arg = "word2vec|word2vec-bin|fvecs",
     .flags = OPT_DASHED, .help = "file format (default: from the name)"},
    {0},
};

/* ---- fuse ----------------------------------------------------------------- */

static int c_fuse(lab *L, const cmd_args *a, table_list *out, err *e)
{
    const char *tn = a->argv[0], *in = a->argv[1], *name = cmd_str(a, "name", "fused");
    lab_fuse_report r;
    char ixmsg[320];
    double alpha = L->set.alpha;
    table *t;
    int rc;

    if ((rc = cmd_opt_double(a, "alpha", &alpha, e)) ||
        (rc = lab_fuse(L, tn, in, alpha, name, &r, e)))
        return rc;
    if (!(t = cmd_table(out, "")))
        return cmd_nomem(e);
    rc = table_note(t, "%s: %zu items x %zu dims (%s %zu + %s %zu), each part normalised and "
                    "scaled by sqrt(%.2f) and sqrt(%.2f): the inner product is %.2f cos_%s + "
                    "%.2f cos_%s", name, r.n_both + r.n_text_only + r.n_i2v_only,
                    r.dim_text + r.dim_i2v, tn, r.dim_text, in, r.dim_i2v, alpha, 1 - alpha,
                    alpha, tn, 1 - alpha, in);
    if (rc == 0)
        rc = table_note(t, "%zu items have both parts; %zu only %s, %zu only %s (the missing "
                        "part counts as cosine 0); searched and indexed by inner product",
                        r.n_both, r.n_text_only, tn, r.n_i2v_only, in);
    if (rc == 0 && lab_ix_report_text(L, &r.ix, name, ixmsg, sizeof ixmsg) > 0)
        rc = table_note(t, "%s", ixmsg);
    return rc ? cmd_nomem(e) : 0;
}

static const opt_def fuse_opts[] = {
    {.name = "alpha", .type = OPT_REAL, .min = 0, .max = 1, .arg = "A",
     .help = "weight of the text part (default: `set alpha`)"},
    {.name = "name", .type = OPT_STR, .arg = "N", .def = "fused", .flags = OPT_DASHED,
     .help = "the fused model's name"},
    {0},
};

const cmd_def cmd_defs_model[] = {
    {.name = "train item2vec", .fn = c_train_item2vec, .usage = "train item2vec",
     .help = "Train Item2Vec (skip-gram with negative sampling) on the sessions. window=session "
     "uses the whole session as context. The vectors depend on the seed, not on threads=: "
     "the sessions are trained in blocks, two at a time from the same weights, their updates "
     "merged in block order. hogwild=1 trains as word2vec does instead (threads share the "
     "weights without locks; runs differ). "
     "Ctrl-C cancels and keeps the previous model. --update continues the stored model on "
     "the sessions added since it was trained (a session with any new event, whole): only "
     "their items' vectors change and new items get vectors, so the index is updated in "
     "place unless most vectors moved; noise and subsampling count every session. Without "
     "--update: a full retraining.",
     .opts = i2v_param_defs, .opts2 = train_opts},
    {.name = "export vectors", .fn = c_export_vectors, .usage = "export vectors MODEL FILE",
     .help = "Write a model's vectors: word2vec text/binary (gensim KeyedVectors reads them, "
     "keys are item ids), .fvecs (rows in id order), CSV or NumPy .npy.",
     .min_pos = 2, .max_pos = 2, .opts = export_opts},
    {.name = "import vectors", .fn = c_import_vectors, .usage = "import vectors FILE",
     .help = "Read vectors as a model: word2vec files keyed by item id, or .fvecs with one row "
     "per item in id order.", .min_pos = 1, .max_pos = 1, .opts = import_opts},
    {.name = "map", .fn = c_map, .usage = "map MODEL",
     .help = "The embedding map: every vector of MODEL projected onto its first two principal "
     "components, one row per item with its category and x, y, and the share of the variance "
     "each axis keeps (the TUI's map view, key m, draws the same).",
     .min_pos = 1, .max_pos = 1, .opts = cmd_no_opts},
    {.name = "fuse", .fn = c_fuse, .usage = "fuse TEXT_MODEL ITEM2VEC_MODEL",
     .help = "Store a hybrid embedding as one vector per item: both models' vectors "
     "L2-normalised, scaled by sqrt(alpha) and sqrt(1-alpha) and concatenated, so the inner "
     "product of two items is alpha*cos_text + (1-alpha)*cos_item2vec (the score-level blend, "
     "in one search). An item missing from one model keeps the other part (the missing cosine "
     "counts 0); the counts are shown. The result is a model like the others: `index build "
     "fused hnsw` (metric ip), `export vectors fused`, `eval`, `tune fused`. e.g. fuse text "
     "item2vec alpha=0.3", .min_pos = 2, .max_pos = 2, .opts = fuse_opts},
    {0},
};
