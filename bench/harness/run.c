/*
 * run.c: one run of one workload against one system.
 *
 * The parent (struct bench_run) forks, in order: a setup process (the driver creates streams),
 * the subscribers, then the producers, each a process of its own with one connection; once every
 * worker says READY it writes the start time into shared memory, and every worker begins then.
 * Workers write only their own slot; the parent reads the slots after the workers have exited
 * and merges them into the result. The parent never calls a driver, so no client library's
 * threads or state cross a fork.
 *
 * Why processes: producers and subscribers must not share a thread (a slow subscriber would
 * delay the producer's schedule and hide the stall), and a process per role keeps each one
 * single-threaded as the rest of strom is. Client libraries that run threads of their own
 * (libnats, librdkafka) do so inside one worker process; their drivers hand events over to the
 * worker's loop.
 *
 * Every wait is bounded: setup by plan->setup_timeout_ns, connecting by the same, the run by its
 * duration plus the drain time; a worker that outlives its bound is killed and its part counts
 * as failed.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/assert.h"
#include "harness.h"

enum {
    RUN_WORKERS_MAX = HARNESS_PRODUCERS_MAX + HARNESS_SUBSCRIBERS_MAX + 1, /* + the setup process */
    RUN_START_DELAY_NS = 50 * 1000 * 1000,    /* from all READY to the common start */
    RUN_GRACE_NS = 5ull * 1000 * 1000 * 1000, /* beyond every bound, before SIGKILL */
    RUN_POLL_MAX_NS = 10 * 1000 * 1000,       /* longest single wait inside a worker loop */
    RUN_LATE_NS = 1000 * 1000,                /* a send this far behind its due time is late */
    RUN_ORDER_ENTRIES_MAX = 1 << 22,          /* (producer, stream) pairs tracked for order */
};

/* The parent's state for one run. */
struct bench_run {
    const struct bench_driver *driver;
    const struct bench_plan *plan;
    struct bench_shared *shared; /* mmap'd, shared with the workers */
    size_t shared_bytes;
    struct bench_slot *setup_slot; /* the setup process's slot (after the workers' slots) */
    pid_t pids[RUN_WORKERS_MAX];   /* live children; 0 once reaped */
    uint32_t pid_count;
};

static uint32_t run_worker_count(const struct bench_plan *plan) {
    return plan->workload->producer_count + plan->workload->subscriber_count;
}

