/* store.c - SQLite persistence (see store.h).  The only file that includes
 * <sqlite3.h>.
 *
 * Design: WAL journal, a 5 s busy timeout (a second process waits, then gets
 * ERR_BUSY with a clear message), prepared statements cached per handle for
 * the hot insert paths, and nested transactions as SAVEPOINTs so an import
 * inside a bigger job still rolls back as one unit.  Migrations are a list of
 * SQL scripts applied in order; schema_version records how far we got.
 */
#include "store.h"
#include "mem.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct store {
    sqlite3 *db;
    char *path;
    int txn_depth;
    int bulk;                  /* store_bulk mode on */
    int64_t bulk_old_cache;    /* cache_size to restore */
    sqlite3_stmt *ins_item, *ins_event, *get_item;
    int floor_state;           /* events_floor in meta: FLOOR_UNKNOWN/NONE/PENDING */
    int64_t floor;             /* ... its value when PENDING */
};

/* Event ids are watermarks (`train item2vec --update` trains the sessions
 * with events above the highest id a model saw), so an id must never come
 * back.  SQLite gives a new row max(rowid) + 1: only deleting the newest
 * events could hand their ids out again.  store_item_delete, the one place
 * that deletes events, then records the old maximum as meta 'events_floor',
 * and the next event insert takes floor + 1 and clears it.  (AUTOINCREMENT
 * would do the same but writes sqlite_sequence per inserted row: 30-50% more
 * CPU per imported event in bench_import.)  The floor is read once per
 * transaction; rollback and commit forget it, since another process may
 * change it between our transactions. */
enum { FLOOR_UNKNOWN, FLOOR_NONE, FLOOR_PENDING };
#define FLOOR_GET "SELECT coalesce((SELECT CAST(value AS INTEGER) FROM meta " \
                  "WHERE key = 'events_floor'), 0)"

static const char *const migrations[] = {
    /* 1: initial schema */
    "CREATE TABLE items("
    "  id INTEGER PRIMARY KEY,"
    "  ext_id TEXT NOT NULL UNIQUE,"
    "  title TEXT NOT NULL,"
    "  description TEXT NOT NULL DEFAULT '',"
    "  category TEXT NOT NULL DEFAULT '',"
    "  attrs TEXT);"
    "CREATE TABLE events("
    "  id INTEGER PRIMARY KEY,"
    "  session TEXT NOT NULL,"
    "  user TEXT,"
    "  item INTEGER NOT NULL REFERENCES items(id),"
    "  ts INTEGER);"
    "CREATE INDEX events_item ON events(item);"
    "CREATE TABLE models("
    "  name TEXT PRIMARY KEY,"
    "  kind TEXT NOT NULL,"
    "  label TEXT NOT NULL DEFAULT '',"
    "  dim INTEGER NOT NULL,"
    "  n_vectors INTEGER NOT NULL,"
    "  version INTEGER NOT NULL,"
    "  train_seconds REAL,"
    "  params TEXT,"
    "  corpus TEXT,"
    "  created TEXT NOT NULL DEFAULT (datetime('now')));"
    "CREATE TABLE vectors("
    "  model TEXT NOT NULL,"
    "  item INTEGER NOT NULL,"
    "  vec BLOB NOT NULL,"
    "  PRIMARY KEY(model, item)) WITHOUT ROWID;"
    "CREATE TABLE indexes("
    "  model TEXT PRIMARY KEY,"
    "  kind TEXT NOT NULL,"
    "  params TEXT,"
    "  model_version INTEGER NOT NULL,"
    "  data BLOB NOT NULL,"
    "  created TEXT NOT NULL DEFAULT (datetime('now')));"
    "CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT);",
    /* 2: opaque blobs that belong to a model version (a trained encoder) */
    "CREATE TABLE blobs("
    "  name TEXT PRIMARY KEY,"
    "  model_version INTEGER NOT NULL,"
    "  data BLOB NOT NULL);",
};
#define N_MIGRATIONS (sizeof migrations / sizeof migrations[0])
_Static_assert(N_MIGRATIONS == STORE_SCHEMA_VERSION, "store.h STORE_SCHEMA_VERSION");

static int db_err(store *s, err *e, const char *what)
{
    int rc = sqlite3_errcode(s->db);
    int code = (rc == SQLITE_BUSY || rc == SQLITE_LOCKED) ? ERR_BUSY
             : (rc == SQLITE_NOMEM) ? ERR_NOMEM
             : (rc == SQLITE_FULL || rc == SQLITE_IOERR) ? ERR_IO : ERR_DB;
    if (code == ERR_BUSY)
        return err_set(e, code, "%s: database %s is busy (another embedlab is writing to it); "
                       "try again when it finishes", what, s->path);
    return err_set(e, code, "%s: %s", what, sqlite3_errmsg(s->db));
}

static int exec(store *s, const char *sql, err *e)
{
    if (sqlite3_exec(s->db, sql, NULL, NULL, NULL) != SQLITE_OK)
        return db_err(s, e, "sql");
    return 0;
}

static int prepare(store *s, const char *sql, sqlite3_stmt **st, err *e)
{
    if (sqlite3_prepare_v2(s->db, sql, -1, st, NULL) != SQLITE_OK)
        return db_err(s, e, "prepare");
    return 0;
}

static int query_int64(store *s, const char *sql, int64_t p1, const char *what, int64_t *n,
                       err *e);
static int count_rows(store *s, const char *sql, int64_t *n, err *e);

static int schema_version(store *s, int *v, err *e)
{
    sqlite3_stmt *st;
    int64_t has;
    int rc;

    *v = 0;
    if ((rc = query_int64(s, "SELECT count(*) FROM sqlite_master WHERE name='schema_version'", 0,
                          "read schema", &has, e)))
        return rc;
    if (has <= 0)
        return 0;
    rc = prepare(s, "SELECT max(version) FROM schema_version", &st, e);
    if (rc)
        return rc;
    if (sqlite3_step(st) == SQLITE_ROW)
        *v = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    return 0;
}

