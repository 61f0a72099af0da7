/*
 * read.c: `strom read PATH [--server HOST:PORT] [--from N] [--to N] [--follow] [--format raw|ssim]
 * [--ack N] [--no-sync]`.
 *
 * Prints the messages of a stream from --from (default 0) up to --to or, without --follow, the
 * end the stream has when the read starts. raw prints each payload on its own line; ssim prints
 *   strom.msg  stream:PATH  offset:N  ts:NS  payload:VALUE
 * with the payload quoted as ssim needs, and before the payload the message's client_ts:NS,
 * key:KEY and header.I:NAME=VALUE fields when it has them (Kafka records do). With --follow it runs
 * until --to, SIGINT or SIGTERM, and waits for a stream that does not exist yet to appear.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/ssim.h"
#include "cli/cli.h"
#include "cli/client_common.h"

enum {
    READ_STEP_WAIT_NS = 100 * 1000 * 1000,
    READ_ABSENT_RETRY_NS = 150 * 1000 * 1000, /* --follow of a missing stream: asks again */
};

/* Set by SIGINT and SIGTERM: the only global, as signal handlers can reach nothing else. */
static volatile sig_atomic_t read_stop_requested;

static void read_on_signal(int sig) {
    (void)sig;
    read_stop_requested = 1;
}

/* One run's state. */
struct read_run {
    const char *path;
    bool ssim;      /* --format ssim */
    bool ended;     /* the subscription ended */
    strom_err err;  /* why it ended, or the first output error */
    uint64_t count; /* messages printed */
    char *line;     /* ssim output buffer */
    size_t line_cap;
};

/* Writes the message's client timestamp, key and headers, when it has them: client_ts:NS key:K
 * header.0:NAME=VALUE ... (a Kafka record's timestamp, key and headers). */
static void read_print_extras(struct strom_ssim_writer *w, const struct strom_msg *m, char *tmp) {
    if (m->client_ts_ns != 0) {
        strom_ssim_write_u64(w, "client_ts", m->client_ts_ns);
    }
    if (m->key_bytes > 0) {
        strom_ssim_write_bytes(w, "key", m->key, m->key_bytes);
    }
    for (uint32_t i = 0; i < m->header_count; i++) {
        const struct strom_header *h = &m->headers[i];
        char name[32];
        snprintf(name, sizeof name, "header.%u", i);
        memcpy(tmp, h->name, h->name_bytes);
        tmp[h->name_bytes] = '=';
        memcpy(tmp + h->name_bytes + 1, h->value, h->value_bytes);
        strom_ssim_write_bytes(w, name, tmp, (size_t)h->name_bytes + 1 + h->value_bytes);
    }
}

/* Prints one message as an ssim line (the buffer grows to fit: every payload byte may take 4). */
static strom_err read_print_ssim(struct read_run *run, const struct strom_msg *m) {
    size_t extra = m->key_bytes;
    for (uint32_t i = 0; i < m->header_count; i++) {
        extra += (size_t)m->headers[i].name_bytes + m->headers[i].value_bytes + 32;
    }
    size_t need = 4 * ((size_t)m->payload_bytes + extra) + 4 * strlen(run->path) + 256;
    need += extra + 1; /* a header's name=value is put together after the line */
    if (need > run->line_cap) {
        char *line = realloc(run->line, need);
        if (line == NULL) {
            return STROM_ERR_NO_MEMORY;
        }
        run->line = line;
        run->line_cap = need;
    }
    struct strom_ssim_writer w;
    strom_ssim_writer_init(&w, run->line, run->line_cap - extra - 1);
    strom_ssim_write_type(&w, "strom.msg");
    strom_ssim_write_str(&w, "stream", run->path);
    strom_ssim_write_u64(&w, "offset", m->offset);
    strom_ssim_write_u64(&w, "ts", m->ts_ns);
    read_print_extras(&w, m, run->line + run->line_cap - extra - 1);
    strom_ssim_write_bytes(&w, "payload", m->payload, m->payload_bytes);
    strom_err err = strom_ssim_writer_end(&w);
    if (err == STROM_OK && fwrite(run->line, 1, w.bytes_used, stdout) != w.bytes_used) {
        err = STROM_ERR_IO;
    }
    return err;
}

static void read_on_msg(void *arg, strom_sub *sub, const struct strom_msg *m, strom_err err) {
    (void)sub;
    struct read_run *run = arg;
    if (m == NULL) {
        run->ended = true;
        if (run->err == STROM_OK) {
            run->err = err;
        }
        return;
    }
    if (run->err) {
        return;
    }
    strom_err out = STROM_OK;
    if (run->ssim) {
        out = read_print_ssim(run, m);
    } else if (fwrite(m->payload, 1, m->payload_bytes, stdout) != m->payload_bytes ||
               putchar('\n') == EOF) {
        out = STROM_ERR_IO;
    }
    run->err = out;
    run->count++;
}

static void read_usage(void) {
    fprintf(stderr, "usage: strom read PATH [--server HOST:PORT] [--from N] [--to N] [--follow]\n"
                    "                  [--format raw|ssim] [--ack N] [--no-sync]\n");
}

