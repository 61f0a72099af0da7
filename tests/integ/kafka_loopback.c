/*
 * kafka_loopback.c: a test-only, single-node, in-memory Kafka broker built on src/kafka/, so
 * that real clients (kcat/librdkafka, kafka-python) exercise the codec end to end: every request
 * they send goes through kafka_request_decode, every answer through kafka_response_encode, every
 * produced batch through kafka_batch_split_next and kafka_batch_assign, every fetch through
 * kafka_fetch_fill. It is not strom's gateway (which serves streams through the sequencer): it
 * keeps batches in memory and runs consumer groups of one member at a time.
 *
 * Usage: kafka_loopback [--seconds N] [--dump DIR]
 *   Listens on 127.0.0.1 (an ephemeral port), prints "port <n>" on stdout, serves until SIGTERM
 *   or N seconds (default 120), then prints "kafka_loopback: requests <n> malformed <n>
 *   unsupported <n>" and exits 0. --dump DIR writes the first request frame of each API and
 *   version to DIR/<api>_v<version>.bin (to refresh tests/data/kafka/).
 *
 * Bounds: CONN_MAX connections, FRAME_BYTES_MAX per request, PART_MAX partitions of at most
 * PART_BATCHES_MAX batches in a STORE_BYTES store, GROUP_MAX groups, OFFSETS_MAX committed offsets.
 * A malformed request closes its connection, as the gateway will.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "io/io.h"
#include "kafka/messages.h"
#include "kafka/record_batch.h"
#include "kafka/records.h"

#define CONN_MAX             16
#define FRAME_BYTES_MAX      (4u << 20)
#define OUT_BYTES_MAX        (16u << 20)
#define ARENA_BYTES          (4u << 20)
#define PART_MAX             64
#define PART_BATCHES_MAX     8192
#define STORE_BYTES          (64u << 20)
#define GROUP_MAX            8
#define MEMBER_BYTES_MAX     64
#define ASSIGNMENT_BYTES_MAX 4096
#define OFFSETS_MAX          256
#define NAME_BYTES_MAX       128
#define EVENTS_MAX           16
#define LISTEN_TOKEN         UINT64_MAX
#define FETCH_EMPTY_WAIT_NS  (50ull * 1000 * 1000)
#define SEND_WAIT_NS         (5ull * 1000 * 1000 * 1000)

struct stored_batch {
    int64_t base_offset;
    int32_t record_count;
    uint32_t at; /* position in the store */
    uint32_t bytes;
};

struct partition {
    char topic[NAME_BYTES_MAX];
    int32_t index;
    int64_t next_offset;
    int32_t batches_count;
    struct stored_batch batches[PART_BATCHES_MAX];
};

struct group {
    char id[NAME_BYTES_MAX];
    int32_t generation;
    char member[MEMBER_BYTES_MAX]; /* the one member; empty when none */
    char protocol[NAME_BYTES_MAX];
    uint8_t assignment[ASSIGNMENT_BYTES_MAX];
    int32_t assignment_bytes;
};

struct committed {
    char group[NAME_BYTES_MAX];
    char topic[NAME_BYTES_MAX];
    int32_t partition;
    int64_t offset;
};

struct conn {
    int fd;        /* -1 when free */
    uint32_t have; /* bytes in buf */
    uint8_t buf[FRAME_BYTES_MAX + KAFKA_FRAME_PREFIX_BYTES];
};

/* The whole broker: one root, allocated once. */
struct loopback {
    struct io io;
    int listen_fd;
    int poller;
    uint16_t port;
    const char *dump_dir;
    uint64_t dumped[64]; /* bit v of dumped[key] once api key's version v is written */
    int64_t member_seq;
    int64_t producer_seq;
    uint64_t requests;
    uint64_t malformed;
    uint64_t unsupported;
    int32_t parts_count;
    struct partition parts[PART_MAX];
    struct group groups[GROUP_MAX];
    int32_t committed_count;
    struct committed committed[OFFSETS_MAX];
    uint32_t store_used;
    uint8_t store[STORE_BYTES];
    struct kafka_arena arena; /* decoded requests and response arrays, reset per request */
    uint8_t arena_mem[ARENA_BYTES];
    uint8_t out[OUT_BYTES_MAX];
    struct conn conns[CONN_MAX];
};

/* --- small helpers ---------------------------------------------------------------------------- */

static bool name_is(const char *name, struct kafka_str s) {
    return kafka_str_eq(s, name);
}

static void name_copy(char *dst, struct kafka_str s) {
    size_t n = s.len > 0 ? (size_t)s.len : 0;
    n = n < NAME_BYTES_MAX - 1 ? n : NAME_BYTES_MAX - 1;
    memcpy(dst, s.ptr, n);
    dst[n] = 0;
}

static struct kafka_str str_of(const char *s) {
    return kafka_str_c(s);
}