static int migrate(store *s, err *e)
{
    int v, rc;
    char sql[96];

    if ((rc = schema_version(s, &v, e)))
        return rc;
    if (v > (int)N_MIGRATIONS)
        return err_set(e, ERR_UNSUPPORTED, "%s: schema version %d is newer than this embedlab "
                       "understands (%d); upgrade embedlab", s->path, v, (int)N_MIGRATIONS);
    if (v == (int)N_MIGRATIONS)
        return 0;
    if ((rc = store_begin(s, e)))
        return rc;
    if (v == 0 && (rc = exec(s, "CREATE TABLE schema_version(version INTEGER NOT NULL,"
                             " applied TEXT NOT NULL DEFAULT (datetime('now')))", e)))
        goto fail;
    for (size_t i = (size_t)v; i < N_MIGRATIONS; i++) {
        if ((rc = exec(s, migrations[i], e)))
            goto fail;
        snprintf(sql, sizeof sql, "INSERT INTO schema_version(version) VALUES(%zu)", i + 1);
        if ((rc = exec(s, sql, e)))
            goto fail;
    }
    return store_commit(s, e);
fail:
    store_rollback(s);
    return rc;
}

static store *open_db(const char *path, int readonly, err *e)
{
    store *s = mem_calloc(1, sizeof *s);
    int rc, v;

    if (!s) {
        err_set(e, ERR_NOMEM, "out of memory opening %s", path);
        return NULL;
    }
    s->path = mem_strdup(path);
    if (!s->path) {
        mem_free(s);
        err_set(e, ERR_NOMEM, "out of memory opening %s", path);
        return NULL;
    }
    rc = sqlite3_open_v2(path, &s->db,
                         readonly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
                         NULL);
    if (rc != SQLITE_OK) {
        err_set(e, rc == SQLITE_NOMEM ? ERR_NOMEM : ERR_IO, "open %s: %s", path,
                s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc));
        goto fail;
    }
    sqlite3_extended_result_codes(s->db, 0);
    sqlite3_busy_timeout(s->db, 5000);
    if (readonly) {
        /* No migration and no journal-mode change: either would write. */
        if ((rc = schema_version(s, &v, e))) {
            err_prefix(e, "%s", path);
            goto fail;
        }
        if (v != (int)N_MIGRATIONS) {
            err_set(e, ERR_UNSUPPORTED, "%s: schema version %d, this embedlab reads %d%s", path, v,
                    (int)N_MIGRATIONS, v < (int)N_MIGRATIONS
                                           ? "; open it once with `embedlab --db FILE` to migrate"
                                           : "; upgrade embedlab");
            goto fail;
        }
        return s;
    }
    /* A file that is not a database fails here, with SQLite's own words. */
    if (exec(s, "PRAGMA journal_mode=WAL", e) || exec(s, "PRAGMA synchronous=NORMAL", e) ||
        exec(s, "PRAGMA foreign_keys=ON", e)) {
        err_prefix(e, "%s", path);
        goto fail;
    }
    if (migrate(s, e))
        goto fail;
    if (prepare(s, "INSERT INTO items(ext_id,title,description,category,attrs) "
                   "VALUES(?,?,?,?,?)", &s->ins_item, e) ||
        prepare(s, "INSERT INTO events(session,user,item,ts) VALUES(?,?,?,?)", &s->ins_event, e) ||
        prepare(s, "SELECT id FROM items WHERE ext_id=?", &s->get_item, e))
        goto fail;
    return s;
fail:
    store_close(s);
    return NULL;
}

store *store_open(const char *path, err *e) { return open_db(path, 0, e); }

store *store_open_readonly(const char *path, err *e)
{
    if (strcmp(path, ":memory:") == 0 || path[0] == '\0') {
        err_set(e, ERR_USAGE, "a read-only database must be a file, not '%s'", path);
        return NULL;
    }
    return open_db(path, 1, e);
}

int store_read_begin(store *s, err *e) { return exec(s, "BEGIN DEFERRED", e); }

void store_read_end(store *s) { sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL); }

int store_data_version(store *s, int64_t *out, err *e)
{
    return query_int64(s, "PRAGMA data_version", 0, "data_version", out, e);
}

void store_close(store *s)
{
    if (!s)
        return;
    sqlite3_finalize(s->ins_item);
    sqlite3_finalize(s->ins_event);
    sqlite3_finalize(s->get_item);
    if (s->db)
        sqlite3_close(s->db);
    mem_free(s->path);
    mem_free(s);
}

const char *store_path(const store *s) { return s->path; }

int store_begin(store *s, err *e)
{
    char sql[48];
    int rc;

    if (s->txn_depth == 0) {
        s->floor_state = FLOOR_UNKNOWN;
        rc = exec(s, "BEGIN IMMEDIATE", e);
    }
    else {
        snprintf(sql, sizeof sql, "SAVEPOINT sp%d", s->txn_depth);
        rc = exec(s, sql, e);
    }
    if (rc == 0)
        s->txn_depth++;
    return rc;
}

int store_commit(store *s, err *e)
{
    char sql[48];
    int rc;

    if (s->txn_depth <= 0)
        return err_set(e, ERR_STATE, "commit without a transaction");
    if (s->txn_depth == 1)
        rc = exec(s, "COMMIT", e);
    else {
        snprintf(sql, sizeof sql, "RELEASE sp%d", s->txn_depth - 1);
        rc = exec(s, sql, e);
    }
    if (rc == 0)
        s->txn_depth--;
    else
        store_rollback(s);
    if (s->txn_depth == 0)
        s->floor_state = FLOOR_UNKNOWN;
    return rc;
}

