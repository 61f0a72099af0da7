/*
 * kgroup.h: a Kafka consumer group (the classic protocol) as the fold of its stream.
 *
 * Every change to a group is a record appended to its stream /sys/groups/<group> through the
 * sequencer: a batch of ssim lines, a head record and its items (`strom read` shows them):
 *   kafka.join       ref: member: client: session_ms: rebalance_ms: protocol_type: new_ok: count:
 *     kafka.protocol   name: metadata:                       (count items)
 *   kafka.sync       ref: member: generation: count:
 *     kafka.assignment member: assignment:                   (count items)
 *   kafka.heartbeat  ref: member: generation:
 *   kafka.leave      ref: member:
 *   kafka.tick       ref:
 *   kafka.commit     ref: member: generation: count:
 *     kafka.offset     topic: partition: offset: leader_epoch: metadata:   (count items)
 * The state is what folding those batches in offset order gives, using nothing but their contents
 * and the node's timestamp of each batch (never a process's clock): every gateway that folds the
 * same stream holds the same state and computes the same outcome for every record, so each
 * gateway answers the requests of its own connections and no gateway has to ask another. A
 * record's `ref` names the request that wrote it (its gateway in the top byte).
 *
 * Time: a member expires once a batch with a timestamp past its last sign of life (join, leader's
 * sync, heartbeat, commit) + its session timeout is folded; a rebalance ends when every member
 * has joined again or once a batch with a timestamp past its deadline (start + the largest
 * rebalance timeout) is folded. A gateway that waits for such a deadline appends a tick record.
 *
 * The rebalance (after Apache Kafka's GroupCoordinator): EMPTY -> PREPARING (a join; a change of
 * members: every member must join again) -> COMPLETING (all joined: generation + 1, the leader
 * gets every member's metadata for the chosen protocol) -> STABLE (the leader's sync carries the
 * assignments) -> PREPARING again on the next change. The assignors are the clients' own.
 *
 * Bad records (only gateways write these streams, but a stream is disk input) are skipped and
 * counted, never trusted: every count and length is checked against the bounds below.
 */
#ifndef STROM_NODE_KGROUP_H
#define STROM_NODE_KGROUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/error.h"
#include "kafka/wire.h"

#define KGROUP_MEMBERS_MAX          64   /* members of one group */
#define KGROUP_MEMBER_ID_BYTES_MAX  160  /* a member id */
#define KGROUP_CLIENT_ID_BYTES_MAX  120  /* the client id part of a member id made here */
#define KGROUP_PROTOCOLS_MAX        8    /* protocols one member offers */
#define KGROUP_NAME_BYTES_MAX       64   /* a protocol name or protocol type */
#define KGROUP_METADATA_BYTES_MAX   2048 /* the metadata of all protocols of one member */
#define KGROUP_ASSIGNMENT_BYTES_MAX 2048 /* one member's assignment */
#define KGROUP_OFFSETS_MAX          1024 /* committed partitions of one group */
#define KGROUP_OFFSET_METADATA_MAX  128  /* the metadata string of a committed offset */
#define KGROUP_SESSION_MS_MIN       1000
#define KGROUP_SESSION_MS_MAX       1800000
#define KGROUP_RECORD_ITEMS_MAX     4096 /* items of one record batch */
#define KGROUP_ERR_GROUP_MAX_SIZE   81   /* Kafka's GROUP_MAX_SIZE_REACHED */

enum kgroup_state {
    KGROUP_EMPTY = 0,
    KGROUP_PREPARING = 1,  /* a rebalance: members join again */
    KGROUP_COMPLETING = 2, /* joined: waiting for the leader's assignments */
    KGROUP_STABLE = 3,
};

struct kgroup_member {
    uint16_t id_len;
    char id[KGROUP_MEMBER_ID_BYTES_MAX];
    int32_t session_ms;
    int32_t rebalance_ms;
    uint64_t last_seen_ns; /* the batch timestamp of its last sign of life */
    uint64_t join_ref;     /* != 0: joined the rebalance in progress; its JoinGroup waits */
    int32_t generation;    /* the last generation it was a member of (-1: none yet) */
    uint8_t protocol_count;
    uint16_t name_off[KGROUP_PROTOCOLS_MAX]; /* protocol names and metadata in blob */
    uint16_t name_len[KGROUP_PROTOCOLS_MAX];
    uint16_t meta_off[KGROUP_PROTOCOLS_MAX];
    uint16_t meta_len[KGROUP_PROTOCOLS_MAX];
    uint16_t blob_used;
    uint16_t assignment_len;
    uint8_t blob[KGROUP_METADATA_BYTES_MAX];
    uint8_t assignment[KGROUP_ASSIGNMENT_BYTES_MAX];
};

struct kgroup_offset {
    uint64_t stream_id; /* the partition's stream */
    int64_t offset;
    int32_t leader_epoch;
    uint16_t metadata_len;
    char metadata[KGROUP_OFFSET_METADATA_MAX];
};

