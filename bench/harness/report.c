/*
 * report.c: strom-bench's output.
 *
 * A run prints one `bench.run` ssim record with its counts, rates and percentiles. The report
 * reads such records (of many runs, of every system), and prints, per workload and durability
 * row:
 *   - one `bench.result` line per figure (src/base/bench.h), named
 *     <workload>.<row>.<system>.<metric>; a figure of strom is printed once per peer, with that
 *     peer's figure as its baseline, so that its ratio is strom's ratio to the peer;
 *   - a side-by-side table: the metrics in rows, the systems in columns, then strom's ratio to
 *     each peer with the target where there is one (p99 latency: at most 0.2x NATS
 *     JetStream, 0.5x Redis; max throughput: at least 3x NATS JetStream, 2x Redis).
 * It also writes the data files that scripts/bench.sh plots with gnuplot.
 *
 * Figures are compared only within one workload and one durability row.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "base/bench.h"
#include "base/ssim.h"
#include "harness.h"

enum {
    REPORT_ENTRIES_MAX = 512, /* bench.run records in one report */
    REPORT_SYSTEMS_MAX = 8,   /* columns of the table */
    REPORT_LINE_BYTES_MAX = 4096,
    REPORT_FILE_BYTES_MAX = 16 << 20,
};

/* The metrics of a run, as keys of its bench.run record and as figures. */
enum report_metric {
    M_E2E_P50,
    M_E2E_P90,
    M_E2E_P99,
    M_E2E_P999,
    M_E2E_MAX,
    M_PUB_P50,
    M_PUB_P99,
    M_LAG_P50,
    M_LAG_P99,
    M_PUB_MSGS,
    M_MSGS,
    M_MBS,
    M_CPU,
    M_COUNT
};

static const struct {
    const char *key;    /* in bench.run */
    const char *figure; /* suffix of the figure name */
    const char *unit;
    const char *label; /* in the table */
    bool higher_better;
} metrics[M_COUNT] = {
    [M_E2E_P50] = {"e2e_p50_us", "e2e.p50", "us", "e2e p50", false},
    [M_E2E_P90] = {"e2e_p90_us", "e2e.p90", "us", "e2e p90", false},
    [M_E2E_P99] = {"e2e_p99_us", "e2e.p99", "us", "e2e p99", false},
    [M_E2E_P999] = {"e2e_p999_us", "e2e.p999", "us", "e2e p99.9", false},
    [M_E2E_MAX] = {"e2e_max_us", "e2e.max", "us", "e2e max", false},
    [M_PUB_P50] = {"pub_p50_us", "pub.p50", "us", "publish p50", false},
    [M_PUB_P99] = {"pub_p99_us", "pub.p99", "us", "publish p99", false},
    [M_LAG_P50] = {"lag_p50_us", "lag.p50", "us", "send lag p50", false},
    [M_LAG_P99] = {"lag_p99_us", "lag.p99", "us", "send lag p99", false},
    [M_PUB_MSGS] = {"pub_msgs_s", "pub.msgs", "msg/s", "acked", true},
    [M_MSGS] = {"deliver_msgs_s", "msgs", "msg/s", "delivered", true},
    [M_MBS] = {"deliver_mb_s", "mbs", "MB/s", "delivered", true},
    /* added by scripts/bench-peers.sh, which knows the server's processes */
    [M_CPU] = {"server_cpu_us_msg", "cpu", "us/msg", "server CPU", false},
};

/* The system every other is compared with: its column comes first, its ratios follow. */
static const char report_reference[] = "strom";

/* --- one run's record ----------------------------------------------------------------------- */

static void write_double(struct strom_ssim_writer *w, const char *key, double v) {
    char buf[40];
    snprintf(buf, sizeof buf, "%.6g", isfinite(v) ? v : 0.0);
    strom_ssim_write_str(w, key, buf);
}

