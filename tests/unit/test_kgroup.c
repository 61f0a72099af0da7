/* test_kgroup.c: the Kafka group fold (src/node/kgroup.h): joins, rebalances, syncs,
 * heartbeats, expiry by batch timestamps, leaves, commits, bad records, determinism. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kafka/api.h"
#include "node/kgroup.h"

#define MS           1000000ull
#define OUTCOMES_MAX 64

/* A group under test: its state, the records' offsets, and the outcomes the fold gave. */
struct fx {
    struct kgroup g;
    uint64_t offset;
    uint32_t outcome_count;
    struct kgroup_outcome outcomes[OUTCOMES_MAX];
    char ids[OUTCOMES_MAX][KGROUP_MEMBER_ID_BYTES_MAX];
    char scratch[KGROUP_SCRATCH_BYTES];
    uint8_t buf[1 << 16];
};

static void on_outcome(void *arg, const struct kgroup_outcome *o) {
    struct fx *f = arg;
    cr_assert(f->outcome_count < OUTCOMES_MAX);
    struct kgroup_outcome *dst = &f->outcomes[f->outcome_count];
    *dst = *o;
    if (o->member_id_len > 0) {
        memcpy(f->ids[f->outcome_count], o->member_id, o->member_id_len);
    }
    dst->member_id = f->ids[f->outcome_count];
    f->outcome_count++;
}

/* Topic "t" has partitions 0..3 as streams 100..103. */
static bool resolve(void *arg, const char *topic, size_t len, int32_t partition, uint64_t *id) {
    (void)arg;
    if (len != 1 || topic[0] != 't' || partition < 0 || partition > 3) {
        return false;
    }
    *id = 100 + (uint64_t)partition;
    return true;
}

static struct fx *fx_new(void) {
    struct fx *f = calloc(1, sizeof *f);
    cr_assert_not_null(f);
    kgroup_init(&f->g);
    return f;
}

/* Folds the batch in w at time ts_ms; returns the fold's result. */
static strom_err fold(struct fx *f, struct kgroup_writer *w, uint64_t ts_ms) {
    cr_assert(!w->overflow);
    struct kgroup_env env = {
        .arg = f, .outcome = on_outcome, .resolve = resolve, .scratch = f->scratch};
    strom_err err =
        kgroup_fold(&f->g, &env, ts_ms * MS, f->offset, w->buf, (uint32_t)w->used, w->count);
    f->offset += w->count;
    return err;
}

static struct kafka_str S(const char *s) {
    return kafka_str_c(s);
}

static void
join(struct fx *f, uint64_t ref, const char *member, uint64_t ts_ms, const char *protocol) {
    struct kgroup_writer w;
    kgroup_writer_init(&w, f->buf, sizeof f->buf);
    struct kgroup_protocol_in p[2] = {{S(protocol), kafka_bytes_of("meta", 4)},
                                      {S("roundrobin"), kafka_bytes_of("rr", 2)}};
    kgroup_write_join(&w, ref, S(member), S("client"), 10000, 30000, S("consumer"), true, p, 2);
    cr_assert_eq(fold(f, &w, ts_ms), STROM_OK);
}

static void simple(struct fx *f, const char *what, uint64_t ref, const char *member, int32_t gen,
                   uint64_t ts_ms) {
    struct kgroup_writer w;
    kgroup_writer_init(&w, f->buf, sizeof f->buf);
    if (strcmp(what, "heartbeat") == 0) {
        kgroup_write_heartbeat(&w, ref, S(member), gen);
    } else if (strcmp(what, "leave") == 0) {
        kgroup_write_leave(&w, ref, S(member));
    } else {
        kgroup_write_tick(&w, ref);
    }
    cr_assert_eq(fold(f, &w, ts_ms), STROM_OK);
}

static void sync_as(struct fx *f, uint64_t ref, const char *member, int32_t gen, uint64_t ts_ms,
                    const char *to, const char *assignment) {
    struct kgroup_writer w;
    kgroup_writer_init(&w, f->buf, sizeof f->buf);
    struct kgroup_assignment_in a = {S(to), kafka_bytes_of(assignment, strlen(assignment))};
    kgroup_write_sync(&w, ref, S(member), gen, &a, to != NULL ? 1 : 0);
    cr_assert_eq(fold(f, &w, ts_ms), STROM_OK);
}

static const struct kgroup_outcome *last(struct fx *f, uint64_t ref) {
    for (uint32_t i = f->outcome_count; i-- > 0;) {
        if (f->outcomes[i].ref == ref) {
            return &f->outcomes[i];
        }
    }
    cr_assert_fail("no outcome for ref %llu", (unsigned long long)ref);
    return NULL;
}

