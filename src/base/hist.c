/*
 * hist.c: the log-linear latency histogram (see hist.h).
 *
 * Bucket arithmetic, with b = HIST_SIGNIFICANT_BITS: a value v below 2^b is its own bucket. For
 * v >= 2^b with top bit e, shift = e - (b - 1) drops all but the top b bits, and the bucket is
 * (shift << (b - 1)) + (v >> shift): each shift step adds 2^(b-1) buckets, and v >> shift runs
 * over [2^(b-1), 2^b), so the indexes of successive powers of two join without gap or overlap.
 *
 * Invariants: count is the sum of buckets; clamped_count <= count; min <= max once count > 0,
 * and min == UINT64_MAX, max == 0, sum == 0 while count == 0.
 */
#include "base/hist.h"

#include <math.h>
#include <string.h>

#include "base/assert.h"

enum { half_bits = HIST_SIGNIFICANT_BITS - 1 };

_Static_assert(HIST_SIGNIFICANT_BITS >= 2 && HIST_SIGNIFICANT_BITS < HIST_VALUE_BITS,
               "bucket shape");
_Static_assert(HIST_VALUE_BITS < 64, "values above HIST_VALUE_MAX must exist to clamp");
_Static_assert(HIST_BUCKET_COUNT == ((HIST_VALUE_MAX >> (HIST_VALUE_BITS - HIST_SIGNIFICANT_BITS)) +
                                     ((uint64_t)(HIST_VALUE_BITS - HIST_SIGNIFICANT_BITS)
                                      << (HIST_SIGNIFICANT_BITS - 1)) +
                                     1),
               "the top bucket is the last");

uint32_t hist_bucket_of(uint64_t value) {
    uint64_t v = value > HIST_VALUE_MAX ? HIST_VALUE_MAX : value;
    if (v < (UINT64_C(1) << HIST_SIGNIFICANT_BITS)) {
        return (uint32_t)v;
    }
    int top_bit = 63 - __builtin_clzll(v);
    int shift = top_bit - half_bits;
    return (uint32_t)(((uint64_t)shift << half_bits) + (v >> shift));
}

uint64_t hist_bucket_lowest(uint32_t index) {
    strom_assert(index < HIST_BUCKET_COUNT);
    if (index < (1u << HIST_SIGNIFICANT_BITS)) {
        return index;
    }
    uint32_t shift = (index >> half_bits) - 1;
    uint64_t mantissa = index - (shift << half_bits);
    strom_assert(mantissa >= (1u << half_bits) && mantissa < (1u << HIST_SIGNIFICANT_BITS));
    return mantissa << shift;
}

uint64_t hist_bucket_highest(uint32_t index) {
    strom_assert(index < HIST_BUCKET_COUNT);
    uint32_t shift = index < (1u << HIST_SIGNIFICANT_BITS) ? 0 : (index >> half_bits) - 1;
    return hist_bucket_lowest(index) + (UINT64_C(1) << shift) - 1;
}

void hist_reset(struct hist *h) {
    strom_assert(h != NULL);
    memset(h, 0, sizeof *h);
    h->min = UINT64_MAX;
}

void hist_record_n(struct hist *h, uint64_t value, uint64_t n) {
    strom_assert(h->count <= UINT64_MAX - n);
    if (n == 0) {
        return;
    }
    h->buckets[hist_bucket_of(value)] += n;
    h->count += n;
    h->clamped_count += value > HIST_VALUE_MAX ? n : 0;
    h->sum += (unsigned __int128)value * n;
    h->min = value < h->min ? value : h->min;
    h->max = value > h->max ? value : h->max;
}

void hist_record(struct hist *h, uint64_t value) {
    hist_record_n(h, value, 1);
}

void hist_merge(struct hist *dst, const struct hist *src) {
    strom_assert(dst != NULL && src != NULL && dst != src);
    strom_assert(dst->count <= UINT64_MAX - src->count);
    for (uint32_t i = 0; i < HIST_BUCKET_COUNT; i++) {
        dst->buckets[i] += src->buckets[i];
    }
    dst->count += src->count;
    dst->clamped_count += src->clamped_count;
    dst->sum += src->sum;
    dst->min = src->min < dst->min ? src->min : dst->min;
    dst->max = src->max > dst->max ? src->max : dst->max;
}

uint64_t hist_percentile(const struct hist *h, double p) {
    strom_assert(h != NULL && p >= 0.0 && p <= 100.0);
    if (h->count == 0) {
        return 0;
    }
    if (p == 0.0) {
        return h->min;
    }
    if (p == 100.0) {
        return h->max;
    }
    double rank_real = ceil(p / 100.0 * (double)h->count);
    uint64_t rank = rank_real < 1.0 ? 1 : (uint64_t)rank_real;
    rank = rank > h->count ? h->count : rank;
    uint64_t seen = 0;
    uint32_t i = 0;
    while (seen + h->buckets[i] < rank) {
        seen += h->buckets[i];
        i++;
        strom_assert(i < HIST_BUCKET_COUNT);
    }
    uint64_t lowest = hist_bucket_lowest(i);
    uint64_t middle = lowest + (hist_bucket_highest(i) - lowest) / 2;
    uint64_t result = middle < h->min ? h->min : middle > h->max ? h->max : middle;
    return result;
}

uint64_t hist_min(const struct hist *h) {
    return h->count == 0 ? 0 : h->min;
}

uint64_t hist_max(const struct hist *h) {
    return h->max;
}

double hist_mean(const struct hist *h) {
    return h->count == 0 ? 0.0 : (double)h->sum / (double)h->count;
}

uint64_t hist_count(const struct hist *h) {
    return h->count;
}
