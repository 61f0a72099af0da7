/*
 * bench.c: figures of a benchmark run, printed as ssim lines and as a table (see bench.h).
 *
 * Invariant: figures[0, figure_count) hold non-empty names and units of bare ssim characters and
 * finite values; the baselines hold bare ssim characters or are empty.
 */
#include "base/bench.h"

#include <math.h>
#include <string.h>

#include "base/assert.h"
#include "base/hist.h"

enum { number_bytes_max = 32 /* one formatted number with its NUL */ };

/* The characters ssim writes without quotes (DESIGN.md, section 8). */
static bool is_bare_char(char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           (c != '\0' && strchr("_;&*^%$@.!:,+/-", c) != NULL);
}

/* true when s is NULL-free text of bare characters, shorter than cap, and not empty unless
 * empty_ok. */
static bool is_valid_id(const char *s, size_t cap, bool empty_ok) {
    size_t len = strnlen(s, cap);
    if (len >= cap || (len == 0 && !empty_ok)) {
        return false;
    }
    for (size_t i = 0; i < len; i++) {
        if (!is_bare_char(s[i])) {
            return false;
        }
    }
    return true;
}

void bench_init(struct bench *b) {
    strom_assert(b != NULL);
    b->figure_count = 0;
    memset(b->figures, 0, sizeof b->figures);
}

strom_err bench_add(struct bench *b, const char *name, double value, const char *unit,
                    const char *baseline) {
    strom_assert(b != NULL && b->figure_count <= BENCH_FIGURES_MAX);
    if (baseline == NULL) {
        baseline = "";
    }
    if (name == NULL || unit == NULL || !is_valid_id(name, BENCH_NAME_BYTES_MAX, false) ||
        !is_valid_id(unit, BENCH_UNIT_BYTES_MAX, false) ||
        !is_valid_id(baseline, BENCH_NAME_BYTES_MAX, true) || !isfinite(value)) {
        return STROM_ERR_INVALID_ARGUMENT;
    }
    if (b->figure_count == BENCH_FIGURES_MAX) {
        return STROM_ERR_LIMIT;
    }
    struct bench_figure *f = &b->figures[b->figure_count];
    memset(f, 0, sizeof *f);
    memcpy(f->name, name, strlen(name));
    memcpy(f->unit, unit, strlen(unit));
    memcpy(f->baseline, baseline, strlen(baseline));
    f->value = value;
    b->figure_count++;
    return STROM_OK;
}

strom_err bench_add_hist(struct bench *b, const char *name, const struct hist *h, const char *unit,
                         double unit_ns, const char *baseline) {
    static const struct {
        const char *suffix;
        double p;
    } points[] = {{"p50", 50}, {"p90", 90}, {"p99", 99}, {"p999", 99.9}, {"max", 100}};
    enum { point_count = sizeof points / sizeof points[0] };
    strom_assert(b != NULL && h != NULL && name != NULL && unit_ns > 0);
    if (hist_count(h) == 0) {
        return STROM_OK;
    }
    if (b->figure_count > BENCH_FIGURES_MAX - point_count) {
        return STROM_ERR_LIMIT;
    }
    uint32_t count_before = b->figure_count;
    strom_err err = STROM_OK;
    for (int i = 0; i < point_count && err == STROM_OK; i++) {
        char figure[BENCH_NAME_BYTES_MAX + 8];
        char base[BENCH_NAME_BYTES_MAX + 8] = "";
        snprintf(figure, sizeof figure, "%s.%s", name, points[i].suffix);
        if (baseline != NULL && baseline[0] != '\0') {
            snprintf(base, sizeof base, "%s.%s", baseline, points[i].suffix);
        }
        double value = (double)hist_percentile(h, points[i].p) / unit_ns;
        err = bench_add(b, figure, value, unit, base);
    }
    if (err != STROM_OK) {
        b->figure_count = count_before; /* undo the figures of this call */
    }
    return err;
}

const struct bench_figure *bench_find(const struct bench *b, const char *name) {
    strom_assert(b != NULL && name != NULL);
    for (uint32_t i = 0; i < b->figure_count; i++) {
        if (strcmp(b->figures[i].name, name) == 0) {
            return &b->figures[i];
        }
    }
    return NULL;
}

