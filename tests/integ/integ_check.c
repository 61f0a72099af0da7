/*
 * integ_check.c: checks a stream written by integ_load against what was acknowledged.
 *
 *   integ_check --server HOST:PORT --path P [--acked FILE]... [--ack sync|1]
 *               [--expect-count N] [--ids-max N]
 *
 * Reads the stream from offset 0 to its end (at the given level, sync by default) and fails
 * (exit 1, saying what) when:
 *   - an offset is missing or out of order (libstrom delivers in order; a gap is a lost offset),
 *   - a payload is not an integ_load payload,
 *   - an id appears twice (a retried append applied twice, or an offset given twice),
 *   - an acknowledged "OFFSET ID" line of an --acked file does not hold at that offset,
 *   - with --expect-count, the stream does not hold exactly that many messages.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "strom.h"

enum { CHECK_FILES_MAX = 8 };

struct check {
    uint64_t *offset_of; /* by id: its offset, or UINT64_MAX */
    uint64_t ids_max;
    uint64_t count;
    uint64_t duplicates;
    uint64_t bad;
    uint64_t gaps;
};

static void on_msg(void *arg, strom_sub *sub, const struct strom_msg *m, strom_err err) {
    (void)sub;
    (void)err;
    struct check *k = arg;
    if (m == NULL) {
        return;
    }
    if (m->offset != k->count) {
        k->gaps++;
    }
    k->count = m->offset + 1;
    char buf[32];
    uint32_t n = m->payload_bytes < sizeof buf - 1 ? m->payload_bytes : sizeof buf - 1;
    memcpy(buf, m->payload, n);
    buf[n] = '\0';
    char *end = NULL;
    unsigned long long id = buf[0] == 'm' ? strtoull(buf + 1, &end, 10) : 0;
    if (end == NULL || *end != '.' || id >= k->ids_max) {
        k->bad++;
        return;
    }
    if (k->offset_of[id] != UINT64_MAX) {
        k->duplicates++;
        if (k->duplicates <= 5) {
            fprintf(stderr, "integ_check: id %llu at offsets %llu and %llu\n", id,
                    (unsigned long long)k->offset_of[id], (unsigned long long)m->offset);
        }
        return;
    }
    k->offset_of[id] = m->offset;
}

/* Checks one acked file; returns the number of lines that do not hold. */
static uint64_t check_acked(const struct check *k, const char *file, uint64_t *lines) {
    FILE *f = fopen(file, "r");
    if (f == NULL) {
        fprintf(stderr, "integ_check: cannot read %s\n", file);
        return 1;
    }
    uint64_t wrong = 0;
    unsigned long long off, id;
    while (fscanf(f, "%llu %llu", &off, &id) == 2) {
        (*lines)++;
        if (id >= k->ids_max || k->offset_of[id] != off) {
            if (wrong++ < 5) {
                fprintf(stderr, "integ_check: acked id %llu at offset %llu is %s\n", id, off,
                        id < k->ids_max && k->offset_of[id] != UINT64_MAX ? "elsewhere"
                                                                          : "missing");
            }
        }
    }
    fclose(f);
    return wrong;
}

int main(int argc, char **argv) {
    const char *server = NULL, *path = NULL, *files[CHECK_FILES_MAX];
    uint32_t nfiles = 0, ack = STROM_ACK_DEFAULT;
    uint64_t expect = UINT64_MAX;
    struct check k = {.ids_max = 1000000};
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--server") == 0) {
            server = argv[i + 1];
        } else if (strcmp(argv[i], "--path") == 0) {
            path = argv[i + 1];
        } else if (strcmp(argv[i], "--acked") == 0 && nfiles < CHECK_FILES_MAX) {
            files[nfiles++] = argv[i + 1];
        } else if (strcmp(argv[i], "--ack") == 0) {
            ack = strcmp(argv[i + 1], "1") == 0 ? 1 | STROM_NO_SYNC : STROM_ACK_DEFAULT;
        } else if (strcmp(argv[i], "--expect-count") == 0) {
            expect = strtoull(argv[i + 1], NULL, 10);
        } else if (strcmp(argv[i], "--ids-max") == 0) {
            k.ids_max = strtoull(argv[i + 1], NULL, 10);
        }
    }
    if (server == NULL || path == NULL) {
        fprintf(stderr, "usage: integ_check --server HOST:PORT --path P [--acked FILE]...\n");
        return 2;
    }
    k.offset_of = malloc(k.ids_max * sizeof k.offset_of[0]);
    memset(k.offset_of, 0xff, k.ids_max * sizeof k.offset_of[0]);
    struct strom_options o;
    strom_options_init(&o);
    o.server = server;
    o.client_name = "integ_check";
    o.request_timeout_ns = UINT64_C(20000000000); /* a read that stops moving for 20 s fails */
    strom_client *c = NULL;
    strom_err err = strom_open(&o, &c);
    struct strom_read_options ro;
    strom_read_options_init(&ro);
    ro.ack = ack;
    if (err == STROM_OK) {
        err = strom_read(c, path, &ro, on_msg, &k, NULL);
    }
    strom_close(c);
    uint64_t lines = 0, wrong = 0;
    for (uint32_t i = 0; i < nfiles; i++) {
        wrong += check_acked(&k, files[i], &lines);
    }
    bool ok = err == STROM_OK && k.duplicates == 0 && k.bad == 0 && k.gaps == 0 && wrong == 0 &&
              (expect == UINT64_MAX || k.count == expect);
    printf("integ_check  path:%s  messages:%llu  acked:%llu  duplicates:%llu  gaps:%llu  "
           "bad:%llu  acked_wrong:%llu  err:%s  ok:%s\n",
           path, (unsigned long long)k.count, (unsigned long long)lines,
           (unsigned long long)k.duplicates, (unsigned long long)k.gaps, (unsigned long long)k.bad,
           (unsigned long long)wrong, strom_errname(err), ok ? "true" : "false");
    free(k.offset_of);
    return ok ? 0 : 1;
}
