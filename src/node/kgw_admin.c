/*
 * kgw_admin.c: the Kafka requests about the cluster and its topics: ApiVersions, Metadata,
 * FindCoordinator, CreateTopics, DeleteTopics, DescribeConfigs; and the mapping of topic T
 * partition p to the stream /T/p (docs/kafka.md, "Topics, partitions and streams").
 *
 * A topic is the streams /T/0 .. /T/n-1 that exist: a stream /T/p whose T is a Kafka topic name
 * and p a partition number (decimal, no leading zero) is partition p of topic T; a partition
 * beyond the first missing number is not shown. This node is the only broker (KGW_NODE_ID) and
 * the leader of every partition, with the stream's epoch as leader epoch.
 */
#include <stdio.h>
#include <string.h>

#include "base/assert.h"
#include "node/kgw.h"
#include "node/path.h"

/* --- topics and streams ----------------------------------------------------------------------- */

bool kgw_topic_valid(struct kafka_str name) {
    if (name.len <= 0 || name.len > KGW_TOPIC_BYTES_MAX) {
        return false;
    }
    if ((name.len == 1 && name.ptr[0] == '.') ||
        (name.len == 2 && name.ptr[0] == '.' && name.ptr[1] == '.') ||
        (name.len == 3 && memcmp(name.ptr, "sys", 3) == 0)) {
        return false;
    }
    for (int32_t i = 0; i < name.len; i++) {
        char ch = name.ptr[i];
        bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                  (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' || ch == '-';
        if (!ok) {
            return false;
        }
    }
    return true;
}

uint32_t kgw_path(struct kafka_str topic, int32_t partition, char *buf) {
    if (!kgw_topic_valid(topic) || partition < 0) {
        return 0;
    }
    int n = snprintf(buf, KGW_PATH_BYTES, "/%.*s/%d", (int)topic.len, topic.ptr, (int)partition);
    strom_assert(n > 0 && n < KGW_PATH_BYTES);
    return (uint32_t)n <= PATH_BYTES_MAX ? (uint32_t)n : 0;
}

bool kgw_stream_find(struct gateway *gw, struct kafka_str topic, int32_t partition, uint64_t *id) {
    char path[KGW_PATH_BYTES];
    uint32_t len = kgw_path(topic, partition, path);
    return len > 0 && registry_find(&gw->registry, path, len, id);
}

int32_t kgw_topic_partitions(struct gateway *gw, struct kafka_str topic) {
    int32_t n = 0;
    uint64_t id = 0;
    while (n < KGW_TOPIC_PARTITIONS_MAX && kgw_stream_find(gw, topic, n, &id)) {
        n++;
    }
    return n;
}

/* The topic of a stream path "/T/0" (the first partition of a topic), or a null view. */
static struct kafka_str topic_of_first(const char *path, size_t len) {
    struct kafka_str none = {NULL, -1};
    if (len < 4 || path[0] != '/' || path[len - 2] != '/' || path[len - 1] != '0') {
        return none;
    }
    struct kafka_str t = {path + 1, (int32_t)len - 3};
    return memchr(t.ptr, '/', (size_t)t.len) == NULL && kgw_topic_valid(t) ? t : none;
}

/* --- ApiVersions, FindCoordinator ------------------------------------------------------------- */

enum kgw_done kgw_api_versions(struct gateway *gw, struct gw_conn *c,
                               const struct kafka_request *q) {
    struct kafka_api_version keys[KAFKA_API_COUNT];
    struct kafka_response r = {.api_key = q->header.api_key,
                               .api_version = q->header.api_version,
                               .correlation_id = q->header.correlation_id};
    kafka_api_versions_fill(&r.body.api_versions, keys);
    return kgw_send(gw, c, &r) ? KGW_DONE : KGW_ROOM;
}

static struct kafka_str host_str(const struct gateway *gw) {
    return kafka_str_c(gw->kafka->host);
}

static int32_t kafka_port(const struct gateway *gw) {
    return (int32_t)gw->listeners[1].port;
}

/* Every gateway folds every group's stream (kgw_group.c), so this node coordinates every group
 * at its one Kafka address. */
enum kgw_done kgw_find_coordinator(struct gateway *gw, struct gw_conn *c,
                                   const struct kafka_request *q) {
    const struct kafka_find_coordinator_request *m = &q->body.find_coordinator;
    struct kafka_response r = {.api_key = q->header.api_key,
                               .api_version = q->header.api_version,
                               .correlation_id = q->header.correlation_id};
    struct kafka_find_coordinator_response *b = &r.body.find_coordinator;
    b->error_message = (struct kafka_str){NULL, -1};
    if (m->key_type != 0) {
        b->error_code = KAFKA_ERR_COORDINATOR_NOT_AVAILABLE; /* no transactions */
        b->error_message = kafka_str_c("strom has no transaction coordinator");
        b->node_id = -1;
        b->host = kafka_str_c("");
        b->port = -1;
    } else {
        b->node_id = KGW_NODE_ID;
        b->host = host_str(gw);
        b->port = kafka_port(gw);
    }
    return kgw_send(gw, c, &r) ? KGW_DONE : KGW_ROOM;
}

/* --- Metadata --------------------------------------------------------------------------------- */

/* Creates /T/0 for a Metadata request that may (Kafka's auto-creation with one partition); the
 * client is told LEADER_NOT_AVAILABLE and asks again. */
static void metadata_create(struct gateway *gw, struct gw_conn *c, struct kafka_str topic) {
    char path[KGW_PATH_BYTES];
    uint32_t len = kgw_path(topic, 0, path);
    struct node_request req = {.path_len = (uint16_t)len, .ack = 1};
    if (len > 0) {
        (void)kgw_submit(gw, c, NODE_ENTRY_CREATE, &req, path, NULL, 0, KGW_TAG_IGNORE, false);
    }
}

static void metadata_topic(struct gateway *gw, struct gw_conn *c, struct kafka_str name,
                           bool may_create, struct kafka_metadata_topic *t) {
    *t = (struct kafka_metadata_topic){.name = name, .topic_authorized_operations = INT32_MIN};
    if (!kgw_topic_valid(name)) {
        t->error_code = KAFKA_ERR_INVALID_TOPIC_EXCEPTION;
        return;
    }
    int32_t n = kgw_topic_partitions(gw, name);
    if (kgw_alloc_left(gw) < (size_t)n * sizeof *t->partitions + 4096) {
        t->error_code = KAFKA_ERR_POLICY_VIOLATION; /* more partitions than one response holds */
        return;
    }
    if (n == 0) {
        bool create = may_create && gw->config->auto_create;
        t->error_code =
            create ? KAFKA_ERR_LEADER_NOT_AVAILABLE : KAFKA_ERR_UNKNOWN_TOPIC_OR_PARTITION;
        if (create) {
            metadata_create(gw, c, name);
        }
        return;
    }
    int32_t *node = kgw_alloc(gw, 1, sizeof *node);
    *node = KGW_NODE_ID;
    t->partitions_count = n;
    t->partitions = kgw_alloc(gw, (size_t)n, sizeof *t->partitions);
    for (int32_t p = 0; p < n; p++) {
        uint64_t id = 0;
        bool found = kgw_stream_find(gw, name, p, &id);
        strom_assert(found); /* streams are never removed */
        t->partitions[p] = (struct kafka_metadata_partition){
            .partition_index = p,
            .leader_id = KGW_NODE_ID,
            .leader_epoch = (int32_t)registry_stream(&gw->registry, id)->epoch,
            .replica_nodes_count = 1,
            .replica_nodes = node,
            .isr_nodes_count = 1,
            .isr_nodes = node};
    }
}

/* Every topic: the streams /T/0, in id order. */
static void metadata_all(struct gateway *gw, struct gw_conn *c, struct kafka_metadata_response *b) {
    uint64_t count = registry_count(&gw->registry);
    uint32_t most = count < KGW_METADATA_TOPICS_MAX ? (uint32_t)count : KGW_METADATA_TOPICS_MAX;
    b->topics = kgw_alloc(gw, most, sizeof *b->topics);
    for (uint64_t id = 1; id < count && (uint32_t)b->topics_count < most; id++) {
        size_t len = 0;
        const char *path = registry_path(&gw->registry, id, &len);
        struct kafka_str t = topic_of_first(path, len);
        if (t.len > 0 && kgw_alloc_left(gw) < 65536) {
            break; /* as many topics as one response holds (metadata_topic checks each) */
        }
        if (t.len > 0) {
            metadata_topic(gw, c, t, false, &b->topics[b->topics_count++]);
        }
    }
}

enum kgw_done kgw_metadata(struct gateway *gw, struct gw_conn *c, const struct kafka_request *q) {
    const struct kafka_metadata_request *m = &q->body.metadata;
    int16_t v = q->header.api_version;
    struct kafka_response r = {
        .api_key = q->header.api_key, .api_version = v, .correlation_id = q->header.correlation_id};
    struct kafka_metadata_response *b = &r.body.metadata;
    b->brokers_count = 1;
    b->brokers = kgw_alloc(gw, 1, sizeof *b->brokers);
    b->brokers[0] =
        (struct kafka_metadata_broker){KGW_NODE_ID, host_str(gw), kafka_port(gw), {NULL, -1}};
    b->cluster_id = kafka_str_c(gw->config->name);
    b->controller_id = KGW_NODE_ID;
    b->cluster_authorized_operations = INT32_MIN;
    if (m->topics_count < 0 || (v == 0 && m->topics_count == 0)) {
        metadata_all(gw, c, b);
    } else {
        bool may_create = v < 4 || m->allow_auto_topic_creation;
        b->topics_count = m->topics_count;
        b->topics = kgw_alloc(gw, (size_t)m->topics_count, sizeof *b->topics);
        for (int32_t i = 0; i < m->topics_count; i++) {
            metadata_topic(gw, c, m->topics[i], may_create, &b->topics[i]);
        }
    }
    return kgw_send(gw, c, &r) ? KGW_DONE : KGW_ROOM;
}

/* --- CreateTopics ----------------------------------------------------------------------------- */

uint32_t kgw_create_units(const struct kafka_request *q) {
    return (uint32_t)q->body.create_topics.topics_count;
}

/* The partitions topic t asks for (-1: the default, one). */
static int32_t create_partitions(const struct kafka_create_topics_topic *t) {
    return t->num_partitions == -1 ? 1 : t->num_partitions;
}

/* The error of creating topic t before anything is sent, or NONE. */
static int16_t create_check(struct gateway *gw, const struct kafka_create_topics_topic *t) {
    int32_t n = create_partitions(t);
    char path[KGW_PATH_BYTES];
    if (!kgw_topic_valid(t->name)) {
        return KAFKA_ERR_INVALID_TOPIC_EXCEPTION;
    }
    if (n < 1 || n > KGW_TOPIC_PARTITIONS_MAX || t->assignments_count > 0) {
        return KAFKA_ERR_INVALID_PARTITIONS;
    }
    if (kgw_path(t->name, n - 1, path) == 0) {
        return KAFKA_ERR_INVALID_TOPIC_EXCEPTION; /* "/T/p" above the 255 bytes of a path */
    }
    if (t->replication_factor != -1 && t->replication_factor != 1) {
        return KAFKA_ERR_INVALID_REPLICATION_FACTOR; /* one node: one replica */
    }
    return kgw_topic_partitions(gw, t->name) > 0 ? KAFKA_ERR_TOPIC_ALREADY_EXISTS : KAFKA_ERR_NONE;
}

strom_err kgw_create_submit(struct gateway *gw, struct gw_conn *c, struct kgw_inflight *f,
                            const struct kafka_request *q) {
    struct kgw_conn *kc = kgw_conn_of(gw, c);
    const struct kafka_create_topics_request *m = &q->body.create_topics;
    for (; f->units_done < f->units; f->units_done++, f->subs_done = 0) {
        const struct kafka_create_topics_topic *t = &m->topics[f->units_done];
        uint64_t seq = f->results_start + f->units_done;
        struct kgw_result *r = &kc->results[seq % KGW_RESULTS_MAX];
        if (f->subs_done == 0) {
            r->error = create_check(gw, t);
        }
        int32_t n = r->error == KAFKA_ERR_NONE && !m->validate_only ? create_partitions(t) : 0;
        for (; f->subs_done < (uint32_t)n; f->subs_done++) {
            char path[KGW_PATH_BYTES];
            uint32_t len = kgw_path(t->name, (int32_t)f->subs_done, path);
            struct node_request req = {
                .path_len = (uint16_t)len, .ack = 1, .flags = NODE_FLAG_SYNC};
            strom_err err =
                kgw_submit(gw, c, NODE_ENTRY_CREATE, &req, path, NULL, seq, KGW_TAG_UNIT, true);
            if (err) {
                return err; /* AGAIN: the rest later */
            }
            r->pending++;
        }
        r->created = r->created || (m->validate_only && r->error == KAFKA_ERR_NONE);
        r->submitting = false;
        f->units_left -= r->pending == 0 ? 1 : 0;
    }
    return STROM_OK;
}

bool kgw_create_respond(struct gateway *gw, struct gw_conn *c, const struct kgw_inflight *f,
                        const struct kafka_request *q) {
    struct kgw_conn *kc = kgw_conn_of(gw, c);
    const struct kafka_create_topics_request *m = &q->body.create_topics;
    struct kafka_response r = {.api_key = q->header.api_key,
                               .api_version = q->header.api_version,
                               .correlation_id = q->header.correlation_id};
    struct kafka_create_topics_response *b = &r.body.create_topics;
    b->topics_count = m->topics_count;
    b->topics = kgw_alloc(gw, (size_t)m->topics_count, sizeof *b->topics);
    for (int32_t i = 0; i < m->topics_count; i++) {
        int16_t error = KAFKA_ERR_POLICY_VIOLATION; /* more topics than one request may hold */
        if ((uint32_t)i < f->units) {
            const struct kgw_result *res =
                &kc->results[(f->results_start + (uint32_t)i) % KGW_RESULTS_MAX];
            /* a partition that existed already: someone else created the topic meanwhile */
            error = res->error == KAFKA_ERR_NONE && !res->created
                        ? (int16_t)KAFKA_ERR_TOPIC_ALREADY_EXISTS
                        : res->error;
        }
        b->topics[i] = (struct kafka_create_topics_topic_response){
            .name = m->topics[i].name, .error_code = error, .error_message = {NULL, -1}};
    }
    return kgw_send(gw, c, &r);
}

/* --- DeleteTopics, DescribeConfigs ------------------------------------------------------------ */

/* strom never removes a stream (the registry and /sys/cmd only grow), so a topic cannot be
 * deleted: TOPIC_DELETION_DISABLED, as a Kafka broker with delete.topic.enable=false answers. */
enum kgw_done kgw_delete_topics(struct gateway *gw, struct gw_conn *c,
                                const struct kafka_request *q) {
    const struct kafka_delete_topics_request *m = &q->body.delete_topics;
    struct kafka_response r = {.api_key = q->header.api_key,
                               .api_version = q->header.api_version,
                               .correlation_id = q->header.correlation_id};
    struct kafka_delete_topics_response *b = &r.body.delete_topics;
    b->responses_count = m->topic_names_count;
    b->responses = kgw_alloc(gw, (size_t)m->topic_names_count, sizeof *b->responses);
    for (int32_t i = 0; i < m->topic_names_count; i++) {
        struct kafka_str name = m->topic_names[i];
        bool exists = kgw_topic_valid(name) && kgw_topic_partitions(gw, name) > 0;
        b->responses[i] = (struct kafka_delete_topics_topic_response){
            name,
            exists ? KAFKA_ERR_TOPIC_DELETION_DISABLED : KAFKA_ERR_UNKNOWN_TOPIC_OR_PARTITION};
    }
    return kgw_send(gw, c, &r) ? KGW_DONE : KGW_ROOM;
}

/* One config entry of a resource. */
struct config_kv {
    const char *name;
    char value[32];
};

/* The configs strom reports for a topic (resource type 2) or the broker (4). */
static uint32_t configs_of(struct gateway *gw, int8_t type, struct config_kv *kv) {
    uint32_t n = 0;
    uint32_t batch_max = gw->kafka->limits.batch_bytes_max;
    if (type == 2) {
        kv[n++] = (struct config_kv){"cleanup.policy", "delete"};
        kv[n++] = (struct config_kv){"compression.type", "producer"};
        kv[n++] = (struct config_kv){"message.timestamp.type", "CreateTime"};
        kv[n++] = (struct config_kv){"retention.ms", "-1"};
        kv[n++] = (struct config_kv){"retention.bytes", "-1"};
        kv[n++] = (struct config_kv){"min.insync.replicas", "1"};
        kv[n] = (struct config_kv){"max.message.bytes", ""};
        snprintf(kv[n++].value, sizeof kv[0].value, "%u", batch_max);
    } else {
        kv[n++] = (struct config_kv){"broker.id", "0"};
        kv[n++] = (struct config_kv){"num.partitions", "1"};
        kv[n++] = (struct config_kv){"default.replication.factor", "1"};
        kv[n++] = (struct config_kv){"delete.topic.enable", "false"};
        kv[n] = (struct config_kv){"auto.create.topics.enable", ""};
        snprintf(kv[n++].value, sizeof kv[0].value, "%s",
                 gw->config->auto_create ? "true" : "false");
        kv[n] = (struct config_kv){"message.max.bytes", ""};
        snprintf(kv[n++].value, sizeof kv[0].value, "%u", batch_max);
    }
    return n;
}

static bool key_wanted(const struct kafka_describe_configs_resource *res, const char *name) {
    for (int32_t i = 0; i < res->configuration_keys_count; i++) {
        if (kafka_str_eq(res->configuration_keys[i], name)) {
            return true;
        }
    }
    return res->configuration_keys_count < 0;
}

static void describe_one(struct gateway *gw, const struct kafka_describe_configs_resource *res,
                         struct kafka_describe_configs_result *out) {
    *out = (struct kafka_describe_configs_result){.error_message = {NULL, -1},
                                                  .resource_type = res->resource_type,
                                                  .resource_name = res->resource_name};
    if (res->resource_type != 2 && res->resource_type != 4) {
        out->error_code = KAFKA_ERR_INVALID_REQUEST;
        return;
    }
    if (res->resource_type == 2 && (!kgw_topic_valid(res->resource_name) ||
                                    kgw_topic_partitions(gw, res->resource_name) == 0)) {
        out->error_code = KAFKA_ERR_UNKNOWN_TOPIC_OR_PARTITION;
        return;
    }
    struct config_kv *kv = kgw_alloc(gw, 8, sizeof *kv);
    uint32_t n = configs_of(gw, res->resource_type, kv);
    out->configs = kgw_alloc(gw, n, sizeof *out->configs);
    for (uint32_t i = 0; i < n; i++) {
        if (key_wanted(res, kv[i].name)) {
            out->configs[out->configs_count++] = (struct kafka_describe_configs_entry){
                .name = kafka_str_c(kv[i].name),
                .value = kafka_str_c(kv[i].value),
                .read_only = true,
                .is_default = true,
                .config_source = 5}; /* DEFAULT_CONFIG: nothing is set per topic or broker */
        }
    }
}

enum kgw_done kgw_describe_configs(struct gateway *gw, struct gw_conn *c,
                                   const struct kafka_request *q) {
    const struct kafka_describe_configs_request *m = &q->body.describe_configs;
    struct kafka_response r = {.api_key = q->header.api_key,
                               .api_version = q->header.api_version,
                               .correlation_id = q->header.correlation_id};
    struct kafka_describe_configs_response *b = &r.body.describe_configs;
    b->results_count = m->resources_count;
    b->results = kgw_alloc(gw, (size_t)m->resources_count, sizeof *b->results);
    for (int32_t i = 0; i < m->resources_count; i++) {
        describe_one(gw, &m->resources[i], &b->results[i]);
    }
    return kgw_send(gw, c, &r) ? KGW_DONE : KGW_ROOM;
}
