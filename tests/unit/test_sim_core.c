/*
 * test_sim_core.c: the simulator's world (src/sim/sim.h) with small processes written for the
 * test: simulated time and sleeps, futex wake-ups and timeouts, TCP between processes and with a
 * driver-level client, dropped segments, pollers, events, crashes in the middle of a call, node
 * crashes, preemption of a busy loop, and the reproducibility of the trace hash.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "io/io.h"
#include "io/io_memfs.h"
#include "sim/sim.h"

struct exits {
    uint32_t count;
    uint32_t crashed;
    int last_code;
};

static void on_exit_count(struct sim_world *w, void *arg, struct sim_proc *p, bool crashed,
                          int code) {
    struct exits *e = arg;
    (void)w;
    (void)p;
    e->count++;
    e->crashed += crashed;
    e->last_code = code;
}

/* A world from seed with one node (*node) whose processes' exits are counted in *e. */
static struct sim_world *world_counting_exits(uint64_t seed, struct exits *e, uint32_t *node) {
    struct sim_world *w;
    cr_assert_eq(sim_world_create(seed, &w), STROM_OK);
    *e = (struct exits){0};
    sim_set_exit_callback(w, on_exit_count, e);
    *node = sim_node_add(w, NULL);
    return w;
}

static int sleeper_main(struct io *io, void *arg) {
    uint64_t *woke_at = arg;
    io_sleep_ns(io, 5000000);
    *woke_at = io_clock_monotonic_ns(io);
    return 7;
}

Test(sim_core, sleep_moves_time_and_exit_is_reported) {
    struct exits e;
    uint32_t node = 0;
    struct sim_world *w = world_counting_exits(1, &e, &node);
    uint64_t woke_at = 0;
    sim_proc_spawn(w, node, "sleeper", sleeper_main, &woke_at);
    sim_run(w, 100000000);
    cr_assert_eq(woke_at, 5000000);
    cr_assert_eq(e.count, 1);
    cr_assert_eq(e.crashed, 0);
    cr_assert_eq(e.last_code, 7);
    cr_assert_eq(sim_now_ns(w), 100000000);
    sim_world_destroy(w);
}

struct futex_case {
    uint32_t word;
    strom_err waiter_err;
    uint64_t waiter_done_ns;
    strom_err timeout_err;
    uint64_t timeout_done_ns;
};

static int futex_waiter(struct io *io, void *arg) {
    struct futex_case *f = arg;
    f->waiter_err = io_futex_wait(io, &f->word, 0, 0);
    f->waiter_done_ns = io_clock_monotonic_ns(io);
    uint32_t never = 99;
    f->timeout_err = io_futex_wait(io, &never, 99, 1000000);
    f->timeout_done_ns = io_clock_monotonic_ns(io);
    return 0;
}

static int futex_waker(struct io *io, void *arg) {
    struct futex_case *f = arg;
    io_sleep_ns(io, 3000);
    __atomic_store_n(&f->word, 1, __ATOMIC_RELEASE);
    io_futex_wake(io, &f->word, 1);
    return 0;
}

Test(sim_core, futex_wakes_and_times_out) {
    struct sim_world *w;
    cr_assert_eq(sim_world_create(2, &w), STROM_OK);
    uint32_t node = sim_node_add(w, NULL);
    struct futex_case f = {.waiter_err = STROM_ERR_COUNT_, .timeout_err = STROM_ERR_COUNT_};
    sim_proc_spawn(w, node, "waiter", futex_waiter, &f);
    sim_proc_spawn(w, node, "waker", futex_waker, &f);
    sim_run(w, 10000000);
    cr_assert_eq(f.waiter_err, STROM_OK);
    cr_assert_eq(f.waiter_done_ns, 3000);
    cr_assert_eq(f.timeout_err, STROM_ERR_TIMEOUT);
    cr_assert_eq(f.timeout_done_ns, 1003000);
    sim_world_destroy(w);
}

