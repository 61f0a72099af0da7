/*
 * demo.c: `strom demo [--data DIR] [--server HOST:PORT] [--check-only] [--no-sync]`, the client
 * half of `make demo` (scripts/demo.sh starts and stops the node around it).
 *
 * Loads the Beijing Multi-Site Air-Quality data (UCI dataset 501: 12 CSV files, one per station,
 * 35,064 hourly rows each) and, unless --check-only:
 *   1. creates the streams /air/<station> and subscribes to them from a second connection, whose
 *      callback computes the mean PM2.5 per station and year from what it is delivered;
 *   2. replays every row, in timestamp order across the stations, as one message each (payload:
 *      the CSV row; client timestamp: the row's hour in ns since the Unix epoch), pipelined, as
 * fast as the node takes it, with a progress line;
 *   3. then, and with --check-only only this, reads every stream back from offset 0 (all twelve
 *      at once) and checks that it holds exactly its file's rows, byte for byte, with their
 *      client timestamps, and that the count (420,768) and the checksum of the payloads (CRC-32C
 *      per stream in offset order, combined over the stations) match the files.
 * Exits 1 when anything does not match, saying what.
 */
#include <dirent.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/crc32c.h"
#include "cli/cli.h"
#include "cli/client_common.h"

enum {
    DEMO_STATIONS = 12,
    DEMO_ROWS_PER_STATION = 35064,
    DEMO_YEARS = 5, /* 2013 .. 2017 */
    DEMO_FIRST_YEAR = 2013,
    DEMO_FILE_BYTES_MAX = 64 << 20, /* one CSV file */
    DEMO_NAME_BYTES_MAX = 64,
    DEMO_STEP_NS = 1000000,    /* a wait for room in the pipeline */
    DEMO_SUB_STEP_EVERY = 256, /* appends between steps of the subscriber */
};
#define DEMO_ROWS_TOTAL   (DEMO_STATIONS * DEMO_ROWS_PER_STATION)
#define DEMO_DEFAULT_DATA "../shared/data/beijing-air"
#define DEMO_WAIT_NS      UINT64_C(120000000000) /* bound of the waits for the subscriber */

/* One row of a file: its text (the payload) and what the checks and the summary need. */
struct demo_row {
    const char *text;
    uint32_t len;
    uint16_t year;
    uint64_t ts_ns; /* the row's hour, Beijing time (UTC+8), in ns since the Unix epoch */
};

/* One station: its rows in file order (= offset order) and what the subscriber saw. */
struct demo_station {
    struct demo *demo;
    char name[DEMO_NAME_BYTES_MAX];
    char path[DEMO_NAME_BYTES_MAX + 8];
    char *text;            /* the file's bytes */
    struct demo_row *rows; /* DEMO_ROWS_PER_STATION */
    uint32_t row_count;
    uint32_t replayed; /* rows queued for append */
    uint32_t acked;    /* appends answered without error */
    strom_sub *sub;
    uint64_t delivered; /* messages the summary subscriber got */
    bool order_ok;      /* the subscriber saw offsets 0, 1, 2, ... */
    double pm25_sum[DEMO_YEARS];
    uint32_t pm25_count[DEMO_YEARS];
    uint32_t pm25_na;
};

struct demo {
    const char *data_dir;
    const char *server;
    uint32_t ack;
    bool check_only;
    struct demo_station st[DEMO_STATIONS];
    uint32_t station_count;
    strom_err append_err; /* the first append error */
    uint64_t payload_bytes;
    uint32_t files_crc; /* CRC-32C of all payloads, station by station, in offset order */
};

static uint64_t demo_now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000 + (uint64_t)t.tv_nsec;
}

/* Days since 1970-01-01 of a civil date (Howard Hinnant, "chrono-Compatible Low-Level Date
 * Algorithms", days_from_civil). */