static void sleep_ns(uint64_t ns) {
    struct timespec ts = {.tv_sec = (time_t)(ns / 1000000000u),
                          .tv_nsec = (long)(ns % 1000000000u)};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* The window every figure is measured over, from the common start. */
static uint64_t window_start_ns(const struct bench_plan *plan, uint64_t start_ns) {
    return start_ns + plan->warmup_ns;
}
static uint64_t window_end_ns(const struct bench_plan *plan, uint64_t start_ns) {
    return start_ns + plan->warmup_ns + plan->duration_ns;
}

/* Subscriber j reads stream s when fanout, or when s % subscribers == j. */
static bool subscriber_reads(const struct bench_workload *w, uint32_t j, uint32_t s) {
    return w->fanout || s % w->subscriber_count == j;
}

/* --- worker side: what every worker process does before and after its loop ------------------ */

static void worker_enter(void) {
    /* A worker must not outlive the harness, and its sleeps should end when asked: 1 us slack
     * instead of the default 50 us, since a fixed-rate producer sleeps 100 us between sends. */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    prctl(PR_SET_TIMERSLACK, 1000UL);
}

static _Noreturn void worker_leave(struct bench_slot *slot, strom_err err) {
    slot->err = err;
    atomic_store_explicit(&slot->state, err ? BENCH_SLOT_FAILED : BENCH_SLOT_DONE,
                          memory_order_release);
    _exit(err ? 1 : 0);
}

/* Waits for the common start; false when the parent asked to stop instead. */
static bool worker_wait_start(struct bench_shared *shared, struct bench_slot *slot,
                              uint64_t *start_ns) {
    atomic_store_explicit(&slot->state, BENCH_SLOT_READY, memory_order_release);
    for (;;) {
        if (atomic_load_explicit(&shared->stop, memory_order_acquire)) {
            return false;
        }
        uint64_t start = atomic_load_explicit(&shared->start_ns, memory_order_acquire);
        if (start != 0) {
            *start_ns = start;
            return true;
        }
        sleep_ns(200 * 1000);
    }
}

/* --- a producer process ------------------------------------------------------------------- */

struct bench_producer {
    const struct bench_driver *driver;
    const struct bench_plan *plan;
    struct bench_shared *shared;
    struct bench_slot *slot;
    void *conn;
    uint32_t index;           /* producer number */
    uint64_t start_ns;        /* common start */
    uint64_t window_start_ns; /* measured window */
    uint64_t window_end_ns;
    uint64_t inflight_count; /* sent, neither acked nor refused */
    uint64_t seq;            /* next message's sequence number */
    uint8_t *payload;        /* msg_bytes, filled once, header rewritten per message */
};

static void producer_on_ack(void *ctx, uint64_t due_ns, bool ok, uint64_t now_ns) {
    struct bench_producer *p = ctx;
    strom_assert(p->inflight_count > 0);
    p->inflight_count--;
    if (!ok) {
        p->slot->refused_count++;
        return;
    }
    p->slot->acked_count++;
    if (now_ns >= p->window_start_ns && now_ns < p->window_end_ns) {
        p->slot->window_acked_count++;
    }
    if (due_ns >= p->window_start_ns && due_ns < p->window_end_ns) {
        hist_record(&p->slot->publish_ns, now_ns >= due_ns ? now_ns - due_ns : 0);
    }
}

static void producer_on_deliver(void *ctx, const uint8_t *payload, uint32_t len, uint64_t now_ns) {
    (void)ctx, (void)payload, (void)len, (void)now_ns;
    strom_assert(!"a producer connection delivered a message");
}

/* The due time of the k-th message of this producer: the workload's rate is dealt round robin
 * over the producers, so together they send one message every 1/rate seconds. */
static uint64_t producer_due_ns(const struct bench_producer *p, uint64_t k) {
    const struct bench_workload *w = p->plan->workload;
    strom_assert(w->rate_msgs_s > 0);
    unsigned __int128 slot = (unsigned __int128)k * w->producer_count + p->index;
    return p->start_ns + (uint64_t)(slot * 1000000000u / w->rate_msgs_s);
}

/* Sends the message with sequence p->seq, due at due_ns; AGAIN when the driver is full. */
static strom_err producer_send_one(struct bench_producer *p, uint64_t due_ns, uint64_t now_ns) {
    const struct bench_workload *w = p->plan->workload;
    uint64_t global = p->seq * w->producer_count + p->index;
    uint32_t stream = (uint32_t)(global % w->stream_count);
    struct bench_payload_head head = {
        .due_ns = due_ns, .producer_index = p->index, .stream_index = stream, .seq = p->seq};
    bench_payload_write(p->payload, w->msg_bytes, &head);
    strom_err err =
        p->driver->producer_send(p->conn, stream, p->payload, w->msg_bytes, &p->slot->diag);
    if (err == STROM_OK) {
        p->seq++;
        p->inflight_count++;
        p->slot->sent_count++;
        if (now_ns > due_ns + RUN_LATE_NS) {
            p->slot->late_count++;
        }
        if (due_ns >= p->window_start_ns && due_ns < p->window_end_ns) {
            hist_record(&p->slot->lag_ns, now_ns > due_ns ? now_ns - due_ns : 0);
        }
        for (uint32_t j = 0; j < w->subscriber_count; j++) {
            p->slot->expected_by_subscriber[j] += subscriber_reads(w, j, stream) ? 1 : 0;
        }
    }
    return err;
}

/* Sends every message due by now_ns (fixed rate) or until the window is full (max rate), and
 * returns how long the loop may wait before the next send is due. */
static strom_err producer_send_due(struct bench_producer *p, uint64_t now_ns, uint64_t *wait_ns) {
    const struct bench_workload *w = p->plan->workload;
    strom_err err = STROM_OK;
    *wait_ns = RUN_POLL_MAX_NS;
    while (p->inflight_count < w->inflight_max) {
        uint64_t due = w->rate_msgs_s ? producer_due_ns(p, p->seq) : now_ns;
        if (due >= p->window_end_ns) {
            break;
        }
        if (due > now_ns) {
            *wait_ns = due - now_ns < RUN_POLL_MAX_NS ? due - now_ns : RUN_POLL_MAX_NS;
            break;
        }
        err = producer_send_one(p, due, now_ns);
        if (err != STROM_OK) {
            break;
        }
    }
    if (err == STROM_ERR_AGAIN || p->inflight_count >= w->inflight_max) {
        err = STROM_OK;
        *wait_ns = RUN_POLL_MAX_NS; /* an ack ends the poll early */
    }
    return err;
}

/* True when a fixed-rate producer still owes messages due before the end of the window (it fell
 * behind its schedule); such messages are still sent during the drain time. */
static bool producer_behind(const struct bench_producer *p) {
    return p->plan->workload->rate_msgs_s != 0 && producer_due_ns(p, p->seq) < p->window_end_ns;
}

/* Counts the messages due in the window that were never sent, each with the time from its due
 * time to give_up_ns as its latency: a lower bound, so that a system that cannot keep up with
 * the rate shows it in its percentiles instead of leaving those messages out. */
static void producer_count_unsent(struct bench_producer *p, uint64_t give_up_ns) {
    for (uint64_t k = p->seq; p->plan->workload->rate_msgs_s != 0; k++) {
        uint64_t due = producer_due_ns(p, k);
        if (due >= p->window_end_ns) {
            break;
        }
        if (due >= p->window_start_ns) {
            p->slot->unsent_count++;
            hist_record(&p->slot->unsent_ns, give_up_ns > due ? give_up_ns - due : 0);
        }
    }
}

static strom_err producer_loop(struct bench_producer *p) {
    const struct bench_sink sink = {
        .ctx = p, .on_ack = producer_on_ack, .on_deliver = producer_on_deliver};
    strom_err err = STROM_OK;
    uint64_t drain_end_ns = p->window_end_ns + p->plan->drain_ns;
    uint64_t now = bench_now_ns();
    for (;; now = bench_now_ns()) {
        if (atomic_load_explicit(&p->shared->stop, memory_order_acquire)) {
            break;
        }
        uint64_t wait_ns = RUN_POLL_MAX_NS;
        if (now < p->window_end_ns || (producer_behind(p) && now < drain_end_ns)) {
            err = producer_send_due(p, now, &wait_ns);
        } else if (p->inflight_count == 0 || now >= drain_end_ns) {
            break;
        }
        if (err == STROM_OK) {
            err = p->driver->producer_poll(p->conn, wait_ns, &sink, &p->slot->diag);
        }
        if (err != STROM_OK) {
            break;
        }
    }
    producer_count_unsent(p, now);
    return err;
}

static _Noreturn void producer_main(const struct bench_driver *driver,
                                    const struct bench_plan *plan, struct bench_shared *shared,
                                    uint32_t index) {
    worker_enter();
    struct bench_producer p = {.driver = driver,
                               .plan = plan,
                               .shared = shared,
                               .slot = &shared->slots[index],
                               .index = index};
    strom_err err = STROM_OK;
    p.payload = malloc(plan->workload->msg_bytes);
    if (p.payload == NULL) {
        err = bench_diag_set(&p.slot->diag, STROM_ERR_NO_MEMORY, "payload buffer");
        goto done;
    }
    for (uint32_t i = 0; i < plan->workload->msg_bytes; i++) {
        p.payload[i] = (uint8_t)('a' + i % 26);
    }
    err = driver->producer_open(&p.conn, plan, index, &p.slot->diag);
    if (err != STROM_OK) {
        goto done;
    }
    if (worker_wait_start(shared, p.slot, &p.start_ns)) {
        p.window_start_ns = window_start_ns(plan, p.start_ns);
        p.window_end_ns = window_end_ns(plan, p.start_ns);
        err = producer_loop(&p);
    }
    driver->producer_close(p.conn);
done:
    atomic_fetch_add_explicit(&shared->producers_done, 1, memory_order_acq_rel);
    worker_leave(p.slot, err);
}

/* --- a subscriber process ----------------------------------------------------------------- */

struct bench_subscriber {
    const struct bench_plan *plan;
    struct bench_shared *shared;
    struct bench_slot *slot;
    uint32_t index;
    uint64_t window_start_ns;
    uint64_t window_end_ns;
    uint64_t *last_seq; /* [producer * stream_count + stream]: last sequence + 1 seen; NULL when
                           there are more pairs than RUN_ORDER_ENTRIES_MAX (order not checked) */
};

static void subscriber_on_ack(void *ctx, uint64_t due_ns, bool ok, uint64_t now_ns) {
    (void)ctx, (void)due_ns, (void)ok, (void)now_ns;
    strom_assert(!"a subscriber connection acknowledged a send");
}

static void subscriber_on_deliver(void *ctx, const uint8_t *payload, uint32_t len,
                                  uint64_t now_ns) {
    struct bench_subscriber *s = ctx;
    const struct bench_workload *w = s->plan->workload;
    struct bench_payload_head head;
    s->slot->delivered_count++;
    if (!bench_payload_read(payload, len, &head) || head.producer_index >= w->producer_count ||
        head.stream_index >= w->stream_count) {
        s->slot->bad_payload_count++;
        return;
    }
    if (now_ns >= s->window_start_ns && now_ns < s->window_end_ns) {
        s->slot->window_delivered_count++;
        s->slot->window_delivered_bytes += len;
    }
    if (head.due_ns >= s->window_start_ns && head.due_ns < s->window_end_ns) {
        hist_record(&s->slot->e2e_ns, now_ns >= head.due_ns ? now_ns - head.due_ns : 0);
    }
    if (s->last_seq != NULL) {
        uint64_t *last =
            &s->last_seq[(uint64_t)head.producer_index * w->stream_count + head.stream_index];
        if (head.seq + 1 <= *last) {
            s->slot->order_error_count++;
        } else {
            *last = head.seq + 1;
        }
    }
}

/* The deliveries this subscriber must see, once every producer has finished; false before. */
static bool subscriber_expected(const struct bench_subscriber *s, uint64_t *expected) {
    const struct bench_workload *w = s->plan->workload;
    if (atomic_load_explicit(&s->shared->producers_done, memory_order_acquire) <
        w->producer_count) {
        return false;
    }
    uint64_t sum = 0;
    for (uint32_t i = 0; i < w->producer_count; i++) {
        sum += s->shared->slots[i].expected_by_subscriber[s->index];
    }
    *expected = sum;
    return true;
}

static strom_err subscriber_loop(struct bench_subscriber *s, const struct bench_driver *driver,
                                 void *conn) {
    const struct bench_sink sink = {
        .ctx = s, .on_ack = subscriber_on_ack, .on_deliver = subscriber_on_deliver};
    strom_err err = STROM_OK;
    uint64_t drain_end_ns = s->window_end_ns + s->plan->drain_ns;
    for (;;) {
        uint64_t now = bench_now_ns();
        uint64_t expected;
        if (atomic_load_explicit(&s->shared->stop, memory_order_acquire) || now >= drain_end_ns) {
            break;
        }
        if (now >= s->window_end_ns && subscriber_expected(s, &expected) &&
            s->slot->delivered_count >= expected) {
            break;
        }
        err = driver->subscriber_poll(conn, RUN_POLL_MAX_NS, &sink, &s->slot->diag);
        if (err != STROM_OK) {
            break;
        }
    }
    return err;
}

/* The streams subscriber index reads, in a new array; *count gets their number. */
static uint32_t *subscriber_streams(const struct bench_workload *w, uint32_t index,
                                    uint32_t *count) {
    uint32_t *streams = malloc(sizeof(uint32_t) * w->stream_count);
    uint32_t n = 0;
    for (uint32_t s = 0; streams != NULL && s < w->stream_count; s++) {
        if (subscriber_reads(w, index, s)) {
            streams[n++] = s;
        }
    }
    *count = n;
    return streams;
}

static _Noreturn void subscriber_main(const struct bench_driver *driver,
                                      const struct bench_plan *plan, struct bench_shared *shared,
                                      uint32_t index) {
    worker_enter();
    const struct bench_workload *w = plan->workload;
    struct bench_subscriber s = {.plan = plan,
                                 .shared = shared,
                                 .slot = &shared->slots[w->producer_count + index],
                                 .index = index};
    strom_err err = STROM_OK;
    void *conn = NULL;
    uint32_t stream_count = 0;
    uint32_t *streams = subscriber_streams(w, index, &stream_count);
    uint64_t pairs = (uint64_t)w->producer_count * w->stream_count;
    if (pairs <= RUN_ORDER_ENTRIES_MAX) {
        s.last_seq = calloc(pairs, sizeof(uint64_t));
    }
    if (streams == NULL || (pairs <= RUN_ORDER_ENTRIES_MAX && s.last_seq == NULL)) {
        err = bench_diag_set(&s.slot->diag, STROM_ERR_NO_MEMORY, "subscriber tables");
        goto done;
    }
    err = driver->subscriber_open(&conn, plan, streams, stream_count, &s.slot->diag);
    if (err != STROM_OK) {
        goto done;
    }
    uint64_t start_ns;
    if (worker_wait_start(shared, s.slot, &start_ns)) {
        s.window_start_ns = window_start_ns(plan, start_ns);
        s.window_end_ns = window_end_ns(plan, start_ns);
        err = subscriber_loop(&s, driver, conn);
    }
    driver->subscriber_close(conn);
done:
    worker_leave(s.slot, err);
}

static _Noreturn void setup_main(const struct bench_driver *driver, const struct bench_plan *plan,
                                 struct bench_slot *slot) {
    worker_enter();
    strom_err err = driver->setup(plan, &slot->diag);
    worker_leave(slot, err);
}

/* --- parent side ---------------------------------------------------------------------------- */

/* Forks a worker: kind 'p' producer, 's' subscriber, 'u' setup. */
static strom_err run_fork(struct bench_run *r, char kind, uint32_t index) {
    strom_assert(r->pid_count < RUN_WORKERS_MAX);
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        return strom_err_from_errno(errno);
    }
    if (pid == 0) {
        if (kind == 'p') {
            producer_main(r->driver, r->plan, r->shared, index);
        } else if (kind == 's') {
            subscriber_main(r->driver, r->plan, r->shared, index);
        }
        setup_main(r->driver, r->plan, r->setup_slot);
    }
    r->pids[r->pid_count++] = pid;
    return STROM_OK;
}