/* An echo server: a poller over a listener and its connections and an event that stops it. */
struct echo {
    uint16_t port;
    int stop_event;
    uint32_t accepted;
    uint32_t closed_at_end; /* connections closed at the peer's end of stream */
    uint64_t echoed_bytes;
};

/* Echoes what fd holds; closes fd at the peer's end of stream (a socket at its end stays
 * readable, so a server that kept it would wake at once on every wait, for as long as the world
 * runs). */
static void echo_serve_conn(struct io *io, int fd, struct echo *e) {
    uint8_t buf[512];
    size_t got = 0;
    strom_err err;
    while ((err = io_sock_recv(io, fd, buf, sizeof buf, &got)) == STROM_OK) {
        struct io_iov iov = {.base = buf, .len = got};
        size_t sent = 0;
        cr_assert_eq(io_sock_send(io, fd, &iov, 1, &sent), STROM_OK);
        cr_assert_eq(sent, got);
        e->echoed_bytes += got;
    }
    if (err == STROM_ERR_CLOSED) {
        io_sock_close(io, fd);
        e->closed_at_end++;
    }
}

static int echo_main(struct io *io, void *arg) {
    struct echo *e = arg;
    int lfd, poller;
    cr_assert_eq(io_tcp_listen(io, "127.0.0.1", e->port, 16, &lfd, NULL), STROM_OK);
    cr_assert_eq(io_poller_create(io, &poller), STROM_OK);
    cr_assert_eq(io_poller_control(io, poller, IO_POLL_ADD, lfd, IO_POLL_IN, (uint64_t)lfd),
                 STROM_OK);
    cr_assert_eq(io_poller_control(io, poller, IO_POLL_ADD, e->stop_event, IO_POLL_IN,
                                   (uint64_t)e->stop_event),
                 STROM_OK);
    for (;;) {
        struct io_poll_event evs[8];
        uint32_t n = 0;
        cr_assert_eq(io_poller_wait(io, poller, evs, 8, IO_TIMEOUT_INFINITE, &n), STROM_OK);
        for (uint32_t i = 0; i < n; i++) {
            int fd = (int)evs[i].token;
            if (fd == e->stop_event) {
                return 0;
            }
            if (fd == lfd) {
                int c;
                while (io_tcp_accept(io, lfd, &c) == STROM_OK) {
                    e->accepted++;
                    io_poller_control(io, poller, IO_POLL_ADD, c, IO_POLL_IN, (uint64_t)c);
                }
            } else if (evs[i].events & IO_POLL_ERR) {
                io_sock_close(io, fd);
            } else {
                echo_serve_conn(io, fd, e);
            }
        }
    }
}

struct pinger {
    uint16_t port;
    uint32_t rounds_done;
    uint64_t done_ns;
};

static int pinger_main(struct io *io, void *arg) {
    struct pinger *pg = arg;
    io_sleep_ns(io, 1000); /* let the server listen first */
    int fd;
    cr_assert_eq(io_tcp_connect(io, "127.0.0.1", pg->port, 1000000, &fd), STROM_OK);
    for (uint32_t r = 0; r < 10; r++) {
        char msg[64];
        memset(msg, 'a' + (int)r, sizeof msg);
        struct io_iov iov = {.base = msg, .len = sizeof msg};
        size_t sent = 0;
        cr_assert_eq(io_sock_send(io, fd, &iov, 1, &sent), STROM_OK);
        size_t have = 0;
        char back[64];
        while (have < sizeof back) {
            uint32_t ready = 0;
            io_fd_wait(io, fd, IO_POLL_IN, IO_TIMEOUT_INFINITE, &ready);
            size_t got = 0;
            strom_err err = io_sock_recv(io, fd, back + have, sizeof back - have, &got);
            cr_assert(err == STROM_OK || err == STROM_ERR_AGAIN);
            have += got;
        }
        cr_assert_eq(memcmp(msg, back, sizeof msg), 0);
        pg->rounds_done++;
    }
    pg->done_ns = io_clock_monotonic_ns(io);
    io_sock_close(io, fd);
    return 0;
}