static void write_hist(struct strom_ssim_writer *w, const char *prefix, const struct hist *h) {
    static const struct {
        const char *suffix;
        double p;
    } points[] = {{"p50", 50}, {"p90", 90}, {"p99", 99}, {"p999", 99.9}, {"max", 100}};
    char key[32];
    for (size_t i = 0; i < sizeof points / sizeof points[0]; i++) {
        snprintf(key, sizeof key, "%s_%s_us", prefix, points[i].suffix);
        write_double(w, key, (double)hist_percentile(h, points[i].p) / 1e3);
    }
    snprintf(key, sizeof key, "%s_count", prefix);
    strom_ssim_write_u64(w, key, hist_count(h));
}

void bench_result_print_ssim(const struct bench_result *res, FILE *out) {
    const struct bench_workload *wl = res->workload;
    char buf[REPORT_LINE_BYTES_MAX];
    struct strom_ssim_writer w;
    strom_ssim_writer_init(&w, buf, sizeof buf);
    strom_ssim_write_type(&w, "bench.run");
    strom_ssim_write_str(&w, "system", res->system);
    strom_ssim_write_str(&w, "workload", wl->name);
    strom_ssim_write_str(&w, "row", bench_durability_name(wl->durability));
    strom_ssim_write_bool(&w, "ok", res->ok);
    strom_ssim_write_u64(&w, "streams", wl->stream_count);
    strom_ssim_write_u64(&w, "producers", wl->producer_count);
    strom_ssim_write_u64(&w, "subscribers", wl->subscriber_count);
    strom_ssim_write_bool(&w, "fanout", wl->fanout);
    strom_ssim_write_u64(&w, "msg_bytes", wl->msg_bytes);
    if (wl->rate_msgs_s) {
        strom_ssim_write_u64(&w, "rate", wl->rate_msgs_s);
    } else {
        strom_ssim_write_str(&w, "rate", "max");
    }
    strom_ssim_write_u64(&w, "duration_ms", res->duration_ns / 1000000u);
    strom_ssim_write_u64(&w, "sent", res->sent_count);
    strom_ssim_write_u64(&w, "acked", res->acked_count);
    strom_ssim_write_u64(&w, "refused", res->refused_count);
    strom_ssim_write_u64(&w, "late", res->late_count);
    strom_ssim_write_u64(&w, "unsent", res->unsent_count);
    strom_ssim_write_u64(&w, "expected", res->expected_count);
    strom_ssim_write_u64(&w, "delivered", res->delivered_count);
    strom_ssim_write_u64(&w, "bad_payloads", res->bad_payload_count);
    strom_ssim_write_u64(&w, "order_errors", res->order_error_count);
    write_double(&w, "pub_msgs_s", res->publish_msgs_s);
    write_double(&w, "deliver_msgs_s", res->deliver_msgs_s);
    write_double(&w, "deliver_mb_s", res->deliver_mb_s);
    write_hist(&w, "e2e", &res->e2e_ns);
    write_hist(&w, "pub", &res->publish_ns);
    write_hist(&w, "lag", &res->lag_ns);
    strom_ssim_write_str(&w, "server", res->server.text);
    strom_ssim_write_str(&w, "note", res->diag.text);
    strom_err err = strom_ssim_writer_end(&w);
    strom_assert(err == STROM_OK);
    fwrite(buf, 1, w.bytes_used, out);
}

void bench_result_print_line(const struct bench_result *res, FILE *out) {
    const struct bench_workload *wl = res->workload;
    if (!res->ok) {
        fprintf(out, "%-6s %-14s %-6s cannot: %s\n", res->system, wl->name,
                bench_durability_name(wl->durability), res->diag.text);
        return;
    }
    fprintf(
        out,
        "%-6s %-14s %-6s sent %llu delivered %llu/%llu  e2e p50 %.1f p99 %.1f p99.9 %.1f "
        "max %.1f us  publish p99 %.1f us  send lag p99 %.1f us  %.0f msg/s %.1f MB/s\n",
        res->system, wl->name, bench_durability_name(wl->durability),
        (unsigned long long)res->sent_count, (unsigned long long)res->delivered_count,
        (unsigned long long)res->expected_count, (double)hist_percentile(&res->e2e_ns, 50) / 1e3,
        (double)hist_percentile(&res->e2e_ns, 99) / 1e3,
        (double)hist_percentile(&res->e2e_ns, 99.9) / 1e3, (double)hist_max(&res->e2e_ns) / 1e3,
        (double)hist_percentile(&res->publish_ns, 99) / 1e3,
        (double)hist_percentile(&res->lag_ns, 99) / 1e3, res->deliver_msgs_s, res->deliver_mb_s);
}

