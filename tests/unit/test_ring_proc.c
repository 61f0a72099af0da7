/*
 * test_ring_proc.c: rings between real processes (fork), in shared memory from io_shm_create.
 *
 * Every entry's body is its sequence number followed by bytes drawn from an rng seeded with it,
 * so a reader checks every byte of every entry. Children never assert: they count what they saw
 * and what was wrong in a shared results area, and the parent asserts on it. Every child has an
 * alarm and dies with the parent; every parent wait has a deadline; every loop a count.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/rng.h"
#include "io/io.h"
#include "ring/ring.h"

enum {
    TYPE_DATA = 1,
    TYPE_END = 2,        /* the writer's last entry */
    READERS = 8,         /* result rows */
    CHILD_SECONDS = 100, /* alarm of every child */
    WAIT_MS = 90000,     /* the parent's deadline for a child */
    SEQ_MAX = 60000,     /* sequence numbers the kill test tracks one by one */
    BODY_MAX = 4096,
};

/* Waits are bounded by WAIT_NS. One that lasts STALL_NS while the other side runs is a lost
 * wake-up, not scheduling noise (the other side is never descheduled for seconds): the tests
 * count such stalls and require none. */
#define WAIT_NS  UINT64_C(10000000000)
#define STALL_NS UINT64_C(3000000000)

/* What children report. Each row has one writer: the child of that index. */
struct results {
    uint64_t writer_done;
    uint64_t writer_full;       /* claims refused with AGAIN */
    uint64_t writer_errors;     /* unexpected errors */
    uint64_t writer_seq;        /* entries written so far */
    uint64_t writer_stalls;     /* waits for space that lasted STALL_NS */
    uint64_t stalls[READERS];   /* waits for entries that lasted STALL_NS */
    uint64_t progress[READERS]; /* entries accepted */
    uint64_t errors[READERS];   /* entries wrong (content, order) or unexpected errors */
    uint64_t laps[READERS];
    uint64_t torn_caught[READERS]; /* views whose bytes were wrong and whose check failed */
    uint64_t first_seq[READERS];
    uint64_t first_position[READERS];
    uint64_t flag[READERS];
    uint8_t counts[2][SEQ_MAX]; /* kill test: times each seq was read by reader A, B */
};

struct proc {
    struct io io;
    void *mem; /* the ring region */
    size_t bytes;
    struct results *res;
    uint64_t n;          /* data entries to write */
    uint32_t body_max;   /* largest body drawn */
    int event;           /* an event made before fork, or -1 */
    uint32_t event_slot; /* the slot whose reader waits on the event */
    uint64_t hold_at;    /* a writer that reaches this seq waits to be killed; 0: none */
};

static void proc_init(struct proc *p, uint64_t capacity, uint64_t n, uint32_t body_max) {
    io_linux_init(&p->io);
    p->bytes = ring_region_bytes(capacity);
    cr_assert_eq(io_shm_create(&p->io, "strom-test-ring", p->bytes, &p->mem), STROM_OK);
    cr_assert_eq(ring_format(p->mem, p->bytes, capacity), STROM_OK);
    void *res;
    cr_assert_eq(io_shm_create(&p->io, "strom-test-res", sizeof(struct results), &res), STROM_OK);
    p->res = res;
    p->n = n;
    p->body_max = body_max;
    p->event = -1;
    p->hold_at = 0;
}

static void proc_fini(struct proc *p) {
    io_shm_unmap(&p->io, p->mem, p->bytes);
    io_shm_unmap(&p->io, p->res, sizeof(struct results));
}

static uint32_t body_bytes_of(uint64_t seq, uint32_t max) {
    struct rng rng;
    rng_init(&rng, seq * 7919u + 1);
    return 8 + (uint32_t)rng_below(&rng, max - 8 + 1);
}

static void body_fill(uint8_t *body, uint32_t bytes, uint64_t seq) {
    memcpy(body, &seq, 8);
    struct rng rng;
    rng_init(&rng, seq);
    rng_fill(&rng, body + 8, bytes - 8);
}