Test(kgroup, one_member_joins_syncs_and_leaves) {
    struct fx *f = fx_new();
    join(f, 1, "", 1000, "range");
    const struct kgroup_outcome *o = last(f, 1);
    cr_assert_eq(o->error, KAFKA_ERR_NONE);
    cr_assert_eq(o->generation, 1);
    cr_assert_eq(o->member_id_len, strlen("client-0"));
    cr_assert(memcmp(o->member_id, "client-0", o->member_id_len) == 0);
    cr_assert_eq(f->g.state, KGROUP_COMPLETING);
    cr_assert_eq(f->g.leader_len, o->member_id_len);
    cr_assert(memcmp(f->g.protocol, "range", 5) == 0 && f->g.protocol_len == 5);
    sync_as(f, 2, "client-0", 1, 1001, "client-0", "A0");
    cr_assert_eq(last(f, 2)->error, KAFKA_ERR_NONE);
    cr_assert_eq(f->g.state, KGROUP_STABLE);
    const struct kgroup_member *m = kgroup_member_find(&f->g, "client-0", 8);
    cr_assert_not_null(m);
    cr_assert_eq(m->assignment_len, 2);
    cr_assert(memcmp(m->assignment, "A0", 2) == 0);
    struct kafka_bytes meta = kgroup_member_metadata(&f->g, m);
    cr_assert(meta.len == 4 && memcmp(meta.ptr, "meta", 4) == 0);
    simple(f, "heartbeat", 3, "client-0", 1, 1002);
    cr_assert_eq(last(f, 3)->error, KAFKA_ERR_NONE);
    simple(f, "heartbeat", 4, "client-0", 7, 1003);
    cr_assert_eq(last(f, 4)->error, KAFKA_ERR_ILLEGAL_GENERATION);
    simple(f, "heartbeat", 5, "nobody", 1, 1004);
    cr_assert_eq(last(f, 5)->error, KAFKA_ERR_UNKNOWN_MEMBER_ID);
    simple(f, "leave", 6, "client-0", 0, 1005);
    cr_assert_eq(last(f, 6)->error, KAFKA_ERR_NONE);
    cr_assert_eq(f->g.state, KGROUP_EMPTY);
    cr_assert_eq(f->g.member_count, 0);
    cr_assert_eq(f->g.generation, 2);
    free(f);
}

Test(kgroup, a_second_member_makes_everyone_join_again) {
    struct fx *f = fx_new();
    join(f, 1, "a", 1000, "range");
    sync_as(f, 2, "a", 1, 1000, "a", "all");
    join(f, 3, "b", 1010, "range"); /* b waits */
    cr_assert_eq(f->g.state, KGROUP_PREPARING);
    cr_assert_eq(f->outcome_count, 2, "b's join is not answered before a joins again");
    simple(f, "heartbeat", 4, "a", 1, 1020);
    cr_assert_eq(last(f, 4)->error, KAFKA_ERR_REBALANCE_IN_PROGRESS);
    join(f, 5, "a", 1030, "range");
    cr_assert_eq(f->g.state, KGROUP_COMPLETING);
    cr_assert_eq(last(f, 3)->generation, 2);
    cr_assert_eq(last(f, 5)->generation, 2);
    cr_assert_eq(f->g.leader_len, 1);
    cr_assert_eq(f->g.leader[0], 'a', "the leader stays");
    /* a follower's sync is not recorded; the leader's is, with both assignments */
    struct kgroup_writer w;
    kgroup_writer_init(&w, f->buf, sizeof f->buf);
    struct kgroup_assignment_in a[2] = {{S("a"), kafka_bytes_of("p0", 2)},
                                        {S("b"), kafka_bytes_of("p1", 2)}};
    kgroup_write_sync(&w, 6, S("a"), 2, a, 2);
    cr_assert_eq(fold(f, &w, 1040), STROM_OK);
    cr_assert_eq(f->g.state, KGROUP_STABLE);
    cr_assert(memcmp(kgroup_member_find(&f->g, "b", 1)->assignment, "p1", 2) == 0);
    free(f);
}

Test(kgroup, sessions_expire_by_batch_time_and_rebalances_time_out) {
    struct fx *f = fx_new();
    join(f, 1, "a", 1000, "range");
    join(f, 2, "b", 1000, "range");
    cr_assert_eq(f->g.state, KGROUP_PREPARING, "a joined alone first, then b");
    join(f, 3, "a", 1001, "range");
    cr_assert_eq(f->g.state, KGROUP_COMPLETING);
    sync_as(f, 4, "a", 2, 1002, "a", "x");
    /* a heartbeats; b stays silent past its 10 s session */
    simple(f, "heartbeat", 5, "a", 2, 9000);
    cr_assert_eq(kgroup_deadline_ns(&f->g), 11001 * MS, "b's session ends at its last sign + 10 s");
    simple(f, "tick", 6, NULL, 0, 11001);
    cr_assert_eq(f->g.member_count, 1);
    cr_assert_eq(f->g.state, KGROUP_PREPARING, "b's expiry starts a rebalance");
    /* a must join again within the rebalance timeout (30 s) or it is gone too */
    simple(f, "tick", 7, NULL, 0, 11002 + 30000);
    cr_assert_eq(f->g.state, KGROUP_EMPTY);
    cr_assert_eq(f->g.member_count, 0);
    free(f);
}

