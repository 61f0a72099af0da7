/* test_node_tables.c: stream paths, the shared registry and the idempotence windows. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "node/path.h"
#include "node/producers.h"
#include "node/registry.h"

static strom_err check(const char *p) {
    return path_check(p, strlen(p));
}

Test(path, valid_and_invalid_paths) {
    cr_assert_eq(check("/a"), STROM_OK);
    cr_assert_eq(check("/orders/47"), STROM_OK);
    cr_assert_eq(check("/air/Aotizhongxin/pm2.5_x-y"), STROM_OK);
    cr_assert_eq(check("/sys/cmd"), STROM_OK);
    cr_assert_eq(check("/.hidden/..x"), STROM_OK);
    const char *bad[] = {"",       "/",   "a",     "a/b", "//a",  "/a/",  "/a//b", "/a b",
                         "/a/./b", "/..", "/a/..", "/ä",  "/a\n", "/a:b", "/a\\b", "/*"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cr_assert_eq(check(bad[i]), STROM_ERR_INVALID_PATH, "path '%s'", bad[i]);
    }
    cr_assert_eq(path_check("/a\0b", 4), STROM_ERR_INVALID_PATH);
    cr_assert_eq(path_check(NULL, 0), STROM_ERR_INVALID_PATH);
}

Test(path, length_limit_is_255_bytes) {
    char p[300];
    p[0] = '/';
    memset(p + 1, 'x', sizeof p - 1);
    cr_assert_eq(path_check(p, 255), STROM_OK);
    cr_assert_eq(path_check(p, 256), STROM_ERR_INVALID_PATH);
    p[100] = '/';
    cr_assert_eq(path_check(p, 255), STROM_OK);
}

Test(path, hash_depends_on_every_byte) {
    cr_assert_neq(path_hash("/a/b", 4), path_hash("/a/c", 4));
    cr_assert_neq(path_hash("/ab", 3), path_hash("/ba", 3));
    cr_assert_eq(path_hash("/x", 2), path_hash("/x", 2));
}

/* A zero-filled region for a registry of streams_max streams. */
static void *registry_new(struct registry *r, uint32_t streams_max, uint64_t arena, size_t *bytes) {
    *bytes = registry_region_bytes(streams_max, arena);
    void *region = calloc(1, *bytes);
    cr_assert_not_null(region);
    registry_format(region, streams_max, arena);
    cr_assert_eq(registry_attach(r, region, *bytes), STROM_OK);
    return region;
}

Test(registry, sys_cmd_is_id_0_and_ids_are_dense) {
    struct registry r;
    size_t bytes;
    void *region = registry_new(&r, 100, 4096, &bytes);
    uint64_t id = 99;
    cr_assert_eq(registry_count(&r), 1);
    cr_assert(registry_find(&r, "/sys/cmd", 8, &id));
    cr_assert_eq(id, 0);
    char path[32];
    for (int i = 1; i < 100; i++) {
        int n = snprintf(path, sizeof path, "/s/%d", i);
        cr_assert_eq(registry_insert(&r, path, (size_t)n, UINT64_MAX, &id), STROM_OK);
        cr_assert_eq(id, (uint64_t)i);
    }
    cr_assert_eq(registry_insert(&r, "/s/full", 7, UINT64_MAX, &id), STROM_ERR_LIMIT);
    cr_assert_eq(registry_insert(&r, "/s/42", 5, UINT64_MAX, &id), STROM_ERR_EXISTS);
    cr_assert_eq(id, 42);
    for (int i = 1; i < 100; i++) {
        int n = snprintf(path, sizeof path, "/s/%d", i);
        cr_assert(registry_find(&r, path, (size_t)n, &id));
        cr_assert_eq(id, (uint64_t)i);
        size_t len;
        const char *p = registry_path(&r, id, &len);
        cr_assert_eq(len, (size_t)n);
        cr_assert(memcmp(p, path, len) == 0);
    }
    cr_assert(!registry_find(&r, "/s/100", 6, &id));
    /* Another process attaches to the same bytes and sees the same streams. */
    struct registry other;
    cr_assert_eq(registry_attach(&other, region, bytes), STROM_OK);
    cr_assert(registry_find(&other, "/s/7", 4, &id));
    cr_assert_eq(id, 7);
    cr_assert_eq(registry_attach(&other, region, bytes - 1), STROM_ERR_CORRUPT);
    free(region);
}

