/*
 * messages.h: the request and response bodies of every Kafka API strom serves, as C structs, and
 * the functions that decode and encode whole frames of them.
 *
 * Source: the message definitions of Apache Kafka (clients/src/main/resources/common/message/
 * <Name>Request.json and <Name>Response.json) and kafka.apache.org/protocol. Field names follow
 * those files in snake_case; a field exists from the version noted beside it ("v3+") and is
 * ignored (neither read nor written) at other versions.
 *
 * Decoded structs hold views (kafka_str, kafka_bytes) into the request buffer, which must outlive
 * them, and arrays taken from a caller's kafka_arena; decoding calls no malloc. Every array is
 * bounded by the named maximum beside it, by the bytes left in the frame, and by the arena.
 * Strings are null when len is -1; arrays marked nullable are null when their count is -1.
 */
#ifndef STROM_KAFKA_MESSAGES_H
#define STROM_KAFKA_MESSAGES_H

#include "kafka/api.h"
#include "kafka/wire.h"

/* Named maxima of the arrays in requests and responses (per array, per enclosing element). */
#define KAFKA_TOPICS_MAX          1024 /* topics (or config resources) in one message */
#define KAFKA_PARTITIONS_MAX      8192 /* partitions of one topic in one message */
#define KAFKA_REPLICAS_MAX        1024 /* broker ids in one replica, ISR or assignment list */
#define KAFKA_BROKERS_MAX         1024 /* brokers in a Metadata response */
#define KAFKA_GROUP_PROTOCOLS_MAX 64   /* protocols a JoinGroup member offers */
#define KAFKA_GROUP_MEMBERS_MAX   4096 /* members in a JoinGroup response or SyncGroup request */
#define KAFKA_CONFIGS_MAX         1024 /* configs of one topic or resource */
#define KAFKA_API_KEYS_MAX        256  /* entries of an ApiVersions response */
#define KAFKA_ABORTED_TXNS_MAX    1024 /* aborted transactions of one fetched partition */
#define KAFKA_OLD_OFFSETS_MAX     1024 /* offsets of a ListOffsets v0 partition */
#define KAFKA_RECORD_SEGMENTS_MAX 256  /* pieces an encoded Fetch record set is gathered from */
/* Largest bytes field (records, group metadata): a request frame is bounded the same way. */
#define KAFKA_BYTES_FIELD_MAX KAFKA_REQUEST_BYTES_DEFAULT_MAX

/* --- Produce (0) --------------------------------------------------------------------------- */

struct kafka_produce_partition {
    int32_t index;
    struct kafka_bytes records; /* nullable: RecordBatches, as sent */
};

struct kafka_produce_topic {
    struct kafka_str name;
    int32_t partitions_count;
    struct kafka_produce_partition *partitions; /* at most KAFKA_PARTITIONS_MAX */
};

struct kafka_produce_request {
    struct kafka_str transactional_id; /* v3+, nullable */
    int16_t acks;                      /* 0: no response, 1: leader, -1: all */
    int32_t timeout_ms;
    int32_t topics_count;
    struct kafka_produce_topic *topics; /* at most KAFKA_TOPICS_MAX */
};

struct kafka_produce_partition_response {
    int32_t index;
    int16_t error_code;
    int64_t base_offset;
    int64_t log_append_time_ms; /* v2+, -1 for CreateTime */
    int64_t log_start_offset;   /* v5+ */
};

struct kafka_produce_topic_response {
    struct kafka_str name;
    int32_t partitions_count;
    struct kafka_produce_partition_response *partitions;
};

struct kafka_produce_response {
    int32_t topics_count;
    struct kafka_produce_topic_response *topics;
    int32_t throttle_time_ms; /* v1+ (last field on the wire) */
};

/* --- Fetch (1) ----------------------------------------------------------------------------- */

struct kafka_fetch_partition {
    int32_t partition;
    int32_t current_leader_epoch; /* v9+ */
    int64_t fetch_offset;
    int64_t log_start_offset; /* v5+ */
    int32_t partition_max_bytes;
};

struct kafka_fetch_topic {
    struct kafka_str topic;
    int32_t partitions_count;
    struct kafka_fetch_partition *partitions;
};

struct kafka_fetch_forgotten_topic {
    struct kafka_str topic;
    int32_t partitions_count;
    int32_t *partitions;
};