/* Array memory for a response; the arena is sized so that a test's responses always fit. */
static void *alloc(struct loopback *lb, size_t count, size_t elem) {
    void *p = kafka_arena_alloc(&lb->arena, count * elem + 1);
    strom_assert(p != NULL);
    return p;
}

static struct partition *part_find(struct loopback *lb, struct kafka_str topic, int32_t index) {
    for (int32_t i = 0; i < lb->parts_count; i++) {
        if (name_is(lb->parts[i].topic, topic) && lb->parts[i].index == index) {
            return &lb->parts[i];
        }
    }
    return NULL;
}

static int32_t topic_partitions(struct loopback *lb, struct kafka_str topic) {
    int32_t n = 0;
    for (int32_t i = 0; i < lb->parts_count; i++) {
        n += name_is(lb->parts[i].topic, topic) ? 1 : 0;
    }
    return n;
}

static strom_err topic_create(struct loopback *lb, struct kafka_str topic, int32_t partitions) {
    if (topic.len <= 0 || topic.len >= NAME_BYTES_MAX || partitions < 1) {
        return STROM_ERR_INVALID_ARGUMENT;
    }
    if (lb->parts_count + partitions > PART_MAX) {
        return STROM_ERR_LIMIT;
    }
    for (int32_t p = 0; p < partitions; p++) {
        struct partition *part = &lb->parts[lb->parts_count++];
        memset(part, 0, sizeof *part - sizeof part->batches);
        name_copy(part->topic, topic);
        part->index = p;
    }
    return STROM_OK;
}

static void topic_delete(struct loopback *lb, struct kafka_str topic) {
    int32_t kept = 0;
    for (int32_t i = 0; i < lb->parts_count; i++) {
        if (!name_is(lb->parts[i].topic, topic)) {
            if (kept != i) {
                lb->parts[kept] = lb->parts[i];
            }
            kept++;
        }
    }
    lb->parts_count = kept;
}

/* --- Produce ---------------------------------------------------------------------------------- */

/* Validates every batch of a record set first, then stores them all with offsets assigned. */
static int16_t produce_partition(struct loopback *lb, struct partition *part,
                                 struct kafka_bytes records, int64_t *base_out) {
    struct kafka_batch_limits lim = kafka_batch_limits_default();
    struct kafka_batch_split split;
    struct kafka_batch_view v;
    kafka_batch_split_init(&split, records);
    strom_err err;
    uint64_t bytes = 0;
    int32_t count = 0;
    while ((err = kafka_batch_split_next(&split, &lim, &v)) == STROM_OK) {
        bytes += v.bytes;
        count++;
    }
    if (err != STROM_ERR_END) {
        return kafka_error_from_strom(err == STROM_ERR_EMPTY ? STROM_ERR_CORRUPT : err);
    }
    if (lb->store_used + bytes > STORE_BYTES || part->batches_count + count > PART_BATCHES_MAX) {
        return KAFKA_ERR_KAFKA_STORAGE_ERROR;
    }
    *base_out = part->next_offset;
    kafka_batch_split_init(&split, records);
    while (kafka_batch_split_next(&split, &lim, &v) == STROM_OK) {
        uint8_t *dst = lb->store + lb->store_used;
        memcpy(dst, v.data, v.bytes);
        kafka_batch_assign(dst, v.bytes, part->next_offset, 0);
        part->batches[part->batches_count++] = (struct stored_batch){
            part->next_offset, v.header.record_count, lb->store_used, v.bytes};
        lb->store_used += v.bytes;
        part->next_offset += v.header.record_count;
    }
    return KAFKA_ERR_NONE;
}

static void handle_produce(struct loopback *lb, const struct kafka_request *req,
                           struct kafka_response *resp) {
    const struct kafka_produce_request *m = &req->body.produce;
    struct kafka_produce_response *r = &resp->body.produce;
    r->topics_count = m->topics_count;
    r->topics = alloc(lb, (size_t)m->topics_count, sizeof *r->topics);
    for (int32_t i = 0; i < m->topics_count; i++) {
        const struct kafka_produce_topic *t = &m->topics[i];
        struct kafka_produce_topic_response *rt = &r->topics[i];
        rt->name = t->name;
        rt->partitions_count = t->partitions_count;
        rt->partitions = alloc(lb, (size_t)t->partitions_count, sizeof *rt->partitions);
        for (int32_t j = 0; j < t->partitions_count; j++) {
            struct kafka_produce_partition_response *rp = &rt->partitions[j];
            *rp = (struct kafka_produce_partition_response){
                .index = t->partitions[j].index, .base_offset = -1, .log_append_time_ms = -1};
            struct partition *part = part_find(lb, t->name, t->partitions[j].index);
            if (req->header.api_version < 3) {
                rp->error_code = KAFKA_ERR_UNSUPPORTED_VERSION; /* magic 0/1: not stored */
            } else if (part == NULL) {
                rp->error_code = KAFKA_ERR_UNKNOWN_TOPIC_OR_PARTITION;
            } else {
                rp->error_code =
                    produce_partition(lb, part, t->partitions[j].records, &rp->base_offset);
            }
        }
    }
}