/* --- reading runs back ----------------------------------------------------------------------- */

/* One bench.run record as the report needs it. */
struct report_entry {
    char workload[HARNESS_NAME_BYTES_MAX];
    char row[8];
    char system[HARNESS_NAME_BYTES_MAX];
    bool ok;
    bool max_rate;
    char shape[256]; /* "1 producer, 1 subscriber, ..." for the table's heading */
    char note[HARNESS_DIAG_BYTES_MAX];
    uint64_t unsent;      /* messages due in the window never sent */
    uint64_t undelivered; /* expected - delivered */
    double value[M_COUNT];
    bool has[M_COUNT];
};

struct report {
    uint32_t count;
    struct report_entry entries[REPORT_ENTRIES_MAX];
    uint32_t system_count; /* columns: the reference first, then in order of appearance */
    char systems[REPORT_SYSTEMS_MAX][HARNESS_NAME_BYTES_MAX];
};

/* Copies a string field into out (NUL-terminated, cut to out_bytes - 1); "" when absent. */
static void get_text(const struct strom_ssim_record *rec, const char *key, char *out,
                     size_t out_bytes) {
    const char *v = NULL;
    uint32_t len = 0;
    if (strom_ssim_get_str(rec, key, &v, &len, NULL) != STROM_OK) {
        len = 0;
    }
    len = len < out_bytes - 1 ? len : (uint32_t)(out_bytes - 1);
    memcpy(out, v ? v : "", len);
    out[len] = '\0';
}

static void entry_shape(const struct strom_ssim_record *rec, struct report_entry *e) {
    char streams[16], producers[16], subscribers[16], bytes[16], rate[16], dur[16], fanout[8];
    get_text(rec, "streams", streams, sizeof streams);
    get_text(rec, "producers", producers, sizeof producers);
    get_text(rec, "subscribers", subscribers, sizeof subscribers);
    get_text(rec, "msg_bytes", bytes, sizeof bytes);
    get_text(rec, "rate", rate, sizeof rate);
    get_text(rec, "duration_ms", dur, sizeof dur);
    get_text(rec, "fanout", fanout, sizeof fanout);
    e->max_rate = strcmp(rate, "max") == 0;
    int n = snprintf(e->shape, sizeof e->shape,
                     "%s streams, %s producers, %s subscribers%s, %s B, %s%s, %.1f s", streams,
                     producers, subscribers, strcmp(fanout, "true") == 0 ? " (fan-out)" : "", bytes,
                     rate, e->max_rate ? " rate" : " msg/s", atof(dur) / 1e3);
    strom_assert(n > 0 && (size_t)n < sizeof e->shape);
}

/* Adds system as a column unless it is one; the reference system goes first. */
static strom_err report_add_system(struct report *rp, const char *system, struct bench_diag *diag) {
    for (uint32_t i = 0; i < rp->system_count; i++) {
        if (strcmp(rp->systems[i], system) == 0) {
            return STROM_OK;
        }
    }
    if (rp->system_count == REPORT_SYSTEMS_MAX) {
        return bench_diag_set(diag, STROM_ERR_LIMIT, "report: more than %d systems",
                              REPORT_SYSTEMS_MAX);
    }
    uint32_t at = rp->system_count;
    if (strcmp(system, report_reference) == 0) {
        memmove(rp->systems[1], rp->systems[0], sizeof rp->systems[0] * rp->system_count);
        at = 0;
    }
    size_t len = strnlen(system, HARNESS_NAME_BYTES_MAX - 1);
    memcpy(rp->systems[at], system, len);
    rp->systems[at][len] = '\0';
    rp->system_count++;
    return STROM_OK;
}