/* Reaps children that have exited; returns how many are still alive. */
static uint32_t run_reap(struct bench_run *r, bool block) {
    uint32_t alive = 0;
    for (uint32_t i = 0; i < r->pid_count; i++) {
        if (r->pids[i] == 0) {
            continue;
        }
        int status;
        pid_t got = waitpid(r->pids[i], &status, block ? 0 : WNOHANG);
        if (got == r->pids[i] || (got < 0 && errno == ECHILD)) {
            r->pids[i] = 0;
        } else {
            alive++;
        }
    }
    return alive;
}

static void run_kill_all(struct bench_run *r) {
    atomic_store_explicit(&r->shared->stop, 1, memory_order_release);
    uint64_t until = bench_now_ns() + RUN_GRACE_NS / 5;
    while (run_reap(r, false) > 0 && bench_now_ns() < until) {
        sleep_ns(1000 * 1000);
    }
    for (uint32_t i = 0; i < r->pid_count; i++) {
        if (r->pids[i] != 0) {
            kill(r->pids[i], SIGKILL);
        }
    }
    run_reap(r, true);
}

/* Waits until the slots [first, first + count) all reached min_state or one failed, within
 * timeout_ns. Returns the index of a failed slot, count on success, or count + 1 on timeout. */
static uint32_t run_wait_slots(struct bench_run *r, struct bench_slot *first, uint32_t count,
                               uint32_t min_state, uint64_t timeout_ns) {
    uint64_t until = bench_now_ns() + timeout_ns;
    for (;;) {
        uint32_t reached = 0;
        for (uint32_t i = 0; i < count; i++) {
            uint32_t st = atomic_load_explicit(&first[i].state, memory_order_acquire);
            if (st == BENCH_SLOT_FAILED) {
                return i;
            }
            reached += st >= min_state ? 1 : 0;
        }
        if (reached == count) {
            return count;
        }
        if (bench_now_ns() >= until) {
            return count + 1;
        }
        run_reap(r, false);
        sleep_ns(1000 * 1000);
    }
}