/* The seq of a body, or UINT64_MAX when any byte differs from what that seq writes. */
static uint64_t body_seq(const uint8_t *body, uint32_t bytes, uint32_t max) {
    uint8_t expect[BODY_MAX];
    uint64_t seq;
    if (bytes < 8 || bytes > max) {
        return UINT64_MAX;
    }
    memcpy(&seq, body, 8);
    if (bytes != body_bytes_of(seq, max)) {
        return UINT64_MAX;
    }
    body_fill(expect, bytes, seq);
    return memcmp(expect, body, bytes) == 0 ? seq : UINT64_MAX;
}

typedef void (*child_fn)(struct proc *p, int index);

static pid_t spawn(struct proc *p, child_fn fn, int index) {
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        alarm(CHILD_SECONDS);
        fn(p, index);
        _exit(0);
    }
    return pid;
}

/* Waits for pid to end within WAIT_MS; kills it and fails otherwise. Returns its status. */
static int reap(pid_t pid) {
    int status = 0;
    for (int ms = 0; ms < WAIT_MS; ms++) {
        pid_t got = waitpid(pid, &status, WNOHANG);
        if (got == pid) {
            return status;
        }
        usleep(1000);
    }
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    cr_assert_fail("child %d did not end within %d ms", (int)pid, WAIT_MS);
    return status;
}

static void reap_ok(pid_t pid) {
    int status = reap(pid);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child %d status %#x", (int)pid,
              status);
}

/* Writes seq from where the ring's last entry leaves off (0 on an empty ring) up to n, then the
 * end entry; waits when full. Run again after a kill, it continues without a gap. */
static void child_writer(struct proc *p, int index) {
    (void)index;
    struct results *res = p->res;
    struct ring_writer w;
    if (ring_writer_open(&w, p->mem, p->bytes, &p->io) != STROM_OK) {
        res->writer_errors++;
        return;
    }
    if (p->event >= 0) {
        ring_writer_set_wake_fd(&w, p->event_slot, p->event);
    }
    uint64_t seq = 0;
    struct ring_entry last;
    if (ring_writer_last(&w, &last) == STROM_OK) {
        if (last.type == TYPE_END) {
            return;
        }
        memcpy(&seq, last.body, 8);
        seq++;
    }
    uint8_t body[BODY_MAX];
    for (int spins = 0; seq <= p->n && spins < 100000000; spins++) {
        while (p->hold_at != 0 && seq == p->hold_at) {
            pause(); /* the parent's SIGKILL ends this process */
        }
        bool end = seq == p->n;
        uint32_t bytes = end ? 8 : body_bytes_of(seq, p->body_max);
        body_fill(body, bytes, seq);
        strom_err err = ring_write(&w, end ? TYPE_END : TYPE_DATA, body, bytes, NULL);
        if (err == STROM_OK) {
            seq++;
            __atomic_store_n(&res->writer_seq, seq, __ATOMIC_RELAXED);
        } else if (err == STROM_ERR_AGAIN) {
            uint64_t start = io_clock_monotonic_ns(&p->io);
            err = ring_writer_wait(&w, bytes, WAIT_NS);
            res->writer_stalls += io_clock_monotonic_ns(&p->io) - start >= STALL_NS;
            res->writer_errors += err != STROM_OK && err != STROM_ERR_TIMEOUT;
        } else {
            res->writer_errors++;
        }
    }
    __atomic_fetch_add(&res->writer_full, w.full_count, __ATOMIC_RELAXED);
    __atomic_store_n(&res->writer_done, 1, __ATOMIC_RELEASE);
}

/* Waits for an entry by futex, or by the shared event when p->event is set. */
static void reader_wait(struct proc *p, struct ring_reader *r, int index) {
    uint64_t start = io_clock_monotonic_ns(&p->io);
    if (p->event < 0) {
        (void)ring_reader_wait(r, WAIT_NS);
    } else if (!ring_reader_arm(r)) {
        uint32_t ready = 0;
        (void)io_fd_wait(&p->io, p->event, IO_POLL_IN, WAIT_NS, &ready);
        (void)io_event_drain(&p->io, p->event);
    }
    p->res->stalls[index] += io_clock_monotonic_ns(&p->io) - start >= STALL_NS;
}

