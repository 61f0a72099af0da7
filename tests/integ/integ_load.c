/*
 * integ_load.c: a load generator for the integration tests. Appends count messages to one stream
 * through libstrom, pipelined, in batches, and writes one line "OFFSET ID" per acknowledged
 * message to the --acked file (flushed as it goes, so a test can watch it grow). Payloads are
 * "m<ID>" padded with '.' to --bytes, IDs from --id-base on, each appended once by this program
 * (libstrom retries a batch after a reconnect; the node must apply it once).
 *
 *   integ_load --server HOST:PORT --path P --count N [--batch B] [--bytes N] [--id-base K]
 *              [--ack sync|1] [--acked FILE] [--timeout-s S]
 *
 * Exits 0 when every message was acknowledged, 1 when an append failed (said on stderr), 2 when
 * the timeout passed first.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "strom.h"

enum { LOAD_BATCH_MAX = 1024, LOAD_BYTES_MAX = 4096 };

struct load {
    const char *server;
    const char *path;
    uint64_t count;
    uint32_t batch;
    uint32_t bytes;
    uint64_t id_base;
    uint32_t ack;
    FILE *acked;
    uint64_t timeout_s;
    uint64_t done;   /* messages acknowledged */
    uint64_t failed; /* messages whose append failed */
};

/* The ids of one queued batch, for its callback. */
struct load_batch {
    struct load *l;
    uint64_t first_id;
    uint32_t count;
};

static uint64_t now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec;
}

static void on_ack(void *arg, const struct strom_append_result *r) {
    struct load_batch *b = arg;
    struct load *l = b->l;
    if (r->err) {
        fprintf(stderr, "integ_load: append of ids %llu.. failed: %s\n",
                (unsigned long long)b->first_id, strom_strerror(r->err));
        l->failed += b->count;
        free(b);
        return;
    }
    for (uint32_t i = 0; i < r->count; i++) {
        fprintf(l->acked, "%llu %llu\n", (unsigned long long)(r->base_offset + i),
                (unsigned long long)(b->first_id + i));
    }
    fflush(l->acked);
    l->done += r->count;
    free(b);
}

static int parse(struct load *l, int argc, char **argv) {
    *l = (struct load){.batch = 10, .bytes = 64, .timeout_s = 120, .acked = stdout};
    for (int i = 1; i + 1 < argc; i += 2) {
        const char *k = argv[i];
        const char *v = argv[i + 1];
        if (strcmp(k, "--server") == 0) {
            l->server = v;
        } else if (strcmp(k, "--path") == 0) {
            l->path = v;
        } else if (strcmp(k, "--count") == 0) {
            l->count = strtoull(v, NULL, 10);
        } else if (strcmp(k, "--batch") == 0) {
            l->batch = (uint32_t)strtoul(v, NULL, 10);
        } else if (strcmp(k, "--bytes") == 0) {
            l->bytes = (uint32_t)strtoul(v, NULL, 10);
        } else if (strcmp(k, "--id-base") == 0) {
            l->id_base = strtoull(v, NULL, 10);
        } else if (strcmp(k, "--ack") == 0) {
            l->ack = strcmp(v, "1") == 0 ? 1 | STROM_NO_SYNC : STROM_ACK_DEFAULT;
        } else if (strcmp(k, "--acked") == 0) {
            l->acked = fopen(v, "w");
        } else if (strcmp(k, "--timeout-s") == 0) {
            l->timeout_s = strtoull(v, NULL, 10);
        } else {
            return -1;
        }
    }
    bool ok = l->server && l->path && l->count > 0 && l->batch > 0 && l->batch <= LOAD_BATCH_MAX &&
              l->bytes >= 12 && l->bytes <= LOAD_BYTES_MAX && l->acked != NULL;
    return ok ? 0 : -1;
}

/* Queues the batch of ids [id, id + n), stepping while the pipeline is full. */
static strom_err queue(struct load *l, strom_client *c, uint64_t id, uint32_t n,
                       uint64_t deadline) {
    static char payloads[LOAD_BATCH_MAX][LOAD_BYTES_MAX];
    static struct strom_msg msgs[LOAD_BATCH_MAX];
    for (uint32_t i = 0; i < n; i++) {
        memset(payloads[i], '.', l->bytes);
        int len = snprintf(payloads[i], l->bytes, "m%llu", (unsigned long long)(id + i));
        payloads[i][len] = '.';
        msgs[i] = (struct strom_msg){.payload = payloads[i], .payload_bytes = l->bytes};
    }
    struct load_batch *b = malloc(sizeof *b);
    *b = (struct load_batch){l, id, n};
    strom_err err;
    while ((err = strom_append_async(c, l->path, msgs, n, l->ack, on_ack, b)) == STROM_ERR_AGAIN &&
           now_s() < deadline) {
        strom_step(c, 10000000);
    }
    if (err) {
        free(b);
    }
    return err;
}

int main(int argc, char **argv) {
    struct load l;
    if (parse(&l, argc, argv) != 0) {
        fprintf(stderr,
                "usage: integ_load --server HOST:PORT --path P --count N [--batch B] "
                "[--bytes N] [--id-base K] [--ack sync|1] [--acked FILE] [--timeout-s S]\n");
        return 2;
    }
    struct strom_options o;
    strom_options_init(&o);
    o.server = l.server;
    o.client_name = "integ_load";
    strom_client *c = NULL;
    strom_err err = strom_open(&o, &c);
    if (err) {
        fprintf(stderr, "integ_load: connect %s: %s\n", l.server, strom_strerror(err));
        return 1;
    }
    uint64_t deadline = now_s() + l.timeout_s;
    for (uint64_t id = 0; id < l.count && err == STROM_OK && now_s() < deadline; id += l.batch) {
        uint32_t n = (uint32_t)(l.count - id < l.batch ? l.count - id : l.batch);
        err = queue(&l, c, l.id_base + id, n, deadline);
    }
    while (strom_inflight(c) > 0 && now_s() < deadline) {
        strom_step(c, 10000000);
    }
    strom_close(c);
    fprintf(stderr, "integ_load: %s acked:%llu failed:%llu of %llu%s\n", l.path,
            (unsigned long long)l.done, (unsigned long long)l.failed, (unsigned long long)l.count,
            err ? strom_strerror(err) : "");
    fclose(l.acked);
    if (l.done == l.count) {
        return 0;
    }
    return l.failed > 0 || err ? 1 : 2;
}
