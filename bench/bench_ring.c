/*
 * bench_ring.c: speed of a ring between two processes, against a pipe and a Unix socket pair
 * between the same two processes, measured in the same run.
 *
 * Latency: one-way, writer to reader. The writer stamps a 64-byte message with the monotonic
 * clock (shared by all processes of the machine) and sends it; the reader records now - stamp
 * in a histogram and echoes 8 bytes back; the writer sends the next message once the echo is in
 * (ping-pong, so each message finds an idle reader). The ring is measured with four waiting
 * policies of both sides: futex at once (spin 0), the default short spin, 64 polls, and busy
 * polling (RING_SPIN_MAX polls, which takes a core). The baselines block in read(2).
 *
 * Throughput: the writer sends messages of 64 B and of 1 KiB back to back; the reader
 * reads each one and folds every 8-byte word of it into a checksum (so both sides touch every
 * byte); the figure runs from the writer's first send to the reader's last receive. The ring
 * reader reads in place and commits every 256 entries. The baselines are a Unix stream socket
 * pair with one write(2) per message (for the message rate) and with messages gathered into
 * 256 KiB writes (for bandwidth, a bound no per-message transport reaches), the reader's read(2)
 * taking up to 256 KiB. Best of trials_count trials, because on a shared machine other processes
 * only make a trial slower.
 *
 * The benchmark harness calls pipe(2), socketpair(2), read(2), write(2) and waitpid(2) itself:
 * it is not role code, and the baselines are exactly those system calls.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/assert.h"
#include "base/bench.h"
#include "base/hist.h"
#include "io/io.h"
#include "ring/ring.h"

enum {
    trials_count = 3,
    pingpong_count = 20000,       /* messages per latency run */
    pingpong_bytes = 64,          /* message size of the latency runs */
    echo_bytes = 8,               /* the reply */
    commit_every = 256,           /* entries between commits of the throughput reader */
    socket_read_bytes = 1 << 18,  /* the baseline reader's buffer */
    latency_capacity = 1 << 16,   /* ring bytes of the latency runs */
    throughput_capacity = 1 << 20 /* ring bytes of the throughput runs */
};

static const uint64_t wait_ns = 5000000000u; /* a wait this long means a broken run */

/* What the child reports to the parent, in shared memory. */
struct shared {
    struct hist hist;  /* one-way latencies, ns (the latency reader) */
    uint64_t start_ns; /* the writer's first send (throughput) */
    uint64_t end_ns;   /* the reader's last receive (throughput) */
    uint64_t checksum; /* folded by the reader */
    uint64_t failures; /* waits that timed out, short reads */
};

/* Two rings (there and back) and the shared results, one region each. */
struct rig {
    struct io *io;
    void *there;
    void *back;
    size_t ring_bytes;
    struct shared *shared;
};

static void rig_open(struct rig *rig, struct io *io, uint64_t capacity) {
    rig->io = io;
    rig->ring_bytes = ring_region_bytes(capacity);
    void *shared;
    strom_assert(io_shm_create(io, "bench-ring-there", rig->ring_bytes, &rig->there) == STROM_OK);
    strom_assert(io_shm_create(io, "bench-ring-back", rig->ring_bytes, &rig->back) == STROM_OK);
    strom_assert(io_shm_create(io, "bench-ring-shared", sizeof(struct shared), &shared) ==
                 STROM_OK);
    rig->shared = shared;
    void *rings[2] = {rig->there, rig->back};
    for (int i = 0; i < 2; i++) {
        struct ring ring;
        strom_assert(ring_format(rings[i], rig->ring_bytes, capacity) == STROM_OK);
        strom_assert(ring_attach(&ring, rings[i], rig->ring_bytes, io) == STROM_OK);
        strom_assert(ring_slot_claim(&ring, 0, RING_READER_MANDATORY, 0) == STROM_OK);
    }
    hist_reset(&rig->shared->hist);
}