/* A mandatory reader: every seq in order exactly once, every byte checked, until the end entry.
 * expect is the first seq, or UINT64_MAX for whatever comes first (a reader that resumes).
 * Commits every commit_every entries and before it waits; index odd: the copy API. */
static void mandatory_loop(struct proc *p, struct ring_reader *r, int index, uint64_t expect,
                           uint32_t commit_every, uint8_t *counts, uint64_t hold_at) {
    struct results *res = p->res;
    uint8_t buf[BODY_MAX];
    uint32_t since_commit = 0;
    for (uint64_t turns = 0; turns < 1000000000u; turns++) {
        struct ring_entry e;
        strom_err err = index % 2 ? ring_read_copy(r, buf, sizeof(buf), &e) : ring_read(r, &e);
        if (err == STROM_ERR_AGAIN) {
            res->errors[index] += ring_reader_commit(r) != STROM_OK;
            since_commit = 0;
            reader_wait(p, r, index);
            continue;
        }
        if (err != STROM_OK) {
            res->errors[index]++;
            break;
        }
        uint64_t seq = body_seq(e.body, e.body_bytes, e.type == TYPE_END ? 8 : p->body_max);
        if (res->progress[index] == 0) {
            res->first_seq[index] = seq;
            res->first_position[index] = e.position;
        }
        res->errors[index] += seq != expect && !(expect == UINT64_MAX && seq != UINT64_MAX);
        expect = seq + 1;
        if (e.type == TYPE_END) {
            break;
        }
        if (counts != NULL && seq < SEQ_MAX) {
            counts[seq]++;
        }
        __atomic_store_n(&res->progress[index], res->progress[index] + 1, __ATOMIC_RELEASE);
        since_commit++;
        /* Stop mid-read, holding a view and since_commit uncommitted reads, until killed. */
        for (int ms = 0; res->progress[index] == hold_at && ms < CHILD_SECONDS * 1000; ms++) {
            __atomic_store_n(&res->flag[index], since_commit, __ATOMIC_RELEASE);
            usleep(1000);
        }
        if (since_commit == commit_every) {
            since_commit = 0;
            res->errors[index] += ring_reader_commit(r) != STROM_OK;
        }
    }
    res->errors[index] += ring_reader_commit(r) != STROM_OK;
}

static void child_mandatory(struct proc *p, int index) {
    struct ring_reader r;
    if (ring_reader_open(&r, p->mem, p->bytes, &p->io, (uint32_t)index) != STROM_OK) {
        p->res->errors[index]++;
        return;
    }
    mandatory_loop(p, &r, index, 0, 1 + (uint32_t)index * 5, NULL, 0);
}

/* An optional reader: what it accepts must be intact and in increasing order; on a lap it
 * rejoins. Alternates zero-copy reads (verified, then checked: a view with wrong bytes must
 * fail its check) and copies. Stops at the end entry, or once the writer is done and nothing
 * more comes. */
static void child_optional(struct proc *p, int index) {
    struct results *res = p->res;
    struct ring_reader r;
    if (ring_reader_open(&r, p->mem, p->bytes, &p->io, (uint32_t)index) != STROM_OK) {
        res->errors[index]++;
        return;
    }
    uint8_t buf[BODY_MAX];
    uint64_t last = 0;
    for (uint64_t turn = 0; turn < 1000000000u; turn++) {
        struct ring_entry e;
        bool view = turn % 2 == 0;
        strom_err err = view ? ring_read(&r, &e) : ring_read_copy(&r, buf, sizeof(buf), &e);
        if (err == STROM_ERR_AGAIN) {
            if (__atomic_load_n(&res->writer_done, __ATOMIC_ACQUIRE) &&
                ring_reader_wait(&r, 10000000u) == STROM_ERR_TIMEOUT) {
                break;
            }
            (void)ring_reader_wait(&r, 100000000u);
            continue;
        }
        if (err == STROM_ERR_OUT_OF_RANGE) {
            ring_reader_rejoin(&r);
            res->laps[index]++;
            continue;
        }
        if (err != STROM_OK) {
            res->errors[index]++;
            break;
        }
        uint64_t seq = body_seq(e.body, e.body_bytes, e.type == TYPE_END ? 8 : p->body_max);
        if (view && ring_reader_check(&r, &e) != STROM_OK) {
            res->torn_caught[index] += seq == UINT64_MAX;
            ring_reader_rejoin(&r);
            res->laps[index]++;
            continue;
        }
        res->errors[index] += seq == UINT64_MAX || (res->progress[index] > 0 && seq <= last);
        last = seq;
        res->progress[index]++;
        if (e.type == TYPE_END) {
            break;
        }
        (void)ring_reader_commit(&r);
    }
}