/* --- Fetch, ListOffsets ----------------------------------------------------------------------- */

static void fetch_partition(struct loopback *lb, const struct kafka_fetch_partition *fp,
                            struct partition *part, struct kafka_fetch_partition_response *rp) {
    *rp = (struct kafka_fetch_partition_response){.partition = fp->partition,
                                                  .high_watermark = -1,
                                                  .last_stable_offset = -1,
                                                  .log_start_offset = -1,
                                                  .aborted_transactions_count = -1,
                                                  .preferred_read_replica = -1,
                                                  .records = {NULL, -1}};
    if (part == NULL) {
        rp->error_code = KAFKA_ERR_UNKNOWN_TOPIC_OR_PARTITION;
        return;
    }
    rp->high_watermark = rp->last_stable_offset = part->next_offset;
    rp->log_start_offset = 0;
    if (fp->fetch_offset < 0 || fp->fetch_offset > part->next_offset) {
        rp->error_code = KAFKA_ERR_OFFSET_OUT_OF_RANGE;
        return;
    }
    struct kafka_bytes *segs = alloc(lb, KAFKA_RECORD_SEGMENTS_MAX, sizeof *segs);
    struct kafka_fetch_fill fill;
    uint32_t max = fp->partition_max_bytes > 0 ? (uint32_t)fp->partition_max_bytes : 1;
    kafka_fetch_fill_init(&fill, fp->fetch_offset, max, segs, KAFKA_RECORD_SEGMENTS_MAX);
    for (int32_t i = 0; i < part->batches_count; i++) {
        const struct stored_batch *b = &part->batches[i];
        strom_err err = kafka_fetch_fill_offer(&fill, b->base_offset, b->record_count,
                                               kafka_bytes_of(lb->store + b->at, b->bytes));
        strom_assert(err != STROM_ERR_GAP);
        if (err == STROM_ERR_END) {
            break;
        }
    }
    rp->records = (struct kafka_bytes){(const uint8_t *)"", 0};
    rp->record_segments_count = fill.count;
    rp->record_segments = segs;
}

static void handle_fetch(struct loopback *lb, const struct kafka_request *req,
                         struct kafka_response *resp) {
    const struct kafka_fetch_request *m = &req->body.fetch;
    struct kafka_fetch_response *r = &resp->body.fetch;
    r->topics_count = m->topics_count;
    r->topics = alloc(lb, (size_t)m->topics_count, sizeof *r->topics);
    bool any = false;
    for (int32_t i = 0; i < m->topics_count; i++) {
        const struct kafka_fetch_topic *t = &m->topics[i];
        r->topics[i].topic = t->topic;
        r->topics[i].partitions_count = t->partitions_count;
        r->topics[i].partitions =
            alloc(lb, (size_t)t->partitions_count, sizeof(*r->topics[i].partitions));
        for (int32_t j = 0; j < t->partitions_count; j++) {
            const struct kafka_fetch_partition *fp = &t->partitions[j];
            fetch_partition(lb, fp, part_find(lb, t->topic, fp->partition),
                            &r->topics[i].partitions[j]);
            any = any || r->topics[i].partitions[j].record_segments_count > 0;
        }
    }
    if (!any && m->max_wait_ms > 0) {
        io_sleep_ns(&lb->io, FETCH_EMPTY_WAIT_NS); /* a long poll, shortened: nothing arrives */
    }
}

static void handle_list_offsets(struct loopback *lb, const struct kafka_request *req,
                                struct kafka_response *resp) {
    const struct kafka_list_offsets_request *m = &req->body.list_offsets;
    struct kafka_list_offsets_response *r = &resp->body.list_offsets;
    r->topics_count = m->topics_count;
    r->topics = alloc(lb, (size_t)m->topics_count, sizeof *r->topics);
    for (int32_t i = 0; i < m->topics_count; i++) {
        const struct kafka_list_offsets_topic *t = &m->topics[i];
        struct kafka_list_offsets_topic_response *rt = &r->topics[i];
        rt->name = t->name;
        rt->partitions_count = t->partitions_count;
        rt->partitions = alloc(lb, (size_t)t->partitions_count, sizeof *rt->partitions);
        for (int32_t j = 0; j < t->partitions_count; j++) {
            struct kafka_list_offsets_partition_response *rp = &rt->partitions[j];
            struct partition *part = part_find(lb, t->name, t->partitions[j].partition_index);
            rp->partition_index = t->partitions[j].partition_index;
            rp->timestamp = -1;
            rp->offset = -1;
            if (part == NULL) {
                rp->error_code = KAFKA_ERR_UNKNOWN_TOPIC_OR_PARTITION;
                continue;
            }
            rp->offset = t->partitions[j].timestamp == -1 ? part->next_offset : 0;
            rp->old_style_offsets_count = 1;
            rp->old_style_offsets = alloc(lb, 1, sizeof(int64_t));
            rp->old_style_offsets[0] = rp->offset;
        }
    }
}

