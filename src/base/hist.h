/*
 * hist.h: a latency histogram of fixed size: record values, read percentiles within 1 %.
 *
 * The buckets are log-linear in the manner of Gil Tene's HdrHistogram (hdrhistogram.org,
 * github.com/HdrHistogram): a bucket keeps the top HIST_SIGNIFICANT_BITS (8) bits of its values.
 * Values below 2^8 get a bucket each; each power-of-two range [2^e, 2^(e+1)) above is cut into
 * 2^7 = 128 equal buckets of width 2^(e-7). A bucket is thus at most 1/128 of its values wide, and
 * a percentile, reported as the middle of its bucket, is within 1/256 (0.4 %) of the exact one.
 * Counting a value costs a count-leading-zeros, a shift and an add.
 *
 * Values are nanoseconds by convention (any unsigned unit works). Buckets reach HIST_VALUE_MAX
 * (2^36 - 1 ns, 68.7 s); a larger value is counted in the top bucket and in clamped_count, while
 * min, max and the mean keep its true value.
 *
 * The struct is 30 KiB and needs no allocation; merging two histograms adds their counts.
 * Single writer: the owner records; others read it or a copy.
 */
#ifndef STROM_BASE_HIST_H
#define STROM_BASE_HIST_H

#include <stdint.h>

enum {
    HIST_SIGNIFICANT_BITS = 8, /* a bucket keeps the top 8 bits of its values */
    HIST_VALUE_BITS = 36,      /* buckets cover [0, 2^36) */
    /* 2^8 exact buckets, then 2^7 for each power of two from 2^8 to 2^35. */
    HIST_BUCKET_COUNT = (HIST_VALUE_BITS - HIST_SIGNIFICANT_BITS + 2)
                        << (HIST_SIGNIFICANT_BITS - 1),
};

/* The largest value with a bucket of its own: 2^36 - 1 ns, about 68.7 s. */
#define HIST_VALUE_MAX ((UINT64_C(1) << HIST_VALUE_BITS) - 1)

struct hist {
    uint64_t count;         /* values recorded */
    uint64_t clamped_count; /* of which above HIST_VALUE_MAX (counted in the top bucket) */
    uint64_t min;           /* smallest value recorded; UINT64_MAX when count is 0 */
    uint64_t max;           /* largest value recorded; 0 when count is 0 */
    unsigned __int128 sum;  /* sum of the values recorded; cannot overflow (see count) */
    uint64_t buckets[HIST_BUCKET_COUNT]; /* count per bucket; they add up to count */
};

/* Empties h. */
void hist_reset(struct hist *h);

/* Records value once. */
void hist_record(struct hist *h, uint64_t value);

/* Records value n times (n may be 0: nothing happens). The count must not pass 2^64 - 1. */
void hist_record_n(struct hist *h, uint64_t value, uint64_t n);

/* Adds every value of src to dst: afterwards dst is as if it had recorded both sets. */
void hist_merge(struct hist *dst, const struct hist *src);

/*
 * The p-th percentile, p in [0, 100]: the value at rank ceil(p / 100 * count) (at least 1) of the
 * recorded values in ascending order, as the middle of its bucket, kept within [min, max]. p = 0
 * gives min and p = 100 gives max, both exact. 0 when h is empty.
 */
uint64_t hist_percentile(const struct hist *h, double p);

/* Exact smallest and largest value recorded; 0 when h is empty. */
uint64_t hist_min(const struct hist *h);
uint64_t hist_max(const struct hist *h);

/* Exact mean (rounded to a double); 0 when h is empty. */
double hist_mean(const struct hist *h);

/* Number of values recorded. */
uint64_t hist_count(const struct hist *h);

/* The bucket of value (values above HIST_VALUE_MAX: the top one), and the smallest and largest
 * value of bucket index < HIST_BUCKET_COUNT. Exposed for tests and for printing buckets. */
uint32_t hist_bucket_of(uint64_t value);
uint64_t hist_bucket_lowest(uint32_t index);
uint64_t hist_bucket_highest(uint32_t index);

#endif
