/*
 * bench_base.c: speed of the base library's hot paths: CRC-32C throughput by buffer size, for the
 * SSE4.2 instruction path against the slice-by-8 table path (its baseline), and the cost of a
 * random draw and of recording a value in a histogram.
 *
 * Method: each figure is the best of trials_count trials, each of which repeats the operation
 * until at least trial_ns have passed on the monotonic clock. The best rather than the mean,
 * because on a shared machine other processes only ever make a trial slower.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "base/assert.h"
#include "base/bench.h"
#include "base/crc32c.h"
#include "base/hist.h"
#include "base/rng.h"
#include "io/io.h"

enum {
    trials_count = 5,
    buffer_bytes_max = 1 << 20,
    draws_per_round = 4096,
};

static const uint64_t trial_ns = 100 * 1000 * 1000;

typedef uint32_t (*crc_fn)(uint32_t crc, const void *buf, size_t len);

/* GB/s (1e9 bytes per second) of fn over len bytes of buf; each call extends the previous CRC so
 * that no call can be skipped. */
static double crc_gbps(struct io *io, crc_fn fn, const uint8_t *buf, size_t len) {
    double best = 0;
    volatile uint32_t sink = 0;
    for (int t = 0; t < trials_count; t++) {
        uint64_t bytes = 0;
        uint32_t crc = 0;
        uint64_t start = io_clock_monotonic_ns(io);
        uint64_t elapsed;
        do {
            crc = fn(crc, buf, len);
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

/* Nanoseconds per hist_record, over draws_per_round values spread log-uniformly over 1 ns .. 60 s
 * (drawn beforehand, so that only the recording is timed). */
static double hist_record_ns(struct io *io, struct rng *rng, struct hist *h) {
    uint64_t values[draws_per_round];
    for (int i = 0; i < draws_per_round; i++) {
        values[i] = (uint64_t)exp(rng_double(rng) * log(60e9));
    }
    double best = 1e30;
    for (int t = 0; t < trials_count; t++) {
        uint64_t records = 0;
        uint64_t start = io_clock_monotonic_ns(io);
        uint64_t elapsed;
        do {
            for (int i = 0; i < draws_per_round; i++) {
                hist_record(h, values[i]);
            }
            records += draws_per_round;
            elapsed = io_clock_monotonic_ns(io) - start;
        } while (elapsed < trial_ns);
        double ns = (double)elapsed / (double)records;
        best = ns < best ? ns : best;
    }
    strom_assert(hist_count(h) > 0);
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
        char hw[BENCH_NAME_BYTES_MAX], sw[BENCH_NAME_BYTES_MAX];
        snprintf(hw, sizeof hw, "crc32c.hw.%s", sizes[i].label);
        snprintf(sw, sizeof sw, "crc32c.sw.%s", sizes[i].label);
        if (crc32c_hw_available()) {
            add(b, hw, crc_gbps(&io, crc32c_hw, buf, sizes[i].len), "GB/s", sw);
        }
        add(b, sw, crc_gbps(&io, crc32c_sw, buf, sizes[i].len), "GB/s", NULL);
    }
    add(b, "rng.next_u64", rng_draw_ns(&io, &rng), "ns", NULL);
    struct hist *h = malloc(sizeof *h);
    strom_assert(h != NULL);
    hist_reset(h);
    add(b, "hist.record", hist_record_ns(&io, &rng, h), "ns", NULL);

    bench_print(b, stdout);
    free(h);
    free(buf);
    free(b);
    return 0;
}