static strom_err report_add(struct report *rp, const struct strom_ssim_record *rec,
                            struct bench_diag *diag) {
    if (rp->count == REPORT_ENTRIES_MAX) {
        return bench_diag_set(diag, STROM_ERR_LIMIT, "report: more than %d runs",
                              REPORT_ENTRIES_MAX);
    }
    struct report_entry *e = &rp->entries[rp->count];
    memset(e, 0, sizeof *e);
    get_text(rec, "workload", e->workload, sizeof e->workload);
    get_text(rec, "row", e->row, sizeof e->row);
    get_text(rec, "system", e->system, sizeof e->system);
    get_text(rec, "note", e->note, sizeof e->note);
    if (e->workload[0] == '\0' || e->row[0] == '\0' || e->system[0] == '\0' ||
        strom_ssim_get_bool(rec, "ok", &e->ok, NULL) != STROM_OK) {
        return bench_diag_set(diag, STROM_ERR_PARSE,
                              "report: line %u: a bench.run without "
                              "workload, row, system or ok",
                              rec->line);
    }
    entry_shape(rec, e);
    uint64_t expected = 0, delivered = 0;
    strom_ssim_get_u64(rec, "unsent", &e->unsent, NULL);
    strom_ssim_get_u64(rec, "expected", &expected, NULL);
    strom_ssim_get_u64(rec, "delivered", &delivered, NULL);
    e->undelivered = expected > delivered ? expected - delivered : 0;
    uint64_t e2e_count = 0, pub_count = 0, lag_count = 0;
    strom_ssim_get_u64(rec, "e2e_count", &e2e_count, NULL);
    strom_ssim_get_u64(rec, "pub_count", &pub_count, NULL);
    strom_ssim_get_u64(rec, "lag_count", &lag_count, NULL);
    for (enum report_metric m = 0; m < M_COUNT && e->ok; m++) {
        char text[40];
        get_text(rec, metrics[m].key, text, sizeof text);
        char *end = NULL;
        e->value[m] = strtod(text, &end);
        e->has[m] = text[0] != '\0' && end != NULL && *end == '\0' && isfinite(e->value[m]);
        /* An empty histogram has no percentiles (its record says 0). */
        /* At max rate a message is due when it is sent: no send lag by construction. */
        e->has[m] = e->has[m] && !(m <= M_E2E_MAX && e2e_count == 0) &&
                    !((m == M_LAG_P50 || m == M_LAG_P99) && e->max_rate) &&
                    !((m == M_PUB_P50 || m == M_PUB_P99) && pub_count == 0) &&
                    !((m == M_LAG_P50 || m == M_LAG_P99) && lag_count == 0);
    }
    /* A later run of the same workload, row and system replaces an earlier one. */
    for (uint32_t i = 0; i < rp->count; i++) {
        struct report_entry *old = &rp->entries[i];
        if (strcmp(old->workload, e->workload) == 0 && strcmp(old->row, e->row) == 0 &&
            strcmp(old->system, e->system) == 0) {
            *old = *e;
            return STROM_OK;
        }
    }
    rp->count++;
    return report_add_system(rp, e->system, diag);
}

