/*
 * api.h: the Kafka APIs strom serves, their versions, Kafka's error codes, request and response
 * headers, and the size-prefixed framing of both.
 *
 * Source: kafka.apache.org/protocol ("Common Request and Response Structure", "Headers", "Error
 * Codes") and the message definitions in Apache Kafka's clients/src/main/resources/common/message/
 * (RequestHeader.json, ResponseHeader.json, validVersions and flexibleVersions of each API).
 *
 * A request on the wire is: int32 size, then `size` bytes of header and body. The request header
 * is version 1 (api_key, api_version, correlation_id, nullable client_id) for a non-flexible API
 * version and version 2 (the same plus tagged fields) for a flexible one; client_id keeps its
 * int16 length even in version 2. The response header is version 0 (correlation_id) or, for a
 * flexible version, version 1 (plus tagged fields), except that ApiVersions always answers with
 * version 0 so that a client can read it before it knows the broker's versions.
 */
#ifndef STROM_KAFKA_API_H
#define STROM_KAFKA_API_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/error.h"
#include "kafka/wire.h"

/* API keys (the protocol's numbers). */
enum kafka_api_key {
    KAFKA_API_PRODUCE = 0,
    KAFKA_API_FETCH = 1,
    KAFKA_API_LIST_OFFSETS = 2,
    KAFKA_API_METADATA = 3,
    KAFKA_API_OFFSET_COMMIT = 8,
    KAFKA_API_OFFSET_FETCH = 9,
    KAFKA_API_FIND_COORDINATOR = 10,
    KAFKA_API_JOIN_GROUP = 11,
    KAFKA_API_HEARTBEAT = 12,
    KAFKA_API_LEAVE_GROUP = 13,
    KAFKA_API_SYNC_GROUP = 14,
    KAFKA_API_API_VERSIONS = 18,
    KAFKA_API_CREATE_TOPICS = 19,
    KAFKA_API_DELETE_TOPICS = 20,
    KAFKA_API_INIT_PRODUCER_ID = 22,
    KAFKA_API_DESCRIBE_CONFIGS = 32,
};

/* One API strom serves: the versions it accepts and the first flexible version of the API. */
struct kafka_api_info {
    int16_t api_key;
    int16_t min_version;
    int16_t max_version;
    int16_t flexible_min_version; /* versions >= this use the compact forms and tagged fields */
    const char *name;             /* Kafka's name of the API ("Produce") */
};

/* The number of APIs in the table. */
#define KAFKA_API_COUNT 16

/* The table, in api_key order; entries 0 .. KAFKA_API_COUNT-1. */
const struct kafka_api_info *kafka_api_table(void);
/* The entry of api_key, or NULL when strom does not serve it. */
const struct kafka_api_info *kafka_api_find(int16_t api_key);
/* True when api_key is served at version. */
bool kafka_api_supported(int16_t api_key, int16_t version);
/* True when version of api_key is flexible (false for an API not in the table). */
bool kafka_api_flexible(int16_t api_key, int16_t version);
/* The request header version (1 or 2) and the response header version (0 or 1). */
int kafka_request_header_version(int16_t api_key, int16_t version);
int kafka_response_header_version(int16_t api_key, int16_t version);