/* --- Metadata --------------------------------------------------------------------------------- */

static void metadata_topic(struct loopback *lb, struct kafka_str name, bool may_create,
                           struct kafka_metadata_topic *rt) {
    rt->name = name;
    rt->topic_authorized_operations = INT32_MIN;
    if (topic_partitions(lb, name) == 0 && (!may_create || topic_create(lb, name, 1) != STROM_OK)) {
        rt->error_code = KAFKA_ERR_UNKNOWN_TOPIC_OR_PARTITION;
        return;
    }
    int32_t n = topic_partitions(lb, name);
    rt->partitions_count = n;
    rt->partitions = alloc(lb, (size_t)n, sizeof *rt->partitions);
    int32_t *node0 = alloc(lb, 1, sizeof(int32_t));
    for (int32_t p = 0; p < n; p++) {
        rt->partitions[p] = (struct kafka_metadata_partition){.partition_index = p,
                                                              .leader_id = 0,
                                                              .leader_epoch = 0,
                                                              .replica_nodes_count = 1,
                                                              .replica_nodes = node0,
                                                              .isr_nodes_count = 1,
                                                              .isr_nodes = node0};
    }
}

static void handle_metadata(struct loopback *lb, const struct kafka_request *req,
                            struct kafka_response *resp) {
    const struct kafka_metadata_request *m = &req->body.metadata;
    struct kafka_metadata_response *r = &resp->body.metadata;
    int16_t v = req->header.api_version;
    r->brokers_count = 1;
    r->brokers = alloc(lb, 1, sizeof *r->brokers);
    r->brokers[0] = (struct kafka_metadata_broker){0, str_of("127.0.0.1"), lb->port, {NULL, -1}};
    r->cluster_id = str_of("loopback");
    r->cluster_authorized_operations = INT32_MIN;
    bool all = m->topics_count < 0 || (v == 0 && m->topics_count == 0);
    if (all) {
        r->topics = alloc(lb, (size_t)lb->parts_count, sizeof *r->topics);
        for (int32_t i = 0; i < lb->parts_count; i++) {
            if (lb->parts[i].index == 0) {
                metadata_topic(lb, str_of(lb->parts[i].topic), false,
                               &r->topics[r->topics_count++]);
            }
        }
        return;
    }
    bool may_create = v < 4 || m->allow_auto_topic_creation;
    r->topics_count = m->topics_count;
    r->topics = alloc(lb, (size_t)m->topics_count, sizeof *r->topics);
    for (int32_t i = 0; i < m->topics_count; i++) {
        metadata_topic(lb, m->topics[i], may_create, &r->topics[i]);
    }
}

/* --- groups ----------------------------------------------------------------------------------- */

static struct group *group_find(struct loopback *lb, struct kafka_str id, bool create) {
    struct group *free_slot = NULL;
    for (int i = 0; i < GROUP_MAX; i++) {
        if (lb->groups[i].id[0] != 0 && name_is(lb->groups[i].id, id)) {
            return &lb->groups[i];
        }
        free_slot = free_slot == NULL && lb->groups[i].id[0] == 0 ? &lb->groups[i] : free_slot;
    }
    if (create && free_slot != NULL && id.len > 0 && id.len < NAME_BYTES_MAX) {
        memset(free_slot, 0, sizeof *free_slot);
        name_copy(free_slot->id, id);
    }
    return create ? free_slot : NULL;
}

/* One member at a time: a join makes the joiner the only member and the leader. */
static void handle_join_group(struct loopback *lb, const struct kafka_request *req,
                              struct kafka_response *resp) {
    const struct kafka_join_group_request *m = &req->body.join_group;
    struct kafka_join_group_response *r = &resp->body.join_group;
    struct group *g = group_find(lb, m->group_id, true);
    if (g == NULL || m->protocols_count < 1) {
        r->error_code =
            g == NULL ? KAFKA_ERR_COORDINATOR_NOT_AVAILABLE : KAFKA_ERR_INCONSISTENT_GROUP_PROTOCOL;
        r->generation_id = -1;
        return;
    }
    if (m->member_id.len > 0 && m->member_id.len < MEMBER_BYTES_MAX) {
        name_copy(g->member, m->member_id);
    } else {
        snprintf(g->member, sizeof g->member, "member-%lld", (long long)++lb->member_seq);
    }
    g->generation++;
    g->assignment_bytes = 0;
    name_copy(g->protocol, m->protocols[0].name);
    r->generation_id = g->generation;
    r->protocol_name = str_of(g->protocol);
    r->leader = r->member_id = str_of(g->member);
    r->members_count = 1;
    r->members = alloc(lb, 1, sizeof *r->members);
    r->members[0] = (struct kafka_join_group_member){str_of(g->member), m->group_instance_id,
                                                     m->protocols[0].metadata};
}