/* One writer, three mandatory readers (zero-copy by futex, copies by futex, zero-copy by event)
 * and one optional reader move a million entries through a 64 KiB ring. */
Test(ring_proc, one_writer_many_readers_in_order, .timeout = 150) {
    struct proc p;
    proc_init(&p, 65536, 1000000, 256);
    struct ring ring;
    cr_assert_eq(ring_attach(&ring, p.mem, p.bytes, &p.io), STROM_OK);
    for (uint32_t slot = 0; slot < 3; slot++) {
        cr_assert_eq(ring_slot_claim(&ring, slot, RING_READER_MANDATORY, slot), STROM_OK);
    }
    cr_assert_eq(ring_slot_claim(&ring, 3, RING_READER_OPTIONAL, 3), STROM_OK);
    pid_t readers[4];
    readers[0] = spawn(&p, child_mandatory, 0);
    readers[1] = spawn(&p, child_mandatory, 1);
    readers[3] = spawn(&p, child_optional, 3);
    cr_assert_eq(io_event_create(&p.io, &p.event), STROM_OK);
    p.event_slot = 2;
    readers[2] = spawn(&p, child_mandatory, 2); /* the only reader that waits on the event */
    pid_t writer = spawn(&p, child_writer, 0);
    reap_ok(writer);
    for (int i = 0; i < 4; i++) {
        reap_ok(readers[i]);
    }
    struct results *res = p.res;
    cr_assert_eq(res->writer_errors, 0);
    cr_assert_eq(res->writer_seq, p.n + 1);
    for (int i = 0; i < 3; i++) {
        cr_assert_eq(res->errors[i], 0, "reader %d", i);
        cr_assert_eq(res->progress[i], p.n, "reader %d", i);
        cr_assert_eq(res->first_seq[i], 0);
    }
    cr_assert_eq(res->errors[3], 0, "optional reader accepted a wrong entry");
    cr_assert_eq(res->writer_stalls, 0, "a lost wake-up of the writer");
    for (int i = 0; i < 3; i++) {
        cr_assert_eq(res->stalls[i], 0, "a lost wake-up of reader %d", i);
    }
    cr_log_info("optional reader: %lu accepted, %lu laps", (unsigned long)res->progress[3],
                (unsigned long)res->laps[3]);
    cr_assert_gt(res->progress[3], 0);
    io_event_close(&p.io, p.event);
    proc_fini(&p);
}

static void child_slow_mandatory(struct proc *p, int index) {
    struct ring_reader r;
    if (ring_reader_open(&r, p->mem, p->bytes, &p->io, (uint32_t)index) != STROM_OK) {
        p->res->errors[index]++;
        return;
    }
    /* Sleeps 200 us after every 500 entries, with its reads committed: the writer must wait. */
    uint64_t expect = 0;
    for (uint64_t turns = 0; turns < 100000000u; turns++) {
        struct ring_entry e;
        strom_err err = ring_read(&r, &e);
        if (err == STROM_ERR_AGAIN) {
            (void)ring_reader_commit(&r);
            reader_wait(p, &r, index);
            continue;
        }
        uint64_t seq =
            err ? UINT64_MAX : body_seq(e.body, e.body_bytes, e.type == TYPE_END ? 8 : p->body_max);
        p->res->errors[index] += seq != expect;
        if (err || e.type == TYPE_END) {
            break;
        }
        expect = seq + 1;
        p->res->progress[index]++;
        if (expect % 500 == 0) {
            (void)ring_reader_commit(&r);
            usleep(200);
        }
    }
}