static void rig_close(struct rig *rig) {
    io_shm_unmap(rig->io, rig->there, rig->ring_bytes);
    io_shm_unmap(rig->io, rig->back, rig->ring_bytes);
    io_shm_unmap(rig->io, rig->shared, sizeof(struct shared));
}

static pid_t fork_child(struct io *io) {
    int32_t pid = -1;
    strom_assert(io_proc_fork(io, &pid) == STROM_OK);
    if (pid == 0) {
        (void)io_proc_die_with_parent(io, IO_SIGNAL_KILL);
    }
    return (pid_t)pid;
}

static void reap(pid_t pid) {
    int status = 0;
    strom_assert(waitpid(pid, &status, 0) == pid);
    strom_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/* Reads one entry, waiting for it; false when the wait timed out. */
static bool ring_take(struct ring_reader *r, struct ring_entry *e) {
    strom_err err;
    while ((err = ring_read(r, e)) == STROM_ERR_AGAIN) {
        (void)ring_reader_commit(r);
        if (ring_reader_wait(r, wait_ns) != STROM_OK) {
            return false;
        }
    }
    return err == STROM_OK;
}

static bool ring_put(struct ring_writer *w, const void *body, uint32_t bytes) {
    strom_err err;
    while ((err = ring_write(w, 1, body, bytes, NULL)) == STROM_ERR_AGAIN) {
        if (ring_writer_wait(w, bytes, wait_ns) != STROM_OK) {
            return false;
        }
    }
    return err == STROM_OK;
}

static void latency_ring_child(struct rig *rig, uint32_t spin_max) {
    struct io *io = rig->io;
    struct ring_reader r;
    struct ring_writer w;
    strom_assert(ring_reader_open(&r, rig->there, rig->ring_bytes, io, 0) == STROM_OK);
    strom_assert(ring_writer_open(&w, rig->back, rig->ring_bytes, io) == STROM_OK);
    r.spin_max = spin_max;
    for (int i = 0; i < pingpong_count; i++) {
        struct ring_entry e;
        if (!ring_take(&r, &e)) {
            rig->shared->failures++;
            break;
        }
        uint64_t now = io_clock_monotonic_ns(io);
        uint64_t stamp;
        memcpy(&stamp, e.body, sizeof(stamp));
        hist_record(&rig->shared->hist, now - stamp);
        (void)ring_reader_commit(&r);
        rig->shared->failures += !ring_put(&w, &stamp, echo_bytes);
    }
    io_proc_exit(io, 0);
}

/* One-way latency through the ring, with the reader polling spin_max times before it sleeps. */
static void latency_ring(struct io *io, uint32_t spin_max, struct hist *out) {
    struct rig rig;
    rig_open(&rig, io, latency_capacity);
    pid_t child = fork_child(io);
    if (child == 0) {
        latency_ring_child(&rig, spin_max);
    }
    struct ring_writer w;
    struct ring_reader r;
    strom_assert(ring_writer_open(&w, rig.there, rig.ring_bytes, io) == STROM_OK);
    strom_assert(ring_reader_open(&r, rig.back, rig.ring_bytes, io, 0) == STROM_OK);
    r.spin_max = spin_max;
    uint8_t msg[pingpong_bytes] = {0};
    for (int i = 0; i < pingpong_count; i++) {
        void *body;
        while (ring_claim(&w, pingpong_bytes, &body) == STROM_ERR_AGAIN) {
            strom_assert(ring_writer_wait(&w, pingpong_bytes, wait_ns) == STROM_OK);
        }
        uint64_t stamp = io_clock_monotonic_ns(io);
        memcpy(msg, &stamp, sizeof(stamp));
        memcpy(body, msg, pingpong_bytes);
        ring_publish(&w, 1, NULL);
        struct ring_entry e;
        strom_assert(ring_take(&r, &e));
        (void)ring_reader_commit(&r);
    }
    reap(child);
    strom_assert(rig.shared->failures == 0);
    *out = rig.shared->hist;
    rig_close(&rig);
}

static bool fd_read_all(int fd, void *buf, size_t len) {
    size_t done = 0;
    while (done < len) {
        ssize_t n = read(fd, (uint8_t *)buf + done, len - done);
        if (n <= 0) {
            return false;
        }
        done += (size_t)n;
    }
    return true;
}

static bool fd_write_all(int fd, const void *buf, size_t len) {
    size_t done = 0;
    while (done < len) {
        ssize_t n = write(fd, (const uint8_t *)buf + done, len - done);
        if (n <= 0) {
            return false;
        }
        done += (size_t)n;
    }
    return true;
}

/* One-way latency over two file descriptor pairs (pipes or a socket pair): the parent writes to
 * there[1] and reads the echo from back[0]. */
static void latency_fds(struct io *io, const int there[2], const int back[2], struct hist *out) {
    struct shared *shared;
    strom_assert(io_shm_create(io, "bench-ring-shared", sizeof(*shared), (void **)&shared) ==
                 STROM_OK);
    hist_reset(&shared->hist);
    pid_t child = fork_child(io);
    if (child == 0) {
        uint8_t msg[pingpong_bytes];
        for (int i = 0; i < pingpong_count; i++) {
            if (!fd_read_all(there[0], msg, sizeof(msg))) {
                shared->failures++;
                break;
            }
            uint64_t now = io_clock_monotonic_ns(io);
            uint64_t stamp;
            memcpy(&stamp, msg, sizeof(stamp));
            hist_record(&shared->hist, now - stamp);
            shared->failures += !fd_write_all(back[1], msg, echo_bytes);
        }
        io_proc_exit(io, 0);
    }
    uint8_t msg[pingpong_bytes] = {0};
    for (int i = 0; i < pingpong_count; i++) {
        uint64_t stamp = io_clock_monotonic_ns(io);
        memcpy(msg, &stamp, sizeof(stamp));
        strom_assert(fd_write_all(there[1], msg, sizeof(msg)));
        strom_assert(fd_read_all(back[0], msg, echo_bytes));
    }
    reap(child);
    strom_assert(shared->failures == 0);
    *out = shared->hist;
    io_shm_unmap(io, shared, sizeof(*shared));
}

static void latency_pipe(struct io *io, struct hist *out) {
    int there[2], back[2];
    strom_assert(pipe(there) == 0 && pipe(back) == 0);
    latency_fds(io, there, back, out);
    close(there[0]), close(there[1]), close(back[0]), close(back[1]);
}

static void latency_unix(struct io *io, struct hist *out) {
    int pair[2];
    strom_assert(socketpair(AF_UNIX, SOCK_STREAM, 0, pair) == 0);
    int there[2] = {pair[1], pair[0]}; /* the child reads pair[1], the parent writes pair[0] */
    int back[2] = {pair[0], pair[1]};  /* the child writes pair[1], the parent reads pair[0] */
    latency_fds(io, there, back, out);
    close(pair[0]), close(pair[1]);
}

static uint64_t fold(const uint8_t *bytes, size_t len, uint64_t sum) {
    for (size_t i = 0; i + 8 <= len; i += 8) {
        uint64_t word;
        memcpy(&word, bytes + i, 8);
        sum = (sum ^ word) * 0x100000001b3u;
    }
    return sum;
}

/* Messages per second through the ring; *checksum_out gets the reader's checksum. */
static double throughput_ring(struct io *io, uint32_t bytes, uint64_t count,
                              uint64_t *checksum_out) {
    struct rig rig;
    rig_open(&rig, io, throughput_capacity);
    pid_t child = fork_child(io);
    if (child == 0) {
        struct ring_writer w;
        strom_assert(ring_writer_open(&w, rig.there, rig.ring_bytes, io) == STROM_OK);
        uint8_t msg[1024];
        memset(msg, 0x5A, sizeof(msg));
        rig.shared->start_ns = io_clock_monotonic_ns(io);
        for (uint64_t i = 0; i < count; i++) {
            memcpy(msg, &i, sizeof(i));
            rig.shared->failures += !ring_put(&w, msg, bytes);
        }
        io_proc_exit(io, 0);
    }
    struct ring_reader r;
    strom_assert(ring_reader_open(&r, rig.there, rig.ring_bytes, io, 0) == STROM_OK);
    uint64_t sum = 0;
    for (uint64_t i = 0; i < count; i++) {
        struct ring_entry e;
        strom_assert(ring_take(&r, &e) && e.body_bytes == bytes);
        sum = fold(e.body, e.body_bytes, sum);
        if (i % commit_every == 0) {
            (void)ring_reader_commit(&r);
        }
    }
    uint64_t end = io_clock_monotonic_ns(io);
    (void)ring_reader_commit(&r);
    reap(child);
    strom_assert(rig.shared->failures == 0);
    double rate = (double)count * 1e9 / (double)(end - rig.shared->start_ns);
    rig_close(&rig);
    *checksum_out = sum;
    return rate;
}

/* Messages per second through a Unix stream socket pair: one write(2) per message, or, bulk,
 * messages gathered into writes of up to socket_read_bytes. */
static double throughput_socket(struct io *io, uint32_t bytes, uint64_t count, bool bulk,
                                uint64_t *checksum_out) {
    int pair[2];
    struct shared *shared;
    strom_assert(socketpair(AF_UNIX, SOCK_STREAM, 0, pair) == 0);
    strom_assert(io_shm_create(io, "bench-ring-shared", sizeof(*shared), (void **)&shared) ==
                 STROM_OK);
    pid_t child = fork_child(io);
    uint8_t *buf = malloc(socket_read_bytes + 1024);
    strom_assert(buf != NULL);
    if (child == 0) {
        uint8_t msg[1024];
        memset(msg, 0x5A, sizeof(msg));
        size_t batch = bulk ? socket_read_bytes / bytes * bytes : bytes, used = 0;
        shared->start_ns = io_clock_monotonic_ns(io);
        for (uint64_t i = 0; i < count; i++) {
            memcpy(msg, &i, sizeof(i));
            memcpy(buf + used, msg, bytes);
            used += bytes;
            if (used == batch || i + 1 == count) {
                shared->failures += !fd_write_all(pair[0], buf, used);
                used = 0;
            }
        }
        io_proc_exit(io, 0);
    }
    uint64_t total = (uint64_t)bytes * count, got = 0, sum = 0;
    size_t carry = 0; /* bytes of a message cut at the end of the last read */
    while (got < total) {
        ssize_t n = read(pair[1], buf + carry, socket_read_bytes);
        strom_assert(n > 0);
        got += (uint64_t)n;
        size_t have = carry + (size_t)n;
        size_t whole = have - have % bytes;
        for (size_t off = 0; off < whole; off += bytes) {
            sum = fold(buf + off, bytes, sum);
        }
        carry = have - whole;
        memmove(buf, buf + whole, carry);
    }
    uint64_t end = io_clock_monotonic_ns(io);
    reap(child);
    strom_assert(shared->failures == 0);
    double rate = (double)count * 1e9 / (double)(end - shared->start_ns);
    io_shm_unmap(io, shared, sizeof(*shared));
    close(pair[0]), close(pair[1]);
    free(buf);
    *checksum_out = sum;
    return rate;
}

static double throughput_unix(struct io *io, uint32_t bytes, uint64_t count, uint64_t *sum) {
    return throughput_socket(io, bytes, count, false, sum);
}

static double throughput_bulk(struct io *io, uint32_t bytes, uint64_t count, uint64_t *sum) {
    return throughput_socket(io, bytes, count, true, sum);
}

typedef double (*throughput_fn)(struct io *io, uint32_t bytes, uint64_t count, uint64_t *sum);

static double best_of(struct io *io, throughput_fn fn, uint32_t bytes, uint64_t count,
                      uint64_t *sum) {
    double best = 0;
    for (int t = 0; t < trials_count; t++) {
        double rate = fn(io, bytes, count, sum);
        best = rate > best ? rate : best;
    }
    return best;
}

static void add(struct bench *b, const char *name, double value, const char *unit,
                const char *baseline) {
    strom_err err = bench_add(b, name, value, unit, baseline);
    strom_assert(err == STROM_OK);
}

static void add_hist(struct bench *b, const char *name, const struct hist *h,
                     const char *baseline) {
    strom_err err = bench_add_hist(b, name, h, "us", 1000.0, baseline);
    strom_assert(err == STROM_OK);
}

/* The checksum a reader folds over count messages of bytes, computed here. */
static uint64_t expected_sum(uint32_t bytes, uint64_t count) {
    uint8_t msg[1024];
    memset(msg, 0x5A, sizeof(msg));
    uint64_t sum = 0;
    for (uint64_t i = 0; i < count; i++) {
        memcpy(msg, &i, sizeof(i));
        sum = fold(msg, bytes, sum);
    }
    return sum;
}

/* Message rate against the socket pair with one write per message (unix_count messages: it is
 * much slower), bandwidth against the socket pair with bulk writes (ring_count messages). */
static void throughput(struct bench *b, struct io *io, uint32_t bytes, uint64_t ring_count,
                       uint64_t unix_count, const char *size) {
    uint64_t ring_sum = 0, unix_sum = 0, bulk_sum = 0;
    double ring = best_of(io, throughput_ring, bytes, ring_count, &ring_sum);
    double sock = best_of(io, throughput_unix, bytes, unix_count, &unix_sum);
    double bulk = best_of(io, throughput_bulk, bytes, ring_count, &bulk_sum);
    /* Every reader saw every byte that was sent. */
    strom_assert(ring_sum == expected_sum(bytes, ring_count));
    strom_assert(bulk_sum == ring_sum);
    strom_assert(unix_sum == expected_sum(bytes, unix_count));
    char name[5][64];
    snprintf(name[0], sizeof(name[0]), "ring.throughput.%s", size);
    snprintf(name[1], sizeof(name[1]), "unix.throughput.%s", size);
    snprintf(name[2], sizeof(name[2]), "ring.bandwidth.%s", size);
    snprintf(name[3], sizeof(name[3]), "unix.bulk.bandwidth.%s", size);
    snprintf(name[4], sizeof(name[4]), "unix.bulk.throughput.%s", size);
    add(b, name[0], ring, "msg/s", name[1]);
    add(b, name[1], sock, "msg/s", NULL);
    add(b, name[4], bulk, "msg/s", NULL);
    add(b, name[2], ring * bytes / 1e9, "GB/s", name[3]);
    add(b, name[3], bulk * bytes / 1e9, "GB/s", NULL);
}

int main(void) {
    struct bench *b = malloc(sizeof *b);
    struct hist *h = malloc(sizeof *h);
    struct io io;
    strom_assert(b != NULL && h != NULL);
    io_linux_init(&io);
    bench_init(b);

    latency_pipe(&io, h);
    add_hist(b, "pipe.latency.64b", h, NULL);
    latency_unix(&io, h);
    add_hist(b, "unix.latency.64b", h, NULL);
    /* The reader's polls before it sleeps: none, the default, more, and busy polling. */
    const uint32_t spins[] = {0, RING_SPIN_DEFAULT, 64, RING_SPIN_MAX};
    for (int i = 0; i < 4; i++) {
        char name[64];
        snprintf(name, sizeof(name), "ring.latency.spin%u.64b", spins[i]);
        latency_ring(&io, spins[i], h);
        add_hist(b, name, h, "pipe.latency.64b");
    }

    throughput(b, &io, 64, 4000000, 400000, "64b");
    throughput(b, &io, 1024, 1000000, 200000, "1k");

    bench_print(b, stdout);
    free(h);
    free(b);
    return 0;
}