static int64_t demo_days_from_civil(int64_t y, int64_t m, int64_t d) {
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* The n-th comma-separated field of a row (0-based) as a view; false when there is none. */
static bool demo_field(const char *row, uint32_t len, int n, const char **out, uint32_t *out_len) {
    uint32_t start = 0;
    for (int f = 0; f < n; f++) {
        while (start < len && row[start] != ',') {
            start++;
        }
        if (start == len) {
            return false;
        }
        start++;
    }
    uint32_t end = start;
    while (end < len && row[end] != ',') {
        end++;
    }
    *out = row + start;
    *out_len = end - start;
    return true;
}

static bool demo_field_int(const char *row, uint32_t len, int n, long *out) {
    const char *f;
    uint32_t flen;
    if (!demo_field(row, len, n, &f, &flen) || flen == 0 || flen > 10) {
        return false;
    }
    char buf[12];
    memcpy(buf, f, flen);
    buf[flen] = '\0';
    char *end;
    *out = strtol(buf, &end, 10);
    return *end == '\0';
}

/* Parses one data row: year, month, day, hour into the row. */
static bool demo_parse_row(struct demo_row *r) {
    long y, mo, d, h;
    if (!demo_field_int(r->text, r->len, 1, &y) || !demo_field_int(r->text, r->len, 2, &mo) ||
        !demo_field_int(r->text, r->len, 3, &d) || !demo_field_int(r->text, r->len, 4, &h) ||
        y < DEMO_FIRST_YEAR || y >= DEMO_FIRST_YEAR + DEMO_YEARS || mo < 1 || mo > 12 || d < 1 ||
        d > 31 || h < 0 || h > 23) {
        return false;
    }
    int64_t hours = demo_days_from_civil(y, mo, d) * 24 + h - 8;
    r->year = (uint16_t)y;
    r->ts_ns = (uint64_t)hours * 3600 * UINT64_C(1000000000);
    return true;
}

/* The station's name from its first row's last field ("Aotizhongxin", quotes removed). */
static bool demo_station_name(struct demo_station *s) {
    const char *f;
    uint32_t flen;
    if (!demo_field(s->rows[0].text, s->rows[0].len, 17, &f, &flen) || flen < 3 || f[0] != '"' ||
        f[flen - 1] != '"' || flen - 2 >= DEMO_NAME_BYTES_MAX) {
        return false;
    }
    memcpy(s->name, f + 1, flen - 2);
    s->name[flen - 2] = '\0';
    snprintf(s->path, sizeof s->path, "/air/%s", s->name);
    return strom_path_check(s->path, strlen(s->path)) == STROM_OK;
}

/* Splits a file's text into rows (the header line skipped, "\r\n" or "\n" removed). */
static bool demo_split(struct demo *d, struct demo_station *s, size_t len) {
    char *p = s->text;
    char *end = s->text + len;
    bool header = true;
    while (p < end) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        char *line_end = nl != NULL ? nl : end;
        size_t n = (size_t)(line_end - p);
        if (n > 0 && p[n - 1] == '\r') {
            n--;
        }
        if (header) {
            header = false;
        } else if (n > 0) {
            if (s->row_count == DEMO_ROWS_PER_STATION) {
                return false;
            }
            struct demo_row *r = &s->rows[s->row_count++];
            *r = (struct demo_row){.text = p, .len = (uint32_t)n};
            if (!demo_parse_row(r)) {
                return false;
            }
            d->payload_bytes += n;
        }
        p = line_end + 1;
    }
    return s->row_count > 0;
}

