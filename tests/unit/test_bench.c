/*
 * test_bench.c: the ssim line of a figure, ratios against baselines, the bounds of struct bench,
 * and the printed output.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/bench.h"
#include "base/hist.h"

/* struct bench is too large for Criterion's worker stacks to hold comfortably; one per test. */
static struct bench *bench_new(void) {
    struct bench *b = malloc(sizeof *b);
    cr_assert_not_null(b);
    bench_init(b);
    return b;
}

static const char *line_of(const struct bench *b, uint32_t index, char *buf) {
    size_t len = bench_format_line(b, index, buf, BENCH_LINE_BYTES_MAX);
    cr_assert_eq(len, strlen(buf));
    return buf;
}

Test(bench, line_with_baseline_and_ratio) {
    struct bench *b = bench_new();
    char buf[BENCH_LINE_BYTES_MAX];
    cr_assert_eq(bench_add(b, "crc32c.sw.4k", 2.5, "GB/s", NULL), STROM_OK);
    cr_assert_eq(bench_add(b, "crc32c.hw.4k", 20, "GB/s", "crc32c.sw.4k"), STROM_OK);
    cr_assert_str_eq(line_of(b, 0, buf), "bench.result  name:crc32c.sw.4k  value:2.5  unit:GB/s  "
                                         "baseline:\"\"  ratio:\"\"\n");
    cr_assert_str_eq(line_of(b, 1, buf), "bench.result  name:crc32c.hw.4k  value:20  unit:GB/s  "
                                         "baseline:crc32c.sw.4k  ratio:8\n");
    double r = 0;
    cr_assert(bench_ratio(b, 1, &r));
    cr_assert_float_eq(r, 8.0, 1e-12);
    free(b);
}

Test(bench, baseline_added_later_or_missing_or_zero) {
    struct bench *b = bench_new();
    char buf[BENCH_LINE_BYTES_MAX];
    cr_assert_eq(bench_add(b, "a", 3, "ns", "b"), STROM_OK);
    cr_assert_eq(bench_add(b, "c", 3, "ns", "nothing"), STROM_OK);
    cr_assert_eq(bench_add(b, "d", 3, "ns", "z"), STROM_OK);
    cr_assert_eq(bench_add(b, "b", 4, "ns", ""), STROM_OK);
    cr_assert_eq(bench_add(b, "z", 0, "ns", ""), STROM_OK);
    cr_assert_str_eq(line_of(b, 0, buf),
                     "bench.result  name:a  value:3  unit:ns  baseline:b  ratio:0.75\n");
    cr_assert_str_eq(line_of(b, 1, buf),
                     "bench.result  name:c  value:3  unit:ns  baseline:nothing  ratio:\"\"\n");
    cr_assert_str_eq(line_of(b, 2, buf),
                     "bench.result  name:d  value:3  unit:ns  baseline:z  ratio:\"\"\n");
    double r = -1;
    cr_assert(!bench_ratio(b, 1, &r));
    cr_assert(!bench_ratio(b, 2, &r));
    cr_assert_eq(r, -1);
    free(b);
}

