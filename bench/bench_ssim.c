/*
 * bench_ssim.c: ssim parse and write throughput on a realistic text.
 *
 * The text is lines_count lines like those strom reads and prints: /sys/cmd records (a stream
 * created, a node joined) and `strom.msg` lines of `strom read` with payloads of 16..512 bytes,
 * some plain words (quoted, few escapes), some JSON (quoted, escaped quotes avoided by ' quoting),
 * some binary (many \ooo escapes). It is written once with the ssim writer, then parsed with the
 * multi-line reader. The baseline is splitting the same text into lines with memchr, the floor of
 * any line parser.
 *
 * Method: best of trials_count passes over the whole text (on a shared machine other processes
 * only ever make a pass slower). MB/s is 1e6 bytes of text per second.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "base/bench.h"
#include "base/rng.h"
#include "base/ssim.h"
#include "io/io.h"

enum {
    lines_count = 100000,
    trials_count = 5,
    text_bytes_max = 128 << 20,
    payload_bytes_max = 512,
};

/* Appends one random record to w. */
static void write_line(struct strom_ssim_writer *w, struct rng *rng, uint64_t i) {
    char path[64];
    uint8_t payload[payload_bytes_max];
    snprintf(path, sizeof path, "/orders/%u", (unsigned)rng_below(rng, 1000));
    uint64_t kind = rng_below(rng, 10);
    if (kind == 0) {
        strom_ssim_write_type(w, "strom.stream_created");
        strom_ssim_write_str(w, "path", path);
        strom_ssim_write_u64(w, "id", i);
        strom_ssim_write_u64(w, "epoch", rng_below(rng, 100));
        strom_ssim_write_str(w, "owner", "node-3");
        strom_ssim_write_u64(w, "ack", 2);
        strom_ssim_write_str(w, "comment", "created by the operator");
    } else if (kind == 1) {
        strom_ssim_write_type(w, "strom.node_joined");
        strom_ssim_write_u64(w, "node", rng_below(rng, 64));
        strom_ssim_write_str(w, "addr", "10.0.0.7:7400");
        strom_ssim_write_bool(w, "voter", rng_chance(rng, 0.5));
    } else {
        size_t len = (size_t)rng_range(rng, 16, payload_bytes_max);
        if (kind <= 5) { /* words */
            for (size_t k = 0; k < len; k++) {
                payload[k] = rng_chance(rng, 0.15) ? ' ' : (uint8_t)('a' + rng_below(rng, 26));
            }
        } else if (kind <= 8) { /* JSON-like */
            size_t n = 0;
            while (n + 24 < len) {
                n += (size_t)snprintf((char *)payload + n, len - n, "{\"px\":%u,\"qty\":%u},",
                                      (unsigned)rng_below(rng, 100000),
                                      (unsigned)rng_below(rng, 1000));
            }
            len = n;
        } else {
            rng_fill(rng, payload, len);
        }
        strom_ssim_write_type(w, "strom.msg");
        strom_ssim_write_str(w, "stream", path);
        strom_ssim_write_u64(w, "offset", i);
        strom_ssim_write_u64(w, "ts_ns", 1700000000000000000ull + i * 1000);
        strom_ssim_write_bytes(w, "payload", payload, len);
    }
    strom_err err = strom_ssim_writer_end(w);
    strom_assert(err == STROM_OK);
}

/* MB/s of reading every record of text with the reader. */
static double parse_mbps(struct io *io, const char *text, size_t len, char *scratch,
                         size_t scratch_bytes) {
    static struct strom_ssim_record rec;
    double best = 0;
    for (int t = 0; t < trials_count; t++) {
        struct strom_ssim_reader r;
        uint64_t records = 0;
        uint64_t start = io_clock_monotonic_ns(io);
        strom_ssim_reader_init(&r, text, len);
        while (strom_ssim_reader_next(&r, &rec, scratch, scratch_bytes, NULL) == STROM_OK) {
            records += rec.field_count > 0;
        }
        uint64_t elapsed = io_clock_monotonic_ns(io) - start;
        strom_assert(records == lines_count && r.pos == len);
        double mbps = (double)len * 1e3 / (double)elapsed;
        best = mbps > best ? mbps : best;
    }
    return best;
}

/* MB/s of finding every line of text with memchr. */
static double split_mbps(struct io *io, const char *text, size_t len) {
    double best = 0;
    for (int t = 0; t < trials_count; t++) {
        uint64_t lines = 0;
        uint64_t start = io_clock_monotonic_ns(io);
        const char *at = text;
        const char *end = text + len;
        const char *nl;
        while ((nl = memchr(at, '\n', (size_t)(end - at))) != NULL) {
            lines++;
            at = nl + 1;
        }
        uint64_t elapsed = io_clock_monotonic_ns(io) - start;
        strom_assert(lines == lines_count);
        double mbps = (double)len * 1e3 / (double)elapsed;
        best = mbps > best ? mbps : best;
    }
    return best;
}

/* MB/s of writing lines_count records (the random drawing included, as in a real printer). */
static double write_mbps(struct io *io, char *text, size_t *len_out) {
    double best = 0;
    for (int t = 0; t < trials_count; t++) {
        struct rng rng;
        struct strom_ssim_writer w;
        rng_init(&rng, 7);
        strom_ssim_writer_init(&w, text, text_bytes_max);
        uint64_t start = io_clock_monotonic_ns(io);
        for (uint64_t i = 0; i < lines_count; i++) {
            write_line(&w, &rng, i);
        }
        uint64_t elapsed = io_clock_monotonic_ns(io) - start;
        *len_out = w.bytes_used;
        double mbps = (double)w.bytes_used * 1e3 / (double)elapsed;
        best = mbps > best ? mbps : best;
    }
    return best;
}

static void add(struct bench *b, const char *name, double value, const char *unit,
                const char *baseline) {
    strom_err err = bench_add(b, name, value, unit, baseline);
    strom_assert(err == STROM_OK);
}

int main(void) {
    struct bench *b = malloc(sizeof *b);
    char *text = malloc(text_bytes_max);
    char *scratch = malloc(4 * payload_bytes_max + 4096);
    struct io io;
    strom_assert(b != NULL && text != NULL && scratch != NULL);
    io_linux_init(&io);
    bench_init(b);

    size_t len = 0;
    double write = write_mbps(&io, text, &len);
    add(b, "ssim.split.memchr", split_mbps(&io, text, len), "MB/s", NULL);
    add(b, "ssim.parse", parse_mbps(&io, text, len, scratch, 4 * payload_bytes_max + 4096), "MB/s",
        "ssim.split.memchr");
    add(b, "ssim.write", write, "MB/s", NULL);
    add(b, "ssim.text", (double)len / 1e6, "MB", NULL);
    bench_print(b, stdout);
    free(scratch);
    free(text);
    free(b);
    return 0;
}