static void handle_sync_group(struct loopback *lb, const struct kafka_request *req,
                              struct kafka_response *resp) {
    const struct kafka_sync_group_request *m = &req->body.sync_group;
    struct kafka_sync_group_response *r = &resp->body.sync_group;
    struct group *g = group_find(lb, m->group_id, false);
    r->assignment = (struct kafka_bytes){(const uint8_t *)"", 0};
    if (g == NULL || !name_is(g->member, m->member_id)) {
        r->error_code = KAFKA_ERR_UNKNOWN_MEMBER_ID;
        return;
    }
    if (m->generation_id != g->generation) {
        r->error_code = KAFKA_ERR_ILLEGAL_GENERATION;
        return;
    }
    for (int32_t i = 0; i < m->assignments_count; i++) {
        const struct kafka_sync_group_assignment *a = &m->assignments[i];
        if (name_is(g->member, a->member_id) && a->assignment.len <= ASSIGNMENT_BYTES_MAX) {
            memcpy(g->assignment, a->assignment.ptr, (size_t)a->assignment.len);
            g->assignment_bytes = a->assignment.len;
        }
    }
    r->assignment = kafka_bytes_of(g->assignment, (size_t)g->assignment_bytes);
}

static int16_t member_check(struct loopback *lb, struct kafka_str group, struct kafka_str member,
                            bool leave) {
    struct group *g = group_find(lb, group, false);
    if (g == NULL || !name_is(g->member, member)) {
        return KAFKA_ERR_UNKNOWN_MEMBER_ID;
    }
    if (leave) {
        g->member[0] = 0;
    }
    return KAFKA_ERR_NONE;
}

static struct committed *committed_find(struct loopback *lb, struct kafka_str group,
                                        struct kafka_str topic, int32_t partition, bool create) {
    for (int32_t i = 0; i < lb->committed_count; i++) {
        struct committed *c = &lb->committed[i];
        if (name_is(c->group, group) && name_is(c->topic, topic) && c->partition == partition) {
            return c;
        }
    }
    if (!create || lb->committed_count == OFFSETS_MAX) {
        return NULL;
    }
    struct committed *c = &lb->committed[lb->committed_count++];
    name_copy(c->group, group);
    name_copy(c->topic, topic);
    c->partition = partition;
    return c;
}

static void handle_offset_commit(struct loopback *lb, const struct kafka_request *req,
                                 struct kafka_response *resp) {
    const struct kafka_offset_commit_request *m = &req->body.offset_commit;
    struct kafka_offset_commit_response *r = &resp->body.offset_commit;
    r->topics_count = m->topics_count;
    r->topics = alloc(lb, (size_t)m->topics_count, sizeof *r->topics);
    for (int32_t i = 0; i < m->topics_count; i++) {
        const struct kafka_offset_commit_topic *t = &m->topics[i];
        r->topics[i].name = t->name;
        r->topics[i].partitions_count = t->partitions_count;
        r->topics[i].partitions =
            alloc(lb, (size_t)t->partitions_count, sizeof(*r->topics[i].partitions));
        for (int32_t j = 0; j < t->partitions_count; j++) {
            const struct kafka_offset_commit_partition *p = &t->partitions[j];
            struct committed *c =
                committed_find(lb, m->group_id, t->name, p->partition_index, true);
            if (c != NULL) {
                c->offset = p->committed_offset;
            }
            r->topics[i].partitions[j] = (struct kafka_offset_commit_partition_response){
                p->partition_index, c != NULL ? KAFKA_ERR_NONE : KAFKA_ERR_UNKNOWN_SERVER_ERROR};
        }
    }
}

static void handle_offset_fetch(struct loopback *lb, const struct kafka_request *req,
                                struct kafka_response *resp) {
    const struct kafka_offset_fetch_request *m = &req->body.offset_fetch;
    struct kafka_offset_fetch_response *r = &resp->body.offset_fetch;
    int32_t n = m->topics_count > 0 ? m->topics_count : 0;
    r->topics_count = n;
    r->topics = alloc(lb, (size_t)n, sizeof *r->topics);
    for (int32_t i = 0; i < n; i++) {
        const struct kafka_offset_fetch_topic *t = &m->topics[i];
        struct kafka_offset_fetch_topic_response *rt = &r->topics[i];
        rt->name = t->name;
        rt->partitions_count = t->partition_indexes_count;
        rt->partitions = alloc(lb, (size_t)t->partition_indexes_count, sizeof *rt->partitions);
        for (int32_t j = 0; j < t->partition_indexes_count; j++) {
            int32_t p = t->partition_indexes[j];
            struct committed *c = committed_find(lb, m->group_id, t->name, p, false);
            rt->partitions[j] = (struct kafka_offset_fetch_partition_response){
                .partition_index = p,
                .committed_offset = c != NULL ? c->offset : -1,
                .committed_leader_epoch = -1,
                .metadata = str_of("")};
        }
    }
}

