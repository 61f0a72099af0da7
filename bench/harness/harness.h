/*
 * harness.h: strom-bench, the benchmark harness that measures strom beside its peers (NATS
 * JetStream, Redis Streams, anything that speaks Kafka) with the same workloads, on one machine.
 *
 * Shapes:
 * - A workload (bench/workloads.ssim, one `bench.workload` record each) says how many streams,
 *   producers and subscribers, the message size, the rate (fixed and open loop, or max), the
 *   duration, the warm-up and the durability row it belongs to.
 * - A driver (drv_*.c) connects one system through its own client library behind struct
 *   bench_driver. A driver is told what to send and reports acks and deliveries to a sink.
 * - A run (run.c) forks one process per producer and per subscriber; each process is
 *   single-threaded from the harness's point of view and records into its own slot of a shared
 *   memory region (struct bench_shared). The parent merges the slots into one result.
 *
 * Latency is taken without coordinated omission: message k of a fixed-rate producer is due at
 * start + k / rate, that due time travels in the payload, and both latencies are counted from it,
 * so a stall of the system under test delays every message due during the stall and shows in the
 * percentiles. Every clock is CLOCK_MONOTONIC of the one machine.
 */
#ifndef STROM_BENCH_HARNESS_H
#define STROM_BENCH_HARNESS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "base/error.h"
#include "base/hist.h"

enum {
    HARNESS_NAME_BYTES_MAX = 48,     /* workload and system names, with the NUL */
    HARNESS_HOST_BYTES_MAX = 64,     /* server host, with the NUL */
    HARNESS_PREFIX_BYTES_MAX = 64,   /* stream name prefix of a run, with the NUL */
    HARNESS_DIAG_BYTES_MAX = 256,    /* a diagnostic message, with the NUL */
    HARNESS_PRODUCERS_MAX = 64,      /* producers of one workload */
    HARNESS_SUBSCRIBERS_MAX = 64,    /* subscribers of one workload */
    HARNESS_STREAMS_MAX = 1000000,   /* streams of one workload */
    HARNESS_WORKLOADS_MAX = 64,      /* records in a workloads file */
    HARNESS_PAYLOAD_HEAD_BYTES = 24, /* the header every payload starts with (bench_payload_*) */
    HARNESS_MSG_BYTES_MAX = 1 << 20, /* largest message of a workload */
    HARNESS_INFLIGHT_MAX = 65536,    /* largest window of unacknowledged messages per producer */
    HARNESS_INFLIGHT_DEFAULT = 1024, /* window when the workload does not say */
};

/* The durability rows. Figures are compared only within a row. */
enum bench_durability {
    BENCH_DURABILITY_MEMORY = 0, /* ack once held in memory (disk writes not awaited) */
    BENCH_DURABILITY_DISK = 1,   /* ack once on disk (fsync before the ack) */
};

/* One workload, as declared by a `bench.workload` record (see bench/workloads.ssim). */
struct bench_workload {
    char name[HARNESS_NAME_BYTES_MAX]; /* e.g. "latency" */
    uint32_t stream_count;             /* streams written, 1..HARNESS_STREAMS_MAX */
    uint32_t producer_count;           /* producer processes, 1..HARNESS_PRODUCERS_MAX */
    uint32_t subscriber_count;         /* subscriber processes, 0..HARNESS_SUBSCRIBERS_MAX */
    bool fanout;                       /* true: every subscriber reads every stream; false: the
                                          streams are dealt to the subscribers (s % count) */
    uint32_t msg_bytes;    /* payload bytes, HARNESS_PAYLOAD_HEAD_BYTES..HARNESS_MSG_BYTES_MAX */
    uint64_t rate_msgs_s;  /* messages per second over all producers; 0: max rate */
    uint32_t inflight_max; /* unacknowledged messages per producer, 1..HARNESS_INFLIGHT_MAX */
    uint64_t duration_ns;  /* measured time, after the warm-up */
    uint64_t warmup_ns;    /* time sent before the measurement starts (not recorded) */
    uint64_t quick_duration_ns;       /* measured time under --quick */
    uint64_t quick_warmup_ns;         /* warm-up under --quick */
    enum bench_durability durability; /* the row the workload belongs to */
};

