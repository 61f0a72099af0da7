/* kafka_samples.c: sample bodies of every served Kafka API (see kafka_samples.h). */
#include "kafka_samples.h"

#include <string.h>

#include "base/assert.h"

#define S(lit) ((struct kafka_str){.ptr = (lit), .len = (int32_t)(sizeof(lit) - 1)})
#define B(lit)                                                                                     \
    ((struct kafka_bytes){.ptr = (const uint8_t *)(lit), .len = (int32_t)(sizeof(lit) - 1)})
#define NULL_STR   ((struct kafka_str){.ptr = NULL, .len = -1})
#define NULL_BYTES ((struct kafka_bytes){.ptr = NULL, .len = -1})
#define N(a)       ((int32_t)(sizeof(a) / sizeof((a)[0])))

/* Bytes that look like a RecordBatch; the codec treats records as opaque. */
static const char records_blob[] = "\0\0\0\0\0\0\0\0\0\0\0\x31records-are-opaque-here";

static int32_t replicas[] = {1, 2, 3};
static int32_t isr[] = {1, 3};
static int32_t offline[] = {2};
static int32_t part_indexes[] = {0, 5, 9};
static int64_t old_offsets[] = {100, 50};

static struct kafka_produce_partition produce_parts[] = {
    {.index = 0, .records = {(const uint8_t *)records_blob, sizeof records_blob - 1}},
    {.index = 3, .records = {NULL, -1}},
};
static struct kafka_produce_topic produce_topics[] = {
    {.name = S("orders"), .partitions_count = N(produce_parts), .partitions = produce_parts},
    {.name = S("empty"), .partitions_count = 0, .partitions = NULL},
};

static struct kafka_fetch_partition fetch_parts[] = {
    {.partition = 2,
     .current_leader_epoch = 7,
     .fetch_offset = 123456789012LL,
     .log_start_offset = 5,
     .partition_max_bytes = 1048576},
};
static struct kafka_fetch_topic fetch_topics[] = {
    {.topic = S("orders"), .partitions_count = N(fetch_parts), .partitions = fetch_parts},
};
static struct kafka_fetch_forgotten_topic fetch_forgotten[] = {
    {.topic = S("old"), .partitions_count = N(part_indexes), .partitions = part_indexes},
};

static struct kafka_list_offsets_partition lo_parts[] = {
    {.partition_index = 1, .timestamp = -2, .max_num_offsets = 3},
    {.partition_index = 4, .timestamp = 1700000000000LL, .max_num_offsets = 1},
};
static struct kafka_list_offsets_topic lo_topics[] = {
    {.name = S("orders"), .partitions_count = N(lo_parts), .partitions = lo_parts},
};

static struct kafka_str md_topics[] = {S("orders"), S("payments")};

static struct kafka_offset_commit_partition oc_parts[] = {
    {.partition_index = 0,
     .committed_offset = 42,
     .committed_leader_epoch = 3,
     .committed_metadata = S("meta")},
    {.partition_index = 1,
     .committed_offset = 7,
     .committed_leader_epoch = -1,
     .committed_metadata = {NULL, -1}},
};
static struct kafka_offset_commit_topic oc_topics[] = {
    {.name = S("orders"), .partitions_count = N(oc_parts), .partitions = oc_parts},
};

static struct kafka_offset_fetch_topic of_topics[] = {
    {.name = S("orders"),
     .partition_indexes_count = N(part_indexes),
     .partition_indexes = part_indexes},
};

static struct kafka_join_group_protocol jg_protocols[] = {
    {.name = S("range"), .metadata = B("\0\1\0\0\0\1\0\6orders\xff\xff\xff\xff")},
    {.name = S("roundrobin"), .metadata = B("")},
};

static struct kafka_sync_group_assignment sg_assignments[] = {
    {.member_id = S("member-1"), .assignment = B("\0\1\0\0\0\1\0\6orders\0\0\0\1\0\0\0\0")},
    {.member_id = S("member-2"), .assignment = B("x")},
};

static struct kafka_config_entry ct_configs[] = {
    {.name = S("retention.ms"), .value = S("86400000")},
    {.name = S("cleanup.policy"), .value = {NULL, -1}},
};
static struct kafka_create_topics_assignment ct_assignments[] = {
    {.partition_index = 0, .broker_ids_count = N(replicas), .broker_ids = replicas},
};
static struct kafka_create_topics_topic ct_topics[] = {
    {.name = S("new-topic"),
     .num_partitions = 6,
     .replication_factor = 3,
     .assignments_count = N(ct_assignments),
     .assignments = ct_assignments,
     .configs_count = N(ct_configs),
     .configs = ct_configs},
    {.name = S("defaults"), .num_partitions = -1, .replication_factor = -1},
};