static strom_err report_load(struct report *rp, const char *path, struct bench_diag *diag) {
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        return bench_diag_set(diag, STROM_ERR_IO, "report: cannot open %s", path);
    }
    char *text = malloc(REPORT_FILE_BYTES_MAX);
    size_t len = text ? fread(text, 1, REPORT_FILE_BYTES_MAX, f) : 0;
    fclose(f);
    if (text == NULL || len == REPORT_FILE_BYTES_MAX) {
        free(text);
        return bench_diag_set(diag, STROM_ERR_TOO_LARGE, "report: %s is over 16 MiB", path);
    }
    struct strom_ssim_reader r;
    struct strom_ssim_record rec;
    char scratch[REPORT_LINE_BYTES_MAX];
    struct strom_ssim_error e = {0};
    strom_err err;
    strom_ssim_reader_init(&r, text, len);
    while ((err = strom_ssim_reader_next(&r, &rec, scratch, sizeof scratch, &e)) != STROM_ERR_END) {
        if (err != STROM_OK) {
            continue; /* not every line of a log is ssim; bench.run lines are */
        }
        if (strom_ssim_is(&rec, "bench.run") && (err = report_add(rp, &rec, diag)) != STROM_OK) {
            break;
        }
    }
    free(text);
    return err == STROM_ERR_END ? STROM_OK : err;
}

/* --- the report ------------------------------------------------------------------------------ */

/* The entry of (workload, row, system), or NULL. */
static const struct report_entry *report_get(const struct report *rp, const char *workload,
                                             const char *row, const char *system) {
    for (uint32_t i = 0; i < rp->count; i++) {
        const struct report_entry *e = &rp->entries[i];
        if (strcmp(e->workload, workload) == 0 && strcmp(e->row, row) == 0 &&
            strcmp(e->system, system) == 0) {
            return e;
        }
    }
    return NULL;
}

/* True when entry i is the first of its (workload, row) group. */
static bool report_group_first(const struct report *rp, uint32_t i) {
    for (uint32_t j = 0; j < i; j++) {
        if (strcmp(rp->entries[j].workload, rp->entries[i].workload) == 0 &&
            strcmp(rp->entries[j].row, rp->entries[i].row) == 0) {
            return false;
        }
    }
    return true;
}

/* The target of strom's ratio to peer for metric m in this group, or 0 when there is none. */
/* Latency is held to its target where it measures the system, at a fixed rate; at max rate it
 * measures the producers' queues (window times producers) and has none. */
static double report_target(const struct report_entry *e, enum report_metric m, const char *peer) {
    bool nats = strcmp(peer, "nats") == 0, redis = strcmp(peer, "redis") == 0;
    if (m == M_E2E_P99 && !e->max_rate) {
        return nats ? 0.2 : redis ? 0.5 : 0;
    }
    if (m == M_MSGS && e->max_rate) {
        return nats ? 3 : redis ? 2 : 0;
    }
    return 0;
}

/* The figure name of metric m of e; false when it does not fit (the figure is then left out). */
static bool figure_name(char *out, size_t bytes, const struct report_entry *e,
                        enum report_metric m) {
    int n = snprintf(out, bytes, "%s.%s.%s.%s", e->workload, e->row, e->system, metrics[m].figure);
    return n > 0 && (size_t)n < bytes;
}

/* The bench.result lines of one group. */
static void report_group_figures(const struct report *rp, const struct report_entry *g,
                                 struct bench *b, FILE *out) {
    const struct report_entry *strom = report_get(rp, g->workload, g->row, report_reference);
    bench_init(b);
    for (uint32_t s = 0; s < rp->system_count; s++) {
        const struct report_entry *e = report_get(rp, g->workload, g->row, rp->systems[s]);
        for (enum report_metric m = 0; e != NULL && e->ok && m < M_COUNT; m++) {
            char name[BENCH_NAME_BYTES_MAX], sname[BENCH_NAME_BYTES_MAX];
            if (!e->has[m] || e == strom || !figure_name(name, sizeof name, e, m)) {
                continue;
            }
            bench_add(b, name, e->value[m], metrics[m].unit, "");
            if (strom != NULL && strom->ok && strom->has[m] &&
                figure_name(sname, sizeof sname, strom, m)) {
                bench_add(b, sname, strom->value[m], metrics[m].unit, name);
            }
        }
    }
    for (enum report_metric m = 0; strom != NULL && strom->ok && m < M_COUNT; m++) {
        char name[BENCH_NAME_BYTES_MAX];
        if (strom->has[m] && figure_name(name, sizeof name, strom, m) &&
            bench_find(b, name) == NULL) {
            bench_add(b, name, strom->value[m], metrics[m].unit, ""); /* no peer to compare */
        }
    }
    char line[BENCH_LINE_BYTES_MAX];
    for (uint32_t i = 0; i < b->figure_count; i++) {
        bench_format_line(b, i, line, sizeof line);
        fputs(line, out);
    }
}

