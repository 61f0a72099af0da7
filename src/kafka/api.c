/* api.c: the table of served Kafka APIs, error mapping and framing (see api.h). */
#include "kafka/api.h"

#include "base/assert.h"

/*
 * The versions strom serves (docs/kafka.md says why each range). flexible_min_version is the
 * first version Apache Kafka declares flexible for the API, whether or not strom serves it.
 */
static const struct kafka_api_info api_table[KAFKA_API_COUNT] = {
    {KAFKA_API_PRODUCE, 0, 7, 9, "Produce"},
    {KAFKA_API_FETCH, 4, 11, 12, "Fetch"},
    {KAFKA_API_LIST_OFFSETS, 0, 2, 6, "ListOffsets"},
    {KAFKA_API_METADATA, 0, 9, 9, "Metadata"},
    {KAFKA_API_OFFSET_COMMIT, 2, 7, 8, "OffsetCommit"},
    {KAFKA_API_OFFSET_FETCH, 1, 5, 6, "OffsetFetch"},
    {KAFKA_API_FIND_COORDINATOR, 0, 2, 3, "FindCoordinator"},
    {KAFKA_API_JOIN_GROUP, 0, 5, 6, "JoinGroup"},
    {KAFKA_API_HEARTBEAT, 0, 3, 4, "Heartbeat"},
    {KAFKA_API_LEAVE_GROUP, 0, 1, 4, "LeaveGroup"},
    {KAFKA_API_SYNC_GROUP, 0, 3, 4, "SyncGroup"},
    {KAFKA_API_API_VERSIONS, 0, 3, 3, "ApiVersions"},
    {KAFKA_API_CREATE_TOPICS, 0, 4, 5, "CreateTopics"},
    {KAFKA_API_DELETE_TOPICS, 0, 1, 4, "DeleteTopics"},
    {KAFKA_API_INIT_PRODUCER_ID, 0, 1, 2, "InitProducerId"},
    {KAFKA_API_DESCRIBE_CONFIGS, 0, 1, 4, "DescribeConfigs"},
};

const struct kafka_api_info *kafka_api_table(void) {
    return api_table;
}

const struct kafka_api_info *kafka_api_find(int16_t api_key) {
    for (size_t i = 0; i < KAFKA_API_COUNT; i++) {
        if (api_table[i].api_key == api_key) {
            return &api_table[i];
        }
    }
    return NULL;
}

bool kafka_api_supported(int16_t api_key, int16_t version) {
    const struct kafka_api_info *info = kafka_api_find(api_key);
    return info != NULL && version >= info->min_version && version <= info->max_version;
}

bool kafka_api_flexible(int16_t api_key, int16_t version) {
    const struct kafka_api_info *info = kafka_api_find(api_key);
    return info != NULL && version >= info->flexible_min_version;
}

int kafka_request_header_version(int16_t api_key, int16_t version) {
    return kafka_api_flexible(api_key, version) ? 2 : 1;
}

int kafka_response_header_version(int16_t api_key, int16_t version) {
    if (api_key == KAFKA_API_API_VERSIONS) {
        return 0;
    }
    return kafka_api_flexible(api_key, version) ? 1 : 0;
}

int16_t kafka_error_from_strom(strom_err err) {
    switch (err) {
    case STROM_OK:
        return KAFKA_ERR_NONE;
    case STROM_ERR_CORRUPT:
    case STROM_ERR_TRUNCATED:
        return KAFKA_ERR_CORRUPT_MESSAGE;
    case STROM_ERR_TOO_LARGE:
        return KAFKA_ERR_MESSAGE_TOO_LARGE;
    case STROM_ERR_NO_STREAM:
    case STROM_ERR_NOT_FOUND:
        return KAFKA_ERR_UNKNOWN_TOPIC_OR_PARTITION;
    case STROM_ERR_OUT_OF_RANGE:
        return KAFKA_ERR_OFFSET_OUT_OF_RANGE;
    case STROM_ERR_UNSUPPORTED_VERSION:
        return KAFKA_ERR_UNSUPPORTED_VERSION;
    case STROM_ERR_UNSUPPORTED:
        return KAFKA_ERR_UNSUPPORTED_FOR_MESSAGE_FORMAT;
    case STROM_ERR_OUT_OF_ORDER_SEQUENCE:
        return KAFKA_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER;
    case STROM_ERR_SEQUENCE_TOO_OLD:
        return KAFKA_ERR_DUPLICATE_SEQUENCE_NUMBER;
    case STROM_ERR_TIMEOUT:
        return KAFKA_ERR_REQUEST_TIMED_OUT;
    case STROM_ERR_INVALID_PATH:
        return KAFKA_ERR_INVALID_TOPIC_EXCEPTION;
    case STROM_ERR_NO_SPACE:
    case STROM_ERR_IO:
    case STROM_ERR_STORE_FAILED:
        return KAFKA_ERR_KAFKA_STORAGE_ERROR;
    default:
        return KAFKA_ERR_UNKNOWN_SERVER_ERROR;
    }
}

strom_err kafka_frame_peek(const uint8_t *buf, size_t len, uint32_t bytes_max,
                           uint32_t *frame_bytes) {
    strom_assert(buf != NULL || len == 0);
    strom_assert(frame_bytes != NULL);
    if (len < KAFKA_FRAME_PREFIX_BYTES) {
        return STROM_ERR_AGAIN;
    }
    int32_t size = (int32_t)kafka_load_be32(buf);
    if (size < KAFKA_REQUEST_HEADER_MIN_BYTES) {
        return STROM_ERR_PROTOCOL;
    }
    if ((uint32_t)size > bytes_max) {
        return STROM_ERR_TOO_LARGE;
    }
    *frame_bytes = (uint32_t)size;
    return len - KAFKA_FRAME_PREFIX_BYTES < (uint32_t)size ? STROM_ERR_AGAIN : STROM_OK;
}
