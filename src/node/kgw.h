/*
 * kgw.h: the Kafka protocol in a gateway (docs/kafka.md), internal to its files:
 *   gateway_kafka.c  connections, the order of responses, parking, answers, the turn;
 *   kgw_data.c       Produce, Fetch, ListOffsets, InitProducerId;
 *   kgw_admin.c      ApiVersions, Metadata, FindCoordinator, CreateTopics, DeleteTopics,
 *                    DescribeConfigs, and the topic/partition <-> stream mapping;
 *   kgw_group.c      the group coordinator (JoinGroup .. OffsetFetch) over kgroup.h.
 *
 * Order. Responses leave a connection in the order of its requests, and a request is handled
 * only when every request before it has been answered, as Apache Kafka's broker does (it mutes a
 * connection while a request is in progress), with one exception: Produce and CreateTopics
 * requests, whose work is done by the sequencer, are pipelined. They go into the connection's
 * FIFO (at most KGW_INFLIGHT_MAX), their sub-requests go to the sequencer at once, and their
 * responses are written in FIFO order as their answers come back. Any other request waits until
 * the FIFO is empty.
 *
 * Requests stay in the connection's input buffer until they are answered: a pipelined request is
 * decoded again to write its response (so nothing of it is copied), and a request that waits (a
 * long-polling Fetch, a group request waiting for its record to be folded, a request behind the
 * FIFO) is decoded again when it is resumed. The FIFO covers the first parsed_bytes of the input
 * buffer, in order, at every call of the input handler.
 *
 * Parking. A request that waits for an event (data, a group outcome, a timer) "parks" its
 * connection: the gateway stops reading it (read_blocked, parked) and this module resumes it
 * (gw_conn_resume) when the event comes; a request blocked for room (request ring, output) only
 * sets read_blocked and the gateway retries it.
 */
#ifndef STROM_NODE_KGW_H
#define STROM_NODE_KGW_H

#include <stdbool.h>
#include <stdint.h>

#include "kafka/messages.h"
#include "kafka/record_batch.h"
#include "node/gateway.h"
#include "node/kconv.h"
#include "node/kgroup.h"
#include "store/store.h"

#define KGW_INFLIGHT_MAX 16         /* pipelined Produce/CreateTopics per connection */
#define KGW_RESULTS_MAX  1024       /* their units (partitions, topics) per connection */
#define KGW_DECODE_BYTES (4u << 20) /* a decoded request's arrays (above: closed) */
#define KGW_RESPONSE_BYTES                                                                         \
    (24u << 20)                            /* its response's arrays: 4x the request's at most,     \
                                              plus what Metadata bounds itself */
#define KGW_RESPONSE_HINT     (64u * 1024) /* output room first asked for a response */
#define KGW_FETCH_WAIT_MAX_MS 60000        /* longest long poll (a client's max_wait_ms above) */
#define KGW_NODE_ID           0            /* this node's broker id */
#define KGW_TOPIC_BYTES_MAX   249          /* Kafka's longest topic name */
#define KGW_PATH_BYTES        300          /* room for "/T/p" */
#define KGW_TOPIC_PARTITIONS_MAX                                                                   \
    262144                                 /* partitions of one topic: a Metadata response holds   \
                                                them all (24 MiB of arrays, 16 MiB encoded) */
#define KGW_METADATA_TOPICS_MAX 65536      /* topics listed by one Metadata for all topics */
#define KGW_GROUPS_MAX          64         /* groups whose state one gateway holds */
#define KGW_FETCH_WATCH_MAX     8          /* streams a parked Fetch watches one by one */
#define KGW_TICK_MIN_NS         100000000u /* at most one tick record per group per 100 ms */

/* Tags of the gateway's pending requests (gw_pending.frame_type) for on_answer. */
enum kgw_tag {
    KGW_TAG_UNIT = 1,   /* a sub-request of a FIFO entry's unit: client_request = result seq */
    KGW_TAG_GROUP = 2,  /* a group record: client_request = its ref */
    KGW_TAG_IGNORE = 3, /* nobody waits for the answer (acks=0, Metadata's auto-create) */
};

/* What a request handler did. */
enum kgw_done {
    KGW_DONE = 0,   /* answered (or needs no answer): consume it */
    KGW_ROOM = 1,   /* no room now (output, request ring): retry when there is */
    KGW_PARKED = 2, /* waits for an event; the connection is parked */
    KGW_CLOSE = 3,  /* a protocol violation: the connection closes */
};

/* The outcome of a FIFO entry's unit (a Produce partition, a CreateTopics topic). */
struct kgw_result {
    int64_t base_offset; /* Produce: offset of its first record; -1 until known */
    int16_t error;       /* the first Kafka error */
    uint16_t pending;    /* sub-requests sent and not answered */
    bool submitting;     /* more sub-requests to send */
    bool created;        /* CreateTopics: a partition was created by this request */
};