/* --- admin ------------------------------------------------------------------------------------ */

static void handle_create_topics(struct loopback *lb, const struct kafka_request *req,
                                 struct kafka_response *resp) {
    const struct kafka_create_topics_request *m = &req->body.create_topics;
    struct kafka_create_topics_response *r = &resp->body.create_topics;
    r->topics_count = m->topics_count;
    r->topics = alloc(lb, (size_t)m->topics_count, sizeof *r->topics);
    for (int32_t i = 0; i < m->topics_count; i++) {
        const struct kafka_create_topics_topic *t = &m->topics[i];
        struct kafka_create_topics_topic_response *rt = &r->topics[i];
        *rt = (struct kafka_create_topics_topic_response){t->name, 0, {NULL, -1}};
        int32_t n = t->num_partitions > 0 ? t->num_partitions : 1;
        if (topic_partitions(lb, t->name) > 0) {
            rt->error_code = KAFKA_ERR_TOPIC_ALREADY_EXISTS;
        } else if (n > 16) {
            rt->error_code = KAFKA_ERR_INVALID_PARTITIONS;
        } else if (!m->validate_only && topic_create(lb, t->name, n) != STROM_OK) {
            rt->error_code = KAFKA_ERR_INVALID_TOPIC_EXCEPTION;
        }
    }
}

static void handle_delete_topics(struct loopback *lb, const struct kafka_request *req,
                                 struct kafka_response *resp) {
    const struct kafka_delete_topics_request *m = &req->body.delete_topics;
    struct kafka_delete_topics_response *r = &resp->body.delete_topics;
    r->responses_count = m->topic_names_count;
    r->responses = alloc(lb, (size_t)m->topic_names_count, sizeof *r->responses);
    for (int32_t i = 0; i < m->topic_names_count; i++) {
        bool exists = topic_partitions(lb, m->topic_names[i]) > 0;
        topic_delete(lb, m->topic_names[i]);
        r->responses[i] = (struct kafka_delete_topics_topic_response){
            m->topic_names[i], exists ? KAFKA_ERR_NONE : KAFKA_ERR_UNKNOWN_TOPIC_OR_PARTITION};
    }
}

static void handle_describe_configs(struct loopback *lb, const struct kafka_request *req,
                                    struct kafka_response *resp) {
    static const char *const names[] = {"retention.ms", "cleanup.policy"};
    static const char *const values[] = {"604800000", "delete"};
    const struct kafka_describe_configs_request *m = &req->body.describe_configs;
    struct kafka_describe_configs_response *r = &resp->body.describe_configs;
    r->results_count = m->resources_count;
    r->results = alloc(lb, (size_t)m->resources_count, sizeof *r->results);
    for (int32_t i = 0; i < m->resources_count; i++) {
        const struct kafka_describe_configs_resource *res = &m->resources[i];
        struct kafka_describe_configs_result *rr = &r->results[i];
        *rr = (struct kafka_describe_configs_result){.error_message = {NULL, -1},
                                                     .resource_type = res->resource_type,
                                                     .resource_name = res->resource_name};
        if (res->resource_type == 2 && topic_partitions(lb, res->resource_name) == 0) {
            rr->error_code = KAFKA_ERR_UNKNOWN_TOPIC_OR_PARTITION;
            continue;
        }
        rr->configs = alloc(lb, 2, sizeof *rr->configs);
        for (int k = 0; k < 2; k++) {
            rr->configs[rr->configs_count++] =
                (struct kafka_describe_configs_entry){.name = str_of(names[k]),
                                                      .value = str_of(values[k]),
                                                      .is_default = true,
                                                      .config_source = 5};
        }
    }
}

/* --- dispatch --------------------------------------------------------------------------------- */