static void format_value(char *out, size_t bytes, const struct report_entry *e,
                         enum report_metric m) {
    if (e == NULL) {
        out[0] = '\0';
    } else if (!e->ok) {
        snprintf(out, bytes, "cannot");
    } else if (!e->has[m]) {
        snprintf(out, bytes, "-");
    } else {
        snprintf(out, bytes, e->value[m] >= 100 ? "%.0f" : "%.1f", e->value[m]);
    }
}

/* The cell of strom's ratio to the peer entry e for metric m, with its target and verdict. */
static void format_ratio(char *out, size_t bytes, const struct report_entry *strom,
                         const struct report_entry *e, const struct report_entry *g,
                         enum report_metric m) {
    out[0] = '\0';
    if (!e->ok || !e->has[m] || !strom->has[m] || e->value[m] <= 0) {
        return;
    }
    double r = strom->value[m] / e->value[m];
    double t = report_target(g, m, e->system);
    size_t n = (size_t)snprintf(out, bytes, "%.2f", r);
    if (t > 0 && n < bytes) {
        bool met = metrics[m].higher_better ? r >= t : r <= t;
        snprintf(out + n, bytes - n, " (%s%g %s)", metrics[m].higher_better ? ">=" : "<=", t,
                 met ? "met" : "MISSED");
    }
}

/* What the table cannot say in its cells: systems that could not run the workload, or did not
 * keep up with its rate, or left messages undelivered. */
static void report_group_notes(const struct report_entry *const *col, uint32_t n, FILE *out) {
    for (uint32_t s = 0; s < n; s++) {
        const struct report_entry *e = col[s];
        if (e == NULL) {
            continue;
        }
        if (!e->ok) {
            fprintf(out, "  %s cannot run it: %s\n", e->system, e->note);
            continue;
        }
        if (e->note[0] != '\0') {
            fprintf(out, "  %s: %s\n", e->system, e->note);
        }
        if (e->unsent > 0) {
            fprintf(out,
                    "  %s did not keep up with the rate: %llu messages due in the window "
                    "were never sent (latencies count them as lower bounds)\n",
                    e->system, (unsigned long long)e->unsent);
        }
        if (e->undelivered > 0) {
            fprintf(out, "  %s left %llu deliveries undone when the run ended\n", e->system,
                    (unsigned long long)e->undelivered);
        }
    }
}

/* The side-by-side table of one group. */
static void report_group_table(const struct report *rp, const struct report_entry *g, FILE *out) {
    const struct report_entry *col[REPORT_SYSTEMS_MAX];
    const struct report_entry *strom = report_get(rp, g->workload, g->row, report_reference);
    bool ratios = strom != NULL && strom->ok;
    fprintf(out, "\n== %s, %s row: %s\n%-18s", g->workload, g->row, g->shape, "metric");
    for (uint32_t s = 0; s < rp->system_count; s++) {
        col[s] = report_get(rp, g->workload, g->row, rp->systems[s]);
        fprintf(out, " %11s", rp->systems[s]);
    }
    for (uint32_t s = 0; ratios && s < rp->system_count; s++) {
        if (col[s] != NULL && col[s] != strom) {
            char head[64];
            snprintf(head, sizeof head, "%s/%s", report_reference, col[s]->system);
            fprintf(out, "   %-19s", head);
        }
    }
    fputc('\n', out);
    for (enum report_metric m = 0; m < M_COUNT; m++) {
        char label[32], cell[64];
        snprintf(label, sizeof label, "%s %s", metrics[m].label, metrics[m].unit);
        fprintf(out, "%-18s", label);
        for (uint32_t s = 0; s < rp->system_count; s++) {
            format_value(cell, sizeof cell, col[s], m);
            fprintf(out, " %11s", cell);
        }
        for (uint32_t s = 0; ratios && s < rp->system_count; s++) {
            if (col[s] != NULL && col[s] != strom) {
                format_ratio(cell, sizeof cell, strom, col[s], g, m);
                fprintf(out, "   %-19s", cell);
            }
        }
        fputc('\n', out);
    }
    report_group_notes(col, rp->system_count, out);
}

