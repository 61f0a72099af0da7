/*
 * shm.h: a node's shared memory, made by the supervisor before it forks any role.
 *
 * Regions (io_shm_create; every child inherits them at the same address):
 *   - the node region: struct node_header (identity, geometry, the counters page: one block per
 *     process, each written by that process only), the stream registry (registry.h), then the
 *     sequencer's idempotence windows (producers.h);
 *   - the node log: a ring (src/ring/) written by the sequencer; reader slot c (mandatory) is
 *     commit c, slot NODE_LOG_SLOT_GATEWAY(g) (optional) is gateway g;
 *   - one request ring per gateway: written by the gateway; slot 0 (mandatory) is the sequencer.
 * Events (io_event_create, inherited by fork): one per gateway, which its poller waits on, one
 * for the sequencer, and one per commit (which it waits on for node log entries and, on Linux,
 * for its asynchronous syncs). Whoever has news for a sleeping process signals its event: the
 * ring's writer for new entries, a ring's reader for freed space, a commit for a durable position
 * that moved, the kernel for a finished sync.
 *
 * Because the regions outlive every child, a restarted child finds the rings, the registry and
 * the counters as the dead one left them (docs/node.md, "Restarts").
 */
#ifndef STROM_NODE_SHM_H
#define STROM_NODE_SHM_H

#include <stddef.h>
#include <stdint.h>

#include "base/error.h"
#include "node/config.h"
#include "node/producers.h"
#include "node/registry.h"

struct io;

#define NODE_SHM_MAGIC              0x3130656d6f727473u /* "strome01" */
#define NODE_LOG_SLOT_COMMIT(c)     (c)
#define NODE_LOG_SLOT_GATEWAY(g)    (NODE_COMMITS_MAX + (g))
#define NODE_REQUEST_SLOT_SEQUENCER 0u

/* Per-process blocks are 256 bytes, aligned, so that two writers never share a cache line. */
#define NODE_COUNTERS_BYTES 256

/* Written by the sequencer. */
struct node_sequencer_counters {
    uint64_t pid;                /* the running sequencer, 0 when none */
    uint64_t starts;             /* times a sequencer started on this shared memory */
    uint64_t ready;              /* 1 once it recovered and takes requests */
    uint64_t requests;           /* requests taken from the request rings */
    uint64_t batches;            /* batches published */
    uint64_t messages;           /* messages published */
    uint64_t message_bytes;      /* bytes of message sets published */
    uint64_t duplicates;         /* retries answered from the idempotence windows */
    uint64_t rejected;           /* requests answered with an error */
    uint64_t creates;            /* streams created */
    uint64_t log_full_waits;     /* times the node log was full (a commit behind) */
    uint64_t recovered_batches;  /* batches folded from the node log at the last start */
    uint64_t skipped_requests;   /* requests found published already at the last start */
    uint64_t producer_evictions; /* idempotence windows forgotten for room */
    /* Per gateway: the highest request id (request ring position) with a published batch or
     * answer, + 1 (0: none yet). A restarted sequencer skips requests below it. */
    uint64_t published_request[NODE_GATEWAYS_MAX];
    uint64_t rebuilt; /* 1 once the registry was rebuilt from the stores on this memory */
    uint8_t pad[NODE_COUNTERS_BYTES - (15 + NODE_GATEWAYS_MAX) * 8];
};

/* Written by commit c. */
struct node_commit_counters {
    uint64_t pid;
    uint64_t starts;
    uint64_t ready;            /* 1 once its store is open and its streams' offsets published */
    uint64_t durable_position; /* node log: every batch of this commit before it is on disk */
    uint64_t read_position;    /* node log: entries before it are read */
    uint64_t batches;          /* batches written */
    uint64_t message_bytes;    /* bytes of message sets written */
    uint64_t syncs;            /* fdatasync calls */
    uint64_t sync_ns_total;    /* time in them */
    uint64_t sync_ns_max;      /* the longest */
    uint64_t skipped;          /* batches read again after a restart and already stored */
    /* Data file: every record starting below it is synced (store_sync's answer). Read-only
     * readers refresh up to it and never further: what lies beyond may be cut by the commit's
     * recovery after a crash (see store_refresh). Published before durable_position. */
    uint64_t file_durable_pos;
    uint64_t direct_writes;       /* 1 while its store writes with O_DIRECT */
    uint64_t write_mode_switches; /* times it switched between O_DIRECT and the page cache */
    uint64_t lazy_syncs;          /* syncs started by the lazy bound (COMMIT_LAZY_SYNC_NS) */
    /* 1 while the commit sleeps without asking to be woken for node log entries (fsync always,
     * nobody waits for a durable position: commit.h, COMMIT_LAZY_SYNC_NS): set before it looks
     * for work a last time, cleared when it wakes. Whoever starts to wait for a durable position
     * (a gateway's durable_wanted, the sequencer publishing a sync batch) reads it and, when it
     * is 1, signals the commit's event (node_commits_wake); only the commit writes it. */
    uint32_t lazy;
    uint32_t pad32;
    uint8_t pad[NODE_COUNTERS_BYTES - 16 * 8];
};

