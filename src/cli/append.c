/*
 * append.c: `strom append PATH [--server HOST:PORT] [--ack N] [--no-sync] [--key-sep C]
 * [--header NAME=VALUE]... [MESSAGE...]`.
 *
 * --key-sep C splits each message at its first C into key and payload (a message without C has
 * no key); every --header is given to every message (a Kafka consumer sees keys and headers).
 *
 * With MESSAGE arguments, appends them as one batch. Without, reads stdin and appends one message
 * per line (the '\n' removed), in batches of up to APPEND_BATCH_MSGS_MAX lines or
 * APPEND_BATCH_BYTES_MAX bytes, several batches in flight at once (pipelined). A batch's frame
 * also stays within the node's frame_bytes_max (from its hello answer), so that a node with a
 * low --frame-bytes-max or long --header values refuses only a message that is too large alone.
 * Prints at the end
 *   strom.append  stream:PATH  count:N  first:OFFSET  last:OFFSET
 * and exits 1 when any append failed (after saying which and why on stderr).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/client_common.h"
#include "proto/frame.h"

enum {
    APPEND_BATCH_MSGS_MAX = 1024,           /* lines per batch */
    APPEND_BATCH_BYTES_MAX = 256 * 1024,    /* payload bytes per batch (a longer line goes alone) */
    APPEND_STEP_WAIT_NS = 10 * 1000 * 1000, /* one wait for room in the pipeline */
    /* Encoded bytes of a message besides its key, payload and headers: client_ts_ns, the key's
     * and payload's lengths, the header count (docs/protocol.md, "The message set"). */
    APPEND_MSG_FIXED_BYTES = 8 + 4 + 4 + 4,
    APPEND_HEADER_FIXED_BYTES = 4 + 4 /* a header's name and value lengths */
};

/* The state of one run: what was appended, the first error. */
struct append_run {
    strom_client *c;
    const char *path;
    uint32_t ack;
    uint64_t count;                                 /* messages acknowledged */
    uint64_t first;                                 /* lowest offset acknowledged */
    uint64_t last;                                  /* highest offset acknowledged */
    uint64_t failed;                                /* messages whose append failed */
    strom_err err;                                  /* the first error */
    uint64_t line_no;                               /* lines read from stdin */
    int key_sep;                                    /* --key-sep, or -1 */
    struct strom_header headers[STROM_HEADERS_MAX]; /* --header, for every message */
    uint32_t header_count;
    size_t msg_header_bytes; /* encoded bytes of the headers, in every message */
    size_t frame_bytes_max;  /* the node's largest frame */
    size_t frame_bytes;      /* encoded bytes of the batch being filled, as a frame */
    struct strom_msg *msgs;  /* the batch being filled: APPEND_BATCH_MSGS_MAX */
    size_t *starts;          /* where each message's key (then payload) starts in bytes */
    uint32_t msg_count;
    char *bytes; /* its payload bytes */
    size_t bytes_used;
    size_t bytes_cap;
};

static void append_done(void *arg, const struct strom_append_result *r) {
    struct append_run *run = arg;
    if (r->err) {
        if (run->err == STROM_OK) {
            run->err = r->err;
        }
        return;
    }
    if (run->count == 0 || r->base_offset < run->first) {
        run->first = r->base_offset;
    }
    uint64_t last = r->base_offset + r->count - 1;
    if (run->count == 0 || last > run->last) {
        run->last = last;
    }
    run->count += r->count;
}

/* Queues msgs[0, n) as one batch, stepping the client while the pipeline is full. */
static strom_err append_queue(struct append_run *run, const struct strom_msg *msgs, uint32_t n) {
    strom_err err;
    for (;;) {
        err = strom_append_async(run->c, run->path, msgs, n, run->ack, append_done, run);
        if (err != STROM_ERR_AGAIN) {
            break;
        }
        err = strom_step(run->c, APPEND_STEP_WAIT_NS);
        if (err) {
            break;
        }
    }
    if (err) {
        run->failed += n;
    }
    return err;
}