static struct kafka_str dt_names[] = {S("gone"), S("also-gone")};

static struct kafka_str dc_keys[] = {S("retention.ms"), S("segment.bytes")};
static struct kafka_describe_configs_resource dc_resources[] = {
    {.resource_type = 2,
     .resource_name = S("orders"),
     .configuration_keys_count = N(dc_keys),
     .configuration_keys = dc_keys},
    {.resource_type = 4, .resource_name = S("0"), .configuration_keys_count = -1},
};

static void sample_request_body(int16_t api_key, struct kafka_request *out) {
    switch (api_key) {
    case KAFKA_API_PRODUCE:
        out->body.produce = (struct kafka_produce_request){.transactional_id = NULL_STR,
                                                           .acks = -1,
                                                           .timeout_ms = 30000,
                                                           .topics_count = N(produce_topics),
                                                           .topics = produce_topics};
        break;
    case KAFKA_API_FETCH:
        out->body.fetch = (struct kafka_fetch_request){.replica_id = -1,
                                                       .max_wait_ms = 500,
                                                       .min_bytes = 1,
                                                       .max_bytes = 52428800,
                                                       .isolation_level = 1,
                                                       .session_id = 0,
                                                       .session_epoch = -1,
                                                       .topics_count = N(fetch_topics),
                                                       .topics = fetch_topics,
                                                       .forgotten_topics_count = N(fetch_forgotten),
                                                       .forgotten_topics = fetch_forgotten,
                                                       .rack_id = S("rack-a")};
        break;
    case KAFKA_API_LIST_OFFSETS:
        out->body.list_offsets = (struct kafka_list_offsets_request){.replica_id = -1,
                                                                     .isolation_level = 1,
                                                                     .topics_count = N(lo_topics),
                                                                     .topics = lo_topics};
        break;
    case KAFKA_API_METADATA:
        out->body.metadata =
            (struct kafka_metadata_request){.topics_count = N(md_topics),
                                            .topics = md_topics,
                                            .allow_auto_topic_creation = true,
                                            .include_cluster_authorized_operations = true,
                                            .include_topic_authorized_operations = true};
        break;
    case KAFKA_API_OFFSET_COMMIT:
        out->body.offset_commit =
            (struct kafka_offset_commit_request){.group_id = S("group-1"),
                                                 .generation_id = 9,
                                                 .member_id = S("member-1"),
                                                 .group_instance_id = S("instance-1"),
                                                 .retention_time_ms = 604800000,
                                                 .topics_count = N(oc_topics),
                                                 .topics = oc_topics};
        break;
    case KAFKA_API_OFFSET_FETCH:
        out->body.offset_fetch = (struct kafka_offset_fetch_request){
            .group_id = S("group-1"), .topics_count = N(of_topics), .topics = of_topics};
        break;
    case KAFKA_API_FIND_COORDINATOR:
        out->body.find_coordinator =
            (struct kafka_find_coordinator_request){.key = S("group-1"), .key_type = 1};
        break;
    default:
        strom_unreachable();
    }
}