static bool demo_load_file(struct demo *d, struct demo_station *s, const char *file) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", d->data_dir, file);
    FILE *f = fopen(path, "rb");
    s->text = malloc(DEMO_FILE_BYTES_MAX);
    s->rows = calloc(DEMO_ROWS_PER_STATION, sizeof s->rows[0]);
    size_t len = 0;
    if (f != NULL && s->text != NULL && s->rows != NULL) {
        len = fread(s->text, 1, DEMO_FILE_BYTES_MAX, f);
    }
    bool ok = f != NULL && s->text != NULL && s->rows != NULL && len > 0 &&
              len < DEMO_FILE_BYTES_MAX && !ferror(f) && demo_split(d, s, len) &&
              demo_station_name(s);
    if (f != NULL) {
        fclose(f);
    }
    if (!ok) {
        fprintf(stderr,
                "strom demo: %s is not a readable air-quality CSV (a header line, then rows of "
                "No,year,month,day,hour,PM2.5,...,station; at most %d rows)\n",
                path, DEMO_ROWS_PER_STATION);
    }
    return ok;
}

static int demo_name_cmp(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Finds the 12 PRSA_Data_*.csv files of the data folder and loads them in name order. */
static bool demo_load(struct demo *d) {
    DIR *dir = opendir(d->data_dir);
    if (dir == NULL) {
        fprintf(stderr,
                "strom demo: cannot open the data folder %s; pass DATA=DIR to make demo (the "
                "Beijing Multi-Site Air-Quality data, UCI dataset 501)\n",
                d->data_dir);
        return false;
    }
    char *names[DEMO_STATIONS + 1];
    uint32_t n = 0;
    for (struct dirent *e; (e = readdir(dir)) != NULL && n <= DEMO_STATIONS;) {
        size_t len = strlen(e->d_name);
        if (strncmp(e->d_name, "PRSA_Data_", 10) == 0 && len > 4 &&
            strcmp(e->d_name + len - 4, ".csv") == 0) {
            names[n++] = strdup(e->d_name);
        }
    }
    closedir(dir);
    bool ok = n == DEMO_STATIONS;
    if (!ok) {
        fprintf(stderr, "strom demo: %s holds %s%u PRSA_Data_*.csv files, not %d\n", d->data_dir,
                n > DEMO_STATIONS ? "more than " : "", n, DEMO_STATIONS);
    }
    qsort(names, n, sizeof names[0], demo_name_cmp);
    for (uint32_t i = 0; i < n && ok; i++) {
        ok = demo_load_file(d, &d->st[i], names[i]);
        d->station_count = i + 1;
    }
    for (uint32_t i = 0; i < n; i++) {
        free(names[i]);
    }
    return ok;
}

/* --- the summary subscriber -------------------------------------------------------------- */

static void demo_on_delivered(void *arg, strom_sub *sub, const struct strom_msg *m, strom_err err) {
    (void)sub;
    struct demo_station *s = arg;
    if (m == NULL) {
        if (err) {
            fprintf(stderr, "strom demo: the subscription to %s ended: %s\n", s->path,
                    strom_strerror(err));
        }
        return;
    }
    s->order_ok = s->order_ok && m->offset == s->delivered;
    s->delivered++;
    long year = 0;
    const char *f;
    uint32_t flen;
    const char *text = m->payload;
    if (!demo_field_int(text, m->payload_bytes, 1, &year) || year < DEMO_FIRST_YEAR ||
        year >= DEMO_FIRST_YEAR + DEMO_YEARS || !demo_field(text, m->payload_bytes, 5, &f, &flen) ||
        flen == 0 || flen > 15) {
        s->order_ok = false; /* not a row we wrote */
        return;
    }
    char buf[16];
    memcpy(buf, f, flen);
    buf[flen] = '\0';
    char *end;
    double pm = strtod(buf, &end);
    if (strcmp(buf, "NA") == 0 || *end != '\0') {
        s->pm25_na++;
        return;
    }
    s->pm25_sum[year - DEMO_FIRST_YEAR] += pm;
    s->pm25_count[year - DEMO_FIRST_YEAR]++;
}

/* Opens the summary subscriptions (the streams exist by then). */
static strom_err demo_subscribe(struct demo *d, strom_client *sc) {
    struct strom_read_options ro;
    strom_read_options_init(&ro);
    ro.from = 0;
    ro.to = DEMO_ROWS_PER_STATION;
    ro.follow = true;
    ro.ack = d->ack;
    strom_err err = STROM_OK;
    for (uint32_t i = 0; i < d->station_count && err == STROM_OK; i++) {
        d->st[i].order_ok = true;
        err = strom_subscribe(sc, d->st[i].path, &ro, demo_on_delivered, &d->st[i], &d->st[i].sub);
    }
    return err;
}

/* Steps the subscriber until every subscription has its rows (bounded). */
static strom_err demo_wait_subscriber(struct demo *d, strom_client *sc) {
    uint64_t t0 = demo_now_ns();
    for (;;) {
        bool all = true;
        for (uint32_t i = 0; i < d->station_count; i++) {
            all = all && d->st[i].delivered >= d->st[i].row_count;
        }
        if (all) {
            return STROM_OK;
        }
        if (demo_now_ns() - t0 > DEMO_WAIT_NS) {
            return STROM_ERR_TIMEOUT;
        }
        strom_err err = strom_step(sc, 100000000);
        if (err) {
            return err;
        }
    }
}

/* --- the replay -------------------------------------------------------------------------- */

static void demo_on_appended(void *arg, const struct strom_append_result *r) {
    struct demo_station *s = arg;
    if (r->err != STROM_OK) {
        if (s->demo->append_err == STROM_OK) {
            s->demo->append_err = r->err;
            fprintf(stderr, "strom demo: an append to %s failed: %s\n", s->path,
                    strom_strerror(r->err));
        }
        return;
    }
    s->acked += r->count;
}

/* The station whose next row is the earliest (ties: the lower station index). */
static struct demo_station *demo_next_station(struct demo *d) {
    struct demo_station *best = NULL;
    for (uint32_t i = 0; i < d->station_count; i++) {
        struct demo_station *s = &d->st[i];
        if (s->replayed < s->row_count &&
            (best == NULL || s->rows[s->replayed].ts_ns < best->rows[best->replayed].ts_ns)) {
            best = s;
        }
    }
    return best;
}

static void demo_progress(uint64_t done, uint64_t total, uint64_t t0, bool last) {
    static const char *const bar = "##############################";
    double s = (double)(demo_now_ns() - t0) / 1e9;
    int width = (int)(30 * done / total);
    fprintf(stderr, "\rreplay  [%-30.*s] %6.2f %%  %7llu/%llu msgs  %8.0f msg/s%s", width, bar,
            100.0 * (double)done / (double)total, (unsigned long long)done,
            (unsigned long long)total, s > 0 ? (double)done / s : 0.0, last ? "\n" : "");
}

/* Appends every row as its own message, in timestamp order, pipelined; steps the subscriber
 * between appends so that it keeps up. */
static strom_err demo_replay(struct demo *d, strom_client *c, strom_client *sc, uint64_t total) {
    uint64_t t0 = demo_now_ns();
    uint64_t last_progress = 0;
    bool tty = isatty(2);
    strom_err err = STROM_OK;
    for (uint64_t n = 0; n < total && err == STROM_OK && d->append_err == STROM_OK; n++) {
        struct demo_station *s = demo_next_station(d);
        const struct demo_row *row = &s->rows[s->replayed];
        struct strom_msg m = {
            .payload = row->text, .payload_bytes = row->len, .client_ts_ns = row->ts_ns};
        while ((err = strom_append_async(c, s->path, &m, 1, d->ack, demo_on_appended, s)) ==
               STROM_ERR_AGAIN) {
            err = strom_step(c, DEMO_STEP_NS);
            strom_step(sc, 0);
            if (err) {
                break;
            }
        }
        s->replayed++;
        if (n % DEMO_SUB_STEP_EVERY == 0) {
            strom_step(sc, 0);
            uint64_t now = demo_now_ns();
            if (now - last_progress > (tty ? 200000000u : UINT64_C(5000000000))) {
                demo_progress(n, total, t0, !tty);
                last_progress = now;
            }
        }
    }
    if (err == STROM_OK) {
        err = strom_drain(c, UINT64_MAX);
    }
    demo_progress(total, total, t0, true);
    double secs = (double)(demo_now_ns() - t0) / 1e9;
    printf("demo.replay  messages:%llu  bytes:%llu  seconds:%.2f  msg_per_s:%.0f\n",
           (unsigned long long)total, (unsigned long long)d->payload_bytes, secs,
           (double)total / secs);
    return err != STROM_OK ? err : d->append_err;
}

/* --- reading back ------------------------------------------------------------------------ */

/* What reading one stream back found. */
struct demo_check {
    const struct demo_station *s;
    uint64_t count;  /* messages read */
    uint32_t crc;    /* running CRC-32C of the payloads */
    const char *bad; /* the first mismatch, or NULL */
    uint64_t bad_offset;
    bool ended;
    strom_err err;
};

static void demo_on_read(void *arg, strom_sub *sub, const struct strom_msg *m, strom_err err) {
    (void)sub;
    struct demo_check *k = arg;
    if (m == NULL) {
        k->ended = true;
        k->err = err;
        return;
    }
    if (k->bad != NULL) {
        return;
    }
    const struct demo_row *row = k->count < k->s->row_count ? &k->s->rows[k->count] : NULL;
    if (m->offset != k->count) {
        k->bad = "offsets are not 0, 1, 2, ...";
    } else if (row == NULL) {
        k->bad = "more messages than rows in the file";
    } else if (m->payload_bytes != row->len || memcmp(m->payload, row->text, row->len) != 0) {
        k->bad = "a payload differs from its row";
    } else if (m->client_ts_ns != row->ts_ns) {
        k->bad = "a client timestamp differs from its row's hour";
    }
    if (k->bad != NULL) {
        k->bad_offset = m->offset;
        return;
    }
    k->crc = crc32c(k->crc, m->payload, m->payload_bytes);
    k->count++;
}

/* The checksum of the whole data: CRC-32C over each station's CRC-32C (of its payloads in offset
 * order) as 4 little-endian bytes, stations in name order. */
static uint32_t demo_combine(const uint32_t *station_crcs, uint32_t n) {
    uint32_t crc = 0;
    for (uint32_t i = 0; i < n; i++) {
        uint8_t le[4] = {(uint8_t)station_crcs[i], (uint8_t)(station_crcs[i] >> 8),
                         (uint8_t)(station_crcs[i] >> 16), (uint8_t)(station_crcs[i] >> 24)};
        crc = crc32c(crc, le, sizeof le);
    }
    return crc;
}

/* Reads every stream from offset 0, all at once, until each has ended (or nothing moved for
 * DEMO_WAIT_NS). */
static strom_err demo_read_all(struct demo *d, strom_client *c, struct demo_check *k) {
    strom_sub *subs[DEMO_STATIONS] = {0};
    struct strom_read_options ro;
    strom_read_options_init(&ro);
    ro.ack = d->ack;
    strom_err err = STROM_OK;
    for (uint32_t i = 0; i < d->station_count && err == STROM_OK; i++) {
        k[i] = (struct demo_check){.s = &d->st[i]};
        err = strom_subscribe(c, d->st[i].path, &ro, demo_on_read, &k[i], &subs[i]);
    }
    uint64_t seen = UINT64_MAX;
    uint64_t moved = demo_now_ns();
    for (bool all = false; err == STROM_OK && !all;) {
        uint64_t total = 0;
        all = true;
        for (uint32_t i = 0; i < d->station_count; i++) {
            all = all && k[i].ended;
            total += k[i].count;
        }
        if (total != seen) {
            seen = total;
            moved = demo_now_ns();
        } else if (demo_now_ns() - moved > DEMO_WAIT_NS) {
            err = STROM_ERR_TIMEOUT;
        }
        if (!all && err == STROM_OK) {
            err = strom_step(c, 100000000);
        }
    }
    for (uint32_t i = 0; i < d->station_count; i++) {
        strom_sub_close(c, subs[i]);
    }
    return err;
}

/* Reads every stream back and compares it with the files. */
static bool demo_check(struct demo *d, strom_client *c, const char *pass) {
    struct demo_check k[DEMO_STATIONS];
    uint64_t t0 = demo_now_ns();
    strom_err err = demo_read_all(d, c, k);
    uint64_t total = 0;
    uint32_t crcs[DEMO_STATIONS];
    bool ok = err == STROM_OK;
    for (uint32_t i = 0; i < d->station_count; i++) {
        strom_err e = err != STROM_OK ? err : k[i].err;
        if (e || k[i].bad != NULL || k[i].count != d->st[i].row_count) {
            fprintf(stderr,
                    "strom demo: %s: %s (%llu of %u messages read and matching; offset %llu)\n",
                    d->st[i].path,
                    e          ? strom_strerror(e)
                    : k[i].bad ? k[i].bad
                               : "messages are missing",
                    (unsigned long long)k[i].count, d->st[i].row_count,
                    (unsigned long long)(k[i].bad ? k[i].bad_offset : k[i].count));
            ok = false;
        }
        total += k[i].count;
        crcs[i] = k[i].crc;
    }
    uint32_t crc = demo_combine(crcs, d->station_count);
    ok = ok && total == DEMO_ROWS_TOTAL && crc == d->files_crc;
    printf("demo.check  pass:%s  streams:%u  messages:%llu  expected:%d  crc32c:%08x  "
           "files_crc32c:%08x  seconds:%.2f  ok:%s\n",
           pass, d->station_count, (unsigned long long)total, DEMO_ROWS_TOTAL, crc, d->files_crc,
           (double)(demo_now_ns() - t0) / 1e9, ok ? "true" : "false");
    return ok;
}

/* The checksum of the files, as demo_check computes it from the streams. */
static void demo_files_crc(struct demo *d) {
    uint32_t crcs[DEMO_STATIONS];
    for (uint32_t i = 0; i < d->station_count; i++) {
        crcs[i] = 0;
        for (uint32_t r = 0; r < d->st[i].row_count; r++) {
            crcs[i] = crc32c(crcs[i], d->st[i].rows[r].text, d->st[i].rows[r].len);
        }
    }
    d->files_crc = demo_combine(crcs, d->station_count);
}

/* Prints the subscriber's means as ssim lines and as a table. */
static bool demo_summary(const struct demo *d) {
    bool ok = true;
    printf("\nmean PM2.5 in ug/m3 per station and year, computed by a subscriber "
           "(2013: Mar-Dec, 2017: Jan-Feb)\n%-14s",
           "station");
    for (int y = 0; y < DEMO_YEARS; y++) {
        printf("  %6d", DEMO_FIRST_YEAR + y);
    }
    printf("  %8s  %6s\n", "messages", "NA");
    for (uint32_t i = 0; i < d->station_count; i++) {
        const struct demo_station *s = &d->st[i];
        printf("%-14s", s->name);
        for (int y = 0; y < DEMO_YEARS; y++) {
            printf("  %6.1f", s->pm25_count[y] ? s->pm25_sum[y] / s->pm25_count[y] : 0.0);
        }
        printf("  %8llu  %6u\n", (unsigned long long)s->delivered, s->pm25_na);
        ok = ok && s->order_ok && s->delivered == s->row_count;
    }
    printf("\n");
    return ok;
}

/* Creates the streams; they must be new (a fresh data directory). */
static strom_err demo_create(struct demo *d, strom_client *c) {
    for (uint32_t i = 0; i < d->station_count; i++) {
        bool created = false;
        strom_err err = strom_create(c, d->st[i].path, NULL, &created);
        if (err) {
            return err;
        }
        if (!created) {
            fprintf(stderr,
                    "strom demo: %s exists already: run the demo on a fresh data "
                    "directory (make demo does), or use --check-only\n",
                    d->st[i].path);
            return STROM_ERR_EXISTS;
        }
    }
    return STROM_OK;
}

/* The replay pass: create, subscribe, replay, summary, check. */
static int demo_run_load(struct demo *d, strom_client *c) {
    strom_client *sc = cli_client_open("demo", d->server);
    if (sc == NULL) {
        return CLI_EXIT_ERROR;
    }
    strom_err err = demo_create(d, c);
    if (err == STROM_OK) {
        err = demo_subscribe(d, sc);
    }
    if (err == STROM_OK) {
        err = demo_replay(d, c, sc, DEMO_ROWS_TOTAL);
    }
    if (err == STROM_OK) {
        err = demo_wait_subscriber(d, sc);
    }
    bool ok = err == STROM_OK && demo_summary(d);
    if (err) {
        cli_report("demo", "the replay failed", err);
    } else if (!ok) {
        fprintf(stderr, "strom demo: the subscriber did not see every row once and in order\n");
    }
    for (uint32_t i = 0; i < d->station_count; i++) {
        strom_sub_close(sc, d->st[i].sub);
    }
    strom_close(sc);
    ok = ok && demo_check(d, c, "after-replay");
    return ok ? CLI_EXIT_OK : CLI_EXIT_ERROR;
}

static int demo_options(struct demo *d, int argc, char **argv) {
    static const struct option options[] = {
        {"data", required_argument, NULL, 'd'}, {"server", required_argument, NULL, 's'},
        {"check-only", no_argument, NULL, 'c'}, {"no-sync", no_argument, NULL, 'n'},
        {"help", no_argument, NULL, 'h'},       {NULL, 0, NULL, 0}};
    int opt;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
        if (opt == 'd') {
            d->data_dir = optarg;
        } else if (opt == 's') {
            d->server = optarg;
        } else if (opt == 'c') {
            d->check_only = true;
        } else if (opt == 'n') {
            d->ack = 1 | STROM_NO_SYNC;
        } else {
            fprintf(stderr, "usage: strom demo [--data DIR] [--server HOST:PORT] [--check-only] "
                            "[--no-sync]\n");
            return opt == 'h' ? CLI_EXIT_OK : CLI_EXIT_USAGE;
        }
    }
    return optind == argc ? -1 : CLI_EXIT_USAGE;
}

