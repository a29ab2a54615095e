/* cmd_baseline.c - training the reference baselines (baseline.h) as stored
 * models (lab_train_baseline): train knn | transition | ease | baselines.
 * A baseline is a model like Item2Vec: trained from the stored events,
 * listed by `models`, answering `similar` and `recommend user` (a list after
 * the three of cmd_rec.c).
 */
#include "cmd_int.h"

#include <stdio.h>
#include <string.h>

/* Parameters of a kind from the command's key=value words (cmd.c checked
 * them against the command's descriptors); `baselines` (kind -1) takes
 * neighbours= for knn and transition, the rest for ease. */
static int parse_params(const cmd_args *a, int kind, bl_params *p, err *e)
{
    *p = bl_params_default();
    for (int i = 0; i < a->n_kv; i++) {
        int as = kind >= 0 ? kind : opt_find(bl_knn_param_defs, a->key[i]) ? BL_KNN : BL_EASE;
        int rc = bl_params_set(p, as, a->key[i], a->val[i], e);
        if (rc) {
            err_prefix(e, "train %s", kind < 0 ? "baselines" : bl_kind_name(kind));
            return rc;
        }
    }
    return 0;
}

/* Trains one kind and stores it; the note says what was made. */
static int train_one(lab *L, int kind, const bl_params *p, table *t, err *e)
{
    lab_bl_report r;
    int rc = lab_train_baseline(L, kind, p, &r, e);

    if (rc)
        return rc;
    if (table_note(t, "%s: %s over %zu items from %zu %s, %.2f MB", r.name, r.label,
                   r.info.n_items, r.info.n_rows, r.by_user ? "users" : "sessions",
                   (double)r.info.mem_bytes / 1e6) ||
        (!L->set.no_timing && table_note(t, "  trained in %.2f s", r.seconds)))
        return cmd_nomem(e);
    return 0;
}

static int c_train(lab *L, const cmd_args *a, int kind, table_list *out, err *e)
{
    bl_params p;
    table *t;
    int rc;

    if ((rc = parse_params(a, kind, &p, e)))
        return rc;
    if (!(t = cmd_table(out, "")))
        return cmd_nomem(e);
    if (kind >= 0)
        return train_one(L, kind, &p, t, e);
    for (int k = 0; k < BL_N_KINDS; k++) {
        err e2 = {0};
        rc = train_one(L, k, &p, t, &e2);
        if (rc == -ERR_RANGE) {   /* EASE over its budget: say so, train the others */
            if (table_note(t, "%s: not trained: %s", bl_kind_name(k), e2.msg))
                return cmd_nomem(e);
            continue;
        }
        if (rc)
            return err_set(e, -rc, "%s", e2.msg);
    }
    return 0;
}

static int c_train_knn(lab *L, const cmd_args *a, table_list *out, err *e)
{
    return c_train(L, a, BL_KNN, out, e);
}

static int c_train_transition(lab *L, const cmd_args *a, table_list *out, err *e)
{
    return c_train(L, a, BL_TRANSITION, out, e);
}

static int c_train_ease(lab *L, const cmd_args *a, table_list *out, err *e)
{
    return c_train(L, a, BL_EASE, out, e);
}

static int c_train_baselines(lab *L, const cmd_args *a, table_list *out, err *e)
{
    return c_train(L, a, -1, out, e);
}

const cmd_def cmd_defs_baseline[] = {
    {.name = "train knn", .fn = c_train_knn, .usage = "train knn",
     .help = "Train the item-kNN baseline: cosine between items over the binary user x item "
     "matrix (sessions without a user count as users), keeping the most similar items of "
     "each. A user is scored from the last `history` items. Listed after the three lists of "
     "`similar` and `recommend user`.",
     .opts = bl_knn_param_defs},
    {.name = "train transition", .fn = c_train_transition, .usage = "train transition",
     .help = "Train the transition baseline: how often each item directly followed another "
     "within a session. Items that followed the user's last item come first, by count; "
     "item-kNN (same neighbours) breaks ties and fills the list.",
     .opts = bl_knn_param_defs},
    {.name = "train ease", .fn = c_train_ease, .usage = "train ease",
     .help = "Train EASE (Steck 2019), the closed-form item-item model B = I - P/diag(P), "
     "P = (X'X + lambda I)^-1, scored over the user's whole history. It inverts one dense "
     "matrix of the smaller of the item and user counts and refuses, saying so, when that "
     "matrix would exceed max_mb.",
     .opts = bl_ease_param_defs},
    {.name = "train baselines", .fn = c_train_baselines, .usage = "train baselines",
     .help = "Train item-kNN, transition and EASE in one go (EASE is skipped with a note when "
     "it would not fit in max_mb).",
     .opts = bl_knn_param_defs, .opts2 = bl_ease_param_defs},
    {0},
};