static void sample_group_request_body(int16_t api_key, struct kafka_request *out) {
    switch (api_key) {
    case KAFKA_API_JOIN_GROUP:
        out->body.join_group =
            (struct kafka_join_group_request){.group_id = S("group-1"),
                                              .session_timeout_ms = 45000,
                                              .rebalance_timeout_ms = 300000,
                                              .member_id = S(""),
                                              .group_instance_id = S("instance-1"),
                                              .protocol_type = S("consumer"),
                                              .protocols_count = N(jg_protocols),
                                              .protocols = jg_protocols};
        break;
    case KAFKA_API_HEARTBEAT:
        out->body.heartbeat = (struct kafka_heartbeat_request){.group_id = S("group-1"),
                                                               .generation_id = 9,
                                                               .member_id = S("member-1"),
                                                               .group_instance_id = NULL_STR};
        break;
    case KAFKA_API_LEAVE_GROUP:
        out->body.leave_group =
            (struct kafka_leave_group_request){.group_id = S("group-1"), .member_id = S("m")};
        break;
    case KAFKA_API_SYNC_GROUP:
        out->body.sync_group =
            (struct kafka_sync_group_request){.group_id = S("group-1"),
                                              .generation_id = 9,
                                              .member_id = S("member-1"),
                                              .group_instance_id = S("instance-1"),
                                              .assignments_count = N(sg_assignments),
                                              .assignments = sg_assignments};
        break;
    case KAFKA_API_API_VERSIONS:
        out->body.api_versions = (struct kafka_api_versions_request){
            .client_software_name = S("strom-test"), .client_software_version = S("0.1")};
        break;
    case KAFKA_API_CREATE_TOPICS:
        out->body.create_topics = (struct kafka_create_topics_request){.topics_count = N(ct_topics),
                                                                       .topics = ct_topics,
                                                                       .timeout_ms = 60000,
                                                                       .validate_only = true};
        break;
    case KAFKA_API_DELETE_TOPICS:
        out->body.delete_topics = (struct kafka_delete_topics_request){
            .topic_names_count = N(dt_names), .topic_names = dt_names, .timeout_ms = 15000};
        break;
    case KAFKA_API_INIT_PRODUCER_ID:
        out->body.init_producer_id = (struct kafka_init_producer_id_request){
            .transactional_id = NULL_STR, .transaction_timeout_ms = 60000};
        break;
    case KAFKA_API_DESCRIBE_CONFIGS:
        out->body.describe_configs =
            (struct kafka_describe_configs_request){.resources_count = N(dc_resources),
                                                    .resources = dc_resources,
                                                    .include_synonyms = true};
        break;
    default:
        sample_request_body(api_key, out);
    }
}

void kafka_sample_request(int16_t api_key, int16_t version, struct kafka_request *out) {
    memset(out, 0, sizeof *out);
    out->header = (struct kafka_request_header){.api_key = api_key,
                                                .api_version = version,
                                                .correlation_id = 1000 + version,
                                                .client_id = S("strom-test")};
    sample_group_request_body(api_key, out);
}

/* --- responses ------------------------------------------------------------------------------ */

static struct kafka_produce_partition_response produce_resp_parts[] = {
    {.index = 0,
     .error_code = 0,
     .base_offset = 1000,
     .log_append_time_ms = -1,
     .log_start_offset = 0},
    {.index = 3,
     .error_code = KAFKA_ERR_CORRUPT_MESSAGE,
     .base_offset = -1,
     .log_append_time_ms = -1,
     .log_start_offset = -1},
};
static struct kafka_produce_topic_response produce_resp_topics[] = {
    {.name = S("orders"),
     .partitions_count = N(produce_resp_parts),
     .partitions = produce_resp_parts},
};

static struct kafka_fetch_aborted_txn fetch_aborted[] = {{.producer_id = 77, .first_offset = 10}};
static struct kafka_fetch_partition_response fetch_resp_parts[] = {
    {.partition = 2,
     .error_code = 0,
     .high_watermark = 500,
     .last_stable_offset = 500,
     .log_start_offset = 0,
     .aborted_transactions_count = N(fetch_aborted),
     .aborted_transactions = fetch_aborted,
     .preferred_read_replica = -1,
     .records = {(const uint8_t *)records_blob, sizeof records_blob - 1}},
    {.partition = 3,
     .error_code = KAFKA_ERR_OFFSET_OUT_OF_RANGE,
     .high_watermark = -1,
     .last_stable_offset = -1,
     .log_start_offset = -1,
     .aborted_transactions_count = -1,
     .preferred_read_replica = -1,
     .records = {NULL, -1}},
};
static struct kafka_fetch_topic_response fetch_resp_topics[] = {
    {.topic = S("orders"), .partitions_count = N(fetch_resp_parts), .partitions = fetch_resp_parts},
};

static struct kafka_list_offsets_partition_response lo_resp_parts[] = {
    {.partition_index = 1,
     .error_code = 0,
     .old_style_offsets_count = N(old_offsets),
     .old_style_offsets = old_offsets,
     .timestamp = -1,
     .offset = 100},
};
static struct kafka_list_offsets_topic_response lo_resp_topics[] = {
    {.name = S("orders"), .partitions_count = N(lo_resp_parts), .partitions = lo_resp_parts},
};

