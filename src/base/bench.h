/*
 * bench.h: figures of a benchmark run and their output, the same for every benchmark program.
 *
 * A program adds figures (name, value, unit, optional baseline figure) to a struct bench, then
 * prints them: first one ssim line per figure, for scripts to collect,
 *
 *   bench.result  name:crc32c.hw.4k  value:21.3  unit:GB/s  baseline:crc32c.sw.4k  ratio:8.12
 *
 * then the same figures as an aligned table for people. ratio is value / baseline value, computed
 * when the baseline names a figure of the same run whose value is not 0; otherwise it is "" (the
 * ssim spelling of an empty value), as is baseline when there is none.
 *
 * Bounds: at most BENCH_FIGURES_MAX figures, names and units of at most BENCH_NAME_BYTES_MAX - 1
 * and BENCH_UNIT_BYTES_MAX - 1 bytes, built only from the characters ssim leaves unquoted
 * ([A-Za-z0-9_;&*^%$@.!:,+/-]), so that a line never needs quoting. The struct holds everything
 * (no allocation); it is large (about 55 KiB), so give it static or heap storage in a program.
 */
#ifndef STROM_BASE_BENCH_H
#define STROM_BASE_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "base/error.h"

struct hist;

enum {
    BENCH_FIGURES_MAX = 256,   /* figures per run */
    BENCH_NAME_BYTES_MAX = 96, /* name and baseline buffers, with the NUL */
    BENCH_UNIT_BYTES_MAX = 16, /* unit buffer, with the NUL */
    BENCH_LINE_BYTES_MAX = 352 /* one ssim line with its newline and NUL always fits */
};

/* One figure. */
struct bench_figure {
    char name[BENCH_NAME_BYTES_MAX];     /* id of the figure, "crc32c.hw.4k" */
    char baseline[BENCH_NAME_BYTES_MAX]; /* id of the figure it is compared with, or "" */
    char unit[BENCH_UNIT_BYTES_MAX];     /* "GB/s", "ns", "msg/s" */
    double value;                        /* in unit; finite */
};

/* The figures of one run, in the order they were added. */
struct bench {
    uint32_t figure_count; /* figures[0, figure_count) are in use */
    struct bench_figure figures[BENCH_FIGURES_MAX];
};

/* Empties b. */
void bench_init(struct bench *b);

/*
 * Adds a figure. baseline is the name of another figure (added before or after) or NULL or ""
 * for none. Errors: STROM_ERR_INVALID_ARGUMENT when a name or unit is empty (the baseline may be),
 * too long, or holds a character outside the ssim bare set, or value is not finite;
 * STROM_ERR_LIMIT when b already holds BENCH_FIGURES_MAX figures. b is unchanged on error.
 */
strom_err bench_add(struct bench *b, const char *name, double value, const char *unit,
                    const char *baseline);

/*
 * Adds the percentiles of h as figures name.p50, name.p90, name.p99, name.p999 (99.9) and
 * name.max, each divided by unit_ns (1 for "ns", 1000 for "us") and in unit. With a non-empty
 * baseline, each figure's baseline is baseline.p50, baseline.p90, ... in the same way. Nothing is
 * added when h is empty. Errors as bench_add (including a name too long for its suffix);
 * STROM_ERR_LIMIT when the five do not all fit. b is unchanged on error.
 */
strom_err bench_add_hist(struct bench *b, const char *name, const struct hist *h, const char *unit,
                         double unit_ns, const char *baseline);

/* The figure named name, or NULL. */
const struct bench_figure *bench_find(const struct bench *b, const char *name);

/* Writes *ratio_out = value / baseline value and returns true when figure index has a baseline
 * present in b with a non-zero value; returns false (and leaves *ratio_out) otherwise. */
bool bench_ratio(const struct bench *b, uint32_t index, double *ratio_out);

/*
 * Formats figure index as its ssim line, with the newline, into buf of cap bytes (NUL
 * terminated). Numbers have 6 significant digits, in plain decimal from 1e-6 to 1e15 and in
 * exponent form (1.5e+20, all ssim bare characters) outside. Returns the length without the NUL; a
 * cap below BENCH_LINE_BYTES_MAX that is too small is a programmer error (asserted).
 */
size_t bench_format_line(const struct bench *b, uint32_t index, char *buf, size_t cap);

/* Prints every ssim line, then a blank line and the aligned table, to out. */
void bench_print(const struct bench *b, FILE *out);

#endif