struct kafka_fetch_request {
    int32_t replica_id;
    int32_t max_wait_ms;
    int32_t min_bytes;
    int32_t max_bytes;      /* v3+ */
    int8_t isolation_level; /* v4+ */
    int32_t session_id;     /* v7+ */
    int32_t session_epoch;  /* v7+ */
    int32_t topics_count;
    struct kafka_fetch_topic *topics;
    int32_t forgotten_topics_count; /* v7+ */
    struct kafka_fetch_forgotten_topic *forgotten_topics;
    struct kafka_str rack_id; /* v11+ */
};

struct kafka_fetch_aborted_txn {
    int64_t producer_id;
    int64_t first_offset;
};

struct kafka_fetch_partition_response {
    int32_t partition;
    int16_t error_code;
    int64_t high_watermark;
    int64_t last_stable_offset;         /* v4+ */
    int64_t log_start_offset;           /* v5+ */
    int32_t aborted_transactions_count; /* v4+, nullable */
    struct kafka_fetch_aborted_txn *aborted_transactions;
    int32_t preferred_read_replica; /* v11+ */
    /*
     * The record set. Decoding fills records. Encoding writes records, or, when
     * record_segments_count > 0, the concatenation of record_segments (whole stored batches
     * gathered without a copy in between; at most KAFKA_RECORD_SEGMENTS_MAX).
     */
    struct kafka_bytes records;
    int32_t record_segments_count;
    const struct kafka_bytes *record_segments;
};

struct kafka_fetch_topic_response {
    struct kafka_str topic;
    int32_t partitions_count;
    struct kafka_fetch_partition_response *partitions;
};

struct kafka_fetch_response {
    int32_t throttle_time_ms; /* v1+ */
    int16_t error_code;       /* v7+ */
    int32_t session_id;       /* v7+ */
    int32_t topics_count;
    struct kafka_fetch_topic_response *topics;
};

/* --- ListOffsets (2) ----------------------------------------------------------------------- */

struct kafka_list_offsets_partition {
    int32_t partition_index;
    int64_t timestamp;       /* -1 latest, -2 earliest, else a time in ms */
    int32_t max_num_offsets; /* v0 only */
};

struct kafka_list_offsets_topic {
    struct kafka_str name;
    int32_t partitions_count;
    struct kafka_list_offsets_partition *partitions;
};

struct kafka_list_offsets_request {
    int32_t replica_id;
    int8_t isolation_level; /* v2+ */
    int32_t topics_count;
    struct kafka_list_offsets_topic *topics;
};

struct kafka_list_offsets_partition_response {
    int32_t partition_index;
    int16_t error_code;
    int32_t old_style_offsets_count; /* v0 only */
    int64_t *old_style_offsets;
    int64_t timestamp; /* v1+ */
    int64_t offset;    /* v1+ */
};

struct kafka_list_offsets_topic_response {
    struct kafka_str name;
    int32_t partitions_count;
    struct kafka_list_offsets_partition_response *partitions;
};

struct kafka_list_offsets_response {
    int32_t throttle_time_ms; /* v2+ */
    int32_t topics_count;
    struct kafka_list_offsets_topic_response *topics;
};

/* --- Metadata (3) -------------------------------------------------------------------------- */

struct kafka_metadata_request {
    int32_t topics_count; /* v1+ nullable: -1 all topics; at v0 an empty array means all */
    struct kafka_str *topics;
    bool allow_auto_topic_creation;             /* v4+ */
    bool include_cluster_authorized_operations; /* v8+ */
    bool include_topic_authorized_operations;   /* v8+ */
};

struct kafka_metadata_broker {
    int32_t node_id;
    struct kafka_str host;
    int32_t port;
    struct kafka_str rack; /* v1+, nullable */
};

struct kafka_metadata_partition {
    int16_t error_code;
    int32_t partition_index;
    int32_t leader_id;
    int32_t leader_epoch; /* v7+ */
    int32_t replica_nodes_count;
    int32_t *replica_nodes;
    int32_t isr_nodes_count;
    int32_t *isr_nodes;
    int32_t offline_replicas_count; /* v5+ */
    int32_t *offline_replicas;
};

struct kafka_metadata_topic {
    int16_t error_code;
    struct kafka_str name;
    bool is_internal; /* v1+ */
    int32_t partitions_count;
    struct kafka_metadata_partition *partitions;
    int32_t topic_authorized_operations; /* v8+ */
};

struct kafka_metadata_response {
    int32_t throttle_time_ms; /* v3+ */
    int32_t brokers_count;
    struct kafka_metadata_broker *brokers;
    struct kafka_str cluster_id; /* v2+, nullable */
    int32_t controller_id;       /* v1+ */
    int32_t topics_count;
    struct kafka_metadata_topic *topics;
    int32_t cluster_authorized_operations; /* v8+ */
};