/* Written by gateway g, except `armed` (see below). */
struct node_gateway_counters {
    uint64_t pid;
    uint64_t starts;
    uint64_t ready;       /* 1 once it listens */
    uint64_t connections; /* open now */
    uint64_t accepted;    /* since start */
    uint64_t refused;     /* at the connection limit */
    uint64_t frames_in;
    uint64_t frames_out;
    uint64_t appends;
    uint64_t reads;
    uint64_t errors;         /* error frames sent */
    uint64_t lapped;         /* times it fell behind the node log */
    uint64_t port;           /* the port it listens on */
    uint64_t kafka_port;     /* the port of its Kafka listener, 0 when off */
    uint64_t direct_appends; /* appends whose rest was received straight into the request ring */
    /* The doorbell: the gateway sets it to 1 before it sleeps; a commit that moved its durable
     * position exchanges it with 0 and, when it was 1, signals the gateway's event. (Two writers
     * by design: a handshake word, like the ring's waiting mask.) */
    uint32_t armed;
    /* Bit c: this gateway reads commit c's data file (a read open on one of its streams, or a
     * store read in the last GW_FILE_READ_HOLD_NS): commit c then writes through the page cache,
     * so that the reads find what it wrote there (docs/node.md, "Throughput"). */
    uint32_t file_readers;
    /* 1 while something here waits for a durable position (sync answers, sync subscribers,
     * catch-up reads waiting for a commit, parked Kafka requests): the commits then sync as soon as
     * they can instead of by the lazy bound (commit.h, COMMIT_LAZY_SYNC_NS). Published every
     * turn; when it turns 1 the gateway wakes the commits that sleep lazily (node_commits_wake).
     */
    uint32_t durable_wanted;
    uint32_t pad32;
    /* The wait for an ack-1 answer by polling the node log (gateway.c, gw_spin): polls begun,
     * those that saw the node log move, and the time those took in all (ns). */
    uint64_t spins;
    uint64_t spin_hits;
    uint64_t spin_hit_ns;
    uint8_t pad[NODE_COUNTERS_BYTES - 20 * 8];
};

/* Written by the supervisor. */
struct node_supervisor_counters {
    uint64_t pid;
    uint64_t started_ns; /* realtime when the node started */
    uint64_t restarts;   /* children restarted */
    uint64_t stopping;   /* 1 once a stop was asked for */
    uint8_t pad[NODE_COUNTERS_BYTES - 4 * 8];
};

_Static_assert(sizeof(struct node_sequencer_counters) == NODE_COUNTERS_BYTES, "block size");
_Static_assert(sizeof(struct node_commit_counters) == NODE_COUNTERS_BYTES, "block size");
_Static_assert(sizeof(struct node_gateway_counters) == NODE_COUNTERS_BYTES, "block size");
_Static_assert(sizeof(struct node_supervisor_counters) == NODE_COUNTERS_BYTES, "block size");

/* The start of the node region. Geometry is written once by the supervisor before forking. */
struct node_header {
    uint64_t magic;
    uint32_t gateways;
    uint32_t commits;
    uint64_t registry_bytes;   /* the registry's region, right after this header */
    uint64_t producers_offset; /* of the producers region, from the start of the node region */
    uint64_t producers_bytes;
    uint8_t pad[NODE_COUNTERS_BYTES - 40];
    struct node_supervisor_counters supervisor;
    struct node_sequencer_counters sequencer;
    struct node_commit_counters commits_c[NODE_COMMITS_MAX];
    struct node_gateway_counters gateways_c[NODE_GATEWAYS_MAX];
};

/* A process's view of the node's shared memory (the same in every process: made before fork). */
struct node_shm {
    struct node_header *header;
    struct registry registry;
    void *producers_region; /* attached by the sequencer only */
    size_t producers_bytes;
    void *node_region;
    size_t node_bytes;
    void *log_region;
    size_t log_bytes;
    void *request_regions[NODE_GATEWAYS_MAX];
    size_t request_bytes;
    int sequencer_event;
    int gateway_events[NODE_GATEWAYS_MAX];
    int commit_events[NODE_COMMITS_MAX];
};

/* Creates every region and event for config c, formats them and claims the ring slots (commits
 * mandatory on the node log, gateways optional; the sequencer mandatory on each request ring).
 * Errors: those of io_shm_create, io_event_create, ring_format. */
strom_err node_shm_create(struct node_shm *shm, struct io *io, const struct node_config *c);

/* Wakes every commit that sleeps lazily (node_commit_counters.lazy, which it only reads): the
 * caller started to wait for a durable position, after publishing why (seq_cst) so that a commit
 * about to sleep sees it. Costs a load per commit when none sleeps lazily, and an eventfd write
 * per lazy commit each call until that commit wakes and clears its flag. */
void node_commits_wake(const struct node_shm *shm, struct io *io, uint32_t commits);

/* The commit that owns a stream: a hash of its id modulo the number of commits. */
uint32_t node_commit_of(uint64_t stream_id, uint32_t commits);

#endif