bool bench_ratio(const struct bench *b, uint32_t index, double *ratio_out) {
    strom_assert(b != NULL && index < b->figure_count);
    const struct bench_figure *f = &b->figures[index];
    if (f->baseline[0] == '\0') {
        return false;
    }
    const struct bench_figure *base = bench_find(b, f->baseline);
    if (base == NULL || base->value == 0) {
        return false;
    }
    *ratio_out = f->value / base->value;
    return true;
}

/* Writes v with 6 significant digits into out (number_bytes_max bytes): plain decimal between
 * 1e-6 and 1e15 with trailing zeros dropped, exponent form outside, "0" for zero. */
static void format_number(double v, char *out) {
    strom_assert(isfinite(v));
    double mag = fabs(v);
    int n;
    if (mag == 0) {
        n = snprintf(out, number_bytes_max, "0");
    } else if (mag < 1e-6 || mag >= 1e15) {
        n = snprintf(out, number_bytes_max, "%.6g", v);
    } else {
        int decimals = 5 - (int)floor(log10(mag));
        decimals = decimals < 0 ? 0 : decimals;
        n = snprintf(out, number_bytes_max, "%.*f", decimals, v);
        if (decimals > 0) {
            while (n > 0 && out[n - 1] == '0') {
                out[--n] = '\0';
            }
            if (n > 0 && out[n - 1] == '.') {
                out[--n] = '\0';
            }
        }
    }
    strom_assert(n > 0 && n < number_bytes_max);
}

size_t bench_format_line(const struct bench *b, uint32_t index, char *buf, size_t cap) {
    strom_assert(b != NULL && index < b->figure_count && buf != NULL);
    const struct bench_figure *f = &b->figures[index];
    char value[number_bytes_max];
    char ratio[number_bytes_max] = "\"\"";
    double r;
    format_number(f->value, value);
    if (bench_ratio(b, index, &r) && isfinite(r)) {
        format_number(r, ratio);
    }
    int n = snprintf(buf, cap, "bench.result  name:%s  value:%s  unit:%s  baseline:%s  ratio:%s\n",
                     f->name, value, f->unit, f->baseline[0] ? f->baseline : "\"\"", ratio);
    strom_assert(n > 0 && (size_t)n < cap);
    return (size_t)n;
}

/* Width of the widest of a column's cells, at least the header's. */
static int column_width(const struct bench *b, size_t field_offset, const char *header) {
    size_t width = strlen(header);
    for (uint32_t i = 0; i < b->figure_count; i++) {
        const char *cell = (const char *)&b->figures[i] + field_offset;
        size_t len = strlen(cell);
        width = len > width ? len : width;
    }
    return (int)width;
}

void bench_print(const struct bench *b, FILE *out) {
    strom_assert(b != NULL && out != NULL);
    char line[BENCH_LINE_BYTES_MAX];
    for (uint32_t i = 0; i < b->figure_count; i++) {
        bench_format_line(b, i, line, sizeof line);
        fputs(line, out);
    }
    int name_w = column_width(b, offsetof(struct bench_figure, name), "name");
    int unit_w = column_width(b, offsetof(struct bench_figure, unit), "unit");
    int base_w = column_width(b, offsetof(struct bench_figure, baseline), "baseline");
    fprintf(out, "\n%-*s  %14s  %-*s  %-*s  %10s\n", name_w, "name", "value", unit_w, "unit",
            base_w, "baseline", "ratio");
    for (uint32_t i = 0; i < b->figure_count; i++) {
        const struct bench_figure *f = &b->figures[i];
        char value[number_bytes_max];
        char ratio[number_bytes_max] = "";
        double r;
        format_number(f->value, value);
        if (bench_ratio(b, i, &r) && isfinite(r)) {
            format_number(r, ratio);
        }
        char row[BENCH_LINE_BYTES_MAX];
        int n = snprintf(row, sizeof row, "%-*s  %14s  %-*s  %-*s  %10s", name_w, f->name, value,
                         unit_w, f->unit, base_w, f->baseline, ratio);
        strom_assert(n > 0 && (size_t)n < sizeof row);
        while (n > 0 && row[n - 1] == ' ') { /* no trailing blanks when the last cells are empty */
            row[--n] = '\0';
        }
        fprintf(out, "%s\n", row);
    }
    fflush(out);
}