void store_rollback(store *s)
{
    char sql[64];

    if (s->txn_depth <= 0)
        return;
    if (s->txn_depth == 1)
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    else {
        snprintf(sql, sizeof sql, "ROLLBACK TO sp%d; RELEASE sp%d", s->txn_depth - 1,
                 s->txn_depth - 1);
        sqlite3_exec(s->db, sql, NULL, NULL, NULL);
    }
    s->txn_depth--;
    s->floor_state = FLOOR_UNKNOWN;
}

int store_in_txn(const store *s) { return s->txn_depth > 0; }

int store_bulk(store *s, int on, err *e)
{
    char sql[64];
    int rc;

    if (on && !s->bulk) {
        if ((rc = count_rows(s, "PRAGMA cache_size", &s->bulk_old_cache, e)))
            return rc;
        snprintf(sql, sizeof sql, "PRAGMA cache_size=-%d", STORE_BULK_CACHE_KIB);
        if ((rc = exec(s, sql, e)) || (rc = exec(s, "PRAGMA foreign_keys=OFF", e)))
            return rc;
        s->bulk = 1;
    } else if (!on && s->bulk) {
        s->bulk = 0;
        snprintf(sql, sizeof sql, "PRAGMA cache_size=%lld", (long long)s->bulk_old_cache);
        if ((rc = exec(s, sql, e)) || (rc = exec(s, "PRAGMA foreign_keys=ON", e)))
            return rc;
    }
    return 0;
}

int store_events_index(store *s, int on, err *e)
{
    if (s->txn_depth <= 0)
        return err_set(e, ERR_STATE, "events index: needs a transaction");
    return exec(s, on ? "CREATE INDEX IF NOT EXISTS events_item ON events(item)"
                      : "DROP INDEX IF EXISTS events_item", e);
}

/* ---- items -------------------------------------------------------------- */

static void bind_text(sqlite3_stmt *st, int i, const char *v)
{
    if (v)
        sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, i);
}

int store_item_insert(store *s, const store_item *it, int64_t *id_out, err *e)
{
    sqlite3_stmt *st = s->ins_item;
    int rc;

    sqlite3_reset(st);
    bind_text(st, 1, it->ext_id);
    bind_text(st, 2, it->title ? it->title : "");
    bind_text(st, 3, it->description ? it->description : "");
    bind_text(st, 4, it->category ? it->category : "");
    bind_text(st, 5, it->attrs);
    rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc == SQLITE_CONSTRAINT)
        return err_set(e, ERR_EXISTS, "duplicate item id '%s'", it->ext_id);
    if (rc != SQLITE_DONE)
        return db_err(s, e, "insert item");
    if (id_out)
        *id_out = sqlite3_last_insert_rowid(s->db);
    return 0;
}

int store_item_lookup(store *s, const char *ext_id, int64_t *id_out, err *e)
{
    sqlite3_stmt *st = s->get_item;
    int rc;

    sqlite3_reset(st);
    sqlite3_bind_text(st, 1, ext_id, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *id_out = sqlite3_column_int64(st, 0);
        sqlite3_reset(st);
        return 0;
    }
    sqlite3_reset(st);
    if (rc == SQLITE_DONE)
        return err_set(e, ERR_NOTFOUND, "unknown item '%s'", ext_id);
    return db_err(s, e, "look up item");
}

int store_item_delete(store *s, int64_t id, int64_t *n_events, err *e)
{
    static const char *const sql[] = {"DELETE FROM events WHERE item=?",
                                      "DELETE FROM vectors WHERE item=?",
                                      "DELETE FROM items WHERE id=?"};
    sqlite3_stmt *st;
    int64_t top_before, top_after;
    int rc;

    if ((rc = store_begin(s, e)))
        return rc;
    if ((rc = count_rows(s, "SELECT coalesce(max(id), 0) FROM events", &top_before, e)))
        goto fail;
    for (size_t i = 0; i < sizeof sql / sizeof sql[0]; i++) {
        if ((rc = prepare(s, sql[i], &st, e)))
            goto fail;
        sqlite3_bind_int64(st, 1, id);
        rc = sqlite3_step(st);
        sqlite3_finalize(st);
        if (rc != SQLITE_DONE) {
            rc = db_err(s, e, "delete item");
            goto fail;
        }
        if (i == 0 && n_events)
            *n_events = sqlite3_changes(s->db);
        if (i == 2 && sqlite3_changes(s->db) == 0) {
            rc = err_set(e, ERR_NOTFOUND, "no item with id %lld", (long long)id);
            goto fail;
        }
    }
    /* the newest events went: keep their ids from coming back (see above) */
    if ((rc = count_rows(s, "SELECT coalesce(max(id), 0) FROM events", &top_after, e)))
        goto fail;
    if (top_after < top_before) {
        if ((rc = prepare(s, "INSERT OR REPLACE INTO meta(key, value) VALUES('events_floor', "
                             "max(?1, (" FLOOR_GET ")))", &st, e)))
            goto fail;
        sqlite3_bind_int64(st, 1, top_before);
        rc = sqlite3_step(st);
        sqlite3_finalize(st);
        if (rc != SQLITE_DONE) {
            rc = db_err(s, e, "delete item");
            goto fail;
        }
        s->floor_state = FLOOR_UNKNOWN;
    }
    return store_commit(s, e);
fail:
    store_rollback(s);
    return rc;
}

int store_item_each(store *s, int (*fn)(void *ud, int64_t id, const char *ext_id), void *ud,
                    err *e)
{
    sqlite3_stmt *st;
    int rc;

    if ((rc = prepare(s, "SELECT id, ext_id FROM items ORDER BY id", &st, e)))
        return rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *x = (const char *)sqlite3_column_text(st, 1);
        int frc = fn(ud, sqlite3_column_int64(st, 0), x ? x : "");
        if (frc) {
            sqlite3_finalize(st);
            return frc;
        }
    }
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : db_err(s, e, "list items");
}

