/*
 * sequencer.h: the sequencer role, the node's one point of ordering.
 *
 * It takes requests from every gateway's request ring in turn (at most SEQUENCER_TURN_MAX from
 * each per turn, so that one busy gateway cannot starve the others), and for each one publishes
 * exactly one entry into the node log with the request's origin (gateway, request id):
 *   - an append that is applied: a NODE_ENTRY_BATCH with the next offsets of its stream and a
 *     timestamp (realtime ns, never below the stream's last one);
 *   - an append that is not: a NODE_ENTRY_ANSWER with the error, or, for a retry inside the
 *     idempotence window, with the offsets the batch got the first time (NODE_FLAG_DUPLICATE);
 *   - a create: a NODE_ENTRY_ANSWER with the stream id (NODE_FLAG_CREATED when new).
 * A stream is created (by a create, or by the first append to it when auto-create is on) by
 * publishing a `strom.stream_created  id:N  path:P  ts:T` record as a batch of /sys/cmd (id 0)
 * first, then registering it (registry.h): write last, read first.
 *
 * All of its state lives in the node's shared memory (registry, idempotence windows, counters),
 * and every update follows the publication it reflects. A restarted sequencer reopens the node
 * log's writer (which finds the last published entry) and applies that last entry again
 * (idempotently), then skips requests its gateways' rings still hold but that were published
 * already (published_request in its counters). On a fresh node (new shared memory) it first
 * rebuilds the registry from /sys/cmd, the next offsets from the commits' durable offsets, and the
 * idempotence windows and last timestamps from the last batches of each stream in the stores.
 */
#ifndef STROM_NODE_SEQUENCER_H
#define STROM_NODE_SEQUENCER_H

#include <stdbool.h>
#include <stdint.h>

#include "node/config.h"
#include "node/producers.h"
#include "node/registry.h"
#include "node/shm.h"
#include "ring/ring.h"

struct io;

#define SEQUENCER_TURN_MAX       64         /* requests taken from one ring per turn */
#define SEQUENCER_RECORD_BYTES   1024       /* a /sys/cmd record's message set */
#define SEQUENCER_IDLE_WAIT_NS   100000000u /* longest sleep without news (then checks signals) */
#define SEQUENCER_TAIL_MESSAGES  1024       /* per stream, read back into the windows at a start */
#define SEQUENCER_TAIL_BYTES_MAX (256u << 20) /* ... and at most this much in all */

/* The sequencer's root struct. */
struct sequencer {
    struct io *io;
    const struct node_config *config;
    const struct node_shm *shm;
    struct node_sequencer_counters *counters;
    struct registry registry;
    struct producers producers;
    struct ring_writer log;
    struct ring_reader requests[NODE_GATEWAYS_MAX];
    uint32_t gateways;
    uint32_t turn;           /* the ring to start the next turn with */
    uint64_t now_ns;         /* realtime, read once per turn */
    bool log_full;           /* the last turn stopped because the node log had no room */
    uint32_t log_full_bytes; /* the body that did not fit */
    uint8_t record[SEQUENCER_RECORD_BYTES]; /* scratch: a /sys/cmd record */
};

/* Attaches to the node's shared memory and opens the node log's writer and the request rings'
 * reader (slot NODE_REQUEST_SLOT_SEQUENCER). Errors: those of ring_writer_open, ring_reader_open,
 * producers_attach. */
strom_err sequencer_open(struct sequencer *s, struct io *io, const struct node_config *c,
                         const struct node_shm *shm);

/* On new shared memory (a node that starts on an existing data directory): folds /sys/cmd from
 * the store of its commit into the registry, takes every stream's next offset from the durable
 * offsets the commits published, and reads the last SEQUENCER_TAIL_MESSAGES of each stream back
 * into the idempotence windows and the stream's last timestamp (SEQUENCER_TAIL_BYTES_MAX in all).
 * Errors: those of the store (CORRUPT: a /sys/cmd record that does not fit the registry). */
strom_err sequencer_rebuild(struct sequencer *s);

/* Recovery after open (see the file comment). */
void sequencer_recover(struct sequencer *s);

/* One turn over every request ring at realtime now_ns. Returns the requests handled; sets
 * s->log_full when it stopped at a request the node log had no room for (that request is taken
 * again next turn). */
uint32_t sequencer_turn(struct sequencer *s, uint64_t now_ns);

#endif