static uint64_t run_ping(uint64_t seed, struct pinger *pg, struct echo *e) {
    struct sim_world *w;
    cr_assert_eq(sim_world_create(seed, &w), STROM_OK);
    struct sim_latency lat = {.net_delay_min_ns = 10000, .net_delay_max_ns = 20000};
    sim_set_latency(w, &lat);
    uint32_t node = sim_node_add(w, NULL);
    cr_assert_eq(io_event_create(sim_node_io(w, node), &e->stop_event), STROM_OK);
    sim_proc_spawn(w, node, "echo", echo_main, e);
    sim_proc_spawn(w, node, "pinger", pinger_main, pg);
    sim_run(w, 50000000);
    cr_assert_eq(io_event_signal(sim_node_io(w, node), e->stop_event), STROM_OK);
    sim_run(w, 60000000);
    uint64_t hash = sim_trace_hash(w);
    sim_world_destroy(w);
    return hash;
}

Test(sim_core, tcp_ping_pong_between_processes_is_reproducible) {
    struct pinger pg = {.port = 7420};
    struct echo e = {.port = 7420};
    uint64_t h1 = run_ping(42, &pg, &e);
    cr_assert_eq(pg.rounds_done, 10);
    cr_assert_eq(e.accepted, 1);
    cr_assert_eq(e.echoed_bytes, 640);
    cr_assert_eq(e.closed_at_end, 1, "the pinger's close reached the server");
    /* Ten round trips of two one-way delays in [10, 20] us each, after a 1 us start. */
    cr_assert(pg.done_ns >= 1000 + 10 * 20000 && pg.done_ns <= 1000 + 10 * 40000 + 20000,
              "done at %llu ns", (unsigned long long)pg.done_ns);
    uint64_t first_done = pg.done_ns;
    struct pinger pg2 = {.port = 7420};
    struct echo e2 = {.port = 7420};
    uint64_t h2 = run_ping(42, &pg2, &e2);
    cr_assert_eq(h1, h2);
    cr_assert_eq(pg2.done_ns, first_done);
    struct pinger pg3 = {.port = 7420};
    struct echo e3 = {.port = 7420};
    uint64_t h3 = run_ping(43, &pg3, &e3);
    cr_assert_neq(h1, h3);
    cr_assert_eq(pg3.rounds_done, 10);
}

/* A driver-level client talks to the echo server; a reset makes it see CLOSED. */
struct client_state {
    uint32_t notified;
};

static void client_notify(struct sim_world *w, void *arg, int fd) {
    (void)w;
    (void)fd;
    ((struct client_state *)arg)->notified++;
}

/* A world from seed with one node that runs an echo server on e's port; returns the node. */
static uint32_t echo_world(uint64_t seed, struct echo *e, struct sim_world **w) {
    cr_assert_eq(sim_world_create(seed, w), STROM_OK);
    uint32_t node = sim_node_add(*w, NULL);
    cr_assert_eq(io_event_create(sim_node_io(*w, node), &e->stop_event), STROM_OK);
    sim_proc_spawn(*w, node, "echo", echo_main, e);
    return node;
}