/* Everything a driver needs to know about one run. Read-only for drivers. */
struct bench_plan {
    const struct bench_workload *workload;
    char system[HARNESS_NAME_BYTES_MAX];   /* driver name: "strom", "kafka", "nats", "redis" */
    char label[HARNESS_NAME_BYTES_MAX];    /* the system's name in results ("strom-kafka") */
    char host[HARNESS_HOST_BYTES_MAX];     /* server address, numeric or a name */
    uint16_t port;                         /* server port */
    char prefix[HARNESS_PREFIX_BYTES_MAX]; /* stream names of this run start with it: [a-z0-9-] */
    uint64_t duration_ns;                  /* the measured time of this run (quick or not) */
    uint64_t warmup_ns;                    /* the warm-up of this run */
    uint64_t setup_timeout_ns;             /* the most a driver may spend creating streams */
    uint64_t drain_ns;                     /* after the window: time left for the last acks and
                                              deliveries (and for sends that fell behind) */
};

/* A diagnostic a driver leaves when an operation fails: what and why, for the report. */
struct bench_diag {
    char text[HARNESS_DIAG_BYTES_MAX];
};

/* Formats a diagnostic into d (printf-like) and returns err, so a driver can write
 * `return bench_diag_set(d, STROM_ERR_IO, "connect %s: %s", ...)`. */