Test(registry, arena_limit) {
    struct registry r;
    size_t bytes;
    void *region = registry_new(&r, 100, 8 + 10, &bytes);
    uint64_t id;
    cr_assert_eq(registry_insert(&r, "/123456789", 10, UINT64_MAX, &id), STROM_OK);
    cr_assert_eq(registry_insert(&r, "/x", 2, UINT64_MAX, &id), STROM_ERR_LIMIT);
    free(region);
}

Test(registry, replay_with_expected_ids) {
    struct registry r;
    size_t bytes;
    void *region = registry_new(&r, 10, 4096, &bytes);
    uint64_t id;
    cr_assert_eq(registry_insert(&r, "/a", 2, 1, &id), STROM_OK);
    cr_assert_eq(registry_insert(&r, "/a", 2, 1, &id), STROM_ERR_EXISTS, "a replay is idempotent");
    cr_assert_eq(registry_insert(&r, "/a", 2, 2, &id), STROM_ERR_CORRUPT, "same path, other id");
    cr_assert_eq(registry_insert(&r, "/b", 2, 5, &id), STROM_ERR_CORRUPT, "ids are dense");
    cr_assert_eq(registry_insert(&r, "/b", 2, 2, &id), STROM_OK);
    free(region);
}

Test(registry, a_stream_counted_but_not_indexed_is_finished_by_the_replay) {
    struct registry r;
    size_t bytes;
    void *region = registry_new(&r, 10, 4096, &bytes);
    uint64_t id;
    cr_assert_eq(registry_insert(&r, "/a", 2, UINT64_MAX, &id), STROM_OK);
    /* Simulate a sequencer that died between counting /a and writing its index slot. */
    for (uint32_t i = 0; i < r.header->index_slots; i++) {
        if ((r.slots[i] & 0xffffffffu) == 2) {
            r.slots[i] = 0;
        }
    }
    cr_assert(!registry_find(&r, "/a", 2, &id));
    cr_assert_eq(registry_insert(&r, "/a", 2, 1, &id), STROM_ERR_EXISTS);
    cr_assert_eq(id, 1);
    cr_assert(registry_find(&r, "/a", 2, &id));
    cr_assert_eq(registry_count(&r), 2);
    free(region);
}

/* --- idempotence windows ------------------------------------------------------------------ */

static void *producers_mem;
static size_t producers_mem_bytes;

static struct producers *producers_new(uint32_t capacity, uint32_t window) {
    static struct producers p;
    producers_mem_bytes = producers_region_bytes(capacity);
    producers_mem = calloc(1, producers_mem_bytes);
    cr_assert_not_null(producers_mem);
    producers_format(producers_mem, capacity, window);
    cr_assert_eq(producers_attach(&p, producers_mem, producers_mem_bytes), STROM_OK);
    return &p;
}

static void record(struct producers *p, uint64_t stream, uint64_t producer, uint64_t sequence,
                   uint32_t span, uint64_t base_offset) {
    struct producer_batch b = {.sequence = sequence,
                               .base_offset = base_offset,
                               .timestamp_ns = 1000 + base_offset,
                               .count = span * 3,
                               .span = span};
    producers_record(p, stream, producer, &b);
}