struct kgroup {
    enum kgroup_state state;
    int32_t generation;
    uint64_t rebalance_deadline_ns; /* PREPARING: the batch timestamp that ends it */
    uint16_t protocol_type_len;
    uint16_t protocol_len; /* the chosen protocol (COMPLETING, STABLE) */
    uint16_t leader_len;
    char protocol_type[KGROUP_NAME_BYTES_MAX];
    char protocol[KGROUP_NAME_BYTES_MAX];
    char leader[KGROUP_MEMBER_ID_BYTES_MAX];
    uint64_t folded;      /* batches folded */
    uint64_t bad_records; /* batches skipped as malformed */
    uint32_t member_count;
    uint32_t offset_count;
    struct kgroup_member members[KGROUP_MEMBERS_MAX]; /* in the order they first joined */
    struct kgroup_offset offsets[KGROUP_OFFSETS_MAX];
};

/* What a folded record means for the request that wrote it. */
struct kgroup_outcome {
    uint64_t ref;
    int16_t error; /* a Kafka error code */
    int32_t generation;
    const char *member_id; /* join: the member's id (a new member's is made here) */
    uint16_t member_id_len;
};

/* The fold's view of the world. */
struct kgroup_env {
    void *arg;
    /* A record's outcome (every record with a ref but tick gets one; a JoinGroup's comes when
     * its rebalance completes or fails). */
    void (*outcome)(void *arg, const struct kgroup_outcome *o);
    /* The stream of topic partition p: true and *stream_id when it exists. */
    bool (*resolve)(void *arg, const char *topic, size_t len, int32_t partition,
                    uint64_t *stream_id);
    /* Where quoted values are unescaped: KGROUP_SCRATCH_BYTES, used while a batch is folded. */
    char *scratch;
};

#define KGROUP_SCRATCH_BYTES (64u * 1024) /* twice the longest record line a writer makes */

/* An empty group (generation 0). Touches only the header, not the member and offset tables. */
void kgroup_init(struct kgroup *g);

/*
 * Folds one batch of the group's stream: count messages of the native message set set[0, bytes)
 * (msgset.h), which the node stamped ts_ns and placed at base_offset. A malformed batch changes
 * nothing and counts as bad (CORRUPT is returned).
 */
strom_err kgroup_fold(struct kgroup *g, const struct kgroup_env *env, uint64_t ts_ns,
                      uint64_t base_offset, const uint8_t *set, uint32_t bytes, uint32_t count);

/* --- reading the state ------------------------------------------------------------------------ */

const struct kgroup_member *kgroup_member_find(const struct kgroup *g, const char *id, size_t len);
/* The metadata m offered for the group's chosen protocol (len 0 when none). */
struct kafka_bytes kgroup_member_metadata(const struct kgroup *g, const struct kgroup_member *m);
const struct kgroup_offset *kgroup_offset_find(const struct kgroup *g, uint64_t stream_id);
/* The next batch timestamp at which folding a tick would change the state; UINT64_MAX: none. */
uint64_t kgroup_deadline_ns(const struct kgroup *g);
/* "Empty", "PreparingRebalance", "CompletingRebalance", "Stable". */
const char *kgroup_state_name(enum kgroup_state s);

/* --- writing records (the gateway) ------------------------------------------------------------ */

/* A record batch being built as a native message set in the caller's buffer. */
struct kgroup_writer {
    uint8_t *buf;
    size_t cap;
    size_t used;
    uint32_t count;
    bool overflow; /* a message did not fit: the batch is unusable */
};

struct kgroup_protocol_in {
    struct kafka_str name;
    struct kafka_bytes metadata;
};

struct kgroup_assignment_in {
    struct kafka_str member;
    struct kafka_bytes assignment;
};

struct kgroup_offset_in {
    struct kafka_str topic;
    int32_t partition;
    int64_t offset;
    int32_t leader_epoch;
    struct kafka_str metadata; /* nullable */
};

void kgroup_writer_init(struct kgroup_writer *w, uint8_t *buf, size_t cap);
void kgroup_write_join(struct kgroup_writer *w, uint64_t ref, struct kafka_str member,
                       struct kafka_str client, int32_t session_ms, int32_t rebalance_ms,
                       struct kafka_str protocol_type, bool new_ok,
                       const struct kgroup_protocol_in *protocols, uint32_t count);
void kgroup_write_sync(struct kgroup_writer *w, uint64_t ref, struct kafka_str member,
                       int32_t generation, const struct kgroup_assignment_in *assignments,
                       uint32_t count);
void kgroup_write_heartbeat(struct kgroup_writer *w, uint64_t ref, struct kafka_str member,
                            int32_t generation);
void kgroup_write_leave(struct kgroup_writer *w, uint64_t ref, struct kafka_str member);
void kgroup_write_tick(struct kgroup_writer *w, uint64_t ref);
/* The head of a commit, then one kgroup_write_offset per partition (count of them). */
void kgroup_write_commit(struct kgroup_writer *w, uint64_t ref, struct kafka_str member,
                         int32_t generation, uint32_t count);
void kgroup_write_offset(struct kgroup_writer *w, const struct kgroup_offset_in *o);

#endif