strom_err bench_diag_set(struct bench_diag *d, strom_err err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/*
 * Where a driver reports what happened during a poll. Called on the harness's own thread
 * (drivers whose library calls back on its own threads queue the events and hand them over in
 * poll). now_ns is the CLOCK_MONOTONIC time the event was seen by the client library's caller.
 */
struct bench_sink {
    void *ctx;
    /* A message of this producer was acknowledged (ok) or refused (!ok); due_ns from its payload.
     */
    void (*on_ack)(void *ctx, uint64_t due_ns, bool ok, uint64_t now_ns);
    /* A message was delivered to this subscriber: its whole payload. */
    void (*on_deliver)(void *ctx, const uint8_t *payload, uint32_t len, uint64_t now_ns);
};

/*
 * A driver: one system through its client library. Every function may block for at most the
 * time it is given (poll) or the plan's timeouts (open, setup). Errors are strom_err codes with a
 * diagnostic in *diag. A driver's connection state is opaque to the harness.
 */
struct bench_driver {
    const char *system;    /* the name a plan selects it by */
    uint16_t default_port; /* the port it uses when none is given */
    /* In its own process, before any producer or subscriber: create what the system needs
     * before messages can be sent (streams, topics) and check the server answers. Must finish
     * within plan->setup_timeout_ns or fail with STROM_ERR_TIMEOUT, saying how far it got. */
    strom_err (*setup)(const struct bench_plan *plan, struct bench_diag *diag);
    /* Connects producer number index. */
    strom_err (*producer_open)(void **conn, const struct bench_plan *plan, uint32_t index,
                               struct bench_diag *diag);
    /* Starts sending payload (len bytes) to stream stream_index without waiting for the ack.
     * STROM_ERR_AGAIN: the driver cannot take more now; poll, then try again. */
    strom_err (*producer_send)(void *conn, uint32_t stream_index, const uint8_t *payload,
                               uint32_t len, struct bench_diag *diag);
    /* Waits up to timeout_ns for progress and reports acknowledgements to sink. */
    strom_err (*producer_poll)(void *conn, uint64_t timeout_ns, const struct bench_sink *sink,
                               struct bench_diag *diag);
    void (*producer_close)(void *conn);
    /* Connects a subscriber that reads streams[0..stream_count) from their first message. The
     * subscription is in place when this returns (a message sent afterwards is delivered). */
    strom_err (*subscriber_open)(void **conn, const struct bench_plan *plan,
                                 const uint32_t *streams, uint32_t stream_count,
                                 struct bench_diag *diag);
    /* Waits up to timeout_ns for deliveries and reports them to sink. */
    strom_err (*subscriber_poll)(void *conn, uint64_t timeout_ns, const struct bench_sink *sink,
                                 struct bench_diag *diag);
    void (*subscriber_close)(void *conn);
};

/* The drivers compiled in (drv_*.c), and the one named system (NULL when unknown). */
extern const struct bench_driver bench_driver_strom;
extern const struct bench_driver bench_driver_kafka;
extern const struct bench_driver bench_driver_nats;
extern const struct bench_driver bench_driver_redis;
extern const struct bench_driver *const bench_drivers[];
extern const uint32_t bench_driver_count;
const struct bench_driver *bench_driver_find(const char *system);

/*
 * The payload header, little-endian, at the start of every message:
 *   [0, 8)   due_ns: the time the message was due to be sent (CLOCK_MONOTONIC ns)
 *   [8, 12)  producer index
 *   [12, 16) stream index
 *   [16, 24) sequence number within its producer, from 0
 * The rest of the payload is filler.
 */
struct bench_payload_head {
    uint64_t due_ns;
    uint32_t producer_index;
    uint32_t stream_index;
    uint64_t seq;
};
void bench_payload_write(uint8_t *payload, uint32_t len, const struct bench_payload_head *head);
/* Reads the header of payload; false when len is below HARNESS_PAYLOAD_HEAD_BYTES. */
bool bench_payload_read(const uint8_t *payload, uint32_t len, struct bench_payload_head *head);

/* CLOCK_MONOTONIC in ns. The harness is a client tool outside the node's roles, so it reads the
 * clock directly rather than through src/io. */
uint64_t bench_now_ns(void);

/* --- workloads (workload.c) -------------------------------------------------------------- */

/* All workloads of a file, in file order. */
struct bench_workload_set {
    uint32_t count;
    struct bench_workload items[HARNESS_WORKLOADS_MAX];
};

/* Reads path: every `bench.workload` record; other record types and comments are skipped.
 * Errors: IO when the file cannot be read; PARSE, INVALID_ARGUMENT, TOO_LARGE with the line and
 * the reason in diag. */
strom_err bench_workloads_load(const char *path, struct bench_workload_set *set,
                               struct bench_diag *diag);
/* The workload of that name in that row, or NULL. */
const struct bench_workload *bench_workload_find(const struct bench_workload_set *set,
                                                 const char *name, enum bench_durability row);
const char *bench_durability_name(enum bench_durability d);

/* --- a run (run.c) ------------------------------------------------------------------------ */

/* What one worker process leaves in shared memory. Each field is written only by the worker
 * that owns the slot (the parent reads it after the worker has exited or given up). */
struct bench_slot {
    _Atomic uint32_t state;      /* enum bench_slot_state */
    strom_err err;               /* the error that stopped the worker, or OK */
    struct bench_diag diag;      /* its diagnostic */
    uint64_t sent_count;         /* producer: messages handed to the driver */
    uint64_t acked_count;        /* producer: acknowledged ok */
    uint64_t refused_count;      /* producer: acknowledged with an error */
    uint64_t window_acked_count; /* producer: acks seen during the measured window */
    uint64_t late_count;         /* producer: messages sent after their due time + 1 ms */
    uint64_t unsent_count;       /* producer: messages due in the window never sent (fell behind) */
    uint64_t delivered_count;    /* subscriber: deliveries (warm-up included) */
    uint64_t window_delivered_count; /* subscriber: deliveries seen during the measured window */
    uint64_t window_delivered_bytes; /* subscriber: their payload bytes */
    uint64_t bad_payload_count;      /* subscriber: payloads too short, or of an unknown producer */
    uint64_t order_error_count; /* subscriber: a (producer, stream) sequence that did not grow */
    uint64_t expected_by_subscriber[HARNESS_SUBSCRIBERS_MAX]; /* producer: messages sent that
                                                               subscriber j must receive */
    struct hist publish_ns; /* producer: due time to ack, measured window only */
    struct hist e2e_ns;     /* subscriber: due time to delivery, measured window only */
    struct hist unsent_ns;  /* producer: due time to the end of the run, per unsent message */
    struct hist lag_ns;     /* producer: due time to the time the send was made (the harness's
                               own wake-up delay, and waits for a full window) */
};

enum bench_slot_state {
    BENCH_SLOT_STARTING = 0, /* connecting */
    BENCH_SLOT_READY = 1,    /* connected (subscribers: subscribed), waiting for the start */
    BENCH_SLOT_DONE = 2,     /* finished its part: counts final */
    BENCH_SLOT_FAILED = 3,   /* stopped on an error: err and diag say why */
};

/* The shared memory of a run: written by the parent before the fork (plan copy, start time),
 * and by each worker in its own slot. */
struct bench_shared {
    _Atomic uint64_t start_ns; /* parent: the time every producer starts; 0 until all are ready */
    _Atomic uint32_t stop;     /* parent: 1 asks every worker to stop now (failure elsewhere) */
    _Atomic uint32_t producers_done; /* producers in state DONE or FAILED */
    uint32_t slot_count;             /* producers first, then subscribers */
    struct bench_slot slots[];
};

/* The outcome of a run. */
struct bench_result {
    const struct bench_workload *workload;
    char system[HARNESS_NAME_BYTES_MAX];
    bool ok;                  /* false: the system could not run the workload (see diag) */
    struct bench_diag diag;   /* why not, when !ok; empty otherwise */
    struct bench_diag server; /* what setup found the server to be (version, settings) */
    uint64_t duration_ns;     /* the measured window */
    uint64_t sent_count, acked_count, refused_count, late_count;
    uint64_t unsent_count;    /* messages due in the window never sent: the system did not
                                 keep up; counted in the latencies as lower bounds */
    uint64_t expected_count;  /* deliveries the subscribers should have seen */
    uint64_t delivered_count; /* deliveries they saw */
    uint64_t bad_payload_count, order_error_count;
    double publish_msgs_s;  /* acks per second in the window */
    double deliver_msgs_s;  /* deliveries per second in the window, all subscribers */
    double deliver_mb_s;    /* their payload MB (10^6 bytes) per second */
    struct hist publish_ns; /* merged over producers */
    struct hist e2e_ns;     /* merged over subscribers */
    struct hist lag_ns;     /* send lag, merged over producers */
};

/* Runs plan with driver; fills *result (allocated by the caller: it holds two histograms).
 * Returns OK when the run took place, even when the system could not carry it (result->ok is
 * false then); an error only for a failure of the harness itself (fork, mmap). */
strom_err bench_run(const struct bench_driver *driver, const struct bench_plan *plan,
                    struct bench_result *result);

/* --- output (report.c) ------------------------------------------------------------------- */

/* Prints result as one `bench.run` ssim record (with its percentiles) on a line of its own. */
void bench_result_print_ssim(const struct bench_result *result, FILE *out);

/* Prints a one-line human summary of result. */
void bench_result_print_line(const struct bench_result *result, FILE *out);

/* Reads the bench.run records of the files paths[0, path_count) (other lines are skipped; a later
 * run of the same workload, row and system replaces an earlier one) and prints to out the
 * bench.result lines, then the side-by-side table per workload and row. With plot_dir, writes
 * there the gnuplot data: latency-<workload>-<row>.dat and throughput.dat. Errors: IO,
 * TOO_LARGE, PARSE, LIMIT with diag. */
strom_err bench_report(const char *const *paths, uint32_t path_count, const char *plot_dir,
                       FILE *out, struct bench_diag *diag);

#endif