/* Kafka's error codes (the subset strom sends or must name). */
enum kafka_error_code {
    KAFKA_ERR_UNKNOWN_SERVER_ERROR = -1,
    KAFKA_ERR_NONE = 0,
    KAFKA_ERR_OFFSET_OUT_OF_RANGE = 1,
    KAFKA_ERR_CORRUPT_MESSAGE = 2,
    KAFKA_ERR_UNKNOWN_TOPIC_OR_PARTITION = 3,
    KAFKA_ERR_INVALID_FETCH_SIZE = 4,
    KAFKA_ERR_LEADER_NOT_AVAILABLE = 5,
    KAFKA_ERR_NOT_LEADER_OR_FOLLOWER = 6,
    KAFKA_ERR_REQUEST_TIMED_OUT = 7,
    KAFKA_ERR_MESSAGE_TOO_LARGE = 10,
    KAFKA_ERR_NETWORK_EXCEPTION = 13,
    KAFKA_ERR_COORDINATOR_LOAD_IN_PROGRESS = 14,
    KAFKA_ERR_COORDINATOR_NOT_AVAILABLE = 15,
    KAFKA_ERR_NOT_COORDINATOR = 16,
    KAFKA_ERR_INVALID_TOPIC_EXCEPTION = 17,
    KAFKA_ERR_RECORD_LIST_TOO_LARGE = 18,
    KAFKA_ERR_NOT_ENOUGH_REPLICAS = 19,
    KAFKA_ERR_INVALID_REQUIRED_ACKS = 21,
    KAFKA_ERR_ILLEGAL_GENERATION = 22,
    KAFKA_ERR_INCONSISTENT_GROUP_PROTOCOL = 23,
    KAFKA_ERR_INVALID_GROUP_ID = 24,
    KAFKA_ERR_UNKNOWN_MEMBER_ID = 25,
    KAFKA_ERR_INVALID_SESSION_TIMEOUT = 26,
    KAFKA_ERR_REBALANCE_IN_PROGRESS = 27,
    KAFKA_ERR_TOPIC_AUTHORIZATION_FAILED = 29,
    KAFKA_ERR_GROUP_AUTHORIZATION_FAILED = 30,
    KAFKA_ERR_CLUSTER_AUTHORIZATION_FAILED = 31,
    KAFKA_ERR_INVALID_TIMESTAMP = 32,
    KAFKA_ERR_UNSUPPORTED_VERSION = 35,
    KAFKA_ERR_TOPIC_ALREADY_EXISTS = 36,
    KAFKA_ERR_INVALID_PARTITIONS = 37,
    KAFKA_ERR_INVALID_REPLICATION_FACTOR = 38,
    KAFKA_ERR_INVALID_CONFIG = 40,
    KAFKA_ERR_INVALID_REQUEST = 42,
    KAFKA_ERR_UNSUPPORTED_FOR_MESSAGE_FORMAT = 43,
    KAFKA_ERR_POLICY_VIOLATION = 44,
    KAFKA_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER = 45,
    KAFKA_ERR_DUPLICATE_SEQUENCE_NUMBER = 46,
    KAFKA_ERR_INVALID_PRODUCER_EPOCH = 47,
    KAFKA_ERR_INVALID_TXN_STATE = 48,
    KAFKA_ERR_KAFKA_STORAGE_ERROR = 56,
    KAFKA_ERR_UNKNOWN_PRODUCER_ID = 59,
    KAFKA_ERR_NON_EMPTY_GROUP = 68,
    KAFKA_ERR_GROUP_ID_NOT_FOUND = 69,
    KAFKA_ERR_TOPIC_DELETION_DISABLED = 73,
    KAFKA_ERR_UNSUPPORTED_COMPRESSION_TYPE = 76,
    KAFKA_ERR_MEMBER_ID_REQUIRED = 79,
    KAFKA_ERR_FENCED_INSTANCE_ID = 82,
    KAFKA_ERR_INVALID_RECORD = 87,
};

/*
 * The Kafka error code a client should see for a strom error met while serving a partition:
 * CORRUPT -> CORRUPT_MESSAGE, TOO_LARGE -> MESSAGE_TOO_LARGE, NO_STREAM/NOT_FOUND ->
 * UNKNOWN_TOPIC_OR_PARTITION, OUT_OF_RANGE -> OFFSET_OUT_OF_RANGE, UNSUPPORTED_VERSION ->
 * UNSUPPORTED_VERSION, UNSUPPORTED -> UNSUPPORTED_FOR_MESSAGE_FORMAT, sequence errors to theirs,
 * TIMEOUT -> REQUEST_TIMED_OUT, anything else UNKNOWN_SERVER_ERROR.
 */
int16_t kafka_error_from_strom(strom_err err);

/* --- framing and headers ---------------------------------------------------------------------- */

/* Largest request frame accepted by default (Kafka's socket.request.max.bytes). */
#define KAFKA_REQUEST_BYTES_DEFAULT_MAX (100u * 1024 * 1024)
/* Bytes of the size prefix of every frame. */
#define KAFKA_FRAME_PREFIX_BYTES 4
/* Smallest request: api_key, api_version, correlation_id. */
#define KAFKA_REQUEST_HEADER_MIN_BYTES 8

/*
 * Looks at the start of a byte stream for one frame. On STROM_OK, *frame_bytes is the size of
 * the frame after its prefix and the whole frame is buf[4 .. 4 + *frame_bytes). AGAIN: the
 * prefix or the frame is not all there yet (*frame_bytes is set once the prefix is). TOO_LARGE:
 * the size is above bytes_max. PROTOCOL: the size is negative or below the smallest header.
 */
strom_err kafka_frame_peek(const uint8_t *buf, size_t len, uint32_t bytes_max,
                           uint32_t *frame_bytes);

struct kafka_request_header {
    int16_t api_key;
    int16_t api_version;
    int32_t correlation_id;
    struct kafka_str client_id; /* nullable; a view into the request */
};

#endif