/* --- OffsetCommit (8) ---------------------------------------------------------------------- */

struct kafka_offset_commit_partition {
    int32_t partition_index;
    int64_t committed_offset;
    int32_t committed_leader_epoch;      /* v6+ */
    struct kafka_str committed_metadata; /* nullable */
};

struct kafka_offset_commit_topic {
    struct kafka_str name;
    int32_t partitions_count;
    struct kafka_offset_commit_partition *partitions;
};

struct kafka_offset_commit_request {
    struct kafka_str group_id;
    int32_t generation_id;              /* v1+ */
    struct kafka_str member_id;         /* v1+ */
    struct kafka_str group_instance_id; /* v7+, nullable */
    int64_t retention_time_ms;          /* v2-4 */
    int32_t topics_count;
    struct kafka_offset_commit_topic *topics;
};

struct kafka_offset_commit_partition_response {
    int32_t partition_index;
    int16_t error_code;
};

struct kafka_offset_commit_topic_response {
    struct kafka_str name;
    int32_t partitions_count;
    struct kafka_offset_commit_partition_response *partitions;
};

struct kafka_offset_commit_response {
    int32_t throttle_time_ms; /* v3+ */
    int32_t topics_count;
    struct kafka_offset_commit_topic_response *topics;
};

/* --- OffsetFetch (9) ----------------------------------------------------------------------- */

struct kafka_offset_fetch_topic {
    struct kafka_str name;
    int32_t partition_indexes_count;
    int32_t *partition_indexes;
};

struct kafka_offset_fetch_request {
    struct kafka_str group_id;
    int32_t topics_count; /* v2+ nullable: -1 all topics */
    struct kafka_offset_fetch_topic *topics;
};

struct kafka_offset_fetch_partition_response {
    int32_t partition_index;
    int64_t committed_offset;
    int32_t committed_leader_epoch; /* v5+ */
    struct kafka_str metadata;      /* nullable */
    int16_t error_code;
};

struct kafka_offset_fetch_topic_response {
    struct kafka_str name;
    int32_t partitions_count;
    struct kafka_offset_fetch_partition_response *partitions;
};

struct kafka_offset_fetch_response {
    int32_t throttle_time_ms; /* v3+ */
    int32_t topics_count;
    struct kafka_offset_fetch_topic_response *topics;
    int16_t error_code; /* v2+ */
};

/* --- FindCoordinator (10) ------------------------------------------------------------------ */

struct kafka_find_coordinator_request {
    struct kafka_str key;
    int8_t key_type; /* v1+: 0 group, 1 transaction */
};

struct kafka_find_coordinator_response {
    int32_t throttle_time_ms; /* v1+ */
    int16_t error_code;
    struct kafka_str error_message; /* v1+, nullable */
    int32_t node_id;
    struct kafka_str host;
    int32_t port;
};

/* --- JoinGroup (11) ------------------------------------------------------------------------ */

struct kafka_join_group_protocol {
    struct kafka_str name;
    struct kafka_bytes metadata;
};

struct kafka_join_group_request {
    struct kafka_str group_id;
    int32_t session_timeout_ms;
    int32_t rebalance_timeout_ms; /* v1+ */
    struct kafka_str member_id;
    struct kafka_str group_instance_id; /* v5+, nullable */
    struct kafka_str protocol_type;
    int32_t protocols_count;
    struct kafka_join_group_protocol *protocols;
};

struct kafka_join_group_member {
    struct kafka_str member_id;
    struct kafka_str group_instance_id; /* v5+, nullable */
    struct kafka_bytes metadata;
};

struct kafka_join_group_response {
    int32_t throttle_time_ms; /* v2+ */
    int16_t error_code;
    int32_t generation_id;
    struct kafka_str protocol_name;
    struct kafka_str leader;
    struct kafka_str member_id;
    int32_t members_count;
    struct kafka_join_group_member *members;
};

/* --- Heartbeat (12) ------------------------------------------------------------------------ */

struct kafka_heartbeat_request {
    struct kafka_str group_id;
    int32_t generation_id;
    struct kafka_str member_id;
    struct kafka_str group_instance_id; /* v3+, nullable */
};

struct kafka_heartbeat_response {
    int32_t throttle_time_ms; /* v1+ */
    int16_t error_code;
};

/* --- LeaveGroup (13) ----------------------------------------------------------------------- */

struct kafka_leave_group_request {
    struct kafka_str group_id;
    struct kafka_str member_id;
};

struct kafka_leave_group_response {
    int32_t throttle_time_ms; /* v1+ */
    int16_t error_code;
};

/* --- SyncGroup (14) ------------------------------------------------------------------------ */

