/* serve.h - `embedlab serve`: the lab's models as an HTTP service.
 *
 * serve.c runs libmicrohttpd (a thread pool of epoll loops, connections
 * suspended while their texts wait for the encoder), one batcher thread that
 * owns the text encoder and encodes the texts of concurrent requests
 * together, and one watcher thread that reloads the read-only snapshot
 * (snap.h) when another process commits to the database, and closes
 * connections that stay too long on one request.  The API is serve_api.h.
 */
#ifndef EMBEDLAB_SERVE_H
#define EMBEDLAB_SERVE_H

#include <stddef.h>

typedef struct serve_opts {
    const char *db;            /* database file (read only) */
    const char *listen;        /* "HOST:PORT" (default 127.0.0.1:8080; port 0: any free) */
    const char *token_file;    /* Bearer token, or NULL: no auth */
    int threads;               /* HTTP workers and encoder threads (0: the CPUs) */
    int quiet;                 /* no request log */
    size_t max_body;           /* bytes per request body */
    size_t max_inputs;         /* texts per embeddings request */
    unsigned max_conn;         /* open connections */
    unsigned timeout_s;        /* one request (headers + body), and idle keep-alive */
    unsigned batch_wait_us;    /* how long a batch waits for requests still arriving */
    size_t batch_tokens;       /* tokens per encoder batch */
    unsigned poll_ms;          /* how often the database is checked for changes */
} serve_opts;

serve_opts serve_opts_default(void);

/* Parses `embedlab serve ARGS` (argv[0] is "serve").  0 and *o set; 1 on
 * bad usage (message on stderr); 2 for --help (printed). */
int serve_parse_args(int argc, char **argv, serve_opts *o);

/* Runs the server until SIGINT/SIGTERM, then drains in-flight requests.
 * Returns the process exit status (0 after a clean stop). */
int serve_main(const serve_opts *o);

#endif