static struct kafka_metadata_broker md_brokers[] = {
    {.node_id = 0, .host = S("127.0.0.1"), .port = 9092, .rack = {NULL, -1}},
    {.node_id = 1, .host = S("10.0.0.2"), .port = 9093, .rack = S("rack-b")},
};
static struct kafka_metadata_partition md_parts[] = {
    {.error_code = 0,
     .partition_index = 0,
     .leader_id = 1,
     .leader_epoch = 4,
     .replica_nodes_count = N(replicas),
     .replica_nodes = replicas,
     .isr_nodes_count = N(isr),
     .isr_nodes = isr,
     .offline_replicas_count = N(offline),
     .offline_replicas = offline},
};
static struct kafka_metadata_topic md_resp_topics[] = {
    {.error_code = 0,
     .name = S("orders"),
     .is_internal = false,
     .partitions_count = N(md_parts),
     .partitions = md_parts,
     .topic_authorized_operations = INT32_MIN},
    {.error_code = KAFKA_ERR_UNKNOWN_TOPIC_OR_PARTITION,
     .name = S("missing"),
     .is_internal = true,
     .topic_authorized_operations = 0x0ff8},
};

static struct kafka_offset_commit_partition_response oc_resp_parts[] = {
    {.partition_index = 0, .error_code = 0}, {.partition_index = 1, .error_code = 22}};
static struct kafka_offset_commit_topic_response oc_resp_topics[] = {
    {.name = S("orders"), .partitions_count = N(oc_resp_parts), .partitions = oc_resp_parts},
};

static struct kafka_offset_fetch_partition_response of_resp_parts[] = {
    {.partition_index = 0,
     .committed_offset = 42,
     .committed_leader_epoch = 3,
     .metadata = S("meta"),
     .error_code = 0},
    {.partition_index = 5,
     .committed_offset = -1,
     .committed_leader_epoch = -1,
     .metadata = {NULL, -1},
     .error_code = 0},
};
static struct kafka_offset_fetch_topic_response of_resp_topics[] = {
    {.name = S("orders"), .partitions_count = N(of_resp_parts), .partitions = of_resp_parts},
};

static struct kafka_join_group_member jg_members[] = {
    {.member_id = S("member-1"),
     .group_instance_id = S("instance-1"),
     .metadata = B("\0\1\0\0\0\1\0\6orders\xff\xff\xff\xff")},
    {.member_id = S("member-2"), .group_instance_id = {NULL, -1}, .metadata = B("")},
};

static struct kafka_api_version av_keys[] = {{0, 0, 7}, {1, 4, 11}, {18, 0, 3}};

static struct kafka_create_topics_topic_response ct_resp_topics[] = {
    {.name = S("new-topic"), .error_code = 0, .error_message = {NULL, -1}},
    {.name = S("defaults"),
     .error_code = KAFKA_ERR_TOPIC_ALREADY_EXISTS,
     .error_message = S("exists")},
};

static struct kafka_delete_topics_topic_response dt_resp[] = {
    {.name = S("gone"), .error_code = 0},
    {.name = S("also-gone"), .error_code = KAFKA_ERR_UNKNOWN_TOPIC_OR_PARTITION},
};

static struct kafka_describe_configs_synonym dc_synonyms[] = {
    {.name = S("log.retention.ms"), .value = S("604800000"), .source = 5},
};
static struct kafka_describe_configs_entry dc_entries[] = {
    {.name = S("retention.ms"),
     .value = S("86400000"),
     .read_only = false,
     .is_default = true,
     .config_source = 1,
     .is_sensitive = false,
     .synonyms_count = N(dc_synonyms),
     .synonyms = dc_synonyms},
    {.name = S("sasl.password"),
     .value = {NULL, -1},
     .read_only = true,
     .is_default = false,
     .config_source = 4,
     .is_sensitive = true},
};
static struct kafka_describe_configs_result dc_results[] = {
    {.error_code = 0,
     .error_message = {NULL, -1},
     .resource_type = 2,
     .resource_name = S("orders"),
     .configs_count = N(dc_entries),
     .configs = dc_entries},
    {.error_code = KAFKA_ERR_UNKNOWN_TOPIC_OR_PARTITION,
     .error_message = S("no such topic"),
     .resource_type = 2,
     .resource_name = S("missing")},
};