struct kafka_sync_group_assignment {
    struct kafka_str member_id;
    struct kafka_bytes assignment;
};

struct kafka_sync_group_request {
    struct kafka_str group_id;
    int32_t generation_id;
    struct kafka_str member_id;
    struct kafka_str group_instance_id; /* v3+, nullable */
    int32_t assignments_count;
    struct kafka_sync_group_assignment *assignments;
};

struct kafka_sync_group_response {
    int32_t throttle_time_ms; /* v1+ */
    int16_t error_code;
    struct kafka_bytes assignment;
};

/* --- ApiVersions (18) ---------------------------------------------------------------------- */

struct kafka_api_versions_request {
    struct kafka_str client_software_name;    /* v3+ */
    struct kafka_str client_software_version; /* v3+ */
};

struct kafka_api_version {
    int16_t api_key;
    int16_t min_version;
    int16_t max_version;
};

struct kafka_api_versions_response {
    int16_t error_code;
    int32_t api_keys_count;
    struct kafka_api_version *api_keys;
    int32_t throttle_time_ms; /* v1+ */
};

/* --- CreateTopics (19) --------------------------------------------------------------------- */

struct kafka_create_topics_assignment {
    int32_t partition_index;
    int32_t broker_ids_count;
    int32_t *broker_ids;
};

struct kafka_config_entry {
    struct kafka_str name;
    struct kafka_str value; /* nullable */
};

struct kafka_create_topics_topic {
    struct kafka_str name;
    int32_t num_partitions;     /* -1: the default */
    int16_t replication_factor; /* -1: the default */
    int32_t assignments_count;
    struct kafka_create_topics_assignment *assignments;
    int32_t configs_count;
    struct kafka_config_entry *configs;
};

struct kafka_create_topics_request {
    int32_t topics_count;
    struct kafka_create_topics_topic *topics;
    int32_t timeout_ms;
    bool validate_only; /* v1+ */
};

struct kafka_create_topics_topic_response {
    struct kafka_str name;
    int16_t error_code;
    struct kafka_str error_message; /* v1+, nullable */
};

struct kafka_create_topics_response {
    int32_t throttle_time_ms; /* v2+ */
    int32_t topics_count;
    struct kafka_create_topics_topic_response *topics;
};

/* --- DeleteTopics (20) --------------------------------------------------------------------- */

struct kafka_delete_topics_request {
    int32_t topic_names_count;
    struct kafka_str *topic_names;
    int32_t timeout_ms;
};

struct kafka_delete_topics_topic_response {
    struct kafka_str name;
    int16_t error_code;
};

struct kafka_delete_topics_response {
    int32_t throttle_time_ms; /* v1+ */
    int32_t responses_count;
    struct kafka_delete_topics_topic_response *responses;
};

/* --- InitProducerId (22) ------------------------------------------------------------------- */

struct kafka_init_producer_id_request {
    struct kafka_str transactional_id; /* nullable */
    int32_t transaction_timeout_ms;
};

struct kafka_init_producer_id_response {
    int32_t throttle_time_ms;
    int16_t error_code;
    int64_t producer_id;
    int16_t producer_epoch;
};

/* --- DescribeConfigs (32) ------------------------------------------------------------------ */

struct kafka_describe_configs_resource {
    int8_t resource_type; /* 2 topic, 4 broker */
    struct kafka_str resource_name;
    int32_t configuration_keys_count; /* nullable: -1 all */
    struct kafka_str *configuration_keys;
};

struct kafka_describe_configs_request {
    int32_t resources_count;
    struct kafka_describe_configs_resource *resources;
    bool include_synonyms; /* v1+ */
};

struct kafka_describe_configs_synonym {
    struct kafka_str name;
    struct kafka_str value; /* nullable */
    int8_t source;
};

struct kafka_describe_configs_entry {
    struct kafka_str name;
    struct kafka_str value; /* nullable */
    bool read_only;
    bool is_default;      /* v0 only */
    int8_t config_source; /* v1+ */
    bool is_sensitive;
    int32_t synonyms_count; /* v1+ */
    struct kafka_describe_configs_synonym *synonyms;
};

struct kafka_describe_configs_result {
    int16_t error_code;
    struct kafka_str error_message; /* nullable */
    int8_t resource_type;
    struct kafka_str resource_name;
    int32_t configs_count;
    struct kafka_describe_configs_entry *configs;
};

struct kafka_describe_configs_response {
    int32_t throttle_time_ms;
    int32_t results_count;
    struct kafka_describe_configs_result *results;
};

/* --- whole requests and responses ---------------------------------------------------------- */

