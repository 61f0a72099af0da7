/*
 * client.h: simulated clients of a node, speaking the native protocol (docs/protocol.md, frames
 * of src/proto/frame.h) over simulated connections (sim.h), and reporting what they see to the
 * model (check.h).
 *
 * Kinds of client, each with its own connection (reconnected after a back-off when it breaks):
 *   - producer: appends batches to one stream with a producer id and sequences 0, 1, 2, ...,
 *     pipelined up to `depth` (at most the idempotence window), each at ack 1 with or without
 *     sync. On an error or a broken connection it sends again, in order, every batch not yet
 *     answered (an idempotent retry); sometimes in another order (a reordered retry), and
 *     sometimes it sends again a batch already answered, inside the window (it must get the first
 *     answer's offsets back) or outside it (it must be refused): duplicated requests.
 *   - subscriber: follows one stream from a random offset (0, inside, or its end) at ack 1 or
 *     sync, with a credit; every offset must come once, in order; it resumes where it was after a
 *     broken connection.
 *   - reader: reads random ranges of random streams without following, at either level.
 *   - verifier: at the end, reads every stream from 0 and hands the model its end.
 *
 * Payloads name their message (producer, sequence, index) and the rest of their bytes follow from
 * that name, so every byte delivered is checked.
 */
#ifndef STROM_SIM_CLIENT_H
#define STROM_SIM_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/error.h"
#include "sim/check.h"
#include "sim/sim.h"
#include "sim/simnode.h"

#define SIM_CLIENTS_MAX       48
#define SIM_CLIENT_BUF_BYTES  (128u << 10) /* input and output buffer of a client */
#define SIM_QUEUED_MAX        64           /* batches made and not yet answered, per producer */
#define SIM_RECONNECT_MIN_NS  200000u      /* back-off after a failed connect: 0.2 ms ... */
#define SIM_RECONNECT_MAX_NS  20000000u    /* ... to 20 ms */
#define SIM_READ_RETRY_NS     1000000u     /* a read that ended with an error opens again after */
#define SIM_PAYLOAD_BYTES_MAX 1024u
#define SIM_DAMAGE_GRACE_NS   1000000000u /* a read ending CORRUPT this long after faults: damage */

/* What the clients do, drawn per seed. */
struct sim_workload {
    uint32_t producers;   /* 1..MODEL_PRODUCERS_MAX */
    uint32_t subscribers; /* following reads */
    uint32_t readers;     /* one-off reads */
    uint32_t streams;     /* paths /sim/s0 .. */
    uint32_t window;      /* the node's idempotence window W */
    uint32_t depth_max;   /* batches in flight per producer, 1..W */
    uint32_t batch_msgs_max;
    uint32_t payload_min;  /* bytes of a payload */
    uint32_t payload_max;  /* <= SIM_PAYLOAD_BYTES_MAX */
    uint64_t batch_gap_ns; /* mean time between two new batches of a producer */
    double sync_p;         /* a batch asks for sync */
    double probe_p;        /* after an answer, a duplicated request of an answered batch */
    double reorder_p;      /* a retry after a broken connection sends in another order */
    double read_sync_p;    /* a subscriber or reader reads at the sync level */
    double create_p;       /* a producer creates its stream before appending */
    uint64_t credit_bytes; /* credit of a read */
    uint64_t read_gap_ns;  /* mean time between a reader's reads */
    double ack0_p;         /* an append or read names ack level 0 (the node takes it as 1) */
    double ack_over_p;     /* a duplicated request or a reader's read names a level above 1,
                              which one node must refuse with UNSUPPORTED */
};

/* Counters of the clients. */
struct sim_client_stats {
    uint64_t batches_made;
    uint64_t batches_acked;
    uint64_t messages_acked;
    uint64_t sends;          /* append frames sent, retries included */
    uint64_t retries;        /* sends of a batch after its first */
    uint64_t probes_inside;  /* duplicated requests inside the window, answered */
    uint64_t probes_outside; /* outside the window, answered */
    uint64_t errors;         /* append answers with an error */
    uint64_t delivered;      /* messages delivered to subscribers and readers */
    uint64_t reads;          /* reads opened */
    uint64_t connects;       /* connections opened */
    uint64_t creates;        /* create requests answered */
    uint64_t over_refused;   /* appends and reads above ack level 1, refused */
};

struct sim_clients;

strom_err sim_clients_create(struct sim_world *w, struct simnode *node, struct sim_model *m,
                             const struct sim_workload *wl, struct sim_clients **out);
void sim_clients_destroy(struct sim_clients *c);

/* Starts every client (connections, first batches, first reads). */
void sim_clients_start(struct sim_clients *c);
/* Faults stopped: producers make no new batches; everything else goes on. */
void sim_clients_quiet(struct sim_clients *c);

/* A crash of the whole node is about to happen: batches in flight may now be applied twice. */
void sim_clients_node_crash(struct sim_clients *c);
/* The node came back with next[s] offsets of stream s: subscribers at ack 1 past it go back to
 * it (what they read there was taken back); one at the sync level past it read what was lost. */
void sim_clients_node_recovered(struct sim_clients *c, const uint64_t *next);

/* true when every batch is answered, nothing is in flight, and every subscriber reached its
 * stream's watermark; otherwise why (what is pending) goes to why. */
bool sim_clients_settled(struct sim_clients *c, char *why, size_t why_bytes);

/* Starts the final reads of every stream; sim_clients_verified says when they are done. */
void sim_clients_verify(struct sim_clients *c);
bool sim_clients_verified(struct sim_clients *c, char *why, size_t why_bytes);

void sim_clients_get_stats(const struct sim_clients *c, struct sim_client_stats *out);

#endif