/* Fills resp for req; returns false when no response is due (Produce with acks=0). */
static bool handle(struct loopback *lb, const struct kafka_request *req,
                   struct kafka_response *resp) {
    switch (req->header.api_key) {
    case KAFKA_API_PRODUCE:
        handle_produce(lb, req, resp);
        return req->body.produce.acks != 0;
    case KAFKA_API_FETCH:
        handle_fetch(lb, req, resp);
        break;
    case KAFKA_API_LIST_OFFSETS:
        handle_list_offsets(lb, req, resp);
        break;
    case KAFKA_API_METADATA:
        handle_metadata(lb, req, resp);
        break;
    case KAFKA_API_OFFSET_COMMIT:
        handle_offset_commit(lb, req, resp);
        break;
    case KAFKA_API_OFFSET_FETCH:
        handle_offset_fetch(lb, req, resp);
        break;
    case KAFKA_API_FIND_COORDINATOR:
        resp->body.find_coordinator = (struct kafka_find_coordinator_response){
            .error_message = {NULL, -1}, .host = str_of("127.0.0.1"), .port = lb->port};
        break;
    case KAFKA_API_JOIN_GROUP:
        handle_join_group(lb, req, resp);
        break;
    case KAFKA_API_HEARTBEAT:
        resp->body.heartbeat.error_code =
            member_check(lb, req->body.heartbeat.group_id, req->body.heartbeat.member_id, false);
        break;
    case KAFKA_API_LEAVE_GROUP:
        resp->body.leave_group.error_code =
            member_check(lb, req->body.leave_group.group_id, req->body.leave_group.member_id, true);
        break;
    case KAFKA_API_SYNC_GROUP:
        handle_sync_group(lb, req, resp);
        break;
    case KAFKA_API_API_VERSIONS:
        kafka_api_versions_fill(&resp->body.api_versions,
                                alloc(lb, KAFKA_API_COUNT, sizeof(struct kafka_api_version)));
        break;
    case KAFKA_API_CREATE_TOPICS:
        handle_create_topics(lb, req, resp);
        break;
    case KAFKA_API_DELETE_TOPICS:
        handle_delete_topics(lb, req, resp);
        break;
    case KAFKA_API_INIT_PRODUCER_ID:
        resp->body.init_producer_id.producer_id = ++lb->producer_seq;
        break;
    case KAFKA_API_DESCRIBE_CONFIGS:
        handle_describe_configs(lb, req, resp);
        break;
    default:
        strom_unreachable();
    }
    return true;
}

static void dump_request(struct loopback *lb, const uint8_t *frame, uint32_t n, int16_t key,
                         int16_t version) {
    if (lb->dump_dir == NULL || key < 0 || key >= 64 || version < 0 || version >= 64 ||
        (lb->dumped[key] >> version & 1) != 0) {
        return;
    }
    lb->dumped[key] |= 1ull << version;
    char path[512];
    snprintf(path, sizeof path, "%s/api%d_v%d.bin", lb->dump_dir, key, version);
    FILE *f = fopen(path, "wb");
    if (f != NULL) {
        fwrite(frame, 1, n, f);
        fclose(f);
    }
}

/* Sends all len bytes, waiting for room; false when the peer is gone or too slow. */
static bool send_all(struct loopback *lb, int fd, const uint8_t *p, size_t len) {
    while (len > 0) {
        size_t sent = 0;
        struct io_iov iov = {p, len};
        strom_err err = io_sock_send(&lb->io, fd, &iov, 1, &sent);
        if (err == STROM_ERR_AGAIN) {
            uint32_t ready = 0;
            if (io_fd_wait(&lb->io, fd, IO_POLL_OUT, SEND_WAIT_NS, &ready) != STROM_OK ||
                ready == 0) {
                return false;
            }
            continue;
        }
        if (err != STROM_OK) {
            return false;
        }
        p += sent;
        len -= sent;
    }
    return true;
}

/* Answers one request frame; false when the connection must close. */
static bool serve_frame(struct loopback *lb, int fd, const uint8_t *frame, uint32_t n) {
    kafka_arena_init(&lb->arena, lb->arena_mem, sizeof lb->arena_mem);
    struct kafka_request req;
    strom_err err = kafka_request_decode(frame, n, &lb->arena, &req);
    lb->requests++;
    dump_request(lb, frame, n, req.header.api_key, req.header.api_version);
    size_t len = 0;
    if (err == STROM_ERR_UNSUPPORTED_VERSION && req.header.api_key == KAFKA_API_API_VERSIONS) {
        lb->unsupported++;
        strom_assert(kafka_api_versions_fallback(req.header.correlation_id, lb->out, sizeof lb->out,
                                                 &len) == STROM_OK);
        return send_all(lb, fd, lb->out, len);
    }
    if (err != STROM_OK) {
        lb->malformed +=
            err == STROM_ERR_UNSUPPORTED_VERSION || err == STROM_ERR_UNSUPPORTED ? 0 : 1;
        lb->unsupported +=
            err == STROM_ERR_UNSUPPORTED_VERSION || err == STROM_ERR_UNSUPPORTED ? 1 : 0;
        fprintf(stderr, "kafka_loopback: api %d v%d: %s: closing\n", req.header.api_key,
                req.header.api_version, strom_errname(err));
        return false;
    }
    struct kafka_response resp;
    memset(&resp, 0, sizeof resp);
    resp.api_key = req.header.api_key;
    resp.api_version = req.header.api_version;
    resp.correlation_id = req.header.correlation_id;
    if (!handle(lb, &req, &resp)) {
        return true;
    }
    strom_assert(kafka_response_encode(&resp, lb->out, sizeof lb->out, &len) == STROM_OK);
    return send_all(lb, fd, lb->out, len);
}

