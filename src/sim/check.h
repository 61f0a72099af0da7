/*
 * check.h: the simulator's model of what the node promised, and the checks held against it.
 *
 * The model keeps, per stream (by path), the value each offset holds as far as anybody has seen:
 * an append's answer, a delivery to a subscriber or a reader. A value is the identity of a message
 * (producer, sequence, index in its batch; the payload names it, so a value is known from the
 * bytes alone) and a flag saying whether it is durable: acknowledged with sync, or seen by a reader
 * at the sync level. A value that is not durable is tentative: an ack-1 answer or an ack-1
 * delivery, which a crash of the whole node may take back.
 *
 * The checks (docs/simulation.md states each precisely):
 *   1. LOST_ACK: no acknowledged message is lost. A durable value never disappears. An ack-1 value
 *      disappears only at a crash of the whole node, and only when its commit had not synced it
 *      then: at the crash, the durable watermark each stream's commit had published (the stream's
 *      durable_next in the registry) is noted; the node that starts again must hold at least that
 *      much of every stream. Only a suffix of a stream may be lost, and never part of a batch.
 *   2. OFFSETS: offsets are dense and each holds one value forever: an offset never shows two
 *      values (within the life of its value), timestamps never go back along a stream, a final
 *      read of every stream finds offsets 0..end-1 with every value the model knows.
 *   3. SUBSCRIBER: a reader gets every offset of its range once, in order, without gaps, and a
 *      reader at the sync level never gets an offset at or above the stream's durable watermark
 *      nor one that is later lost.
 *   4. IDEMPOTENCE: a batch is applied at most once (its messages sit at one place), except a batch
 *      that was in flight when the whole node crashed (the windows do not survive that, by design);
 *      a retry inside the window is answered with the first offsets; one outside it is refused.
 *   5. LIVENESS: once faults stop, every pending append is answered and every subscriber catches up
 *      within a bounded simulated time (checked by run.c).
 *   6. PROTOCOL: the node sends only frames and answers the protocol allows (a malformed frame, an
 *      error a well-formed request cannot get, an answer to no request).
 *
 * The first violation is kept (and the run stops); later ones are not looked for.
 */
#ifndef STROM_SIM_CHECK_H
#define STROM_SIM_CHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/error.h"

#define MODEL_STREAMS_MAX   16
#define MODEL_PRODUCERS_MAX 64
#define MODEL_PATH_BYTES    64
#define MODEL_TEXT_BYTES    512

enum sim_check {
    SIM_CHECK_NONE = 0,
    SIM_CHECK_LOST_ACK = 1,
    SIM_CHECK_OFFSETS = 2,
    SIM_CHECK_SUBSCRIBER = 3,
    SIM_CHECK_IDEMPOTENCE = 4,
    SIM_CHECK_LIVENESS = 5,
    SIM_CHECK_PROTOCOL = 6, /* an answer or frame the protocol does not allow */
};

/* The name of a check ("lost_ack"). */
const char *sim_check_name(enum sim_check check);

struct sim_violation {
    enum sim_check check;
    char stream[MODEL_PATH_BYTES]; /* path, or "" */
    uint64_t offset_lo;            /* offsets involved, [lo, hi] */
    uint64_t offset_hi;
    uint64_t at_ns; /* simulated time */
    char text[MODEL_TEXT_BYTES];
};

/* A message's identity, what its payload names. */
struct sim_msg_id {
    uint32_t producer; /* producer index, < MODEL_PRODUCERS_MAX */
    uint64_t sequence; /* its batch's sequence */
    uint32_t index;    /* its place in the batch */
};

struct sim_model;

strom_err sim_model_create(struct sim_model **out);
void sim_model_destroy(struct sim_model *m);

/* The stream of path (registered on first use); its number for the calls below. */
uint32_t sim_model_stream(struct sim_model *m, const char *path);
const char *sim_model_path(const struct sim_model *m, uint32_t stream);
uint32_t sim_model_stream_count(const struct sim_model *m);
/* Offsets the model knows of stream: [0, len). */
uint64_t sim_model_len(const struct sim_model *m, uint32_t stream);

/* Records a violation (only the first is kept) at simulated time now_ns. */
void sim_model_fail(struct sim_model *m, enum sim_check check, uint32_t stream, uint64_t lo,
                    uint64_t hi, uint64_t now_ns, const char *fmt, ...)
    __attribute__((format(printf, 7, 8)));
bool sim_model_failed(const struct sim_model *m);
const struct sim_violation *sim_model_violation(const struct sim_model *m);

/* Someone saw message id at offset of stream with batch timestamp ts_ns (durable: at the sync
 * level). Checks the offset's single value, the timestamps around it, the batch's single place. */
void sim_model_observe(struct sim_model *m, uint32_t stream, uint64_t offset,
                       const struct sim_msg_id *id, uint64_t ts_ns, bool durable, uint64_t now_ns);

/* The batch (producer, sequence) may be applied more than once (it was in flight at a crash of
 * the whole node). */
void sim_model_tolerate(struct sim_model *m, uint32_t producer, uint64_t sequence);

/* Where the batch (producer, sequence) was seen first; false when nowhere (or lost since). */
bool sim_model_batch_base(const struct sim_model *m, uint32_t producer, uint64_t sequence,
                          uint32_t *stream_out, uint64_t *base_out);

/* A crash of the whole node is about to happen; durable_next[s] is stream s's published durable
 * watermark then (UINT64_MAX: the node does not know the stream). */
void sim_model_node_crash(struct sim_model *m, const uint64_t *durable_next);

/* The node started again holding next[s] offsets of stream s (0 for a stream it does not know).
 * Checks them against the watermarks noted at the crash and the durable values, then forgets
 * every value at or above next[s]. */
void sim_model_node_recovered(struct sim_model *m, const uint64_t *next, uint64_t now_ns);

/* A full read of stream found offsets 0..end-1 (each went through sim_model_observe, which
 * compared it with what the model knew): the model must know nothing at or beyond end. */
void sim_model_final(struct sim_model *m, uint32_t stream, uint64_t end, uint64_t now_ns);

#endif
