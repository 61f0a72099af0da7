/*
 * workload.c: reads the workloads file (bench/workloads.ssim) into bench_workload records.
 *
 * One record per workload and durability row:
 *   bench.workload  name:latency  row:memory  streams:1  producers:1  subscribers:1
 *                   msg_bytes:100  rate:10000  duration_ms:30000  warmup_ms:2000
 *                   [fanout:false]  [inflight:1024]  [quick_duration_ms:..]  [quick_warmup_ms:..]
 * rate is messages per second over all producers, or `max`. Every key is checked against its
 * bounds; an unknown key is an error (a misspelt key must not silently fall back to a default).
 */
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "base/ssim.h"
#include "harness.h"

enum {
    WORKLOAD_FILE_BYTES_MAX = 1 << 20,      /* a workloads file */
    WORKLOAD_SCRATCH_BYTES = 4096,          /* unescaped values of one line */
    WORKLOAD_DURATION_MS_MAX = 3600 * 1000, /* one hour */
    WORKLOAD_QUICK_DURATION_MS_DEFAULT = 3000,
    WORKLOAD_QUICK_WARMUP_MS_DEFAULT = 500,
};

static const char *const workload_keys[] = {
    "name",
    "row",
    "streams",
    "producers",
    "subscribers",
    "fanout",
    "msg_bytes",
    "rate",
    "inflight",
    "duration_ms",
    "warmup_ms",
    "quick_duration_ms",
    "quick_warmup_ms",
};

const char *bench_durability_name(enum bench_durability d) {
    return d == BENCH_DURABILITY_DISK ? "disk" : "memory";
}

/* Fails with "line L, column C: reason" in diag. */
static strom_err workload_fail(struct bench_diag *diag, const struct strom_ssim_error *e,
                               strom_err err) {
    char where[160];
    strom_ssim_error_format(e, where, sizeof where);
    return bench_diag_set(diag, err, "workloads: %s", where);
}

/* Reads key as a u64 within [lo, hi]; absent keys take dflt when optional. */
static strom_err workload_u64(const struct strom_ssim_record *rec, const char *key, uint64_t lo,
                              uint64_t hi, bool optional, uint64_t dflt, uint64_t *out,
                              struct strom_ssim_error *e) {
    strom_err err = strom_ssim_get_u64(rec, key, out, e);
    if (err == STROM_ERR_NOT_FOUND && optional) {
        *out = dflt;
        return STROM_OK;
    }
    if (err == STROM_OK && (*out < lo || *out > hi)) {
        const struct strom_ssim_field *f = strom_ssim_find(rec, key);
        err = strom_ssim_fail(rec, f->value_column, "value out of range",
                              STROM_ERR_INVALID_ARGUMENT, e);
    }
    return err;
}

static strom_err workload_check_keys(const struct strom_ssim_record *rec,
                                     struct strom_ssim_error *e) {
    for (uint32_t i = 0; i < rec->field_count; i++) {
        const struct strom_ssim_field *f = &rec->fields[i];
        bool known = false;
        for (size_t k = 0; k < sizeof workload_keys / sizeof workload_keys[0]; k++) {
            known = known || (strlen(workload_keys[k]) == f->key_len &&
                              memcmp(workload_keys[k], f->key, f->key_len) == 0);
        }
        if (!known) {
            return strom_ssim_fail(rec, f->column, "unknown key", STROM_ERR_INVALID_ARGUMENT, e);
        }
    }
    return STROM_OK;
}