Test(ring_proc, slow_mandatory_reader_writer_waits, .timeout = 100) {
    struct proc p;
    proc_init(&p, 4096, 50000, 200);
    struct ring ring;
    cr_assert_eq(ring_attach(&ring, p.mem, p.bytes, &p.io), STROM_OK);
    cr_assert_eq(ring_slot_claim(&ring, 0, RING_READER_MANDATORY, 0), STROM_OK);
    pid_t reader = spawn(&p, child_slow_mandatory, 0);
    pid_t writer = spawn(&p, child_writer, 0);
    reap_ok(writer);
    reap_ok(reader);
    cr_assert_eq(p.res->writer_errors, 0);
    cr_assert_eq(p.res->errors[0], 0);
    cr_assert_eq(p.res->progress[0], p.n);
    cr_assert_gt(p.res->writer_full, 50, "the writer waited for the slow reader");
    cr_assert_eq(p.res->writer_stalls, 0, "a lost wake-up of the writer");
    cr_assert_eq(p.res->stalls[0], 0, "a lost wake-up of the reader");
    proc_fini(&p);
}

/* The writer writes 5 entries, then waits until the optional reader holds a view of the first
 * one (flag[0] = 1), then writes two laps' worth and lets it know (flag[1] = 1). */
static void child_lapping_writer(struct proc *p, int index) {
    (void)index;
    struct results *res = p->res;
    struct ring_writer w;
    uint8_t body[BODY_MAX];
    if (ring_writer_open(&w, p->mem, p->bytes, &p->io) != STROM_OK) {
        res->writer_errors++;
        return;
    }
    uint64_t seq = 0;
    for (int ms = 0; ms < 30000 && !__atomic_load_n(&res->flag[0], __ATOMIC_ACQUIRE); ms++) {
        if (seq < 5) {
            uint32_t bytes = body_bytes_of(seq, p->body_max);
            body_fill(body, bytes, seq);
            res->writer_errors += ring_write(&w, TYPE_DATA, body, bytes, NULL) != STROM_OK;
            seq++;
        }
        usleep(1000);
    }
    uint64_t start = ring_tail(&w.ring);
    while (ring_tail(&w.ring) < start + 2 * w.ring.capacity_bytes) {
        uint32_t bytes = body_bytes_of(seq, p->body_max);
        body_fill(body, bytes, seq);
        res->writer_errors += ring_write(&w, TYPE_DATA, body, bytes, NULL) != STROM_OK;
        seq++;
    }
    __atomic_store_n(&res->flag[1], 1, __ATOMIC_RELEASE);
    /* Then a stream the reader races with, and the end. */
    for (; seq < p->n; seq++) {
        uint32_t bytes = body_bytes_of(seq, p->body_max);
        body_fill(body, bytes, seq);
        res->writer_errors += ring_write(&w, TYPE_DATA, body, bytes, NULL) != STROM_OK;
    }
    res->writer_errors += ring_write(&w, TYPE_END, &seq, 8, NULL) != STROM_OK;
    __atomic_store_n(&res->writer_seq, seq + 1, __ATOMIC_RELAXED);
    __atomic_store_n(&res->writer_done, 1, __ATOMIC_RELEASE);
}

static void child_lapped_reader(struct proc *p, int index) {
    struct results *res = p->res;
    struct ring_reader r;
    if (ring_reader_open(&r, p->mem, p->bytes, &p->io, (uint32_t)index) != STROM_OK) {
        res->errors[index]++;
        return;
    }
    struct ring_entry held;
    if (ring_reader_wait(&r, 10000000000u) != STROM_OK || ring_read(&r, &held) != STROM_OK) {
        res->errors[index]++;
        return;
    }
    __atomic_store_n(&res->flag[0], 1, __ATOMIC_RELEASE);
    for (int ms = 0; ms < 30000 && !__atomic_load_n(&res->flag[1], __ATOMIC_ACQUIRE); ms++) {
        usleep(1000);
    }
    /* The held view was overwritten: the check must say so, and so must the next read. */
    res->flag[2] = ring_reader_check(&r, &held) == STROM_ERR_OUT_OF_RANGE;
    struct ring_entry e;
    res->flag[3] = ring_read(&r, &e) == STROM_ERR_OUT_OF_RANGE;
    ring_reader_rejoin(&r);
    res->laps[index]++;
    child_optional(p, index);
}

