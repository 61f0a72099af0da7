/*
 * test_hist.c: the histogram's buckets, its percentiles against exact ones of sorted samples from
 * several distributions, merge, and edge values.
 */
#include <criterion/criterion.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/hist.h"
#include "base/rng.h"

enum { sample_count = 200000 };

static const double sixty_s_ns = 60e9;

static struct hist *hist_new(void) {
    struct hist *h = malloc(sizeof *h);
    cr_assert_not_null(h);
    hist_reset(h);
    return h;
}

Test(hist, buckets_tile_the_range_and_are_narrow) {
    cr_assert_eq(hist_bucket_lowest(0), 0);
    cr_assert_eq(hist_bucket_highest(HIST_BUCKET_COUNT - 1), HIST_VALUE_MAX);
    for (uint32_t i = 0; i + 1 < HIST_BUCKET_COUNT; i++) {
        uint64_t lo = hist_bucket_lowest(i), hi = hist_bucket_highest(i);
        cr_assert_leq(lo, hi, "bucket %u", i);
        cr_assert_eq(hi + 1, hist_bucket_lowest(i + 1), "gap or overlap after bucket %u", i);
        cr_assert_eq(hist_bucket_of(lo), i);
        cr_assert_eq(hist_bucket_of(hi), i);
        /* Width at most 1/128 of the bucket's smallest value (exact buckets have width 1). */
        cr_assert((hi - lo + 1) * 128 <= lo || hi == lo, "bucket %u [%" PRIu64 ", %" PRIu64 "]", i,
                  lo, hi);
    }
    cr_assert_eq(hist_bucket_of(HIST_VALUE_MAX + 1), HIST_BUCKET_COUNT - 1);
    cr_assert_eq(hist_bucket_of(UINT64_MAX), HIST_BUCKET_COUNT - 1);
    cr_assert(HIST_VALUE_MAX >= (uint64_t)sixty_s_ns);
}

static int compare_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* The same definition as hist_percentile, over sorted samples. */
static uint64_t exact_percentile(const uint64_t *sorted, size_t n, double p) {
    double rank_real = ceil(p / 100.0 * (double)n);
    size_t rank = rank_real < 1.0 ? 1 : (size_t)rank_real;
    return sorted[(rank > n ? n : rank) - 1];
}

enum distribution { uniform, log_uniform, heavy_tail };

static uint64_t draw(struct rng *r, enum distribution d) {
    switch (d) {
    case uniform: /* 1 µs .. 10 ms */
        return rng_range(r, 1000, 10000000);
    case log_uniform: /* 1 ns .. 60 s, every decade equally likely */
        return (uint64_t)exp(rng_double(r) * log(sixty_s_ns));
    case heavy_tail: {                  /* Pareto, alpha 1.1, from 20 µs, cut at 60 s */
        double u = 1.0 - rng_double(r); /* (0, 1] */
        double v = 20000.0 / pow(u, 1.0 / 1.1);
        return v > sixty_s_ns ? (uint64_t)sixty_s_ns : (uint64_t)v;
    }
    }
    cr_assert_fail("distribution %d", (int)d);
    return 0;
}

static void check_distribution(enum distribution d, uint64_t seed) {
    uint64_t *samples = malloc(sample_count * sizeof *samples);
    struct hist *h = hist_new();
    struct rng r;
    cr_assert_not_null(samples);
    rng_init(&r, seed);
    unsigned __int128 sum = 0;
    for (size_t i = 0; i < sample_count; i++) {
        samples[i] = draw(&r, d);
        sum += samples[i];
        hist_record(h, samples[i]);
    }
    qsort(samples, sample_count, sizeof *samples, compare_u64);
    cr_assert_eq(hist_count(h), sample_count);
    cr_assert_eq(hist_min(h), samples[0]);
    cr_assert_eq(hist_max(h), samples[sample_count - 1]);
    cr_assert_float_eq(hist_mean(h), (double)sum / sample_count, 1e-9 * (double)sum);
    const double named[] = {50, 90, 99, 99.9, 100};
    for (int k = 0; k < 5 + 99; k++) {
        double p = k < 5 ? named[k] : k - 4; /* the named ones, then 1 .. 99 */
        uint64_t want = exact_percentile(samples, sample_count, p);
        uint64_t got = hist_percentile(h, p);
        double err = want == 0 ? (double)got : fabs((double)got - (double)want) / (double)want;
        cr_assert_leq(err, 0.01, "distribution %d p%g: hist %" PRIu64 " exact %" PRIu64, (int)d, p,
                      got, want);
        /* The bound of hist.h is tighter than the 1 % asked for: half a 1/128 bucket. */
        cr_assert_leq(err, 1.0 / 256, "distribution %d p%g", (int)d, p);
    }
    free(samples);
    free(h);
}