/* Sends the batch being filled, if any, and empties it. */
static strom_err append_flush(struct append_run *run) {
    strom_err err = STROM_OK;
    if (run->msg_count > 0) {
        /* Payload pointers are set only now: run->bytes may have moved while filling. */
        for (uint32_t i = 0; i < run->msg_count; i++) {
            struct strom_msg *m = &run->msgs[i];
            const char *at = run->bytes != NULL ? run->bytes + run->starts[i] : "";
            m->key = m->key_bytes > 0 ? at : NULL;
            m->payload = at + m->key_bytes;
            m->headers = run->header_count > 0 ? run->headers : NULL;
            m->header_count = run->header_count;
        }
        err = append_queue(run, run->msgs, run->msg_count);
        run->msg_count = 0;
        run->bytes_used = 0;
        run->frame_bytes = proto_append_frame_bytes(strlen(run->path), 0);
    }
    return err;
}

/* Adds one line to the batch (flushing first when it is full). */
static strom_err append_line(struct append_run *run, const char *line, size_t len) {
    strom_err err = STROM_OK;
    /* counts a key's separator too, which is not sent: one byte high at most */
    size_t msg_bytes = APPEND_MSG_FIXED_BYTES + run->msg_header_bytes + len;
    if (run->msg_count == APPEND_BATCH_MSGS_MAX ||
        (run->msg_count > 0 && (run->bytes_used + len > APPEND_BATCH_BYTES_MAX ||
                                run->frame_bytes + msg_bytes > run->frame_bytes_max))) {
        err = append_flush(run);
        if (err) {
            return err;
        }
    }
    if (run->bytes_used + len > run->bytes_cap) {
        size_t cap = run->bytes_used + len;
        char *bytes = realloc(run->bytes, cap);
        if (bytes == NULL) {
            return STROM_ERR_NO_MEMORY;
        }
        run->bytes = bytes;
        run->bytes_cap = cap;
    }
    memcpy(run->bytes + run->bytes_used, line, len);
    const char *sep = run->key_sep >= 0 ? memchr(line, run->key_sep, len) : NULL;
    uint32_t key = sep != NULL ? (uint32_t)(sep - line) : 0;
    if (sep != NULL) {
        /* the key, then the payload after the separator, back to back */
        memmove(run->bytes + run->bytes_used + key, run->bytes + run->bytes_used + key + 1,
                len - key - 1);
    }
    run->msgs[run->msg_count] = (struct strom_msg){
        .key_bytes = key, .payload_bytes = (uint32_t)(len - key - (sep != NULL ? 1 : 0))};
    run->starts[run->msg_count] = run->bytes_used;
    run->msg_count++;
    run->bytes_used += len;
    run->frame_bytes += msg_bytes;
    return err;
}

static strom_err append_stdin(struct append_run *run) {
    char *line = NULL;
    size_t line_cap = 0;
    strom_err err = STROM_OK;
    for (;;) {
        ssize_t n = getline(&line, &line_cap, stdin);
        if (n < 0) {
            break;
        }
        run->line_no++;
        size_t len = (size_t)n;
        if (len > 0 && line[len - 1] == '\n') {
            len--;
        }
        if (len > UINT32_MAX) {
            err = STROM_ERR_TOO_LARGE;
            break;
        }
        err = append_line(run, line, len);
        if (err) {
            break;
        }
    }
    free(line);
    if (err == STROM_OK && ferror(stdin)) {
        err = STROM_ERR_IO;
    }
    if (err == STROM_OK) {
        err = append_flush(run);
    }
    return err;
}

static strom_err append_args(struct append_run *run, char **args, int n) {
    strom_err err = STROM_OK;
    for (int i = 0; i < n && err == STROM_OK; i++) {
        err = append_line(run, args[i], strlen(args[i]));
    }
    if (err == STROM_OK) {
        err = append_flush(run);
    }
    return err;
}

static void append_usage(void) {
    fprintf(stderr, "usage: strom append PATH [--server HOST:PORT] [--ack N] [--no-sync] "
                    "[--key-sep C]\n"
                    "                    [--header NAME=VALUE]... [MESSAGE...]\n"
                    "  without MESSAGE, appends one message per line of stdin\n");
}