static char *col_dup(sqlite3_stmt *st, int i)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    return t ? mem_strdup((const char *)t) : NULL;
}

/* The int64 result of sql (0 when it fails); ?1, when the statement has it,
 * is bound to p1; what names the query in the error. */
static int query_int64(store *s, const char *sql, int64_t p1, const char *what, int64_t *n,
                       err *e)
{
    sqlite3_stmt *st;
    int rc;

    if ((rc = prepare(s, sql, &st, e)))
        return rc;
    if (sqlite3_bind_parameter_count(st) > 0)
        sqlite3_bind_int64(st, 1, p1);
    rc = sqlite3_step(st);
    *n = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    sqlite3_finalize(st);
    return rc == SQLITE_ROW ? 0 : db_err(s, e, what);
}

static int count_rows_p(store *s, const char *sql, int64_t p1, int64_t *n, err *e)
{
    return query_int64(s, sql, p1, "count", n, e);
}

static int count_rows(store *s, const char *sql, int64_t *n, err *e)
{
    return count_rows_p(s, sql, 0, n, e);
}

int store_catalog_load(store *s, store_catalog *c, err *e)
{
    sqlite3_stmt *st = NULL;
    int64_t n;
    size_t i = 0;
    int rc;

    memset(c, 0, sizeof *c);
    if ((rc = count_rows(s, "SELECT count(*) FROM items", &n, e)))
        return rc;
    c->ids = mem_calloc((size_t)n + 1, sizeof *c->ids);
    c->ext_id = mem_calloc((size_t)n + 1, sizeof(char *));
    c->title = mem_calloc((size_t)n + 1, sizeof(char *));
    c->description = mem_calloc((size_t)n + 1, sizeof(char *));
    c->category = mem_calloc((size_t)n + 1, sizeof(char *));
    c->attrs = mem_calloc((size_t)n + 1, sizeof(char *));
    if (!c->ids || !c->ext_id || !c->title || !c->description || !c->category || !c->attrs)
        goto nomem;
    if ((rc = prepare(s, "SELECT id,ext_id,title,description,category,attrs FROM items "
                         "ORDER BY id", &st, e)))
        goto fail;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW && i < (size_t)n) {
        c->ids[i] = sqlite3_column_int64(st, 0);
        c->ext_id[i] = col_dup(st, 1);
        c->title[i] = col_dup(st, 2);
        c->description[i] = col_dup(st, 3);
        c->category[i] = col_dup(st, 4);
        c->attrs[i] = col_dup(st, 5);
        c->n = ++i;
        if (!c->ext_id[i - 1] || !c->title[i - 1] || !c->description[i - 1] ||
            !c->category[i - 1] || (sqlite3_column_type(st, 5) != SQLITE_NULL && !c->attrs[i - 1]))
            goto nomem;
    }
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        rc = db_err(s, e, "load catalog");
        goto fail;
    }
    sqlite3_finalize(st);
    return 0;
nomem:
    rc = err_set(e, ERR_NOMEM, "out of memory loading the catalog");
fail:
    sqlite3_finalize(st);
    store_catalog_done(c);
    return rc;
}

void store_catalog_done(store_catalog *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->n; i++) {
        mem_free(c->ext_id[i]);
        mem_free(c->title[i]);
        mem_free(c->description[i]);
        mem_free(c->category[i]);
        mem_free(c->attrs[i]);
    }
    mem_free(c->ids);
    mem_free(c->ext_id);
    mem_free(c->title);
    mem_free(c->description);
    mem_free(c->category);
    mem_free(c->attrs);
    memset(c, 0, sizeof *c);
}

/* ---- events ------------------------------------------------------------- */

int store_event_insert(store *s, const char *session, const char *user, int64_t item,
                       int64_t ts, err *e)
{
    sqlite3_stmt *st = s->ins_event;
    int64_t top = 0;
    int rc;

    if (s->floor_state == FLOOR_UNKNOWN) {
        if ((rc = count_rows(s, FLOOR_GET, &s->floor, e)))
            return rc;
        s->floor_state = s->floor > 0 ? FLOOR_PENDING : FLOOR_NONE;
    }
    if (s->floor_state == FLOOR_PENDING) {
        /* once, after a delete: an explicit id above the floor.  A separate
         * statement: naming the id column in the common one, even bound to
         * NULL, cost 30-50% more CPU per event in bench_import. */
        if ((rc = count_rows(s, "SELECT coalesce(max(id), 0) FROM events", &top, e)) ||
            (rc = prepare(s, "INSERT INTO events(session,user,item,ts,id) VALUES(?,?,?,?,?)",
                          &st, e)))
            return rc;
        sqlite3_bind_int64(st, 5, (s->floor > top ? s->floor : top) + 1);
    }
    sqlite3_reset(st);
    sqlite3_bind_text(st, 1, session, -1, SQLITE_STATIC);
    bind_text(st, 2, user);
    sqlite3_bind_int64(st, 3, item);
    if (ts == STORE_NO_TS)
        sqlite3_bind_null(st, 4);
    else
        sqlite3_bind_int64(st, 4, ts);
    rc = sqlite3_step(st);
    if (st != s->ins_event)
        sqlite3_finalize(st);
    else
        sqlite3_reset(st);
    if (rc == SQLITE_CONSTRAINT)
        return err_set(e, ERR_NOTFOUND, "event refers to unknown item %lld", (long long)item);
    if (rc != SQLITE_DONE)
        return db_err(s, e, "insert event");
    if (s->floor_state == FLOOR_PENDING) {
        /* the newest id is above the floor now: max(id) + 1 suffices */
        if ((rc = exec(s, "DELETE FROM meta WHERE key = 'events_floor'", e)))
            return rc;
        s->floor_state = FLOOR_NONE;
    }
    if (s->txn_depth == 0)
        s->floor_state = FLOOR_UNKNOWN;
    return 0;
}