Test(producers, new_retry_gap_too_old_with_message_spans) {
    struct producers *p = producers_new(16, 3);
    struct producer_batch orig;
    /* stream 5, producer 9: Kafka-like batches spanning 2 sequence numbers: 0, 2, 4, 6 */
    for (uint64_t k = 0; k < 4; k++) {
        cr_assert_eq(producers_check(p, 5, 9, 2 * k, 2, false, &orig), STROM_OK);
        record(p, 5, 9, 2 * k, 2, 100 + 10 * k);
    }
    cr_assert_eq(producers_check(p, 5, 9, 6, 2, false, &orig), STROM_ERR_EXISTS);
    cr_assert_eq(orig.base_offset, 130);
    cr_assert_eq(orig.count, 6);
    cr_assert_eq(orig.timestamp_ns, 1130);
    cr_assert_eq(producers_check(p, 5, 9, 2, 2, false, &orig), STROM_ERR_EXISTS);
    cr_assert_eq(orig.base_offset, 110);
    cr_assert_eq(producers_check(p, 5, 9, 0, 2, false, &orig), STROM_ERR_SEQUENCE_TOO_OLD,
                 "window of 3 holds 2, 4, 6");
    cr_assert_eq(producers_check(p, 5, 9, 10, 2, false, &orig), STROM_ERR_OUT_OF_ORDER_SEQUENCE);
    cr_assert_eq(producers_check(p, 5, 9, 3, 1, false, &orig), STROM_ERR_OUT_OF_ORDER_SEQUENCE,
                 "inside the window but not a batch start");
    cr_assert_eq(producers_check(p, 5, 9, 4, 1, false, &orig), STROM_ERR_OUT_OF_ORDER_SEQUENCE,
                 "a retry with another span");
    cr_assert_eq(producers_check(p, 5, 9, 8, 5, false, &orig), STROM_OK);
    /* Another stream or producer has its own window. */
    cr_assert_eq(producers_check(p, 6, 9, 77, 1, false, &orig), STROM_OK);
    cr_assert_eq(producers_check(p, 5, 8, 0, 1, false, &orig), STROM_OK);
    cr_assert_eq(producers_check(p, 5, 9, UINT64_MAX, 1, false, &orig), STROM_ERR_INVALID_ARGUMENT);
}

Test(producers, native_batch_numbers_window_of_5) {
    struct producers *p = producers_new(16, 5);
    struct producer_batch orig;
    for (uint64_t k = 0; k < 20; k++) {
        cr_assert_eq(producers_check(p, 1, 2, k, 1, false, &orig), STROM_OK, "batch %lu",
                     (unsigned long)k);
        record(p, 1, 2, k, 1, 7 * k);
    }
    for (uint64_t k = 15; k < 20; k++) {
        cr_assert_eq(producers_check(p, 1, 2, k, 1, false, &orig), STROM_ERR_EXISTS);
        cr_assert_eq(orig.base_offset, 7 * k);
    }
    cr_assert_eq(producers_check(p, 1, 2, 14, 1, false, &orig), STROM_ERR_SEQUENCE_TOO_OLD);
    cr_assert_eq(producers_check(p, 1, 2, 21, 1, false, &orig), STROM_ERR_OUT_OF_ORDER_SEQUENCE);
    cr_assert_eq(producers_check(p, 1, 2, 20, 1, false, &orig), STROM_OK);
}

/* Stream 1, producer: the batch at sequence is accepted though it leaves a gap (a window that
 * may have lost batches), and recorded at base_offset. */
static void accept_after_gap(struct producers *p, uint64_t producer, uint64_t sequence,
                             uint64_t base_offset, const char *why) {
    struct producer_batch orig;
    cr_assert_eq(producers_check(p, 1, producer, sequence, 1, false, &orig), STROM_OK, "%s", why);
    record(p, 1, producer, sequence, 1, base_offset);
}

/* W batches after its start the window is an ordinary one: a gap at gap_sequence is refused, and
 * the batch at old_sequence is still answered from it (at old_base). */
static void window_ordinary_again(struct producers *p, uint64_t producer, uint64_t gap_sequence,
                                  uint64_t old_sequence, uint64_t old_base) {
    struct producer_batch orig;
    cr_assert_eq(producers_check(p, 1, producer, gap_sequence, 1, false, &orig),
                 STROM_ERR_OUT_OF_ORDER_SEQUENCE, "W batches later the window is an ordinary one");
    cr_assert_eq(producers_check(p, 1, producer, old_sequence, 1, false, &orig), STROM_ERR_EXISTS);
    cr_assert_eq(orig.base_offset, old_base);
}

/* A window rebuilt from the stores after a crash of the whole node holds only durable batches; the
 * producer's ack-1 batches after them may be gone, so a gap is accepted for W batches (found by
 * strom-sim: producers stuck on OUT_OF_ORDER_SEQUENCE after a node crash, seeds 2, 8, 16). */