/* Parses the options into ro and the run; returns -1 to go on, else an exit code. */
static int read_options(int argc, char **argv, struct strom_read_options *ro, struct read_run *run,
                        const char **server) {
    static const struct option options[] = {{"server", required_argument, NULL, 's'},
                                            {"from", required_argument, NULL, 'f'},
                                            {"to", required_argument, NULL, 't'},
                                            {"follow", no_argument, NULL, 'F'},
                                            {"format", required_argument, NULL, 'o'},
                                            {"ack", required_argument, NULL, 'a'},
                                            {"no-sync", no_argument, NULL, 'n'},
                                            {"help", no_argument, NULL, 'h'},
                                            {NULL, 0, NULL, 0}};
    uint32_t nodes = 1;
    bool sync = true;
    int opt;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
        bool ok = true;
        if (opt == 's') {
            *server = optarg;
        } else if (opt == 'f') {
            ok = cli_parse_u64("read", "--from", optarg, &ro->from);
        } else if (opt == 't') {
            ok = cli_parse_u64("read", "--to", optarg, &ro->to);
        } else if (opt == 'F') {
            ro->follow = true;
        } else if (opt == 'o') {
            ok = strcmp(optarg, "raw") == 0 || strcmp(optarg, "ssim") == 0;
            run->ssim = strcmp(optarg, "ssim") == 0;
            if (!ok) {
                fprintf(stderr, "strom read: --format is raw or ssim, not '%s'\n", optarg);
            }
        } else if (opt == 'a') {
            ok = cli_parse_ack("read", optarg, &nodes);
        } else if (opt == 'n') {
            sync = false;
        } else {
            read_usage();
            return opt == 'h' ? CLI_EXIT_OK : CLI_EXIT_USAGE;
        }
        if (!ok) {
            return CLI_EXIT_USAGE;
        }
    }
    if (optind + 1 != argc) {
        read_usage();
        return CLI_EXIT_USAGE;
    }
    if (ro->to < ro->from) {
        fprintf(stderr,
                "strom read: --to %llu is below --from %llu: --to is the offset to "
                "stop before\n",
                (unsigned long long)ro->to, (unsigned long long)ro->from);
        return CLI_EXIT_USAGE;
    }
    run->path = argv[optind];
    ro->ack = nodes | (sync ? 0 : STROM_NO_SYNC);
    return cli_check_path("read", run->path) ? -1 : CLI_EXIT_USAGE;
}

/* Steps the client until the subscription ends, output fails or a signal asks to stop. */
static strom_err read_loop(strom_client *c, struct read_run *run, bool follow) {
    strom_err err = STROM_OK;
    while (!run->ended && !read_stop_requested && err == STROM_OK && run->err == STROM_OK) {
        err = strom_step(c, READ_STEP_WAIT_NS);
        if (follow && fflush(stdout) != 0) {
            err = STROM_ERR_IO;
        }
    }
    if (fflush(stdout) != 0 && err == STROM_OK) {
        err = STROM_ERR_IO;
    }
    return err != STROM_OK ? err : run->err;
}

/*
 * Subscribes and steps until the read ends. With --follow, a stream that does not exist yet
 * (NO_STREAM before any message) is asked for again every READ_ABSENT_RETRY_NS until it exists
 * (created, or auto-created by a first append) or a signal stops the wait, as a follower of
 * Kafka or NATS expects; one line on stderr says that it waits.
 */
static strom_err read_run(strom_client *c, const struct strom_read_options *ro,
                          struct read_run *run) {
    bool said = false;
    for (;;) {
        strom_sub *sub = NULL;
        strom_err err = strom_subscribe(c, run->path, ro, read_on_msg, run, &sub);
        if (err == STROM_OK) {
            err = read_loop(c, run, ro->follow);
        }
        strom_sub_close(c, sub);
        bool absent = ro->follow && err == STROM_ERR_NO_STREAM && run->count == 0;
        if (!absent || read_stop_requested) {
            return absent ? STROM_OK : err;
        }
        if (!said) {
            fprintf(stderr, "strom read: %s does not exist yet; waiting for it (--follow)\n",
                    run->path);
            said = true;
        }
        run->ended = false;
        run->err = STROM_OK;
        err = strom_step(c, READ_ABSENT_RETRY_NS); /* waits (answers nothing: no request) */
        if (err) {
            return err;
        }
    }
}

int cli_read(int argc, char **argv) {
    struct strom_read_options ro;
    strom_read_options_init(&ro);
    struct read_run run = {0};
    const char *server = NULL;
    int code = read_options(argc, argv, &ro, &run, &server);
    if (code >= 0) {
        return code;
    }
    strom_client *c = cli_client_open("read", server);
    if (c == NULL) {
        return CLI_EXIT_ERROR;
    }
    struct sigaction sa = {.sa_handler = read_on_signal};
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    strom_err err = read_run(c, &ro, &run);
    code = CLI_EXIT_OK;
    if (err == STROM_ERR_NO_STREAM && run.count == 0) {
        fprintf(stderr,
                "strom read: stream %s does not exist (NO_STREAM); create it with 'strom create "
                "PATH', list streams with 'strom streams', or pass --follow to wait for it\n",
                run.path);
        code = CLI_EXIT_ERROR;
    } else if (err) {
        char what[300];
        snprintf(what, sizeof what, "read of %s stopped after %llu message(s)", run.path,
                 (unsigned long long)run.count);
        cli_report("read", what, err);
        code = CLI_EXIT_ERROR;
    }
    strom_close(c);
    free(run.line);
    return code;
}