int store_events_each(store *s, int (*fn)(void *ud, const char *session, int64_t item,
                                          int64_t ts),
                      void *ud, err *e)
{
    sqlite3_stmt *st;
    int rc;

    if ((rc = prepare(s, "SELECT session, item, ts FROM events", &st, e)))
        return rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *sess = (const char *)sqlite3_column_text(st, 0);
        int64_t ts = sqlite3_column_type(st, 2) == SQLITE_NULL ? STORE_NO_TS
                                                               : sqlite3_column_int64(st, 2);
        int frc = fn(ud, sess ? sess : "", sqlite3_column_int64(st, 1), ts);
        if (frc) {
            sqlite3_finalize(st);
            return frc;
        }
    }
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : db_err(s, e, "list events");
}

int store_sessions_max_number(store *s, int64_t *n, err *e)
{
    /* names of decimal digits only, at most 18 of them (no overflow) */
    return count_rows(s, "SELECT coalesce(max(CAST(session AS INTEGER)), 0) FROM events "
                      "WHERE session NOT GLOB '*[^0-9]*' AND length(session) BETWEEN 1 AND 18",
                      n, e);
}

/* The sessions with an event above ?1: whole sessions, old events included. */
#define SINCE_WHERE " WHERE session IN (SELECT session FROM events WHERE id > ?1)"

/* since < 0: every session; else only those store_corpus_load_since names. */
static int corpus_load(store *s, int64_t since, store_corpus *c, err *e)
{
    sqlite3_stmt *st = NULL;
    int64_t n_ev = 0, n_seq = 0, n_users = 0;
    size_t cap_users, t = 0, q = 0;
    int rc, all = since < 0;

    memset(c, 0, sizeof *c);
    if ((rc = count_rows_p(s, all ? "SELECT count(*) FROM events"
                                  : "SELECT count(*) FROM events" SINCE_WHERE, since, &n_ev, e)) ||
        (rc = count_rows_p(s, all ? "SELECT count(DISTINCT session) FROM events"
                                  : "SELECT count(DISTINCT session) FROM events WHERE id > ?1",
                           since, &n_seq, e)) ||
        (rc = count_rows_p(s, all ? "SELECT count(DISTINCT user) FROM events"
                                  : "SELECT count(DISTINCT user) FROM events" SINCE_WHERE,
                           since, &n_users, e)))
        return rc;
    c->off = mem_calloc((size_t)n_seq + 1, sizeof *c->off);
    c->items = mem_calloc((size_t)n_ev + 1, sizeof *c->items);
    c->ts = mem_calloc((size_t)n_ev + 1, sizeof *c->ts);
    c->seq_user = mem_calloc((size_t)n_seq + 1, sizeof *c->seq_user);
    c->seq_name = mem_calloc((size_t)n_seq + 1, sizeof(char *));
    cap_users = (size_t)n_users + 1;
    c->users = mem_calloc(cap_users, sizeof(char *));
    if (!c->off || !c->items || !c->ts || !c->seq_user || !c->seq_name || !c->users)
        goto nomem;

    /* Users: give each distinct user a dense index, in name order. */
    if ((rc = prepare(s, all ? "SELECT DISTINCT user FROM events WHERE user IS NOT NULL "
                               "ORDER BY user"
                             : "SELECT DISTINCT user FROM events" SINCE_WHERE
                               " AND user IS NOT NULL ORDER BY user", &st, e)))
        goto fail;
    if (!all)
        sqlite3_bind_int64(st, 1, since);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW && c->n_users < cap_users) {
        if (!(c->users[c->n_users] = col_dup(st, 0)))
            goto nomem;
        c->n_users++;
    }
    sqlite3_finalize(st);
    st = NULL;

    rc = prepare(s, all ? "SELECT session, item, ts, user, id FROM events "
                          "ORDER BY session, ts IS NOT NULL, ts, id"
                        : "SELECT session, item, ts, user, id FROM events" SINCE_WHERE
                          " ORDER BY session, ts IS NOT NULL, ts, id", &st, e);
    if (rc)
        goto fail;
    if (!all)
        sqlite3_bind_int64(st, 1, since);
    c->last_event = all ? 0 : since;
    const char *prev = NULL;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW && t < (size_t)n_ev) {
        const char *sess = (const char *)sqlite3_column_text(st, 0);
        if (!sess)
            sess = "";
        if (!prev || strcmp(prev, sess) != 0) {
            if (q >= (size_t)n_seq)
                break;
            c->off[q] = t;
            if (!(c->seq_name[q] = mem_strdup(sess)))
                goto nomem;
            prev = c->seq_name[q];
            c->seq_user[q] = -1;
            const char *u = (const char *)sqlite3_column_text(st, 3);
            if (u) {   /* binary search the sorted user list (same collation: BINARY) */
                size_t lo = 0, hi = c->n_users;
                while (lo < hi) {
                    size_t mid = (lo + hi) / 2;
                    int cmp = strcmp(c->users[mid], u);
                    if (cmp == 0) { lo = mid; break; }
                    if (cmp < 0) lo = mid + 1; else hi = mid;
                }
                if (lo < c->n_users && strcmp(c->users[lo], u) == 0)
                    c->seq_user[q] = (int32_t)lo;
            }
            q++;
            c->n_seq = q;
        }
        c->items[t] = sqlite3_column_int64(st, 1);
        if (sqlite3_column_int64(st, 4) > c->last_event)
            c->last_event = sqlite3_column_int64(st, 4);
        c->ts[t] = sqlite3_column_type(st, 2) == SQLITE_NULL ? STORE_NO_TS
                                                             : sqlite3_column_int64(st, 2);
        t++;
    }
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        rc = db_err(s, e, "load sessions");
        goto fail;
    }
    c->n_tok = t;
    c->off[c->n_seq] = t;
    sqlite3_finalize(st);
    return 0;