Test(sim_core, client_connection_echo_and_reset) {
    struct sim_world *w;
    struct echo e = {.port = 9000};
    uint32_t node = echo_world(3, &e, &w);
    struct client_state cs = {0};
    int fd;
    cr_assert_eq(sim_client_connect(w, node, 9001, client_notify, &cs, &fd),
                 STROM_ERR_NOT_CONNECTED, "nobody listens yet");
    sim_run(w, 1000);
    cr_assert_eq(sim_client_connect(w, node, 9001, client_notify, &cs, &fd),
                 STROM_ERR_NOT_CONNECTED, "wrong port");
    cr_assert_eq(sim_client_connect(w, node, 9000, client_notify, &cs, &fd), STROM_OK);
    size_t sent = 0;
    cr_assert_eq(sim_client_send(w, fd, "hello", 5, &sent), STROM_OK);
    cr_assert_eq(sent, 5);
    char buf[16];
    size_t got = 0;
    cr_assert_eq(sim_client_recv(w, fd, buf, sizeof buf, &got), STROM_ERR_AGAIN);
    sim_run(w, 1000000);
    cr_assert(cs.notified > 0);
    cr_assert_eq(sim_client_recv(w, fd, buf, sizeof buf, &got), STROM_OK);
    cr_assert_eq(got, 5);
    cr_assert_eq(memcmp(buf, "hello", 5), 0);
    cr_assert_eq(sim_conn_count(w), 1);
    sim_conn_reset(w, fd);
    cr_assert_eq(sim_client_recv(w, fd, buf, sizeof buf, &got), STROM_ERR_CLOSED);
    cr_assert_eq(sim_client_send(w, fd, "x", 1, &sent), STROM_ERR_CLOSED);
    sim_run(w, 2000000); /* the server sees the error and closes its end */
    sim_client_close(w, fd);
    cr_assert_eq(sim_conn_count(w), 0);
    sim_world_destroy(w);
}

/* Dropped segments arrive late, in order, once the drop ends; a drop that ends in a timeout
 * resets the connection. */
Test(sim_core, dropped_segments_arrive_late_or_time_out) {
    struct sim_world *w;
    struct echo e = {.port = 9000};
    uint32_t node = echo_world(5, &e, &w);
    sim_run(w, 1000);
    struct client_state cs = {0};
    int fd;
    cr_assert_eq(sim_client_connect(w, node, 9000, client_notify, &cs, &fd), STROM_OK);
    sim_run(w, 100000); /* accepted */
    cr_assert(sim_conn_drop_random(w, 5000000, false), "the one connection");
    size_t sent = 0;
    cr_assert_eq(sim_client_send(w, fd, "ab", 2, &sent), STROM_OK);
    cr_assert_eq(sim_client_send(w, fd, "cd", 2, &sent), STROM_OK);
    char buf[16];
    size_t got = 0;
    sim_run(w, 4000000);
    cr_assert_eq(sim_client_recv(w, fd, buf, sizeof buf, &got), STROM_ERR_AGAIN,
                 "nothing passes while segments are dropped");
    sim_run(w, 6000000);
    cr_assert_eq(sim_client_recv(w, fd, buf, sizeof buf, &got), STROM_OK);
    cr_assert_eq(got, 4);
    cr_assert_eq(memcmp(buf, "abcd", 4), 0, "late but in order");
    cr_assert(sim_conn_drop_random(w, 1000000, true));
    cr_assert_eq(sim_client_send(w, fd, "ef", 2, &sent), STROM_OK);
    sim_run(w, 6500000);
    cr_assert_eq(sim_client_recv(w, fd, buf, sizeof buf, &got), STROM_ERR_AGAIN);
    sim_run(w, 8000000);
    cr_assert_eq(sim_client_recv(w, fd, buf, sizeof buf, &got), STROM_ERR_CLOSED,
                 "the drop ended in a timeout");
    struct sim_stats st;
    sim_get_stats(w, &st);
    cr_assert_eq(st.drops, 2);
    cr_assert_eq(st.resets, 1);
    sim_client_close(w, fd);
    sim_world_destroy(w);
}

static int clock_loop_main(struct io *io, void *arg) {
    uint64_t *calls = arg;
    for (;;) {
        (void)io_clock_monotonic_ns(io);
        (*calls)++;
    }
    return 0;
}

Test(sim_core, crash_in_the_middle_of_a_call) {
    struct exits e;
    uint32_t node = 0;
    struct sim_world *w = world_counting_exits(4, &e, &node);
    uint64_t calls = 0;
    struct sim_proc *p = sim_proc_spawn(w, node, "looper", clock_loop_main, &calls);
    sim_proc_crash_after_calls(p, 1000);
    sim_run(w, 1000000);
    cr_assert_eq(calls, 999, "the 1000th call never returned");
    cr_assert_eq(e.count, 1);
    cr_assert_eq(e.crashed, 1);
    sim_world_destroy(w);
}