Test(bench, numbers_have_six_significant_digits) {
    struct bench *b = bench_new();
    char buf[BENCH_LINE_BYTES_MAX];
    const struct {
        double v;
        const char *text;
    } cases[] = {
        {0, "0"},
        {12, "12"},
        {21.3456789, "21.3457"},
        {1234567.8, "1234568"},
        {0.000123456789, "0.000123457"},
        {-7.25, "-7.25"},
        {9.9999996, "10"},
        {1e20, "1e+20"},
        {2.5e-9, "2.5e-09"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char name[16];
        snprintf(name, sizeof name, "n%zu", i);
        cr_assert_eq(bench_add(b, name, cases[i].v, "x", NULL), STROM_OK);
        char want[BENCH_LINE_BYTES_MAX];
        snprintf(want, sizeof want,
                 "bench.result  name:%s  value:%s  unit:x  baseline:\"\"  ratio:\"\"\n", name,
                 cases[i].text);
        cr_assert_str_eq(line_of(b, (uint32_t)i, buf), want);
    }
    free(b);
}

Test(bench, rejects_bad_figures_and_keeps_its_bound) {
    struct bench *b = bench_new();
    char long_name[BENCH_NAME_BYTES_MAX + 1];
    memset(long_name, 'a', sizeof long_name - 1);
    long_name[sizeof long_name - 1] = '\0';
    cr_assert_eq(bench_add(b, "", 1, "ns", NULL), STROM_ERR_INVALID_ARGUMENT);
    cr_assert_eq(bench_add(b, "a b", 1, "ns", NULL), STROM_ERR_INVALID_ARGUMENT);
    cr_assert_eq(bench_add(b, "a\"b", 1, "ns", NULL), STROM_ERR_INVALID_ARGUMENT);
    cr_assert_eq(bench_add(b, "a", 1, "", NULL), STROM_ERR_INVALID_ARGUMENT);
    cr_assert_eq(bench_add(b, "a", 1, "n s", NULL), STROM_ERR_INVALID_ARGUMENT);
    cr_assert_eq(bench_add(b, "a", 1, "ns", "x y"), STROM_ERR_INVALID_ARGUMENT);
    cr_assert_eq(bench_add(b, long_name, 1, "ns", NULL), STROM_ERR_INVALID_ARGUMENT);
    cr_assert_eq(bench_add(b, "a", NAN, "ns", NULL), STROM_ERR_INVALID_ARGUMENT);
    cr_assert_eq(bench_add(b, "a", INFINITY, "ns", NULL), STROM_ERR_INVALID_ARGUMENT);
    cr_assert_eq(b->figure_count, 0);
    long_name[BENCH_NAME_BYTES_MAX - 1] = '\0';
    cr_assert_eq(bench_add(b, long_name, 1, "ns", long_name), STROM_OK);
    for (int i = 1; i < BENCH_FIGURES_MAX; i++) {
        cr_assert_eq(bench_add(b, "x", i, "ns", NULL), STROM_OK);
    }
    cr_assert_eq(bench_add(b, "y", 1, "ns", NULL), STROM_ERR_LIMIT);
    cr_assert_eq(b->figure_count, BENCH_FIGURES_MAX);
    /* The longest figure still fits a line buffer. */
    char buf[BENCH_LINE_BYTES_MAX];
    cr_assert(bench_format_line(b, 0, buf, sizeof buf) > 2 * (BENCH_NAME_BYTES_MAX - 1));
    free(b);
}

Test(bench, print_lines_then_table) {
    struct bench *b = bench_new();
    cr_assert_eq(bench_add(b, "slow", 2, "GB/s", NULL), STROM_OK);
    cr_assert_eq(bench_add(b, "fast.path", 5, "GB/s", "slow"), STROM_OK);
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    cr_assert_not_null(out);
    bench_print(b, out);
    fclose(out);
    const char *want = "bench.result  name:slow  value:2  unit:GB/s  baseline:\"\"  ratio:\"\"\n"
                       "bench.result  name:fast.path  value:5  unit:GB/s  baseline:slow  "
                       "ratio:2.5\n"
                       "\n"
                       "name                value  unit  baseline       ratio\n"
                       "slow                    2  GB/s\n"
                       "fast.path               5  GB/s  slow             2.5\n";
    cr_assert_str_eq(text, want);
    free(text);
    free(b);
}

Test(bench, hist_percentiles_as_figures) {
    struct bench *b = bench_new();
    struct hist *h = malloc(sizeof *h);
    struct hist *floor_h = malloc(sizeof *floor_h);
    cr_assert(h != NULL && floor_h != NULL);
    hist_reset(h);
    hist_reset(floor_h);
    cr_assert_eq(bench_add_hist(b, "rtt", h, "us", 1000, NULL), STROM_OK);
    cr_assert_eq(b->figure_count, 0, "an empty histogram adds nothing");
    for (uint64_t v = 1; v <= 1000; v++) {
        hist_record(h, v * 1000);      /* 1 .. 1000 us */
        hist_record(floor_h, v * 500); /* half of it */
    }
    cr_assert_eq(bench_add_hist(b, "floor", floor_h, "us", 1000, ""), STROM_OK);
    cr_assert_eq(bench_add_hist(b, "rtt", h, "us", 1000, "floor"), STROM_OK);
    cr_assert_eq(b->figure_count, 10);
    const char *suffixes[] = {"p50", "p90", "p99", "p999", "max"};
    const double exact_us[] = {500, 900, 990, 999, 1000};
    for (int i = 0; i < 5; i++) {
        char name[64], base[64];
        snprintf(name, sizeof name, "rtt.%s", suffixes[i]);
        snprintf(base, sizeof base, "floor.%s", suffixes[i]);
        const struct bench_figure *f = bench_find(b, name);
        cr_assert_not_null(f, "%s", name);
        cr_assert_str_eq(f->unit, "us");
        cr_assert_str_eq(f->baseline, base);
        cr_assert(fabs(f->value - exact_us[i]) <= exact_us[i] / 256, "%s = %f", name, f->value);
        double r = 0;
        cr_assert(bench_ratio(b, (uint32_t)(f - b->figures), &r));
        cr_assert(fabs(r - 2.0) < 0.02, "%s ratio %f", name, r);
    }
    /* All or nothing: a name that fits ".p50" but not ".p999" adds none of the five. */
    char long_name[BENCH_NAME_BYTES_MAX - 4];
    memset(long_name, 'n', sizeof long_name - 1);
    long_name[sizeof long_name - 1] = '\0';
    cr_assert_eq(bench_add_hist(b, long_name, h, "ns", 1, NULL), STROM_ERR_INVALID_ARGUMENT);
    cr_assert_eq(b->figure_count, 10);
    cr_assert_eq(bench_add_hist(b, "bad name", h, "ns", 1, NULL), STROM_ERR_INVALID_ARGUMENT);
    cr_assert_eq(b->figure_count, 10);
    /* And at the bound. */
    while (b->figure_count < BENCH_FIGURES_MAX - 3) {
        cr_assert_eq(bench_add(b, "filler", 1, "x", NULL), STROM_OK);
    }
    cr_assert_eq(bench_add_hist(b, "late", h, "ns", 1, NULL), STROM_ERR_LIMIT);
    cr_assert_eq(b->figure_count, BENCH_FIGURES_MAX - 3);
    free(h);
    free(floor_h);
    free(b);
}