nomem:
    rc = err_set(e, ERR_NOMEM, "out of memory loading sessions");
fail:
    sqlite3_finalize(st);
    store_corpus_done(c);
    return rc;
}

int store_corpus_load(store *s, store_corpus *c, err *e)
{
    return corpus_load(s, -1, c, e);
}

int store_corpus_load_since(store *s, int64_t last_event, store_corpus *c, err *e)
{
    if (last_event < 0)
        return err_set(e, ERR_RANGE, "event id %lld out of range", (long long)last_event);
    return corpus_load(s, last_event, c, e);
}

void store_corpus_done(store_corpus *c)
{
    if (!c)
        return;
    if (c->seq_name)
        for (size_t i = 0; i < c->n_seq; i++)
            mem_free(c->seq_name[i]);
    if (c->users)
        for (size_t i = 0; i < c->n_users; i++)
            mem_free(c->users[i]);
    mem_free(c->off);
    mem_free(c->items);
    mem_free(c->ts);
    mem_free(c->seq_user);
    mem_free(c->seq_name);
    mem_free(c->users);
    memset(c, 0, sizeof *c);
}

int store_counts_get(store *s, store_counts *o, err *e)
{
    int rc;
    int64_t pages = 0, psize = 0;

    memset(o, 0, sizeof *o);
    if ((rc = count_rows(s, "SELECT count(*) FROM items", &o->items, e)) ||
        (rc = count_rows(s, "SELECT count(*) FROM events", &o->events, e)) ||
        (rc = count_rows(s, "SELECT count(DISTINCT session) FROM events", &o->sessions, e)) ||
        (rc = count_rows(s, "SELECT count(DISTINCT user) FROM events", &o->users, e)) ||
        (rc = count_rows(s, "SELECT count(*) FROM models", &o->models, e)) ||
        (rc = count_rows(s, "SELECT count(*) FROM indexes", &o->indexes, e)) ||
        (rc = count_rows(s, "PRAGMA page_count", &pages, e)) ||
        (rc = count_rows(s, "PRAGMA page_size", &psize, e)))
        return rc;
    o->db_bytes = pages * psize;
    return 0;
}

int store_item_event_count(store *s, int64_t item, int64_t *n_out, err *e)
{
    return query_int64(s, "SELECT count(*) FROM events WHERE item=?", item, "count events", n_out,
                       e);
}

/* ---- models and vectors ------------------------------------------------- */

void store_model_done(store_model *m)
{
    if (!m)
        return;
    mem_free(m->params);
    mem_free(m->corpus);
    m->params = m->corpus = NULL;
}

static void copy_col(char *dst, size_t cap, sqlite3_stmt *st, int i)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    snprintf(dst, cap, "%s", t ? (const char *)t : "");
}

#define MODEL_COLS "name,kind,label,dim,n_vectors,version,train_seconds,params,corpus,created"

static int read_model_row(sqlite3_stmt *st, store_model *m)
{
    memset(m, 0, sizeof *m);
    copy_col(m->name, sizeof m->name, st, 0);
    copy_col(m->kind, sizeof m->kind, st, 1);
    copy_col(m->label, sizeof m->label, st, 2);
    m->dim = sqlite3_column_int64(st, 3);
    m->n_vectors = sqlite3_column_int64(st, 4);
    m->version = sqlite3_column_int64(st, 5);
    m->train_seconds = sqlite3_column_double(st, 6);
    m->params = col_dup(st, 7);
    m->corpus = col_dup(st, 8);
    copy_col(m->created, sizeof m->created, st, 9);
    if ((sqlite3_column_type(st, 7) != SQLITE_NULL && !m->params) ||
        (sqlite3_column_type(st, 8) != SQLITE_NULL && !m->corpus)) {
        store_model_done(m);
        return -ERR_NOMEM;
    }
    return 0;
}

int store_model_get(store *s, const char *name, store_model *m, err *e)
{
    sqlite3_stmt *st;
    int rc;

    memset(m, 0, sizeof *m);
    if ((rc = prepare(s, "SELECT " MODEL_COLS " FROM models WHERE name=?", &st, e)))
        return rc;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        rc = read_model_row(st, m);
        sqlite3_finalize(st);
        return rc ? err_set(e, ERR_NOMEM, "out of memory reading model %s", name) : 0;
    }
    sqlite3_finalize(st);
    if (rc == SQLITE_DONE)
        return err_set(e, ERR_NOTFOUND, "no model '%s' (train or encode one first)", name);
    return db_err(s, e, "read model");
}