Test(producers, a_rebuilt_window_accepts_gaps_for_w_batches) {
    struct producers *p = producers_new(16, 3);
    struct producer_batch orig;
    for (uint64_t k = 0; k < 5; k++) {
        record(p, 1, 2, k, 1, 10 * k); /* folded from the store: 0..4 were durable */
    }
    producers_mark_recovered(p, true);
    cr_assert_eq(producers_check(p, 1, 2, 4, 1, false, &orig), STROM_ERR_EXISTS, "still a retry");
    accept_after_gap(p, 2, 7, 50, "5 and 6 were lost");
    accept_after_gap(p, 2, 9, 51, "8 lost too");
    accept_after_gap(p, 2, 11, 52, "the third after the start");
    window_ordinary_again(p, 2, 13, 9, 51);
    cr_assert_eq(producers_check(p, 1, 2, 12, 1, false, &orig), STROM_OK);
}

/* After a start on stored data, a pair the table does not hold may be one whose window the crash
 * lost (a rebuild folds only a bounded tail of the stores): it starts anywhere and accepts gaps for
 * W batches too (strom-sim seed 1989: a producer stuck on OUT_OF_ORDER_SEQUENCE after a node crash
 * took its ack-1 batch). */
Test(producers, a_new_pair_accepts_gaps_for_w_batches) {
    struct producers *p = producers_new(16, 2);
    struct producer_batch orig;
    cr_assert_eq(producers_check(p, 1, 1, 0, 1, false, &orig), STROM_OK);
    record(p, 1, 1, 0, 1, 0);
    cr_assert_eq(producers_check(p, 1, 1, 2, 1, false, &orig), STROM_ERR_OUT_OF_ORDER_SEQUENCE,
                 "on a node that never started on data, a new pair is new: a gap is refused");
    producers_mark_recovered(p, true);
    accept_after_gap(p, 2, 880, 10, "starts anywhere");
    accept_after_gap(p, 2, 883, 11, "881 and 882 were lost");
    window_ordinary_again(p, 2, 885, 880, 10);
}

Test(producers, recording_is_idempotent_for_replays) {
    struct producers *p = producers_new(4, 5);
    record(p, 1, 1, 0, 3, 0);
    record(p, 1, 1, 3, 3, 9);
    record(p, 1, 1, 0, 3, 0); /* replayed again */
    record(p, 1, 1, 3, 3, 9);
    struct producer_batch orig;
    cr_assert_eq(producers_check(p, 1, 1, 6, 1, false, &orig), STROM_OK);
    cr_assert_eq(producers_check(p, 1, 1, 0, 3, false, &orig), STROM_ERR_EXISTS);
    cr_assert_eq(orig.base_offset, 0);
    cr_assert_eq(p->header->count, 1);
    cr_assert_eq(p->states[0].batch_count, 2);
}

/* true when the pair is in the index (without touching its recency, as a check would). */
static bool indexed(const struct producers *p, uint64_t stream, uint64_t producer) {
    for (uint32_t i = 0; i < p->header->index_slots; i++) {
        const struct producer *st = p->index[i] ? &p->states[p->index[i] - 1] : NULL;
        if (st != NULL && st->stream_id == stream && st->producer_id == producer) {
            return true;
        }
    }
    return false;
}