/* name (bare characters [a-z0-9-], at most HARNESS_NAME_BYTES_MAX - 1) and row. */
static strom_err workload_names(const struct strom_ssim_record *rec, struct bench_workload *w,
                                struct strom_ssim_error *e) {
    const char *v;
    uint32_t len;
    strom_err err = strom_ssim_get_str(rec, "name", &v, &len, e);
    if (err != STROM_OK) {
        return err;
    }
    bool ok = len > 0 && len < HARNESS_NAME_BYTES_MAX;
    for (uint32_t i = 0; ok && i < len; i++) {
        ok = (v[i] >= 'a' && v[i] <= 'z') || (v[i] >= '0' && v[i] <= '9') || v[i] == '-';
    }
    if (!ok) {
        return strom_ssim_fail(rec, strom_ssim_find(rec, "name")->value_column,
                               "name must be 1..47 of [a-z0-9-]", STROM_ERR_INVALID_ARGUMENT, e);
    }
    memcpy(w->name, v, len);
    w->name[len] = '\0';
    err = strom_ssim_get_str(rec, "row", &v, &len, e);
    if (err != STROM_OK) {
        return err;
    }
    if (len == 6 && memcmp(v, "memory", 6) == 0) {
        w->durability = BENCH_DURABILITY_MEMORY;
    } else if (len == 4 && memcmp(v, "disk", 4) == 0) {
        w->durability = BENCH_DURABILITY_DISK;
    } else {
        return strom_ssim_fail(rec, strom_ssim_find(rec, "row")->value_column,
                               "row must be memory or disk", STROM_ERR_INVALID_ARGUMENT, e);
    }
    return STROM_OK;
}

/* rate: a count of messages per second, or `max` (stored as 0). */
static strom_err workload_rate(const struct strom_ssim_record *rec, struct bench_workload *w,
                               struct strom_ssim_error *e) {
    const char *v;
    uint32_t len;
    strom_err err = strom_ssim_get_str(rec, "rate", &v, &len, e);
    if (err == STROM_OK && len == 3 && memcmp(v, "max", 3) == 0) {
        w->rate_msgs_s = 0;
        return STROM_OK;
    }
    if (err == STROM_OK) {
        err = workload_u64(rec, "rate", 1, 100000000, false, 0, &w->rate_msgs_s, e);
    }
    return err;
}

static strom_err workload_parse(const struct strom_ssim_record *rec, struct bench_workload *w,
                                struct strom_ssim_error *e) {
    uint64_t streams, producers, subscribers, msg_bytes, inflight, dur, warm, qdur, qwarm;
    const uint64_t ms_max = WORKLOAD_DURATION_MS_MAX;
    strom_err err = workload_check_keys(rec, e);
    err = err ? err : workload_names(rec, w, e);
    err = err ? err : workload_rate(rec, w, e);
    err = err ? err : workload_u64(rec, "streams", 1, HARNESS_STREAMS_MAX, false, 0, &streams, e);
    err = err ? err
              : workload_u64(rec, "producers", 1, HARNESS_PRODUCERS_MAX, false, 0, &producers, e);
    err = err ? err
              : workload_u64(rec, "subscribers", 0, HARNESS_SUBSCRIBERS_MAX, false, 0, &subscribers,
                             e);
    err = err ? err
              : workload_u64(rec, "msg_bytes", HARNESS_PAYLOAD_HEAD_BYTES, HARNESS_MSG_BYTES_MAX,
                             false, 0, &msg_bytes, e);
    err = err ? err
              : workload_u64(rec, "inflight", 1, HARNESS_INFLIGHT_MAX, true,
                             HARNESS_INFLIGHT_DEFAULT, &inflight, e);
    err = err ? err : workload_u64(rec, "duration_ms", 1, ms_max, false, 0, &dur, e);
    err = err ? err : workload_u64(rec, "warmup_ms", 0, ms_max, false, 0, &warm, e);
    err = err ? err
              : workload_u64(rec, "quick_duration_ms", 1, ms_max, true,
                             WORKLOAD_QUICK_DURATION_MS_DEFAULT, &qdur, e);
    err = err ? err
              : workload_u64(rec, "quick_warmup_ms", 0, ms_max, true,
                             WORKLOAD_QUICK_WARMUP_MS_DEFAULT, &qwarm, e);
    w->fanout = false;
    if (err == STROM_OK && strom_ssim_find(rec, "fanout") != NULL) {
        err = strom_ssim_get_bool(rec, "fanout", &w->fanout, e);
    }
    if (err == STROM_OK) {
        w->stream_count = (uint32_t)streams;
        w->producer_count = (uint32_t)producers;
        w->subscriber_count = (uint32_t)subscribers;
        w->msg_bytes = (uint32_t)msg_bytes;
        w->inflight_max = (uint32_t)inflight;
        w->duration_ns = dur * 1000000u;
        w->warmup_ns = warm * 1000000u;
        w->quick_duration_ns = qdur * 1000000u;
        w->quick_warmup_ns = qwarm * 1000000u;
    }
    return err;
}