/* A decoded request: its header and the body named by header.api_key. */
struct kafka_request {
    struct kafka_request_header header;
    union {
        struct kafka_produce_request produce;
        struct kafka_fetch_request fetch;
        struct kafka_list_offsets_request list_offsets;
        struct kafka_metadata_request metadata;
        struct kafka_offset_commit_request offset_commit;
        struct kafka_offset_fetch_request offset_fetch;
        struct kafka_find_coordinator_request find_coordinator;
        struct kafka_join_group_request join_group;
        struct kafka_heartbeat_request heartbeat;
        struct kafka_leave_group_request leave_group;
        struct kafka_sync_group_request sync_group;
        struct kafka_api_versions_request api_versions;
        struct kafka_create_topics_request create_topics;
        struct kafka_delete_topics_request delete_topics;
        struct kafka_init_producer_id_request init_producer_id;
        struct kafka_describe_configs_request describe_configs;
    } body;
};

/* A response: which API and version it answers, the correlation id, and the body. */
struct kafka_response {
    int16_t api_key;
    int16_t api_version;
    int32_t correlation_id;
    union {
        struct kafka_produce_response produce;
        struct kafka_fetch_response fetch;
        struct kafka_list_offsets_response list_offsets;
        struct kafka_metadata_response metadata;
        struct kafka_offset_commit_response offset_commit;
        struct kafka_offset_fetch_response offset_fetch;
        struct kafka_find_coordinator_response find_coordinator;
        struct kafka_join_group_response join_group;
        struct kafka_heartbeat_response heartbeat;
        struct kafka_leave_group_response leave_group;
        struct kafka_sync_group_response sync_group;
        struct kafka_api_versions_response api_versions;
        struct kafka_create_topics_response create_topics;
        struct kafka_delete_topics_response delete_topics;
        struct kafka_init_producer_id_response init_producer_id;
        struct kafka_describe_configs_response describe_configs;
    } body;
};

/*
 * Decodes one request frame (header and body, without the size prefix) into *out, taking arrays
 * from arena. Errors: TRUNCATED or PROTOCOL (malformed: the connection should be closed),
 * TOO_LARGE (a length or count above its maximum), LIMIT (the arena is full), UNSUPPORTED (an API
 * strom does not serve), UNSUPPORTED_VERSION (a version outside the table). The header's
 * api_key, api_version and correlation_id are filled whenever the frame holds 8 bytes, so the
 * caller can answer an ApiVersions request of a newer version (kafka_api_versions_fallback). An
 * ApiVersions request above the served range is not parsed beyond those 8 bytes.
 */
strom_err kafka_request_decode(const uint8_t *frame, size_t frame_bytes, struct kafka_arena *arena,
                               struct kafka_request *out);

/*
 * Encodes a request as a frame: int32 size, header (v1 or v2), body at header.api_version.
 * *len_out is the whole frame's size. Errors: OVERFLOW (cap too small), UNSUPPORTED or
 * UNSUPPORTED_VERSION, TOO_LARGE (a string above its maximum), PROTOCOL (null where not nullable).
 * Used by tests, fuzzers and any strom component that speaks Kafka as a client.
 */
strom_err kafka_request_encode(const struct kafka_request *req, uint8_t *buf, size_t cap,
                               size_t *len_out);

/* Encodes a response as a frame: int32 size, header (v0 or v1), body. Errors as above. */
strom_err kafka_response_encode(const struct kafka_response *resp, uint8_t *buf, size_t cap,
                                size_t *len_out);

/*
 * Decodes a response frame (without the size prefix) of a known api_key and version, the way a
 * client does (for tests and tools). Errors as kafka_request_decode.
 */
strom_err kafka_response_decode(int16_t api_key, int16_t api_version, const uint8_t *frame,
                                size_t frame_bytes, struct kafka_arena *arena,
                                struct kafka_response *out);

/*
 * Fills an ApiVersions response body with every API in the table, error_code 0 and no throttle.
 * keys must hold KAFKA_API_COUNT entries; the body points into it.
 */
void kafka_api_versions_fill(struct kafka_api_versions_response *body,
                             struct kafka_api_version keys[KAFKA_API_COUNT]);

/*
 * The answer to an ApiVersions request whose version strom does not serve (KIP-511): a v0 body
 * with error UNSUPPORTED_VERSION and the full list of APIs, so the client retries with a version
 * from the list. Writes the frame to buf; errors as kafka_response_encode.
 */
strom_err kafka_api_versions_fallback(int32_t correlation_id, uint8_t *buf, size_t cap,
                                      size_t *len_out);

#endif
