/*
 * registry.h: the streams of a node, in shared memory: path -> stream id, and per stream id the
 * offsets every process needs (next, durable, first) and its path.
 *
 * The registry is the fold of /sys/cmd kept where every process of the node can read it without
 * replaying /sys/cmd itself: the sequencer folds each "stream created" record into it right after
 * publishing the record into the node log, and a restarted sequencer folds whatever the node log
 * still holds again (every insert is idempotent). A stream exists when it is findable here, which
 * is after its /sys/cmd record is published (write last, read first: DESIGN section 3).
 *
 * Layout of the region (all little-endian, zero-filled when created):
 *   struct registry_header | index slots (index_slots x 8 bytes) | streams (streams_max x 64 B)
 *   | path arena (arena_bytes)
 * Ids are dense: 0 .. stream_count-1; id 0 is /sys/cmd. The index is open addressing with linear
 * probing, insert-only (streams are never deleted here, so no tombstones); a slot holds
 * (id + 1, high 32 bits of the path hash) and becomes visible when id+1 is stored (release).
 *
 * One writer per field: the sequencer writes the header counters, the index, the arena and the
 * "sequencer" half of struct node_stream; the commit that owns a stream writes its "commit" half.
 * Readers (gateways, commits, supervisor) use acquire loads and never take locks.
 */
#ifndef STROM_NODE_REGISTRY_H
#define STROM_NODE_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/error.h"

/* The per-stream record. 64 bytes; each half has one writer. */
struct node_stream {
    /* Written by the sequencer. */
    uint64_t next_offset;       /* first offset not yet published: the ack-1 watermark */
    uint64_t last_timestamp_ns; /* timestamp of the last published batch (ns since the epoch) */
    uint32_t path_offset;       /* where the path starts in the arena */
    uint16_t path_len;          /* its length in bytes */
    uint16_t reserved;          /* zero */
    uint32_t epoch;             /* owner epoch (cluster: grows with each new owning sequencer) */
    uint32_t reserved2;         /* zero */
    /* Written by the commit that owns the stream. */
    uint64_t durable_next;         /* first offset not yet synced: the sync watermark */
    uint64_t first_offset;         /* first offset the store still holds */
    uint64_t bytes;                /* message set bytes of the batches below durable_next */
    uint64_t durable_timestamp_ns; /* timestamp of the last durable batch */
};
_Static_assert(sizeof(struct node_stream) == 64, "one cache line per stream");

/* The start of the region. */
struct registry_header {
    uint64_t magic;        /* REGISTRY_MAGIC once formatted */
    uint32_t streams_max;  /* capacity in stream ids */
    uint32_t index_slots;  /* power of two, at least 2 x streams_max */
    uint64_t arena_bytes;  /* capacity of the path arena */
    uint64_t stream_count; /* ids below it are assigned (sequencer; release) */
    uint64_t arena_used;   /* bytes of the arena in use (sequencer) */
    uint64_t reserved[3];  /* zero */
};
_Static_assert(sizeof(struct registry_header) == 64, "header size is part of the layout");

#define REGISTRY_MAGIC       0x3130676572727473u /* "strreg01" */
#define REGISTRY_STREAMS_MAX (1u << 26)          /* the most streams a node's registry can hold */

/* A process's view of a registry region. */
struct registry {
    struct registry_header *header;
    uint64_t *slots;             /* index: (hash_high << 32) | (id + 1); 0 is empty */
    struct node_stream *streams; /* by id */
    char *arena;                 /* paths, back to back, not NUL-terminated */
};

/* Bytes of a region for streams_max streams and arena_bytes of paths. */
size_t registry_region_bytes(uint32_t streams_max, uint64_t arena_bytes);

/* Formats a zero-filled region of registry_region_bytes(...) bytes and registers /sys/cmd as id
 * 0. streams_max in [1, REGISTRY_STREAMS_MAX]; arena_bytes fits in 32 bits. */
void registry_format(void *region, uint32_t streams_max, uint64_t arena_bytes);

/* Attaches r to a formatted region of region_bytes bytes; STROM_ERR_CORRUPT when the header does
 * not describe a region of that size. */
strom_err registry_attach(struct registry *r, void *region, size_t region_bytes);

/* Readers (any process). */
uint64_t registry_count(const struct registry *r);
/* true and *id_out when path[0..len) is registered. */
bool registry_find(const struct registry *r, const char *path, size_t len, uint64_t *id_out);
/* The record of id < registry_count(r). */
struct node_stream *registry_stream(const struct registry *r, uint64_t id);
/* The path of id < registry_count(r), not NUL-terminated; *len_out its length. */
const char *registry_path(const struct registry *r, uint64_t id, size_t *len_out);

/* Writer (the sequencer only). Registers a valid path as the next id and returns it; EXISTS with
 * the id when the path is already registered; LIMIT when the streams or the arena are full.
 * When expect_id is not UINT64_MAX (a replay of a /sys/cmd record), the path must get exactly
 * that id: CORRUPT when the record does not fit the registry (ids are dense and in order). */
strom_err registry_insert(struct registry *r, const char *path, size_t len, uint64_t expect_id,
                          uint64_t *id_out);

#endif