Test(producers, a_full_table_forgets_a_pair_not_recently_used) {
    struct producers *p = producers_new(64, 2);
    for (uint64_t s = 0; s < 64; s++) {
        record(p, s, 1, 10, 1, s);
    }
    struct producer_batch orig;
    /* Use every pair but stream 5 again, so that stream 5 is the least recently used. */
    for (uint64_t s = 0; s < 64; s++) {
        if (s != 5) {
            cr_assert_eq(producers_check(p, s, 1, 10, 1, false, &orig), STROM_ERR_EXISTS);
        }
    }
    /* New pairs evict sampled old ones: stream 5 goes before any pair used after it, as long as
     * it is among the samples. Adding pairs until it is gone must never evict a pair that was
     * recorded after the first new pair (those are the most recent). */
    uint64_t added = 0;
    while (indexed(p, 5, 1) && added < 64) {
        record(p, 1000 + added, 1, 0, 1, 0);
        added++;
    }
    cr_assert_lt(added, 64, "stream 5 was evicted within 64 additions");
    cr_assert_eq(p->header->count, 64);
    cr_assert_eq(p->header->evictions, added);
    /* A retry from the forgotten pair could have been applied: refused, whatever its sequence. */
    cr_assert_eq(producers_check(p, 5, 1, 10, 1, true, &orig), STROM_ERR_SEQUENCE_TOO_OLD);
    cr_assert_eq(producers_check(p, 5, 1, 0, 1, true, &orig), STROM_ERR_SEQUENCE_TOO_OLD);
    cr_assert_eq(producers_check(p, 5, 1, 11, 1, false, &orig), STROM_OK,
                 "a forgotten pair's new batch starts anew");
    for (uint64_t k = 0; k < added; k++) {
        cr_assert(indexed(p, 1000 + k, 1), "new pairs are the most recent and stay");
    }
}

Test(producers, windows_survive_a_reattach) {
    struct producers *p = producers_new(32, 5);
    for (uint64_t k = 0; k < 7; k++) {
        record(p, 3, 4, k, 1, 100 + k);
    }
    /* The sequencer restarts: the region stays, the index is rebuilt. */
    struct producers again;
    cr_assert_eq(producers_attach(&again, producers_mem, producers_mem_bytes), STROM_OK);
    struct producer_batch orig;
    cr_assert_eq(producers_check(&again, 3, 4, 6, 1, false, &orig), STROM_ERR_EXISTS);
    cr_assert_eq(orig.base_offset, 106);
    cr_assert_eq(producers_check(&again, 3, 4, 1, 1, false, &orig), STROM_ERR_SEQUENCE_TOO_OLD);
    cr_assert_eq(producers_check(&again, 3, 4, 7, 1, false, &orig), STROM_OK);
    /* Retries of a remembered pair follow the window's rules. */
    cr_assert_eq(producers_check(&again, 3, 4, 6, 1, true, &orig), STROM_ERR_EXISTS);
    cr_assert_eq(producers_check(&again, 3, 4, 7, 1, true, &orig), STROM_OK, "never arrived");
    cr_assert_eq(producers_check(&again, 3, 4, 1, 1, true, &orig), STROM_ERR_SEQUENCE_TOO_OLD);
    /* A half-written index (a crash inside an update) is rebuilt from the states. */
    memset(again.index, 0xff, sizeof(uint32_t));
    cr_assert_eq(producers_attach(&again, producers_mem, producers_mem_bytes), STROM_OK);
    cr_assert_eq(producers_check(&again, 3, 4, 5, 1, false, &orig), STROM_ERR_EXISTS);
    cr_assert_eq(producers_attach(&again, producers_mem, producers_mem_bytes - 1),
                 STROM_ERR_CORRUPT);
}

Test(producers, many_evictions_keep_the_index_consistent) {
    /* Backward-shift deletion under heavy churn: every pair still in the table is findable and
     * the table never holds more than its capacity. */
    struct producers *p = producers_new(64, 1);
    for (uint64_t i = 0; i < 10000; i++) {
        record(p, i % 997, i, 0, 1, i);
    }
    cr_assert_eq(p->header->count, 64);
    cr_assert_eq(p->header->evictions, 10000 - 64);
    /* Every indexed pair is findable with its own window, and the last pair recorded is there
     * (it is the most recent, so no later eviction could pick it over an older sample). */
    struct producer_batch orig;
    uint32_t indexed = 0;
    for (uint32_t i = 0; i < p->header->index_slots; i++) {
        if (p->index[i] != 0) {
            const struct producer *st = &p->states[p->index[i] - 1];
            cr_assert_eq(producers_check(p, st->stream_id, st->producer_id, 0, 1, false, &orig),
                         STROM_ERR_EXISTS);
            cr_assert_eq(orig.base_offset, st->producer_id);
            indexed++;
        }
    }
    cr_assert_eq(indexed, 64);
    cr_assert_eq(producers_check(p, 9999 % 997, 9999, 0, 1, false, &orig), STROM_ERR_EXISTS);
}