Test(hist, percentiles_uniform) {
    check_distribution(uniform, 1);
}

Test(hist, percentiles_log_uniform) {
    check_distribution(log_uniform, 2);
}

Test(hist, percentiles_heavy_tail) {
    check_distribution(heavy_tail, 3);
}

static void assert_same(const struct hist *a, const struct hist *b) {
    cr_assert_eq(a->count, b->count);
    cr_assert_eq(a->clamped_count, b->clamped_count);
    cr_assert_eq(a->min, b->min);
    cr_assert_eq(a->max, b->max);
    cr_assert(a->sum == b->sum);
    for (uint32_t i = 0; i < HIST_BUCKET_COUNT; i++) {
        cr_assert_eq(a->buckets[i], b->buckets[i], "bucket %u", i);
    }
}

Test(hist, merge_equals_recording_both) {
    struct hist *a = hist_new(), *b = hist_new(), *both = hist_new(), *empty = hist_new();
    struct rng r;
    rng_init(&r, 4);
    for (int i = 0; i < 50000; i++) {
        uint64_t v = draw(&r, log_uniform);
        hist_record(i % 3 == 0 ? a : b, v);
        hist_record(both, v);
    }
    hist_record(b, UINT64_MAX); /* a clamped value travels too */
    hist_record(both, UINT64_MAX);
    hist_merge(a, b);
    assert_same(a, both);
    cr_assert_eq(a->clamped_count, 1);
    /* Merging an empty histogram changes nothing, and into an empty one copies. */
    hist_merge(a, empty);
    assert_same(a, both);
    hist_merge(empty, both);
    assert_same(empty, both);
    free(a);
    free(b);
    free(both);
    free(empty);
}

Test(hist, empty) {
    struct hist *h = hist_new();
    cr_assert_eq(hist_count(h), 0);
    cr_assert_eq(hist_min(h), 0);
    cr_assert_eq(hist_max(h), 0);
    cr_assert_eq(hist_mean(h), 0.0);
    cr_assert_eq(hist_percentile(h, 0), 0);
    cr_assert_eq(hist_percentile(h, 50), 0);
    cr_assert_eq(hist_percentile(h, 100), 0);
    hist_record_n(h, 12345, 0);
    cr_assert_eq(hist_count(h), 0);
    cr_assert_eq(hist_min(h), 0);
    free(h);
}

Test(hist, one_value_is_exact_everywhere) {
    const uint64_t values[] = {0, 1, 255, 256, 1000003, HIST_VALUE_MAX, UINT64_MAX};
    struct hist *h = hist_new();
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
        hist_reset(h);
        hist_record(h, values[i]);
        cr_assert_eq(hist_count(h), 1);
        cr_assert_eq(hist_min(h), values[i]);
        cr_assert_eq(hist_max(h), values[i]);
        cr_assert_eq(hist_mean(h), (double)values[i]);
        cr_assert_eq(hist_percentile(h, 0), values[i]);
        cr_assert_eq(hist_percentile(h, 50), values[i]);
        cr_assert_eq(hist_percentile(h, 100), values[i]);
        cr_assert_eq(h->clamped_count, values[i] > HIST_VALUE_MAX ? 1 : 0);
    }
    free(h);
}

Test(hist, clamped_values_are_counted_and_keep_max_and_mean) {
    struct hist *h = hist_new();
    hist_record_n(h, 10, 3);
    hist_record_n(h, 100 * (uint64_t)sixty_s_ns, 1); /* 6000 s: above the top bucket */
    cr_assert_eq(hist_count(h), 4);
    cr_assert_eq(h->clamped_count, 1);
    cr_assert_eq(hist_max(h), 100 * (uint64_t)sixty_s_ns);
    cr_assert_float_eq(hist_mean(h), (30.0 + 6e12) / 4, 1e-3);
    cr_assert_eq(hist_percentile(h, 75), 10);
    /* p99 lands in the top bucket; it is reported no lower than the top bucket's values. */
    cr_assert_geq(hist_percentile(h, 99), hist_bucket_lowest(HIST_BUCKET_COUNT - 1));
    free(h);
}

Test(hist, record_n_equals_repeated_record) {
    struct hist *a = hist_new(), *b = hist_new();
    for (int i = 0; i < 1000; i++) {
        hist_record(a, 777);
        hist_record(a, 5);
    }
    hist_record_n(b, 777, 1000);
    hist_record_n(b, 5, 1000);
    assert_same(a, b);
    cr_assert_eq(hist_percentile(a, 50), 5);
    cr_assert_eq(hist_percentile(a, 50.1), 777);
    /* Small percentiles of a large count still give rank 1, the minimum's bucket. */
    hist_record_n(b, UINT64_C(1) << 20, UINT64_C(1) << 40);
    cr_assert_eq(hist_percentile(b, 1e-12), 5);
    free(a);
    free(b);
}
