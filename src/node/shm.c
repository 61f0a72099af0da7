/* shm.c: creation of a node's shared memory (see shm.h). */
#include "node/shm.h"

#include <stdio.h>

#include "base/assert.h"
#include "io/io.h"
#include "ring/ring.h"

uint32_t node_commit_of(uint64_t stream_id, uint32_t commits) {
    strom_assert(commits >= 1 && commits <= NODE_COMMITS_MAX);
    uint64_t z = stream_id + 0x9e3779b97f4a7c15u; /* splitmix64 finalizer: ids spread evenly */
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    z ^= z >> 31;
    return (uint32_t)(z % commits);
}

void node_commits_wake(const struct node_shm *shm, struct io *io, uint32_t commits) {
    strom_assert(commits >= 1 && commits <= NODE_COMMITS_MAX);
    /* No lost wake-up (Dekker's handshake): the caller published its work (an entry: the ring's
     * tail, or durable_wanted) before this fence and reads `lazy` after it; the commit stores
     * lazy = 1 before it looks at the tail and at durable_wanted (commit_sleep), both
     * sequentially consistent. So either we read 1 and signal (the eventfd keeps the count: a
     * signal before the commit's poll ends that poll at once), or the commit sees our work and
     * does not sleep. `lazy` is only read here: the commit is its one writer and clears it when
     * it wakes, so two wakers before then both signal (an eventfd write each; the commit drains
     * them in one read), where an exchange made the second one silent. */
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    for (uint32_t k = 0; k < commits; k++) {
        if (__atomic_load_n(&shm->header->commits_c[k].lazy, __ATOMIC_SEQ_CST) != 0) {
            (void)io_event_signal(io, shm->commit_events[k]);
        }
    }
}

/* A ring region of capacity bytes, formatted. */
static strom_err shm_ring(struct io *io, const char *name, uint64_t capacity, void **region,
                          size_t *bytes) {
    *bytes = ring_region_bytes(capacity);
    strom_err err = io_shm_create(io, name, *bytes, region);
    if (!err) {
        err = ring_format(*region, *bytes, capacity);
    }
    return err;
}

/* Claims the ring slots of every reader, before any child runs. */
static strom_err shm_claim_slots(struct node_shm *shm, struct io *io, const struct node_config *c) {
    struct ring log;
    strom_err err = ring_attach(&log, shm->log_region, shm->log_bytes, io);
    for (uint32_t i = 0; !err && i < c->commits; i++) {
        err = ring_slot_claim(&log, NODE_LOG_SLOT_COMMIT(i), RING_READER_MANDATORY, 0);
    }
    for (uint32_t g = 0; !err && g < c->gateways; g++) {
        err = ring_slot_claim(&log, NODE_LOG_SLOT_GATEWAY(g), RING_READER_OPTIONAL, 0);
        struct ring req;
        if (!err) {
            err = ring_attach(&req, shm->request_regions[g], shm->request_bytes, io);
        }
        if (!err) {
            err = ring_slot_claim(&req, NODE_REQUEST_SLOT_SEQUENCER, RING_READER_MANDATORY, 0);
        }
    }
    return err;
}

strom_err node_shm_create(struct node_shm *shm, struct io *io, const struct node_config *c) {
    strom_assert(c->gateways <= NODE_GATEWAYS_MAX && c->commits <= NODE_COMMITS_MAX);
    *shm = (struct node_shm){.sequencer_event = -1};
    size_t registry_bytes = registry_region_bytes(c->streams_max, c->paths_bytes);
    size_t producers_offset = (sizeof(struct node_header) + registry_bytes + 63) & ~(size_t)63;
    shm->producers_bytes = producers_region_bytes(c->producers_max);
    shm->node_bytes = producers_offset + shm->producers_bytes;
    strom_err err = io_shm_create(io, "strom-node", shm->node_bytes, &shm->node_region);
    if (!err) {
        shm->header = shm->node_region;
        void *reg = (char *)shm->node_region + sizeof(struct node_header);
        registry_format(reg, c->streams_max, c->paths_bytes);
        err = registry_attach(&shm->registry, reg, registry_bytes);
        strom_assert(err == STROM_OK);
        shm->header->gateways = c->gateways;
        shm->header->commits = c->commits;
        shm->header->registry_bytes = registry_bytes;
        shm->header->producers_offset = producers_offset;
        shm->header->producers_bytes = shm->producers_bytes;
        shm->producers_region = (char *)shm->node_region + producers_offset;
        producers_format(shm->producers_region, c->producers_max, c->idempotence_window);
        shm->header->magic = NODE_SHM_MAGIC;
    }
    if (!err) {
        err = shm_ring(io, "strom-node-log", c->log_bytes, &shm->log_region, &shm->log_bytes);
    }
    for (uint32_t g = 0; !err && g < c->gateways; g++) {
        char name[32];
        snprintf(name, sizeof name, "strom-requests-%u", g);
        err = shm_ring(io, name, c->request_bytes, &shm->request_regions[g], &shm->request_bytes);
    }
    if (!err) {
        err = io_event_create(io, &shm->sequencer_event);
    }
    for (uint32_t g = 0; !err && g < c->gateways; g++) {
        err = io_event_create(io, &shm->gateway_events[g]);
    }
    for (uint32_t k = 0; !err && k < c->commits; k++) {
        err = io_event_create(io, &shm->commit_events[k]);
    }
    if (!err) {
        err = shm_claim_slots(shm, io, c);
    }
    return err;
}