static int exec_bound1(store *s, const char *sql, const char *arg, err *e)
{
    sqlite3_stmt *st;
    int rc;

    if ((rc = prepare(s, sql, &st, e)))
        return rc;
    sqlite3_bind_text(st, 1, arg, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : db_err(s, e, sql);
}

/* The models row of m (version bumped past any earlier one), inside the
 * caller's transaction. */
static int save_model_row(store *s, store_model *m, err *e)
{
    sqlite3_stmt *st = NULL;
    int64_t ver = 0;
    int rc;

    if ((rc = prepare(s, "SELECT coalesce(max(version),0) FROM models WHERE name=?", &st, e)))
        return rc;
    sqlite3_bind_text(st, 1, m->name, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW)
        ver = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    if ((rc = prepare(s, "INSERT OR REPLACE INTO models(name,kind,label,dim,n_vectors,version,"
                         "train_seconds,params,corpus) VALUES(?,?,?,?,?,?,?,?,?)", &st, e)))
        return rc;
    m->version = ver + 1;
    sqlite3_bind_text(st, 1, m->name, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, m->kind, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, m->label, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, m->dim);
    sqlite3_bind_int64(st, 5, m->n_vectors);
    sqlite3_bind_int64(st, 6, m->version);
    sqlite3_bind_double(st, 7, m->train_seconds);
    bind_text(st, 8, m->params);
    bind_text(st, 9, m->corpus);
    rc = sqlite3_step(st);
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : db_err(s, e, "save model");
}

int store_vectors_save(store *s, store_model *m, const vecset *vs, err *e)
{
    sqlite3_stmt *st = NULL;
    int rc;

    if ((rc = store_begin(s, e)))
        return rc;
    if ((rc = prepare(s, "DELETE FROM vectors WHERE model=?", &st, e)))
        goto fail;
    sqlite3_bind_text(st, 1, m->name, -1, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_DONE) {
        rc = db_err(s, e, "replace vectors");
        goto fail;
    }
    sqlite3_finalize(st);
    st = NULL;
    if ((rc = prepare(s, "INSERT INTO vectors(model,item,vec) VALUES(?,?,?)", &st, e)))
        goto fail;
    for (size_t i = 0; i < vs->n; i++) {
        sqlite3_reset(st);
        sqlite3_bind_text(st, 1, m->name, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, vs->ids[i]);
        sqlite3_bind_blob(st, 3, vs->data + i * vs->dim, (int)(vs->dim * sizeof(float)),
                          SQLITE_STATIC);
        if (sqlite3_step(st) != SQLITE_DONE) {
            rc = db_err(s, e, "save vectors");
            goto fail;
        }
    }
    sqlite3_finalize(st);
    st = NULL;
    m->dim = (int64_t)vs->dim;
    m->n_vectors = (int64_t)vs->n;
    if ((rc = save_model_row(s, m, e)))
        goto fail;
    return store_commit(s, e);
fail:
    sqlite3_finalize(st);
    store_rollback(s);
    return rc;
}

int store_model_save_blob(store *s, store_model *m, const void *data, size_t len, err *e)
{
    int rc;

    if ((rc = store_begin(s, e)))
        return rc;
    m->dim = 0;
    if ((rc = exec_bound1(s, "DELETE FROM vectors WHERE model=?", m->name, e)) ||
        (rc = exec_bound1(s, "DELETE FROM indexes WHERE model=?", m->name, e)) ||
        (rc = save_model_row(s, m, e)) ||
        (rc = store_blob_save(s, m->name, m->version, data, len, e))) {
        store_rollback(s);
        return rc;
    }
    return store_commit(s, e);
}

int store_vectors_load(store *s, const char *name, vecset *vs, store_model *m, err *e)
{
    sqlite3_stmt *st = NULL;
    store_model mm;
    size_t i = 0;
    int rc;

    memset(vs, 0, sizeof *vs);
    if ((rc = store_model_get(s, name, &mm, e)))
        return rc;
    if (mm.dim == 0) {
        rc = err_set(e, ERR_UNSUPPORTED, "model '%s' (kind %s) has no vectors: it is an "
                     "item-item model", name, mm.kind);
        goto fail;
    }
    if (mm.dim < 0 || mm.dim > 65536 || mm.n_vectors < 0) {
        rc = err_set(e, ERR_PARSE, "model '%s' has a bad shape (%lld x %lld)", name,
                     (long long)mm.n_vectors, (long long)mm.dim);
        goto fail;
    }
    if ((rc = vecset_init(vs, (size_t)mm.n_vectors, (size_t)mm.dim, e)))
        goto fail;
    if ((rc = prepare(s, "SELECT item, vec FROM vectors WHERE model=? ORDER BY item", &st, e)))
        goto fail;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        int len = sqlite3_column_bytes(st, 1);
        const void *b = sqlite3_column_blob(st, 1);
        if (i >= vs->n || len != (int)(vs->dim * sizeof(float)) || !b) {
            rc = err_set(e, ERR_PARSE, "model '%s': stored vectors do not match its "
                         "metadata (row %zu)", name, i);
            goto fail;
        }
        vs->ids[i] = sqlite3_column_int64(st, 0);
        memcpy(vs->data + i * vs->dim, b, (size_t)len);
        i++;
    }
    if (rc != SQLITE_DONE) {
        rc = db_err(s, e, "load vectors");
        goto fail;
    }
    if (i != vs->n) {
        rc = err_set(e, ERR_PARSE, "model '%s': %zu vectors stored, %zu expected", name, i,
                     vs->n);
        goto fail;
    }
    sqlite3_finalize(st);
    if (m)
        *m = mm;
    else
        store_model_done(&mm);
    return 0;
fail:
    sqlite3_finalize(st);
    store_model_done(&mm);
    vecset_done(vs);
    return rc;
}

int store_models_list(store *s, store_model **out, size_t *n_out, err *e)
{
    sqlite3_stmt *st;
    store_model *ms = NULL;
    size_t n = 0, cap = 0;
    int rc;

    *out = NULL;
    *n_out = 0;
    if ((rc = prepare(s, "SELECT " MODEL_COLS " FROM models ORDER BY name", &st, e)))
        return rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (mem_grow(&ms, &cap, n + 1, sizeof *ms) || read_model_row(st, &ms[n])) {
            sqlite3_finalize(st);
            store_models_free(ms, n);
            return err_set(e, ERR_NOMEM, "out of memory listing models");
        }
        n++;
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        store_models_free(ms, n);
        return db_err(s, e, "list models");
    }
    *out = ms;
    *n_out = n;
    return 0;
}

void store_models_free(store_model *ms, size_t n)
{
    for (size_t i = 0; ms && i < n; i++)
        store_model_done(&ms[i]);
    mem_free(ms);
}