/* One line of the targets table: strom's figure of metric m beside the peer entry e's, the
 * ratio, the target and the verdict; or why there is no ratio (the peer could not run it, or
 * measured nothing). Returns true when the target is met. */
static bool report_target_line(const struct report_entry *strom, const struct report_entry *e,
                               enum report_metric m, FILE *out) {
    double t = report_target(strom, m, e->system);
    strom_assert(t > 0 && strom->ok);
    const char *sign = metrics[m].higher_better ? ">=" : "<=";
    char label[32], sv[32], pv[32];
    snprintf(label, sizeof label, "%s %s", metrics[m].label, metrics[m].unit);
    format_value(sv, sizeof sv, strom, m);
    format_value(pv, sizeof pv, e, m);
    fprintf(out, "%-13s %-7s %-17s %-11s %11s %11s   ", strom->workload, strom->row, label,
            e->system, sv, pv);
    bool met = false;
    if (!e->ok) {
        fprintf(out, "%-8s %s%-5g %s\n", "-", sign, t, "no ratio: the peer cannot run it");
    } else if (!e->has[m] || !strom->has[m] || e->value[m] <= 0) {
        fprintf(out, "%-8s %s%-5g %s\n", "-", sign, t, "no ratio: the peer measured nothing");
    } else {
        double r = strom->value[m] / e->value[m];
        met = metrics[m].higher_better ? r >= t : r <= t;
        fprintf(out, "%-8.3g %s%-5g %s%s\n", r, sign, t, met ? "met" : "MISSED",
                e->unsent > 0 ? " (the peer fell behind the rate)" : "");
    }
    return met;
}

/* The targets of issue 7 in one table: every (workload, row, peer, metric) that has one, then
 * how many are met. */
static void report_targets(const struct report *rp, FILE *out) {
    uint32_t met = 0, lines = 0;
    fprintf(out, "\n== targets: strom's ratio to each peer, within one workload and row\n");
    fprintf(out, "%-13s %-7s %-17s %-11s %11s %11s   %-8s %-7s %s\n", "workload", "row", "metric",
            "peer", "strom", "peer", "ratio", "target", "verdict");
    for (uint32_t i = 0; i < rp->count; i++) {
        const struct report_entry *g = &rp->entries[i];
        const struct report_entry *strom = report_get(rp, g->workload, g->row, report_reference);
        for (uint32_t s = 0;
             report_group_first(rp, i) && strom && strom->ok && s < rp->system_count; s++) {
            const struct report_entry *e = report_get(rp, g->workload, g->row, rp->systems[s]);
            for (enum report_metric m = 0; e != NULL && e != strom && m < M_COUNT; m++) {
                if (report_target(strom, m, e->system) > 0) {
                    met += report_target_line(strom, e, m, out) ? 1 : 0;
                    lines++;
                }
            }
        }
    }
    strom_assert(met <= lines);
    fprintf(out, "targets met: %u of %u\n", met, lines);
}

/* Writes the header line of a data file: the first column's name, then the systems. */
static void plot_header(const struct report *rp, FILE *f, const char *first) {
    fprintf(f, "%s", first);
    for (uint32_t s = 0; s < rp->system_count; s++) {
        fprintf(f, " %s", rp->systems[s]);
    }
    fputc('\n', f);
}

