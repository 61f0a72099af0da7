/*
 * nodelog.h: the entries of a node's shared-memory streams (src/ring/).
 *
 * Two kinds of ring carry them:
 *   - a request ring per gateway (writer: that gateway; mandatory reader: the sequencer) holds
 *     NODE_ENTRY_APPEND and NODE_ENTRY_CREATE requests; a request's id is its position in the
 *     ring, unique and increasing for the life of the node's shared memory;
 *   - the node log (writer: the sequencer; mandatory readers: the commits; optional readers:
 *     the gateways) holds NODE_ENTRY_BATCH (a published batch of one stream) and
 *     NODE_ENTRY_ANSWER (the outcome of a request that published no batch of its own: an error,
 *     a retry inside the idempotence window, a create).
 * Every batch and answer names its origin (gateway, request id), so that the gateway that holds
 * the request answers it, and so that a restarted sequencer knows which requests it already
 * published (it skips request entries at or below the highest request id per gateway it finds in
 * the node log). Every request gets exactly one batch or answer with its origin, in the order of
 * its gateway's ring, so a gateway matches them to its requests first in, first out.
 *
 * Shared memory never leaves the machine and all processes are strom's own: the structs are
 * stored as they are (little-endian hosts, asserted) and an entry that does not parse is a broken
 * invariant, not bad input. The message set inside is the native protocol's, unchanged (checked
 * by the gateway before it is written).
 */
#ifndef STROM_NODE_NODELOG_H
#define STROM_NODE_NODELOG_H

#include <stdint.h>

#include "base/error.h"

struct ring_writer;

_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "node entries are little-endian");

/* Ring entry types (1..65535; 0 is the ring's padding). */
enum node_entry_type {
    NODE_ENTRY_APPEND = 1, /* request ring: struct node_request, path, message set */
    NODE_ENTRY_CREATE = 2, /* request ring: struct node_request (count 0), path */
    NODE_ENTRY_BATCH = 3,  /* node log: struct node_batch, message set */
    NODE_ENTRY_ANSWER = 4, /* node log: struct node_batch without messages */
};

/* Flags of requests and batches. */
enum node_flags {
    NODE_FLAG_SYNC = 1u << 0,      /* the answer waits for the disk (ack level sync) */
    NODE_FLAG_DUPLICATE = 1u << 1, /* answer: a retry; the offsets are the first application's */
    NODE_FLAG_CREATED = 1u << 2,   /* answer to a create: the stream is new */
    NODE_FLAG_KAFKA = 1u << 3,     /* the message set is one Kafka RecordBatch v2 (gateway_kafka.c):
                                      the sequencer writes its base offset and leader epoch in place */
    NODE_FLAG_SYSTEM = 1u << 4,    /* a gateway's own record for /sys/groups/ (Kafka groups): that
                                      prefix may be appended to and is created on demand */
    NODE_FLAG_RETRY = 1u << 5, /* request: the client sent this append before (PROTO_FLAG_RETRY);
                                  refused when its producer is not remembered (producers.h) */
};

/* No gateway: a batch the sequencer made itself (a /sys/cmd record of an auto-create). */
#define NODE_GATEWAY_NONE UINT16_MAX

/* Request flags the sequencer carries over into the batch or answer. */
#define NODE_FLAGS_CARRIED (NODE_FLAG_SYNC | NODE_FLAG_KAFKA)

/* A request from a gateway. Followed by path_len bytes of path, zero padding to a multiple of 8,
 * then messages_bytes of message set. */
struct node_request {
    uint64_t stream_id;      /* the stream, or 0 with a path (0 is /sys/cmd, never appended) */
    uint64_t producer_id;    /* 0: no idempotence */
    uint64_t sequence;       /* the batch's sequence number (with producer_id) */
    uint32_t span;           /* sequence numbers the batch uses up: 1 native, count Kafka */
    uint32_t count;          /* messages in the set */
    uint32_t epoch;          /* the epoch the client saw (0 on a single node) */
    uint32_t messages_bytes; /* bytes of the message set */
    uint16_t path_len;       /* 0 when stream_id names the stream */
    uint8_t ack;             /* ack level: nodes (1 on a single node) */
    uint8_t flags;           /* enum node_flags (SYNC, KAFKA, SYSTEM, RETRY) */
    uint32_t reserved;       /* zero */
};
_Static_assert(sizeof(struct node_request) == 48, "node_request layout");

/* A published batch (NODE_ENTRY_BATCH, followed by messages_bytes of message set) or an answer
 * (NODE_ENTRY_ANSWER, messages_bytes 0). */
struct node_batch {
    uint64_t stream_id;      /* the stream (of a create answer: the created or found stream) */
    uint64_t base_offset;    /* offset of the first message */
    uint64_t timestamp_ns;   /* ns since the Unix epoch; never decreases within a stream */
    uint64_t producer_id;    /* from the request; 0: none */
    uint64_t sequence;       /* from the request */
    uint64_t request_id;     /* origin: the request's position in its gateway's request ring */
    uint32_t count;          /* messages */
    uint32_t span;           /* sequence span (see producers.h) */
    uint32_t epoch;          /* the stream's epoch */
    uint32_t error;          /* answers: a strom_err; batches: 0 */
    uint32_t messages_bytes; /* bytes of the message set that follows */
    uint16_t gateway;        /* origin gateway, or NODE_GATEWAY_NONE */
    uint8_t ack;             /* the request's ack level */
    uint8_t flags;           /* enum node_flags */
};
_Static_assert(sizeof(struct node_batch) == 72, "node_batch layout");

/* Bytes of a request's path with its padding. */
static inline uint32_t node_request_path_bytes(uint32_t path_len) {
    return (path_len + 7u) & ~7u;
}

/* Claims a request entry in a gateway's request ring and writes req and its path (padded);
 * *msgs_out gets where its req->messages_bytes of messages go. The caller writes them there and
 * publishes the entry (ring_publish with NODE_ENTRY_APPEND or _CREATE; its position is the
 * request's id), or drops the claim (nothing becomes visible; the next claim takes its place).
 * Lets a gateway receive a message set from its socket straight into the entry. Errors as
 * nodelog_request_write. */
strom_err nodelog_request_claim(struct ring_writer *w, const struct node_request *req,
                                const char *path, uint8_t **msgs_out);

/* Writes a request entry of type (NODE_ENTRY_APPEND or _CREATE) into a gateway's request ring:
 * req, then path (req->path_len bytes) padded, then req->messages_bytes of msgs. *request_id
 * gets its id (its position). Errors: AGAIN (the ring is full: the sequencer is behind),
 * TOO_LARGE (larger than the ring takes). */
strom_err nodelog_request_write(struct ring_writer *w, uint16_t type,
                                const struct node_request *req, const char *path, const void *msgs,
                                uint64_t *request_id);

#endif