static int busy_until_main(struct io *io, void *arg) {
    uint64_t *seen = arg;
    while (io_clock_monotonic_ns(io) < 2000000) {
    }
    *seen = io_clock_monotonic_ns(io);
    return 0;
}

Test(sim_core, busy_loop_is_preempted_and_time_moves) {
    struct sim_world *w;
    cr_assert_eq(sim_world_create(5, &w), STROM_OK);
    uint32_t node = sim_node_add(w, NULL);
    uint64_t seen = 0;
    sim_proc_spawn(w, node, "busy", busy_until_main, &seen);
    sim_run(w, 10000000);
    cr_assert(seen >= 2000000 && seen < 2000000 + 2 * SIM_SLICE_NS);
    struct sim_stats st;
    sim_get_stats(w, &st);
    cr_assert(st.preemptions >= 2000000 / SIM_SLICE_NS);
    sim_world_destroy(w);
}

static int term_waiter_main(struct io *io, void *arg) {
    uint64_t *stopped_at = arg;
    io_signal_catch(io, IO_SIGNAL_TERM);
    while (!io_signal_take(io, IO_SIGNAL_TERM)) {
        io_sleep_ns(io, 1000000000);
    }
    *stopped_at = io_clock_monotonic_ns(io);
    return 0;
}

Test(sim_core, caught_signal_ends_a_sleep_and_node_crash_kills) {
    struct exits e;
    uint32_t node = 0;
    struct sim_world *w = world_counting_exits(6, &e, &node);
    uint64_t stopped_at = 0, woke_at = 0;
    struct sim_proc *p = sim_proc_spawn(w, node, "term", term_waiter_main, &stopped_at);
    sim_run(w, 3000);
    sim_proc_signal(w, p, IO_SIGNAL_TERM);
    sim_run(w, 5000);
    cr_assert_eq(stopped_at, 3000);
    cr_assert_eq(e.count, 1);
    cr_assert_eq(e.crashed, 0);
    struct echo ec = {.port = 7000};
    cr_assert_eq(io_event_create(sim_node_io(w, node), &ec.stop_event), STROM_OK);
    sim_proc_spawn(w, node, "echo", echo_main, &ec);
    sim_proc_spawn(w, node, "sleeper", sleeper_main, &woke_at);
    sim_run(w, 10000);
    struct client_state cs = {0};
    int fd;
    cr_assert_eq(sim_client_connect(w, node, 7000, client_notify, &cs, &fd), STROM_OK);
    sim_run(w, 1000000);
    sim_node_crash(w, node);
    sim_run(w, 2000000);
    cr_assert_eq(e.count, 3);
    cr_assert_eq(e.crashed, 2);
    cr_assert_eq(woke_at, 0, "the sleeper died before it woke");
    char buf[4];
    size_t got;
    cr_assert_eq(sim_client_recv(w, fd, buf, sizeof buf, &got), STROM_ERR_CLOSED);
    sim_client_close(w, fd);
    cr_assert_eq(sim_conn_count(w), 0);
    cr_assert_eq(sim_client_connect(w, node, 7000, client_notify, &cs, &fd),
                 STROM_ERR_NOT_CONNECTED);
    sim_world_destroy(w);
}

Test(sim_core, every_io_member_is_filled) {
    struct sim_world *w;
    cr_assert_eq(sim_world_create(7, &w), STROM_OK);
    uint32_t node = sim_node_add(w, NULL);
    const struct io_vtable *vt = sim_node_io(w, node)->vt;
    void (*const *fns)(void) = (void (*const *)(void))(const void *)vt;
    _Static_assert(sizeof(struct io_vtable) % sizeof(void (*)(void)) == 0, "only pointers");
    for (size_t i = 0; i < sizeof *vt / sizeof fns[0]; i++) {
        cr_assert_not_null(fns[i], "member %zu of struct io_vtable is not simulated", i);
    }
    sim_world_destroy(w);
}