/* A pipelined request in the connection's FIFO. */
struct kgw_inflight {
    uint32_t frame_bytes;   /* with its size prefix */
    uint64_t results_start; /* its first unit's result sequence number */
    uint32_t units;         /* results it holds */
    uint32_t units_left;    /* units not yet complete */
    uint32_t units_done;    /* units whose sub-requests are all sent */
    uint32_t subs_done;     /* of the next unit: sub-requests sent */
    int16_t api_key;
    bool submitting;  /* sub-requests left to send */
    bool responded;   /* its response is written (or none is due): consume it */
    bool no_response; /* Produce with acks=0 */
};

enum kgw_wait {
    KGW_WAIT_NONE = 0,
    KGW_WAIT_FIFO = 1,  /* the head request waits for the FIFO to empty (or input room) */
    KGW_WAIT_FETCH = 2, /* a Fetch waits for data or its deadline */
    KGW_WAIT_GROUP = 3, /* a group request waits for its outcome */
};

/* The head request of a connection while it waits. */
struct kgw_park {
    enum kgw_wait wait;
    int32_t correlation_id; /* recognizes the request when it is decoded again */
    int16_t api_key;
    uint64_t deadline_ns; /* monotonic: a Fetch answers, a group request ticks */
    uint64_t ref;         /* a group record's ref, 0 when none */
    uint32_t group;       /* the group's slot (KGW_WAIT_GROUP) */
    bool submitted;       /* the group record is sent */
    bool resolved;        /* the outcome is known (below) */
    int16_t error;
    int32_t generation;
    uint16_t member_len;
    char member[KGROUP_MEMBER_ID_BYTES_MAX];
    /* A Fetch's streams and their high watermarks when it parked: it is looked at again only
     * when one of them moved (or, with more streams than this holds, when any commit's did). */
    uint32_t watch_count;
    bool watch_all;
    uint64_t watch_id[KGW_FETCH_WATCH_MAX];
    uint64_t watch_hw[KGW_FETCH_WATCH_MAX];
};

/* The Kafka state of one connection (indexed like gw_conn). */
struct kgw_conn {
    uint32_t generation; /* the gw_conn generation it belongs to */
    uint32_t fifo_head;
    uint32_t fifo_len;
    uint32_t parsed_bytes; /* input bytes covered by the FIFO */
    uint64_t results_next; /* sequence number of the next result handed out */
    uint64_t results_free; /* results below this are free again */
    bool listed;           /* on the parked list */
    struct kgw_inflight fifo[KGW_INFLIGHT_MAX];
    struct kgw_park park;
    struct kgw_result results[KGW_RESULTS_MAX];
};

/* A group whose state this gateway holds (kgw_group.c). */
struct kgw_group {
    bool used;
    bool loaded;           /* folded from its stream up to `next` */
    uint64_t stream_id;    /* UINT64_MAX until the stream exists */
    uint64_t next;         /* the next offset of the stream to fold */
    uint64_t last_use_ns;  /* monotonic: the least recently used idle group is dropped */
    uint64_t tick_sent_ns; /* monotonic: the last tick record this gateway sent */
    uint32_t waiters;      /* parked connections waiting on it */
    uint16_t path_len;
    char path[KGW_PATH_BYTES];
    struct kgroup state;
};

/* The Kafka protocol's root (one per gateway). */
struct kgw {
    struct kgw_conn *conns;    /* connections_max */
    uint8_t *arena_mem;        /* KGW_DECODE_BYTES then KGW_RESPONSE_BYTES */
    struct kafka_arena arena;  /* decoded requests */
    struct kafka_arena answer; /* response arrays; both reset with each decode */
    uint8_t *fetch_buf;        /* record sets of a Fetch response */
    uint32_t fetch_cap;        /* its size: a response's room less reserve_bytes */
    uint32_t reserve_bytes;    /* room kept in a Fetch response for all but its record sets */
    struct kconv_build build;
    struct kafka_batch_limits limits; /* of produced batches */
    uint32_t *parked;                 /* connections parked on a Fetch or a group */
    uint32_t parked_len;
    uint64_t durable_seen[NODE_COMMITS_MAX]; /* positions at the last look for parked fetches */
    uint64_t producer_id_last;               /* InitProducerId: the last id handed out */
    uint64_t ref_next;                       /* group record refs: gateway index in the top byte */
    struct kgw_group *groups;                /* KGW_GROUPS_MAX */
    char host[NODE_HOST_BYTES_MAX];          /* advertised in Metadata and FindCoordinator */
    uint8_t *record_buf;                     /* a group record being built */
    uint32_t record_cap;
    char *fold_scratch;         /* KGROUP_SCRATCH_BYTES for the fold */
    struct store_cursor cursor; /* reads of a store (Fetch, ListOffsets, groups) */
};

/* --- gateway_kafka.c ----------------------------------------------------------------------- */

/* The Kafka state of c. */
struct kgw_conn *kgw_conn_of(struct gateway *gw, const struct gw_conn *c);
/* Encodes resp into c's output; false when there is no room now. */
bool kgw_send(struct gateway *gw, struct gw_conn *c, const struct kafka_response *resp);
/* Response memory for count elements of elem bytes (never NULL: KGW_RESPONSE_BYTES bounds
 * every response by its request, and Metadata checks kgw_alloc_left first). */