/* Records in result why the run could not go on: slot i failed, or a timeout (what). */
static void run_failed(struct bench_result *result, struct bench_slot *first, uint32_t count,
                       uint32_t got, const char *what) {
    result->ok = false;
    if (got < count) {
        bench_diag_set(&result->diag, first[got].err, "%s: %s (%s)", what, first[got].diag.text,
                       strom_errname(first[got].err));
    } else {
        bench_diag_set(&result->diag, STROM_ERR_TIMEOUT, "%s: not done within the setup time",
                       what);
    }
}

static void run_fork_failed(struct bench_result *result) {
    result->ok = false;
    bench_diag_set(&result->diag, STROM_ERR_LIMIT, "fork: %s", strerror(errno));
}

static void run_merge(const struct bench_run *r, struct bench_result *result) {
    const struct bench_workload *w = r->plan->workload;
    uint64_t window_acked = 0, window_delivered = 0, window_bytes = 0;
    for (uint32_t i = 0; i < w->producer_count; i++) {
        const struct bench_slot *sl = &r->shared->slots[i];
        result->sent_count += sl->sent_count;
        result->acked_count += sl->acked_count;
        result->refused_count += sl->refused_count;
        result->late_count += sl->late_count;
        window_acked += sl->window_acked_count;
        for (uint32_t j = 0; j < w->subscriber_count; j++) {
            result->expected_count += sl->expected_by_subscriber[j];
        }
        hist_merge(&result->publish_ns, &sl->publish_ns);
        hist_merge(&result->publish_ns, &sl->unsent_ns);
        hist_merge(&result->lag_ns, &sl->lag_ns);
        result->unsent_count += sl->unsent_count;
    }
    for (uint32_t j = 0; j < w->subscriber_count; j++) {
        const struct bench_slot *sl = &r->shared->slots[w->producer_count + j];
        result->delivered_count += sl->delivered_count;
        result->bad_payload_count += sl->bad_payload_count;
        result->order_error_count += sl->order_error_count;
        window_delivered += sl->window_delivered_count;
        window_bytes += sl->window_delivered_bytes;
        hist_merge(&result->e2e_ns, &sl->e2e_ns);
    }
    /* A message never sent was never delivered either: each of its readers counts it, at the
     * same lower bound, in the delivery latency. */
    for (uint32_t i = 0; w->subscriber_count > 0 && i < w->producer_count; i++) {
        const struct bench_slot *sl = &r->shared->slots[i];
        for (uint32_t n = 0; n < (w->fanout ? w->subscriber_count : 1); n++) {
            hist_merge(&result->e2e_ns, &sl->unsent_ns);
        }
    }
    double seconds = (double)r->plan->duration_ns / 1e9;
    result->duration_ns = r->plan->duration_ns;
    result->publish_msgs_s = (double)window_acked / seconds;
    result->deliver_msgs_s = (double)window_delivered / seconds;
    result->deliver_mb_s = (double)window_bytes / 1e6 / seconds;
}

