/*
 * store_fill.c: writes a store file for the integration tests of `strom dump`:
 *   store_fill FILE STREAMS BATCHES [RECLAIM]
 * appends BATCHES batches round robin over STREAMS streams (payload sizes varying), syncs every
 * 50, optionally reclaims the first third, closes. Prints the position of one batch in the
 * middle as `store_fill.batch pos:N` for the test to damage.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/io.h"
#include "store/store.h"

int main(int argc, char **argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: store_fill FILE STREAMS BATCHES [RECLAIM]\n");
        return 2;
    }
    uint64_t streams = strtoull(argv[2], NULL, 10);
    uint64_t batches = strtoull(argv[3], NULL, 10);
    bool reclaim = argc > 4 && strcmp(argv[4], "reclaim") == 0;
    struct io io;
    io_linux_init(&io);
    struct store_options o;
    store_options_default(&o);
    o.index_fanout = 4;
    o.checkpoint_bytes = 64 << 10;
    struct store *s = NULL;
    strom_err err = store_open(&io, argv[1], &o, &s);
    uint64_t *next = calloc(streams ? streams : 1, sizeof *next);
    static uint8_t payload[4096];
    uint64_t middle = 0;
    uint64_t third = 0;
    for (uint64_t i = 0; err == STROM_OK && i < batches; i++) {
        memset(payload, (int)i, sizeof payload);
        uint64_t sid = i % streams;
        struct store_append a = {.stream_id = sid * 1000 + 1,
                                 .base_offset = next[sid],
                                 .message_count = 1 + (uint32_t)(i % 5),
                                 .payload = payload,
                                 .payload_bytes = (uint32_t)(100 + i * 37 % 3000)};
        uint64_t pos = 0;
        err = store_append(s, &a, &pos);
        next[sid] += a.message_count;
        middle = i == batches * 2 / 3 ? pos : middle;
        third = i == batches / 3 ? pos : third;
        if (err == STROM_OK && i % 50 == 49) {
            err = store_sync(s, NULL);
        }
    }
    if (err == STROM_OK && reclaim) {
        err = store_sync(s, NULL);
        err = err ? err : store_reclaim(s, third);
    }
    strom_err close_err = s ? store_close(s) : STROM_OK;
    err = err ? err : close_err;
    free(next);
    if (err) {
        fprintf(stderr, "store_fill: %s\n", strom_strerror(err));
        return 1;
    }
    printf("store_fill.batch  pos:%llu\n", (unsigned long long)middle);
    return 0;
}