void *kgw_alloc(struct gateway *gw, size_t count, size_t elem);
/* Bytes kgw_alloc can still hand out for this response. */
size_t kgw_alloc_left(const struct gateway *gw);
/* Parks c's head request (header h) until an event of kind wait (deadline_ns: 0 none). */
void kgw_park(struct gateway *gw, struct gw_conn *c, const struct kafka_request_header *h,
              enum kgw_wait wait, uint64_t deadline_ns);
/* True when c's park belongs to the request of header h (it was decoded again). */
bool kgw_park_is(const struct kgw_conn *kc, const struct kafka_request_header *h);
/* Resumes c (parked) at the next turn. */
void kgw_wake(struct gateway *gw, struct gw_conn *c);
/* Sends a sub-request for c (gw_request_submit with a tag). */
strom_err kgw_submit(struct gateway *gw, struct gw_conn *c, uint16_t type,
                     const struct node_request *req, const char *path, const void *msgs,
                     uint64_t client_request, enum kgw_tag tag, bool sync);

/* --- kgw_admin.c: topics and streams -------------------------------------------------------- */

/* True when name is a topic name strom serves: Kafka's rules ([A-Za-z0-9._-], 1..249 bytes, not
 * "." or "..") and not "sys" (the node's own namespace). */
bool kgw_topic_valid(struct kafka_str name);
/* Writes "/T/p" into buf (KGW_PATH_BYTES); returns its length, 0 when topic or p is not valid. */
uint32_t kgw_path(struct kafka_str topic, int32_t partition, char *buf);
/* The stream of topic partition p: true and *id when it exists. */
bool kgw_stream_find(struct gateway *gw, struct kafka_str topic, int32_t partition, uint64_t *id);
/* The partitions of a topic: n such that /T/0 .. /T/n-1 exist (0: no topic). */
int32_t kgw_topic_partitions(struct gateway *gw, struct kafka_str topic);

enum kgw_done kgw_api_versions(struct gateway *gw, struct gw_conn *c,
                               const struct kafka_request *q);
enum kgw_done kgw_metadata(struct gateway *gw, struct gw_conn *c, const struct kafka_request *q);
enum kgw_done kgw_find_coordinator(struct gateway *gw, struct gw_conn *c,
                                   const struct kafka_request *q);
enum kgw_done kgw_delete_topics(struct gateway *gw, struct gw_conn *c,
                                const struct kafka_request *q);
enum kgw_done kgw_describe_configs(struct gateway *gw, struct gw_conn *c,
                                   const struct kafka_request *q);
/* CreateTopics: the units are topics, a topic's sub-requests create its partitions. */
uint32_t kgw_create_units(const struct kafka_request *q);
strom_err kgw_create_submit(struct gateway *gw, struct gw_conn *c, struct kgw_inflight *f,
                            const struct kafka_request *q);
bool kgw_create_respond(struct gateway *gw, struct gw_conn *c, const struct kgw_inflight *f,
                        const struct kafka_request *q);

/* --- kgw_data.c ------------------------------------------------------------------------------ */

/* Produce: the units are partitions, a partition's sub-requests its batches. */
uint32_t kgw_produce_units(const struct kafka_request *q);
strom_err kgw_produce_submit(struct gateway *gw, struct gw_conn *c, struct kgw_inflight *f,
                             const struct kafka_request *q);
bool kgw_produce_respond(struct gateway *gw, struct gw_conn *c, const struct kgw_inflight *f,
                         const struct kafka_request *q);
enum kgw_done kgw_fetch(struct gateway *gw, struct gw_conn *c, const struct kafka_request *q);
enum kgw_done kgw_list_offsets(struct gateway *gw, struct gw_conn *c,
                               const struct kafka_request *q);
enum kgw_done kgw_init_producer_id(struct gateway *gw, struct gw_conn *c,
                                   const struct kafka_request *q);

/* --- kgw_group.c ----------------------------------------------------------------------------- */

strom_err kgw_groups_open(struct gateway *gw);
/* JoinGroup, SyncGroup, Heartbeat, LeaveGroup, OffsetCommit, OffsetFetch. */
enum kgw_done kgw_group_request(struct gateway *gw, struct gw_conn *c,
                                const struct kafka_request *q);
/* A group record's answer came back (b): an error fails its request; a first record tells the
 * group's new stream id. */
void kgw_group_answer(struct gateway *gw, struct gw_conn *c, uint64_t ref,
                      const struct node_batch *b);
/* A durable batch entry of the node log: folds it when it is a held group's. */
void kgw_groups_on_log(struct gateway *gw, const struct ring_entry *e);
/* The groups' timers (ticks); returns ns until the next. */
uint64_t kgw_groups_turn(struct gateway *gw);
/* A parked group request's connection went away. */
void kgw_group_unwait(struct gateway *gw, struct kgw_conn *kc);

#endif