/* The first failed worker's diagnostic when one failed; otherwise the first note a worker left
 * (a refused message, a subscription that ended), so that the record says what went wrong. */
static void run_note_failures(const struct bench_run *r, struct bench_result *result) {
    uint32_t producers = r->plan->workload->producer_count;
    /* A worker that failed explains the others, which were stopped because of it. */
    for (uint32_t pass = 0; pass < 2 && result->ok; pass++) {
        for (uint32_t i = 0; i < r->shared->slot_count; i++) {
            const struct bench_slot *sl = &r->shared->slots[i];
            uint32_t st = atomic_load_explicit(&sl->state, memory_order_acquire);
            if (pass == 0 ? st == BENCH_SLOT_FAILED : st != BENCH_SLOT_DONE) {
                result->ok = false;
                bench_diag_set(
                    &result->diag, sl->err, "%s %u: %s (%s)",
                    i < producers ? "producer" : "subscriber", i < producers ? i : i - producers,
                    sl->diag.text[0] ? sl->diag.text : "did not finish", strom_errname(sl->err));
                break;
            }
        }
    }
    for (uint32_t i = 0; i < r->shared->slot_count && result->ok; i++) {
        const struct bench_slot *sl = &r->shared->slots[i];
        if (sl->diag.text[0] != '\0') {
            bench_diag_set(&result->diag, STROM_OK, "%s %u: %s",
                           i < producers ? "producer" : "subscriber",
                           i < producers ? i : i - producers, sl->diag.text);
            return;
        }
    }
}