static void demo_free(struct demo *d) {
    for (uint32_t i = 0; i < DEMO_STATIONS; i++) {
        free(d->st[i].text);
        free(d->st[i].rows);
    }
    free(d);
}

int cli_demo(int argc, char **argv) {
    struct demo *d = calloc(1, sizeof *d);
    if (d == NULL) {
        return CLI_EXIT_ERROR;
    }
    d->data_dir = DEMO_DEFAULT_DATA;
    for (uint32_t i = 0; i < DEMO_STATIONS; i++) {
        d->st[i].demo = d;
    }
    int code = demo_options(d, argc, argv);
    if (code < 0 && !demo_load(d)) {
        code = CLI_EXIT_ERROR;
    }
    strom_client *c = NULL;
    if (code < 0) {
        demo_files_crc(d);
        printf("demo.data  folder:%s  stations:%u  rows:%d  bytes:%llu  crc32c:%08x\n", d->data_dir,
               d->station_count, DEMO_ROWS_TOTAL, (unsigned long long)d->payload_bytes,
               d->files_crc);
        c = cli_client_open("demo", d->server);
        code = c == NULL ? CLI_EXIT_ERROR : -1;
    }
    if (code < 0) {
        code = d->check_only ? (demo_check(d, c, "check") ? CLI_EXIT_OK : CLI_EXIT_ERROR)
                             : demo_run_load(d, c);
    }
    strom_close(c);
    demo_free(d);
    return code;
}
