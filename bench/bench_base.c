/*
 * bench_base.c: speed of the base library's hot paths: CRC-32C throughput by buffer size and the
 * cost of a random draw.
 *
 * Method: each figure is the best of trials_count trials, each of which repeats the operation
 * until at least trial_ns have passed on the monotonic clock. The best rather than the mean,
 * because on a shared machine other processes only ever make a trial slower.
 */
#include <stdio.h>
#include <stdlib.h>

#include "base/assert.h"
#include "base/bench.h"
#include "base/crc32c.h"
#include "base/rng.h"
#include "io/io.h"

enum {
    trials_count = 5,
    buffer_bytes_max = 1 << 20,
    draws_per_round = 4096,
};

static const uint64_t trial_ns = 100 * 1000 * 1000;

/* GB/s (1e9 bytes per second) of crc32c over len bytes of buf. */
static double crc_gbps(struct io *io, const uint8_t *buf, size_t len) {
    double best = 0;
    volatile uint32_t sink = 0;
    for (int t = 0; t < trials_count; t++) {
        uint64_t bytes = 0;
        uint32_t crc = 0;
        uint64_t start = io_clock_monotonic_ns(io);
        uint64_t elapsed;
        do {
            crc = crc32c(crc, buf, len);
            bytes += len;
            elapsed = io_clock_monotonic_ns(io) - start;
        } while (elapsed < trial_ns);
        sink ^= crc;
        double gbps = (double)bytes / (double)elapsed;
        best = gbps > best ? gbps : best;
    }
    (void)sink;
    return best;
}

/* Nanoseconds per rng_next_u64. */
static double rng_draw_ns(struct io *io, struct rng *rng) {
    double best = 1e30;
    volatile uint64_t sink = 0;
    for (int t = 0; t < trials_count; t++) {
        uint64_t draws = 0;
        uint64_t acc = 0;
        uint64_t start = io_clock_monotonic_ns(io);
        uint64_t elapsed;
        do {
            for (int i = 0; i < draws_per_round; i++) {
                acc += rng_next_u64(rng);
            }
            draws += draws_per_round;
            elapsed = io_clock_monotonic_ns(io) - start;
        } while (elapsed < trial_ns);
        sink ^= acc;
        double ns = (double)elapsed / (double)draws;
        best = ns < best ? ns : best;
    }
    (void)sink;
    return best;
}

static void add(struct bench *b, const char *name, double value, const char *unit,
                const char *baseline) {
    strom_err err = bench_add(b, name, value, unit, baseline);
    strom_assert(err == STROM_OK);
}

int main(void) {
    struct bench *b = malloc(sizeof *b); /* about 55 KiB: not on the stack */
    struct io io;
    struct rng rng;
    strom_assert(b != NULL);
    io_linux_init(&io);
    bench_init(b);
    rng_init(&rng, 1);

    uint8_t *buf = malloc(buffer_bytes_max);
    strom_assert(buf != NULL);
    rng_fill(&rng, buf, buffer_bytes_max);

    const struct {
        const char *label;
        size_t len;
    } sizes[] = {{"4k", 4096}, {"64k", 65536}, {"1m", buffer_bytes_max}};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        char name[BENCH_NAME_BYTES_MAX];
        snprintf(name, sizeof name, "crc32c.%s", sizes[i].label);
        add(b, name, crc_gbps(&io, buf, sizes[i].len), "GB/s", NULL);
    }
    add(b, "rng.next_u64", rng_draw_ns(&io, &rng), "ns", NULL);

    bench_print(b, stdout);
    free(buf);
    free(b);
    return 0;
}