Test(kgroup, a_member_that_does_not_rejoin_is_dropped_at_the_deadline) {
    struct fx *f = fx_new();
    join(f, 1, "a", 1000, "range");
    join(f, 2, "b", 1000, "range");
    join(f, 3, "a", 1000, "range");
    sync_as(f, 4, "a", 2, 1000, "a", "x");
    join(f, 5, "c", 2000, "range"); /* a rejoins, b never does */
    join(f, 6, "a", 2100, "range");
    cr_assert_eq(f->g.state, KGROUP_PREPARING);
    cr_assert_eq(kgroup_deadline_ns(&f->g), 11000 * MS, "b's session (10 s) before the 30 s");
    simple(f, "tick", 7, NULL, 0, 11000);
    cr_assert_eq(f->g.state, KGROUP_COMPLETING);
    cr_assert_eq(f->g.member_count, 2);
    cr_assert_eq(last(f, 5)->generation, 3);
    cr_assert_eq(last(f, 6)->generation, 3);
    cr_assert_null(kgroup_member_find(&f->g, "b", 1));
    free(f);
}

Test(kgroup, joins_that_cannot_join) {
    struct fx *f = fx_new();
    join(f, 1, "a", 1000, "range");
    struct kgroup_writer w;
    kgroup_writer_init(&w, f->buf, sizeof f->buf);
    struct kgroup_protocol_in p = {S("sticky"), kafka_bytes_of("", 0)};
    kgroup_write_join(&w, 2, S("b"), S("c"), 10000, 30000, S("consumer"), true, &p, 1);
    cr_assert_eq(fold(f, &w, 1001), STROM_OK);
    cr_assert_eq(last(f, 2)->error, KAFKA_ERR_INCONSISTENT_GROUP_PROTOCOL);
    kgroup_writer_init(&w, f->buf, sizeof f->buf);
    kgroup_write_join(&w, 3, S("c"), S("c"), 10, 30000, S("consumer"), true, &p, 1);
    cr_assert_eq(fold(f, &w, 1002), STROM_OK);
    cr_assert_eq(last(f, 3)->error, KAFKA_ERR_INVALID_SESSION_TIMEOUT);
    kgroup_writer_init(&w, f->buf, sizeof f->buf);
    struct kgroup_protocol_in r = {S("range"), kafka_bytes_of("", 0)};
    kgroup_write_join(&w, 4, S("unknown"), S("c"), 10000, 30000, S("consumer"), false, &r, 1);
    cr_assert_eq(fold(f, &w, 1003), STROM_OK);
    cr_assert_eq(last(f, 4)->error, KAFKA_ERR_UNKNOWN_MEMBER_ID, "v0-3: an unknown id");
    cr_assert_eq(f->g.member_count, 1);
    free(f);
}

static void commit(struct fx *f, uint64_t ref, const char *member, int32_t gen, int32_t partition,
                   int64_t offset, uint64_t ts_ms) {
    struct kgroup_writer w;
    kgroup_writer_init(&w, f->buf, sizeof f->buf);
    kgroup_write_commit(&w, ref, S(member), gen, 2);
    struct kgroup_offset_in o = {S("t"), partition, offset, 5, S("meta")};
    kgroup_write_offset(&w, &o);
    o.topic = S("gone"); /* a partition with no stream: skipped */
    kgroup_write_offset(&w, &o);
    cr_assert_eq(fold(f, &w, ts_ms), STROM_OK);
}