/* Reads the whole file into a new buffer. */
static strom_err workload_read_file(const char *path, char **text, size_t *len,
                                    struct bench_diag *diag) {
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        return bench_diag_set(diag, STROM_ERR_IO, "workloads: cannot open %s", path);
    }
    char *buf = malloc(WORKLOAD_FILE_BYTES_MAX);
    size_t n = buf ? fread(buf, 1, WORKLOAD_FILE_BYTES_MAX, f) : 0;
    bool too_large = buf != NULL && n == WORKLOAD_FILE_BYTES_MAX;
    bool failed = buf == NULL || ferror(f);
    fclose(f);
    if (failed || too_large) {
        free(buf);
        return bench_diag_set(diag, too_large ? STROM_ERR_TOO_LARGE : STROM_ERR_IO,
                              "workloads: cannot read %s%s", path,
                              too_large ? " (over 1 MiB)" : "");
    }
    *text = buf;
    *len = n;
    return STROM_OK;
}

static bool workload_duplicate(const struct bench_workload_set *set,
                               const struct bench_workload *w) {
    for (uint32_t i = 0; i < set->count; i++) {
        if (strcmp(set->items[i].name, w->name) == 0 && set->items[i].durability == w->durability) {
            return true;
        }
    }
    return false;
}

strom_err bench_workloads_load(const char *path, struct bench_workload_set *set,
                               struct bench_diag *diag) {
    strom_assert(path != NULL && set != NULL);
    char *text = NULL;
    size_t len = 0;
    strom_err err = workload_read_file(path, &text, &len, diag);
    if (err != STROM_OK) {
        return err;
    }
    struct strom_ssim_record rec;
    char scratch[WORKLOAD_SCRATCH_BYTES];
    struct strom_ssim_reader r;
    struct strom_ssim_error e = {0};
    strom_ssim_reader_init(&r, text, len);
    set->count = 0;
    while ((err = strom_ssim_reader_next(&r, &rec, scratch, sizeof scratch, &e)) == STROM_OK) {
        if (!strom_ssim_is(&rec, "bench.workload")) {
            continue;
        }
        struct bench_workload w;
        memset(&w, 0, sizeof w);
        err = workload_parse(&rec, &w, &e);
        if (err == STROM_OK && workload_duplicate(set, &w)) {
            err = strom_ssim_fail(&rec, 0, "name and row given twice", STROM_ERR_EXISTS, &e);
        }
        if (err == STROM_OK && set->count == HARNESS_WORKLOADS_MAX) {
            err = strom_ssim_fail(&rec, 0, "too many workloads", STROM_ERR_LIMIT, &e);
        }
        if (err != STROM_OK) {
            break;
        }
        set->items[set->count++] = w;
    }
    free(text);
    return err == STROM_ERR_END ? STROM_OK : workload_fail(diag, &e, err);
}

const struct bench_workload *bench_workload_find(const struct bench_workload_set *set,
                                                 const char *name, enum bench_durability row) {
    for (uint32_t i = 0; i < set->count; i++) {
        if (strcmp(set->items[i].name, name) == 0 && set->items[i].durability == row) {
            return &set->items[i];
        }
    }
    return NULL;
}
