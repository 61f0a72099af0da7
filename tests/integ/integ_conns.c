/*
 * integ_conns.c: many connections at once. Opens --count libstrom clients to one node (each its
 * own TCP connection), appends one message per client to a stream of its own with all of them
 * in flight together, reads each back, and checks every one; then all append to one shared stream
 * and the offsets must be exactly 0 .. count-1, each once.
 *
 *   integ_conns --server HOST:PORT [--count N]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "strom.h"

struct conn {
    strom_client *c;
    char path[32];
    char payload[32];
    bool acked;
    uint64_t shared_offset;
    bool shared_acked;
};

static void on_ack(void *arg, const struct strom_append_result *r) {
    struct conn *k = arg;
    k->acked = r->err == STROM_OK && r->count == 1;
}

static void on_shared(void *arg, const struct strom_append_result *r) {
    struct conn *k = arg;
    k->shared_acked = r->err == STROM_OK;
    k->shared_offset = r->base_offset;
}

static void on_read(void *arg, strom_sub *sub, const struct strom_msg *m, strom_err err) {
    (void)sub;
    (void)err;
    struct conn *k = arg;
    if (m != NULL && (m->payload_bytes != strlen(k->payload) ||
                      memcmp(m->payload, k->payload, m->payload_bytes) != 0)) {
        k->acked = false;
    }
}

/* Steps every client until each has its answer (at most rounds turns). */
static void step_all(struct conn *k, uint32_t n, bool shared) {
    for (int round = 0; round < 20000; round++) {
        bool all = true;
        for (uint32_t i = 0; i < n; i++) {
            if (strom_inflight(k[i].c) > 0) {
                strom_step(k[i].c, 0);
                all = false;
            }
        }
        if (all) {
            return;
        }
        strom_step(k[round % n].c, 1000000); /* a short wait on one of them */
    }
    (void)shared;
}

int main(int argc, char **argv) {
    const char *server = NULL;
    uint32_t n = 300;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--server") == 0) {
            server = argv[i + 1];
        } else if (strcmp(argv[i], "--count") == 0) {
            n = (uint32_t)strtoul(argv[i + 1], NULL, 10);
        }
    }
    struct conn *k = calloc(n, sizeof *k);
    struct strom_options o;
    strom_options_init(&o);
    o.server = server;
    o.client_name = "integ_conns";
    uint32_t opened = 0;
    while (server != NULL && opened < n && strom_open(&o, &k[opened].c) == STROM_OK) {
        opened++;
    }
    if (opened < n) {
        fprintf(stderr, "integ_conns: only %u of %u connections opened\n", opened, n);
        return 1;
    }
    for (uint32_t i = 0; i < n; i++) {
        snprintf(k[i].path, sizeof k[i].path, "/conns/%u", i);
        snprintf(k[i].payload, sizeof k[i].payload, "from client %u", i);
        struct strom_msg m = {.payload = k[i].payload, .payload_bytes = strlen(k[i].payload)};
        strom_append_async(k[i].c, k[i].path, &m, 1, STROM_ACK_DEFAULT, on_ack, &k[i]);
        strom_append_async(k[i].c, "/conns/shared", &m, 1, STROM_ACK_DEFAULT, on_shared, &k[i]);
    }
    step_all(k, n, false);
    uint32_t good = 0;
    uint8_t *seen = calloc(n, 1);
    for (uint32_t i = 0; i < n; i++) {
        uint64_t next = 0;
        bool ok = k[i].acked &&
                  strom_read(k[i].c, k[i].path, NULL, on_read, &k[i], &next) == STROM_OK &&
                  next == 1 && k[i].acked;
        ok = ok && k[i].shared_acked && k[i].shared_offset < n && !seen[k[i].shared_offset];
        if (ok) {
            seen[k[i].shared_offset] = 1;
            good++;
        }
        strom_close(k[i].c);
    }
    printf("integ_conns  connections:%u  good:%u  ok:%s\n", n, good, good == n ? "true" : "false");
    free(seen);
    free(k);
    return good == n ? 0 : 1;
}
