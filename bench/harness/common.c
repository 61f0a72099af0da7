/*
 * common.c: the small pieces every part of strom-bench shares: the clock, the payload header,
 * diagnostics and the table of drivers.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "base/assert.h"
#include "harness.h"

uint64_t bench_now_ns(void) {
    struct timespec ts;
    int rc = clock_gettime(CLOCK_MONOTONIC, &ts);
    strom_assert(rc == 0);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

strom_err bench_diag_set(struct bench_diag *d, strom_err err, const char *fmt, ...) {
    strom_assert(d != NULL && fmt != NULL);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(d->text, sizeof d->text, fmt, ap);
    va_end(ap);
    return err;
}

static void put_le64(uint8_t *p, uint64_t v) {
    for (int i = 0; i < 8; i++) {
        p[i] = (uint8_t)(v >> (8 * i));
    }
}

static void put_le32(uint8_t *p, uint32_t v) {
    for (int i = 0; i < 4; i++) {
        p[i] = (uint8_t)(v >> (8 * i));
    }
}

static uint64_t get_le64(const uint8_t *p) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) {
        v = (v << 8) | p[i];
    }
    return v;
}

static uint32_t get_le32(const uint8_t *p) {
    uint32_t v = 0;
    for (int i = 3; i >= 0; i--) {
        v = (v << 8) | p[i];
    }
    return v;
}

void bench_payload_write(uint8_t *payload, uint32_t len, const struct bench_payload_head *head) {
    strom_assert(payload != NULL && head != NULL);
    strom_assert(len >= HARNESS_PAYLOAD_HEAD_BYTES);
    put_le64(payload, head->due_ns);
    put_le32(payload + 8, head->producer_index);
    put_le32(payload + 12, head->stream_index);
    put_le64(payload + 16, head->seq);
}

bool bench_payload_read(const uint8_t *payload, uint32_t len, struct bench_payload_head *head) {
    strom_assert(head != NULL);
    if (payload == NULL || len < HARNESS_PAYLOAD_HEAD_BYTES) {
        return false;
    }
    head->due_ns = get_le64(payload);
    head->producer_index = get_le32(payload + 8);
    head->stream_index = get_le32(payload + 12);
    head->seq = get_le64(payload + 16);
    return true;
}

const struct bench_driver *const bench_drivers[] = {
    &bench_driver_strom,
    &bench_driver_kafka,
    &bench_driver_nats,
    &bench_driver_redis,
};
const uint32_t bench_driver_count = sizeof bench_drivers / sizeof bench_drivers[0];

const struct bench_driver *bench_driver_find(const char *system) {
    strom_assert(system != NULL);
    for (uint32_t i = 0; i < bench_driver_count; i++) {
        if (strcmp(bench_drivers[i]->system, system) == 0) {
            return bench_drivers[i];
        }
    }
    return NULL;
}