/* Setup, then workers up to the start, then the run itself. */
static void run_phases(struct bench_run *r, struct bench_result *result) {
    const struct bench_workload *w = r->plan->workload;
    uint32_t got;
    if (run_fork(r, 'u', 0) != STROM_OK) {
        run_fork_failed(result);
        return;
    }
    got = run_wait_slots(r, r->setup_slot, 1, BENCH_SLOT_DONE,
                         r->plan->setup_timeout_ns + RUN_GRACE_NS);
    if (got != 1) {
        run_failed(result, r->setup_slot, 1, got, "setup");
        return;
    }
    result->server = r->setup_slot->diag;
    struct bench_slot *subs = &r->shared->slots[w->producer_count];
    for (uint32_t j = 0; j < w->subscriber_count; j++) {
        if (run_fork(r, 's', j) != STROM_OK) {
            run_fork_failed(result);
            return;
        }
    }
    got = run_wait_slots(r, subs, w->subscriber_count, BENCH_SLOT_READY,
                         r->plan->setup_timeout_ns + RUN_GRACE_NS);
    if (got != w->subscriber_count) {
        run_failed(result, subs, w->subscriber_count, got, "subscribe");
        return;
    }
    for (uint32_t i = 0; i < w->producer_count; i++) {
        if (run_fork(r, 'p', i) != STROM_OK) {
            run_fork_failed(result);
            return;
        }
    }
    got = run_wait_slots(r, r->shared->slots, w->producer_count, BENCH_SLOT_READY,
                         r->plan->setup_timeout_ns + RUN_GRACE_NS);
    if (got != w->producer_count) {
        run_failed(result, r->shared->slots, w->producer_count, got, "connect");
        return;
    }
    uint64_t start = bench_now_ns() + RUN_START_DELAY_NS;
    atomic_store_explicit(&r->shared->start_ns, start, memory_order_release);
    got = run_wait_slots(r, r->shared->slots, r->shared->slot_count, BENCH_SLOT_DONE,
                         RUN_START_DELAY_NS + r->plan->warmup_ns + r->plan->duration_ns +
                             2 * r->plan->drain_ns + RUN_GRACE_NS);
    (void)got; /* who did not finish is told by run_note_failures, after every worker exited */
}