/* --key-sep C or --header NAME=VALUE; false (after saying why) when it is not valid. */
static bool append_option(struct append_run *run, int opt, const char *arg) {
    if (opt == 'k') {
        run->key_sep = strlen(arg) == 1 ? (unsigned char)arg[0] : -1;
        if (run->key_sep < 0) {
            fprintf(stderr, "strom append: --key-sep takes one character, not '%s'\n", arg);
        }
        return run->key_sep >= 0;
    }
    const char *eq = strchr(arg, '=');
    if (eq == NULL || eq == arg || run->header_count == STROM_HEADERS_MAX) {
        fprintf(stderr, "strom append: --header takes NAME=VALUE (at most %u of them), not '%s'\n",
                STROM_HEADERS_MAX, arg);
        return false;
    }
    struct strom_header *h = &run->headers[run->header_count++];
    *h = (struct strom_header){.name = arg,
                               .name_bytes = (uint32_t)(eq - arg),
                               .value = eq + 1,
                               .value_bytes = (uint32_t)strlen(eq + 1)};
    run->msg_header_bytes += APPEND_HEADER_FIXED_BYTES + h->name_bytes + h->value_bytes;
    return true;
}

/* Prints the closing line and says what failed. */
static int append_report(const struct append_run *run, strom_err err) {
    if (err == STROM_OK) {
        err = run->err;
    }
    if (run->count > 0) {
        printf("strom.append  stream:%s  count:%llu  first:%llu  last:%llu\n", run->path,
               (unsigned long long)run->count, (unsigned long long)run->first,
               (unsigned long long)run->last);
    } else {
        printf("strom.append  stream:%s  count:0  first:\"\"  last:\"\"\n", run->path);
    }
    if (err) {
        char what[STROM_PATH_BYTES_MAX + 64];
        if (run->line_no > 0) {
            snprintf(what, sizeof what, "append to %s failed after %llu line(s) read", run->path,
                     (unsigned long long)run->line_no);
        } else {
            snprintf(what, sizeof what, "append to %s failed", run->path); /* MESSAGE arguments */
        }
        cli_report("append", what, err);
        return CLI_EXIT_ERROR;
    }
    return CLI_EXIT_OK;
}

int cli_append(int argc, char **argv) {
    static const struct option options[] = {{"server", required_argument, NULL, 's'},
                                            {"ack", required_argument, NULL, 'a'},
                                            {"no-sync", no_argument, NULL, 'n'},
                                            {"key-sep", required_argument, NULL, 'k'},
                                            {"header", required_argument, NULL, 'H'},
                                            {"help", no_argument, NULL, 'h'},
                                            {NULL, 0, NULL, 0}};
    const char *server = NULL;
    uint32_t nodes = 1;
    bool sync = true;
    struct append_run run = {.key_sep = -1};
    int opt;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
        if (opt == 'k' || opt == 'H') {
            if (!append_option(&run, opt, optarg)) {
                return CLI_EXIT_USAGE;
            }
        } else if (opt == 's') {
            server = optarg;
        } else if (opt == 'a') {
            if (!cli_parse_ack("append", optarg, &nodes)) {
                return CLI_EXIT_USAGE;
            }
        } else if (opt == 'n') {
            sync = false;
        } else {
            append_usage();
            return opt == 'h' ? CLI_EXIT_OK : CLI_EXIT_USAGE;
        }
    }
    if (optind >= argc) {
        append_usage();
        return CLI_EXIT_USAGE;
    }
    run.path = argv[optind];
    run.ack = nodes | (sync ? 0 : STROM_NO_SYNC);
    if (!cli_check_path("append", run.path)) {
        return CLI_EXIT_USAGE;
    }
    run.c = cli_client_open("append", server);
    if (run.c == NULL) {
        return CLI_EXIT_ERROR;
    }
    struct strom_server_info info;
    strom_server_info(run.c, &info);
    run.frame_bytes_max = info.frame_bytes_max;
    run.frame_bytes = proto_append_frame_bytes(strlen(run.path), 0);
    run.msgs = calloc(APPEND_BATCH_MSGS_MAX, sizeof run.msgs[0]);
    run.starts = calloc(APPEND_BATCH_MSGS_MAX, sizeof run.starts[0]);
    strom_err err = run.msgs == NULL || run.starts == NULL ? STROM_ERR_NO_MEMORY : STROM_OK;
    if (err == STROM_OK) {
        int rest = argc - optind - 1;
        err = rest > 0 ? append_args(&run, argv + optind + 1, rest) : append_stdin(&run);
    }
    strom_err drained = strom_drain(run.c, UINT64_MAX);
    if (err == STROM_OK) {
        err = drained;
    }
    int code = append_report(&run, err);
    free(run.msgs);
    free(run.starts);
    free(run.bytes);
    strom_close(run.c);
    return code;
}