/* --- the loop --------------------------------------------------------------------------------- */

static void conn_close(struct loopback *lb, struct conn *c) {
    (void)io_poller_control(&lb->io, lb->poller, IO_POLL_REMOVE, c->fd, 0, 0);
    (void)io_sock_close(&lb->io, c->fd);
    c->fd = -1;
    c->have = 0;
}

/* Reads what is there and answers every whole frame, in order. */
static void conn_readable(struct loopback *lb, struct conn *c) {
    size_t got = 0;
    strom_err err = io_sock_recv(&lb->io, c->fd, c->buf + c->have, sizeof c->buf - c->have, &got);
    if (err == STROM_ERR_AGAIN) {
        return;
    }
    if (err != STROM_OK) {
        conn_close(lb, c);
        return;
    }
    c->have += (uint32_t)got;
    uint32_t at = 0;
    for (;;) {
        uint32_t n = 0;
        err = kafka_frame_peek(c->buf + at, c->have - at, FRAME_BYTES_MAX, &n);
        if (err == STROM_ERR_AGAIN) {
            break;
        }
        if (err != STROM_OK || !serve_frame(lb, c->fd, c->buf + at + 4, n)) {
            lb->malformed += err != STROM_OK ? 1 : 0;
            conn_close(lb, c);
            return;
        }
        at += KAFKA_FRAME_PREFIX_BYTES + n;
    }
    memmove(c->buf, c->buf + at, c->have - at);
    c->have -= at;
}

static void accept_all(struct loopback *lb) {
    for (int i = 0; i < CONN_MAX; i++) {
        if (lb->conns[i].fd >= 0) {
            continue;
        }
        int fd = -1;
        if (io_tcp_accept(&lb->io, lb->listen_fd, &fd) != STROM_OK) {
            return;
        }
        lb->conns[i].fd = fd;
        lb->conns[i].have = 0;
        strom_assert(io_poller_control(&lb->io, lb->poller, IO_POLL_ADD, fd, IO_POLL_IN,
                                       (uint64_t)i) == STROM_OK);
    }
}

static void serve(struct loopback *lb, uint64_t seconds) {
    uint64_t deadline = io_clock_monotonic_ns(&lb->io) + seconds * 1000000000ull;
    while (!io_signal_take(&lb->io, IO_SIGNAL_TERM) && io_clock_monotonic_ns(&lb->io) < deadline) {
        struct io_poll_event ev[EVENTS_MAX];
        uint32_t count = 0;
        strom_assert(io_poller_wait(&lb->io, lb->poller, ev, EVENTS_MAX, 100000000ull, &count) ==
                     STROM_OK);
        for (uint32_t i = 0; i < count; i++) {
            if (ev[i].token == LISTEN_TOKEN) {
                accept_all(lb);
            } else if (lb->conns[ev[i].token].fd >= 0) {
                conn_readable(lb, &lb->conns[ev[i].token]);
            }
        }
    }
}

int main(int argc, char **argv) {
    struct loopback *lb = calloc(1, sizeof *lb);
    strom_assert(lb != NULL);
    uint64_t seconds = 120;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--seconds") == 0) {
            seconds = strtoull(argv[i + 1], NULL, 10);
        } else if (strcmp(argv[i], "--dump") == 0) {
            lb->dump_dir = argv[i + 1];
        }
    }
    io_linux_init(&lb->io);
    for (int i = 0; i < CONN_MAX; i++) {
        lb->conns[i].fd = -1;
    }
    strom_assert(io_signal_catch(&lb->io, IO_SIGNAL_TERM) == STROM_OK);
    strom_assert(io_signal_ignore(&lb->io, IO_SIGNAL_PIPE) == STROM_OK);
    strom_assert(io_tcp_listen(&lb->io, "127.0.0.1", 0, 64, &lb->listen_fd, &lb->port) == STROM_OK);
    strom_assert(io_poller_create(&lb->io, &lb->poller) == STROM_OK);
    strom_assert(io_poller_control(&lb->io, lb->poller, IO_POLL_ADD, lb->listen_fd, IO_POLL_IN,
                                   LISTEN_TOKEN) == STROM_OK);
    printf("port %u\n", lb->port);
    fflush(stdout);
    serve(lb, seconds);
    for (int i = 0; i < CONN_MAX; i++) {
        if (lb->conns[i].fd >= 0) {
            conn_close(lb, &lb->conns[i]);
        }
    }
    printf("kafka_loopback: requests %llu malformed %llu unsupported %llu\n",
           (unsigned long long)lb->requests, (unsigned long long)lb->malformed,
           (unsigned long long)lb->unsupported);
    free(lb);
    return 0;
}