Test(kgroup, commits) {
    struct fx *f = fx_new();
    commit(f, 1, "", -1, 2, 42, 1000); /* no members: a simple consumer may commit */
    cr_assert_eq(last(f, 1)->error, KAFKA_ERR_NONE);
    const struct kgroup_offset *o = kgroup_offset_find(&f->g, 102);
    cr_assert_not_null(o);
    cr_assert_eq(o->offset, 42);
    cr_assert_eq(o->leader_epoch, 5);
    cr_assert(o->metadata_len == 4 && memcmp(o->metadata, "meta", 4) == 0);
    cr_assert_eq(f->g.offset_count, 1);
    join(f, 2, "a", 1001, "range");
    commit(f, 3, "", -1, 2, 43, 1002);
    cr_assert_eq(last(f, 3)->error, KAFKA_ERR_UNKNOWN_MEMBER_ID);
    commit(f, 4, "a", 1, 2, 44, 1003);
    cr_assert_eq(last(f, 4)->error, KAFKA_ERR_REBALANCE_IN_PROGRESS, "awaiting the leader's sync");
    sync_as(f, 5, "a", 1, 1004, "a", "x");
    commit(f, 6, "a", 9, 2, 45, 1005);
    cr_assert_eq(last(f, 6)->error, KAFKA_ERR_ILLEGAL_GENERATION);
    commit(f, 7, "a", 1, 2, 46, 1006);
    cr_assert_eq(last(f, 7)->error, KAFKA_ERR_NONE);
    cr_assert_eq(kgroup_offset_find(&f->g, 102)->offset, 46);
    cr_assert_eq(f->g.offset_count, 1);
    free(f);
}

Test(kgroup, bad_records_change_nothing) {
    struct fx *f = fx_new();
    join(f, 1, "a", 1000, "range");
    struct kgroup g0 = f->g;
    uint32_t outcomes = f->outcome_count;
    struct kgroup_env env = {
        .arg = f, .outcome = on_outcome, .resolve = resolve, .scratch = f->scratch};
    /* garbage bytes as a message set of one message */
    uint8_t junk[64];
    memset(junk, 0xff, sizeof junk);
    cr_assert_eq(kgroup_fold(&f->g, &env, 1001 * MS, 10, junk, sizeof junk, 1), STROM_ERR_CORRUPT);
    /* a join whose head announces more protocols than the batch holds */
    struct kgroup_writer w;
    kgroup_writer_init(&w, f->buf, sizeof f->buf);
    struct kgroup_protocol_in p = {S("range"), kafka_bytes_of("", 0)};
    kgroup_write_join(&w, 2, S("b"), S("c"), 10000, 30000, S("consumer"), true, &p, 1);
    cr_assert_eq(kgroup_fold(&f->g, &env, 1001 * MS, 11, w.buf, (uint32_t)w.used, 1),
                 STROM_ERR_CORRUPT, "the head alone");
    /* an unknown record type */
    uint8_t set[64] = {0};
    const char *line = "kafka.nonsense  ref:3";
    uint32_t len = (uint32_t)strlen(line);
    memcpy(set + 16, &len, 4);
    memcpy(set + 20, line, len);
    cr_assert_eq(kgroup_fold(&f->g, &env, 1001 * MS, 12, set, 20 + len, 1), STROM_ERR_CORRUPT);
    cr_assert_eq(f->g.bad_records, 3);
    cr_assert_eq(f->g.member_count, g0.member_count);
    cr_assert_eq(f->g.state, g0.state);
    cr_assert_eq(f->g.generation, g0.generation);
    cr_assert_eq(f->outcome_count, outcomes);
    free(f);
}

Test(kgroup, two_folds_of_the_same_records_agree) {
    struct fx *a = fx_new(), *b = fx_new();
    struct fx *both[2] = {a, b};
    for (int k = 0; k < 2; k++) {
        struct fx *f = both[k];
        join(f, 1, "", 1000, "range");
        join(f, 2, "", 1001, "range");
        join(f, 3, "client-0", 1002, "range");
        /* the second join record starts at offset 3 (a head and two protocols before it) */
        sync_as(f, 4, "client-0", 2, 1003, "client-3", "y");
        simple(f, "heartbeat", 5, "client-3", 2, 5000);
        simple(f, "tick", 6, NULL, 0, 12004);
        commit(f, 7, "", -1, 1, 9, 13000);
    }
    cr_assert_eq(a->outcome_count, b->outcome_count);
    for (uint32_t i = 0; i < a->outcome_count; i++) {
        cr_assert_eq(a->outcomes[i].ref, b->outcomes[i].ref);
        cr_assert_eq(a->outcomes[i].error, b->outcomes[i].error);
        cr_assert_eq(a->outcomes[i].generation, b->outcomes[i].generation);
        cr_assert_eq(a->outcomes[i].member_id_len, b->outcomes[i].member_id_len);
    }
    cr_assert_eq(a->g.generation, b->g.generation);
    cr_assert_eq(a->g.state, b->g.state);
    cr_assert_eq(a->g.member_count, b->g.member_count);
    cr_assert_eq(a->g.offset_count, b->g.offset_count);
    cr_assert_eq(a->g.member_count, 1,
                 "client-0 expired at 11003 (its last sign 1003), client-3 lives");
    cr_assert_not_null(kgroup_member_find(&a->g, "client-3", 8));
    free(a);
    free(b);
}