struct disk_case {
    strom_err sync_err;
    uint64_t synced_at_ns;
    bool second_written;
};

static int disk_writer_main(struct io *io, void *arg) {
    struct disk_case *d = arg;
    int fd;
    cr_assert_eq(io_dir_create(io, "data"), STROM_OK);
    cr_assert_eq(io_file_open(io, "data/f", IO_OPEN_WRITE | IO_OPEN_CREATE, &fd), STROM_OK);
    cr_assert_eq(io_file_pwrite(io, fd, "synced.", 7, 0), STROM_OK);
    d->sync_err = io_file_datasync(io, fd);
    d->synced_at_ns = io_clock_monotonic_ns(io);
    cr_assert_eq(io_file_pwrite(io, fd, "lost", 4, 7), STROM_OK);
    d->second_written = true;
    io_sleep_ns(io, 1000000000);
    return 0;
}

Test(sim_core, disk_latency_and_lost_unsynced_writes_at_a_node_crash) {
    struct sim_world *w;
    cr_assert_eq(sim_world_create(8, &w), STROM_OK);
    struct sim_latency lat = {.net_delay_min_ns = 1000,
                              .net_delay_max_ns = 1000,
                              .disk_write_ns_max = 0,
                              .disk_sync_ns_min = 200000,
                              .disk_sync_ns_max = 200000};
    sim_set_latency(w, &lat);
    struct io_memfs *fs;
    cr_assert_eq(io_memfs_create(8, &fs), STROM_OK);
    struct io disk;
    io_memfs_io(fs, &disk);
    uint32_t node = sim_node_add(w, &disk);
    struct disk_case d = {.sync_err = STROM_ERR_COUNT_};
    sim_proc_spawn(w, node, "writer", disk_writer_main, &d);
    sim_run(w, 100000);
    cr_assert_eq(d.synced_at_ns, 0, "fdatasync still under way");
    sim_run(w, 300000);
    cr_assert_eq(d.sync_err, STROM_OK);
    cr_assert_eq(d.synced_at_ns, 200000);
    cr_assert(d.second_written);
    uint64_t size = 0;
    cr_assert_eq(io_memfs_file_size(fs, "data/f", &size), STROM_OK);
    cr_assert_eq(size, 11);
    sim_node_crash(w, node);
    io_memfs_crash(fs, IO_MEMFS_CRASH_DROP);
    cr_assert_eq(io_memfs_file_size(fs, "data/f", &size), STROM_OK);
    cr_assert_eq(size, 7, "the unsynced write is gone");
    char buf[8];
    size_t got = 0;
    cr_assert_eq(io_memfs_file_read(fs, "data/f", 0, buf, sizeof buf, &got), STROM_OK);
    cr_assert_eq(got, 7);
    cr_assert_eq(memcmp(buf, "synced.", 7), 0);
    sim_world_destroy(w);
    io_memfs_destroy(fs);
}

static int shm_user_main(struct io *io, void *arg) {
    uint64_t **region = arg;
    void *addr = NULL;
    cr_assert_eq(io_shm_create(io, "test", 10000, &addr), STROM_OK);
    *region = addr;
    (*region)[0] = 42;
    return 0;
}

Test(sim_core, shared_memory_survives_its_process_until_the_node_crashes) {
    struct sim_world *w;
    cr_assert_eq(sim_world_create(9, &w), STROM_OK);
    uint32_t node = sim_node_add(w, NULL);
    uint64_t *region = NULL;
    sim_proc_spawn(w, node, "shm", shm_user_main, &region);
    sim_run(w, 1000);
    cr_assert_not_null(region);
    cr_assert_eq(region[0], 42, "the process ended; the memory is the node's");
    cr_assert_eq(region[1250 - 1], 0, "zero-filled");
    sim_node_crash(w, node);
    sim_world_destroy(w);
}