/* An optional reader is lapped once on purpose (it holds a view while the writer writes two
 * laps) and notices; then it races a writer that never waits for it, and whatever it accepts
 * must be intact and in order. */
Test(ring_proc, optional_reader_lapped_notices, .timeout = 100) {
    struct proc p;
    proc_init(&p, 4096, 300000, 300);
    struct ring ring;
    cr_assert_eq(ring_attach(&ring, p.mem, p.bytes, &p.io), STROM_OK);
    cr_assert_eq(ring_slot_claim(&ring, 5, RING_READER_OPTIONAL, 5), STROM_OK);
    pid_t reader = spawn(&p, child_lapped_reader, 5);
    pid_t writer = spawn(&p, child_lapping_writer, 0);
    reap_ok(writer);
    reap_ok(reader);
    struct results *res = p.res;
    cr_assert_eq(res->writer_errors, 0);
    cr_assert_eq(res->flag[2], 1, "check saw the lap");
    cr_assert_eq(res->flag[3], 1, "read saw the lap");
    cr_assert_eq(res->errors[5], 0, "an accepted entry was wrong or out of order");
    cr_assert_gt(res->progress[5], 0);
    cr_assert_geq(res->laps[5], 1);
    cr_log_info("optional reader: %lu accepted, %lu laps, %lu torn views caught by the check",
                (unsigned long)res->progress[5], (unsigned long)res->laps[5],
                (unsigned long)res->torn_caught[5]);
    proc_fini(&p);
}

enum { KILL_COMMIT_EVERY = 7, KILL_HOLD_AT = 20003 };

static void child_counting_reader(struct proc *p, int index) {
    struct ring_reader r;
    if (ring_reader_open(&r, p->mem, p->bytes, &p->io, 0) != STROM_OK) {
        p->res->errors[index]++;
        return;
    }
    /* Resumes at the slot: the first seq is whatever entry the slot's position holds. */
    mandatory_loop(p, &r, index, UINT64_MAX, KILL_COMMIT_EVERY, p->res->counts[index],
                   index == 0 ? KILL_HOLD_AT : 0);
}

/* Reader A commits every 7 entries (and before it waits) and is killed with SIGKILL while it
 * holds a view and 1 to 7 uncommitted reads; reader B opens the same slot and resumes at A's last
 * commit. Every entry is read; those read twice are exactly A's reads after its last commit. The
 * writer waits while no reader runs. */