strom_err bench_run(const struct bench_driver *driver, const struct bench_plan *plan,
                    struct bench_result *result) {
    strom_assert(driver != NULL && plan != NULL && result != NULL);
    const struct bench_workload *w = plan->workload;
    strom_assert(w->producer_count <= HARNESS_PRODUCERS_MAX &&
                 w->subscriber_count <= HARNESS_SUBSCRIBERS_MAX);
    struct bench_run r = {.driver = driver, .plan = plan};
    uint32_t slots = run_worker_count(plan) + 1;
    r.shared_bytes = sizeof(struct bench_shared) + slots * sizeof(struct bench_slot);
    r.shared =
        mmap(NULL, r.shared_bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (r.shared == MAP_FAILED) {
        return strom_err_from_errno(errno);
    }
    r.shared->slot_count = slots - 1;
    r.setup_slot = &r.shared->slots[slots - 1];
    for (uint32_t i = 0; i < slots; i++) {
        hist_reset(&r.shared->slots[i].publish_ns);
        hist_reset(&r.shared->slots[i].e2e_ns);
        hist_reset(&r.shared->slots[i].unsent_ns);
        hist_reset(&r.shared->slots[i].lag_ns);
    }
    memset(result, 0, sizeof *result);
    result->workload = w;
    snprintf(result->system, sizeof result->system, "%s", plan->label);
    result->ok = true;
    hist_reset(&result->publish_ns);
    hist_reset(&result->e2e_ns);
    hist_reset(&result->lag_ns);

    run_phases(&r, result);
    run_kill_all(&r);
    if (result->ok) {
        run_note_failures(&r, result);
    }
    run_merge(&r, result);
    munmap(r.shared, r.shared_bytes);
    return STROM_OK;
}