int store_model_delete(store *s, const char *name, err *e)
{
    int rc;

    if ((rc = store_begin(s, e)))
        return rc;
    if ((rc = exec_bound1(s, "DELETE FROM vectors WHERE model=?", name, e)) ||
        (rc = exec_bound1(s, "DELETE FROM models WHERE name=?", name, e)) ||
        (rc = exec_bound1(s, "DELETE FROM indexes WHERE model=?", name, e))) {
        store_rollback(s);
        return rc;
    }
    return store_commit(s, e);
}

/* ---- index blobs -------------------------------------------------------- */

int store_index_save(store *s, const store_index_row *r, err *e)
{
    sqlite3_stmt *st;
    int rc;

    if (r->len > 2000000000u)
        return err_set(e, ERR_RANGE, "index for '%s' is too large to store (%zu bytes)",
                       r->model, r->len);
    if ((rc = prepare(s, "INSERT OR REPLACE INTO indexes(model,kind,params,model_version,data)"
                         " VALUES(?,?,?,?,?)", &st, e)))
        return rc;
    sqlite3_bind_text(st, 1, r->model, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, r->kind, -1, SQLITE_STATIC);
    bind_text(st, 3, r->params);
    sqlite3_bind_int64(st, 4, r->model_version);
    sqlite3_bind_blob(st, 5, r->data, (int)r->len, SQLITE_STATIC);
    rc = sqlite3_step(st);
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : db_err(s, e, "save index");
}

int store_index_load(store *s, const char *model, store_index_row *r, err *e)
{
    sqlite3_stmt *st;
    int rc;

    memset(r, 0, sizeof *r);
    if ((rc = prepare(s, "SELECT model,kind,params,model_version,data FROM indexes "
                         "WHERE model=?", &st, e)))
        return rc;
    sqlite3_bind_text(st, 1, model, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        sqlite3_finalize(st);
        return rc == SQLITE_DONE ? err_set(e, ERR_NOTFOUND, "no stored index for '%s'", model)
                                 : db_err(s, e, "load index");
    }
    copy_col(r->model, sizeof r->model, st, 0);
    copy_col(r->kind, sizeof r->kind, st, 1);
    r->params = col_dup(st, 2);
    r->model_version = sqlite3_column_int64(st, 3);
    r->len = (size_t)sqlite3_column_bytes(st, 4);
    r->data = mem_alloc(r->len);
    if (r->data && r->len)
        memcpy(r->data, sqlite3_column_blob(st, 4), r->len);
    sqlite3_finalize(st);
    if (!r->data) {
        store_index_row_done(r);
        return err_set(e, ERR_NOMEM, "out of memory loading index for '%s'", model);
    }
    return 0;
}

void store_index_row_done(store_index_row *r)
{
    if (!r)
        return;
    mem_free(r->params);
    mem_free(r->data);
    r->params = NULL;
    r->data = NULL;
    r->len = 0;
}

int store_index_delete(store *s, const char *model, err *e)
{
    return exec_bound1(s, "DELETE FROM indexes WHERE model=?", model, e);
}

/* ---- meta --------------------------------------------------------------- */

int store_meta_set(store *s, const char *key, const char *value, err *e)
{
    sqlite3_stmt *st;
    int rc;

    if ((rc = prepare(s, "INSERT OR REPLACE INTO meta(key,value) VALUES(?,?)", &st, e)))
        return rc;
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    bind_text(st, 2, value);
    rc = sqlite3_step(st);
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : db_err(s, e, "save setting");
}

int store_meta_get(store *s, const char *key, char **out, err *e)
{
    sqlite3_stmt *st;
    int rc;

    *out = NULL;
    if ((rc = prepare(s, "SELECT value FROM meta WHERE key=?", &st, e)))
        return rc;
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL) {
        *out = col_dup(st, 0);
        if (!*out) {
            sqlite3_finalize(st);
            return err_set(e, ERR_NOMEM, "out of memory reading setting");
        }
    }
    sqlite3_finalize(st);
    return (rc == SQLITE_ROW || rc == SQLITE_DONE) ? 0 : db_err(s, e, "read setting");
}

/* ---- blobs -------------------------------------------------------------- */

int store_blob_save(store *s, const char *name, int64_t model_version, const void *data,
                    size_t len, err *e)
{
    sqlite3_stmt *st;
    int rc;

    if (len > 2000000000u)
        return err_set(e, ERR_RANGE, "%s is too large to store (%zu bytes)", name, len);
    if ((rc = prepare(s, "INSERT OR REPLACE INTO blobs(name,model_version,data) VALUES(?,?,?)",
                      &st, e)))
        return rc;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, model_version);
    sqlite3_bind_blob(st, 3, data, (int)len, SQLITE_STATIC);
    rc = sqlite3_step(st);
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : db_err(s, e, "save blob");
}

int store_blob_load(store *s, const char *name, int64_t *model_version, void **data,
                    size_t *len, err *e)
{
    sqlite3_stmt *st;
    int rc;

    *data = NULL;
    *len = 0;
    if ((rc = prepare(s, "SELECT model_version, data FROM blobs WHERE name=?", &st, e)))
        return rc;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        sqlite3_finalize(st);
        return rc == SQLITE_DONE ? err_set(e, ERR_NOTFOUND, "no stored '%s'", name)
                                 : db_err(s, e, "load blob");
    }
    *model_version = sqlite3_column_int64(st, 0);
    *len = (size_t)sqlite3_column_bytes(st, 1);
    *data = mem_alloc(*len);
    if (*data && *len)
        memcpy(*data, sqlite3_column_blob(st, 1), *len);
    sqlite3_finalize(st);
    return *data ? 0 : err_set(e, ERR_NOMEM, "out of memory loading '%s'", name);
}