/* One data file of a group: its latency percentiles (rows) per system (columns). */
static strom_err plot_latency(const struct report *rp, const struct report_entry *g,
                              const char *dir, struct bench_diag *diag) {
    static const char *const names[] = {"p50", "p90", "p99", "p99.9", "max"};
    char path[512];
    snprintf(path, sizeof path, "%s/latency-%s-%s.dat", dir, g->workload, g->row);
    FILE *f = fopen(path, "w");
    if (f == NULL) {
        return bench_diag_set(diag, STROM_ERR_IO, "report: cannot write %s", path);
    }
    plot_header(rp, f, "percentile");
    for (enum report_metric m = M_E2E_P50; m <= M_E2E_MAX; m++) {
        fprintf(f, "%s", names[m - M_E2E_P50]);
        for (uint32_t s = 0; s < rp->system_count; s++) {
            const struct report_entry *e = report_get(rp, g->workload, g->row, rp->systems[s]);
            if (e != NULL && e->ok && e->has[m]) {
                fprintf(f, " %.3f", e->value[m]);
            } else {
                fprintf(f, " -");
            }
        }
        fputc('\n', f);
    }
    return fclose(f) == 0 ? STROM_OK
                          : bench_diag_set(diag, STROM_ERR_IO, "report: cannot write %s", path);
}

/* gnuplot data: per group, latency-<workload>-<row>.dat; and throughput.dat, the delivered
 * msg/s of the max-rate groups (rows) per system (columns). A missing value is "-". */
static strom_err report_plot_data(const struct report *rp, const char *dir,
                                  struct bench_diag *diag) {
    char path[512];
    snprintf(path, sizeof path, "%s/throughput.dat", dir);
    FILE *tp = fopen(path, "w");
    if (tp == NULL) {
        return bench_diag_set(diag, STROM_ERR_IO, "report: cannot write %s", path);
    }
    plot_header(rp, tp, "workload");
    strom_err err = STROM_OK;
    for (uint32_t i = 0; i < rp->count && err == STROM_OK; i++) {
        const struct report_entry *g = &rp->entries[i];
        if (!report_group_first(rp, i)) {
            continue;
        }
        err = plot_latency(rp, g, dir, diag);
        if (!g->max_rate) {
            continue;
        }
        fprintf(tp, "%s/%s", g->workload, g->row);
        for (uint32_t s = 0; s < rp->system_count; s++) {
            const struct report_entry *e = report_get(rp, g->workload, g->row, rp->systems[s]);
            if (e != NULL && e->ok && e->has[M_MSGS]) {
                fprintf(tp, " %.0f", e->value[M_MSGS]);
            } else {
                fprintf(tp, " -");
            }
        }
        fputc('\n', tp);
    }
    if (fclose(tp) != 0 && err == STROM_OK) {
        err = bench_diag_set(diag, STROM_ERR_IO, "report: cannot write %s/throughput.dat", dir);
    }
    return err;
}

strom_err bench_report(const char *const *paths, uint32_t path_count, const char *plot_dir,
                       FILE *out, struct bench_diag *diag) {
    strom_assert(paths != NULL && out != NULL);
    struct report *rp = calloc(1, sizeof *rp);
    struct bench *b = calloc(1, sizeof *b);
    strom_err err = rp && b ? STROM_OK : bench_diag_set(diag, STROM_ERR_NO_MEMORY, "report");
    for (uint32_t i = 0; err == STROM_OK && i < path_count; i++) {
        err = report_load(rp, paths[i], diag);
    }
    for (uint32_t i = 0; err == STROM_OK && i < rp->count; i++) {
        if (report_group_first(rp, i)) {
            report_group_figures(rp, &rp->entries[i], b, out);
        }
    }
    for (uint32_t i = 0; err == STROM_OK && i < rp->count; i++) {
        if (report_group_first(rp, i)) {
            report_group_table(rp, &rp->entries[i], out);
        }
    }
    if (err == STROM_OK) {
        report_targets(rp, out);
    }
    if (err == STROM_OK && plot_dir != NULL) {
        err = report_plot_data(rp, plot_dir, diag);
    }
    free(rp);
    free(b);
    return err;
}