static void sample_response_body(int16_t api_key, struct kafka_response *out) {
    switch (api_key) {
    case KAFKA_API_PRODUCE:
        out->body.produce = (struct kafka_produce_response){.topics_count = N(produce_resp_topics),
                                                            .topics = produce_resp_topics,
                                                            .throttle_time_ms = 11};
        break;
    case KAFKA_API_FETCH:
        out->body.fetch = (struct kafka_fetch_response){.throttle_time_ms = 12,
                                                        .error_code = 0,
                                                        .session_id = 0,
                                                        .topics_count = N(fetch_resp_topics),
                                                        .topics = fetch_resp_topics};
        break;
    case KAFKA_API_LIST_OFFSETS:
        out->body.list_offsets = (struct kafka_list_offsets_response){
            .throttle_time_ms = 13, .topics_count = N(lo_resp_topics), .topics = lo_resp_topics};
        break;
    case KAFKA_API_METADATA:
        out->body.metadata =
            (struct kafka_metadata_response){.throttle_time_ms = 14,
                                             .brokers_count = N(md_brokers),
                                             .brokers = md_brokers,
                                             .cluster_id = S("strom-cluster"),
                                             .controller_id = 0,
                                             .topics_count = N(md_resp_topics),
                                             .topics = md_resp_topics,
                                             .cluster_authorized_operations = INT32_MIN};
        break;
    case KAFKA_API_OFFSET_COMMIT:
        out->body.offset_commit = (struct kafka_offset_commit_response){
            .throttle_time_ms = 15, .topics_count = N(oc_resp_topics), .topics = oc_resp_topics};
        break;
    case KAFKA_API_OFFSET_FETCH:
        out->body.offset_fetch =
            (struct kafka_offset_fetch_response){.throttle_time_ms = 16,
                                                 .topics_count = N(of_resp_topics),
                                                 .topics = of_resp_topics,
                                                 .error_code = KAFKA_ERR_NOT_COORDINATOR};
        break;
    case KAFKA_API_FIND_COORDINATOR:
        out->body.find_coordinator =
            (struct kafka_find_coordinator_response){.throttle_time_ms = 17,
                                                     .error_code = 0,
                                                     .error_message = NULL_STR,
                                                     .node_id = 0,
                                                     .host = S("127.0.0.1"),
                                                     .port = 9092};
        break;
    case KAFKA_API_JOIN_GROUP:
        out->body.join_group = (struct kafka_join_group_response){.throttle_time_ms = 18,
                                                                  .error_code = 0,
                                                                  .generation_id = 9,
                                                                  .protocol_name = S("range"),
                                                                  .leader = S("member-1"),
                                                                  .member_id = S("member-1"),
                                                                  .members_count = N(jg_members),
                                                                  .members = jg_members};
        break;
    default:
        strom_unreachable();
    }
}

static void sample_other_response_body(int16_t api_key, struct kafka_response *out) {
    switch (api_key) {
    case KAFKA_API_HEARTBEAT:
        out->body.heartbeat = (struct kafka_heartbeat_response){
            .throttle_time_ms = 19, .error_code = KAFKA_ERR_REBALANCE_IN_PROGRESS};
        break;
    case KAFKA_API_LEAVE_GROUP:
        out->body.leave_group =
            (struct kafka_leave_group_response){.throttle_time_ms = 20, .error_code = 0};
        break;
    case KAFKA_API_SYNC_GROUP:
        out->body.sync_group = (struct kafka_sync_group_response){
            .throttle_time_ms = 21,
            .error_code = 0,
            .assignment = B("\0\1\0\0\0\1\0\6orders\0\0\0\1\0\0\0\0")};
        break;
    case KAFKA_API_API_VERSIONS:
        out->body.api_versions = (struct kafka_api_versions_response){.error_code = 0,
                                                                      .api_keys_count = N(av_keys),
                                                                      .api_keys = av_keys,
                                                                      .throttle_time_ms = 22};
        break;
    case KAFKA_API_CREATE_TOPICS:
        out->body.create_topics = (struct kafka_create_topics_response){
            .throttle_time_ms = 23, .topics_count = N(ct_resp_topics), .topics = ct_resp_topics};
        break;
    case KAFKA_API_DELETE_TOPICS:
        out->body.delete_topics = (struct kafka_delete_topics_response){
            .throttle_time_ms = 24, .responses_count = N(dt_resp), .responses = dt_resp};
        break;
    case KAFKA_API_INIT_PRODUCER_ID:
        out->body.init_producer_id =
            (struct kafka_init_producer_id_response){.throttle_time_ms = 25,
                                                     .error_code = 0,
                                                     .producer_id = 4000000001LL,
                                                     .producer_epoch = 2};
        break;
    case KAFKA_API_DESCRIBE_CONFIGS:
        out->body.describe_configs = (struct kafka_describe_configs_response){
            .throttle_time_ms = 26, .results_count = N(dc_results), .results = dc_results};
        break;
    default:
        sample_response_body(api_key, out);
    }
}

void kafka_sample_response(int16_t api_key, int16_t version, struct kafka_response *out) {
    memset(out, 0, sizeof *out);
    out->api_key = api_key;
    out->api_version = version;
    out->correlation_id = 2000 + version;
    sample_other_response_body(api_key, out);
}