Test(ring_proc, reader_killed_mid_read_resumes, .timeout = 100) {
    struct proc p;
    proc_init(&p, 4096, SEQ_MAX - 1, 200);
    struct ring ring;
    cr_assert_eq(ring_attach(&ring, p.mem, p.bytes, &p.io), STROM_OK);
    cr_assert_eq(ring_slot_claim(&ring, 0, RING_READER_MANDATORY, 0), STROM_OK);
    struct results *res = p.res;
    pid_t a = spawn(&p, child_counting_reader, 0);
    pid_t writer = spawn(&p, child_writer, 0);
    for (int ms = 0; ms < WAIT_MS && !__atomic_load_n(&res->flag[0], __ATOMIC_ACQUIRE); ms++) {
        usleep(1000);
    }
    cr_assert_eq(res->progress[0], KILL_HOLD_AT);
    kill(a, SIGKILL);
    int status = reap(a);
    cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    struct ring_slot_info info;
    ring_slot_get(&ring, 0, &info);
    cr_assert_eq(info.state, RING_SLOT_ACTIVE);
    uint64_t full_before = __atomic_load_n(&res->writer_seq, __ATOMIC_ACQUIRE);
    usleep(20000);
    cr_assert_lt(res->writer_seq, p.n, "the writer is held back while no reader runs");
    cr_assert_lt(res->writer_seq - full_before, 4096 / 16, "at most a ring's worth meanwhile");
    pid_t b = spawn(&p, child_counting_reader, 1);
    reap_ok(writer);
    reap_ok(b);
    cr_assert_eq(res->writer_errors, 0);
    cr_assert_eq(res->writer_stalls, 0);
    cr_assert_eq(res->stalls[0] + res->stalls[1], 0);
    cr_assert_eq(res->errors[0], 0);
    cr_assert_eq(res->errors[1], 0);
    /* B starts at the slot's position, or after the padding entry found there. */
    uint64_t lap_start = (info.position + 4095) & ~(uint64_t)4095;
    cr_assert(res->first_position[1] == info.position || res->first_position[1] == lap_start,
              "B starts at %lu, the slot says %lu", (unsigned long)res->first_position[1],
              (unsigned long)info.position);
    cr_assert_eq(res->first_seq[0], 0);
    uint64_t resume = res->first_seq[1];
    uint64_t duplicates = 0, a_total = 0;
    for (uint64_t seq = 0; seq < p.n; seq++) {
        uint8_t ca = res->counts[0][seq], cb = res->counts[1][seq];
        cr_assert(ca <= 1 && cb <= 1, "seq %lu read %u and %u times", (unsigned long)seq, ca, cb);
        cr_assert_eq(cb, seq >= resume, "seq %lu", (unsigned long)seq);
        if (seq < resume) {
            cr_assert_eq(ca, 1, "seq %lu lost", (unsigned long)seq);
        }
        duplicates += ca && cb;
        a_total += ca;
    }
    cr_assert_eq(duplicates, res->flag[0], "A's uncommitted reads come twice, no others");
    cr_assert(duplicates >= 1 && duplicates <= KILL_COMMIT_EVERY);
    cr_assert_eq(duplicates, a_total - resume, "A read every seq up to where it died");
    cr_log_info("reader A read %lu, killed; B resumed at seq %lu; %lu read twice",
                (unsigned long)res->progress[0], (unsigned long)resume, (unsigned long)duplicates);
    proc_fini(&p);
}

/* The writer is killed three times while it writes; each new writer process recovers the tail
 * and the last seq from the ring and continues; a mandatory reader sees every seq once, in
 * order. */
Test(ring_proc, writer_killed_and_restarted, .timeout = 100) {
    struct proc p;
    proc_init(&p, 8192, 40000, 300);
    struct ring ring;
    cr_assert_eq(ring_attach(&ring, p.mem, p.bytes, &p.io), STROM_OK);
    cr_assert_eq(ring_slot_claim(&ring, 0, RING_READER_MANDATORY, 0), STROM_OK);
    struct results *res = p.res;
    pid_t reader = spawn(&p, child_mandatory, 0);
    for (int kill_round = 1; kill_round <= 3; kill_round++) {
        uint64_t target = (uint64_t)kill_round * 9000;
        /* A writer faster than the parent's polling would finish before its kill: it holds
         * 3,000 entries past the target, so the kill lands while it writes or while it holds. */
        p.hold_at = target + 3000;
        pid_t writer = spawn(&p, child_writer, 0);
        for (int ms = 0;
             ms < WAIT_MS && __atomic_load_n(&res->writer_seq, __ATOMIC_ACQUIRE) < target; ms++) {
            usleep(200);
        }
        kill(writer, SIGKILL);
        int status = reap(writer);
        cr_assert(WIFSIGNALED(status), "writer %d was to be killed mid-write", kill_round);
    }
    p.hold_at = 0;
    pid_t last = spawn(&p, child_writer, 0);
    reap_ok(last);
    reap_ok(reader);
    cr_assert_eq(res->writer_errors, 0);
    cr_assert_eq(res->errors[0], 0, "the reader saw a gap, a duplicate or a wrong byte");
    cr_assert_eq(res->stalls[0], 0, "a lost wake-up of the reader");
    cr_assert_eq(res->progress[0], p.n);
    cr_assert_eq(ring.header->writer_opens, 4);
    proc_fini(&p);
}
