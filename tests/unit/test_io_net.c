/* test_io_net.c: the Linux io's network, poller, event, process and signal members, on loopback,
 * and the event of its asynchronous syncs. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io/io.h"

static struct io io;

static void setup(void) {
    io_linux_init(&io);
}

TestSuite(io_net, .init = setup);

/* Connects a client to a fresh listener and accepts it; all three descriptors out. */
static void connected_pair(int *listen_fd, int *client_fd, int *server_fd) {
    uint16_t port = 0;
    cr_assert_eq(io_tcp_listen(&io, "127.0.0.1", 0, 16, listen_fd, &port), STROM_OK);
    cr_assert_neq(port, 0);
    cr_assert_eq(io_tcp_connect(&io, "127.0.0.1", port, 1000000000u, client_fd), STROM_OK);
    uint32_t ready = 0;
    cr_assert_eq(io_fd_wait(&io, *listen_fd, IO_POLL_IN, 1000000000u, &ready), STROM_OK);
    cr_assert(ready & IO_POLL_IN);
    cr_assert_eq(io_tcp_accept(&io, *listen_fd, server_fd), STROM_OK);
}

Test(io_net, send_and_receive_through_a_poller) {
    int lfd, cfd, sfd, poller;
    connected_pair(&lfd, &cfd, &sfd);
    cr_assert_eq(io_poller_create(&io, &poller), STROM_OK);
    cr_assert_eq(io_poller_control(&io, poller, IO_POLL_ADD, sfd, IO_POLL_IN, 42), STROM_OK);

    struct io_poll_event evs[4];
    uint32_t count = 9;
    cr_assert_eq(io_poller_wait(&io, poller, evs, 4, 0, &count), STROM_OK);
    cr_assert_eq(count, 0, "nothing sent yet");

    struct io_iov iov[2] = {{"hello ", 6}, {"world", 5}};
    size_t sent = 0;
    cr_assert_eq(io_sock_send(&io, cfd, iov, 2, &sent), STROM_OK);
    cr_assert_eq(sent, 11);
    cr_assert_eq(io_poller_wait(&io, poller, evs, 4, 1000000000u, &count), STROM_OK);
    cr_assert_eq(count, 1);
    cr_assert_eq(evs[0].token, 42);
    cr_assert(evs[0].events & IO_POLL_IN);

    char buf[64];
    size_t got = 0;
    cr_assert_eq(io_sock_recv(&io, sfd, buf, sizeof buf, &got), STROM_OK);
    cr_assert_eq(got, 11);
    cr_assert(memcmp(buf, "hello world", 11) == 0);
    cr_assert_eq(io_sock_recv(&io, sfd, buf, sizeof buf, &got), STROM_ERR_AGAIN);

    cr_assert_eq(io_poller_control(&io, poller, IO_POLL_MODIFY, sfd, IO_POLL_OUT, 43), STROM_OK);
    cr_assert_eq(io_poller_wait(&io, poller, evs, 4, 1000000000u, &count), STROM_OK);
    cr_assert_eq(count, 1);
    cr_assert_eq(evs[0].token, 43);
    cr_assert(evs[0].events & IO_POLL_OUT);
    cr_assert_eq(io_poller_control(&io, poller, IO_POLL_REMOVE, sfd, 0, 0), STROM_OK);

    cr_assert_eq(io_sock_close(&io, cfd), STROM_OK);
    cr_assert_eq(io_sock_recv(&io, sfd, buf, sizeof buf, &got), STROM_ERR_CLOSED);
    cr_assert_eq(got, 0);
    io_sock_close(&io, sfd);
    io_sock_close(&io, lfd);
    io_poller_close(&io, poller);
}

Test(io_net, send_to_a_peer_that_does_not_read_stops_with_again) {
    int lfd, cfd, sfd;
    connected_pair(&lfd, &cfd, &sfd);
    static char chunk[1 << 16];
    struct io_iov iov = {chunk, sizeof chunk};
    strom_err err = STROM_OK;
    size_t total = 0;
    /* Socket buffers hold a few MiB at most; 4096 chunks is 256 MiB, far beyond them. */
    for (int i = 0; i < 4096 && err == STROM_OK; i++) {
        size_t sent = 0;
        err = io_sock_send(&io, cfd, &iov, 1, &sent);
        total += sent;
    }
    cr_assert_eq(err, STROM_ERR_AGAIN);
    cr_assert_gt(total, 0);
    io_sock_close(&io, sfd);
    /* The peer is gone: sending fails with CLOSED (or still AGAIN until the RST arrives), and
     * never raises SIGPIPE, which would end this test process. */
    for (int i = 0; i < 100 && err != STROM_ERR_CLOSED; i++) {
        size_t sent;
        err = io_sock_send(&io, cfd, &iov, 1, &sent);
        io_sleep_ns(&io, 1000000);
    }
    cr_assert_eq(err, STROM_ERR_CLOSED);
    io_sock_close(&io, cfd);
    io_sock_close(&io, lfd);
}

Test(io_net, two_listeners_share_a_port) {
    int a, b;
    uint16_t port = 0, port_b = 0;
    cr_assert_eq(io_tcp_listen(&io, "127.0.0.1", 0, 16, &a, &port), STROM_OK);
    cr_assert_eq(io_tcp_listen(&io, "127.0.0.1", port, 16, &b, &port_b), STROM_OK);
    cr_assert_eq(port, port_b);
    io_sock_close(&io, a);
    io_sock_close(&io, b);
}

Test(io_net, bad_hosts_and_refused_connections) {
    int fd;
    uint16_t port;
    cr_assert_eq(io_tcp_listen(&io, "not-an-address", 0, 16, &fd, &port),
                 STROM_ERR_INVALID_ARGUMENT);
    cr_assert_eq(io_tcp_connect(&io, "300.1.1.1", 7, 1000000, &fd), STROM_ERR_INVALID_ARGUMENT);
    /* A port that was just free: bind one, remember it, close it, connect to it. */
    int lfd;
    cr_assert_eq(io_tcp_listen(&io, "localhost", 0, 1, &lfd, &port), STROM_OK);
    io_sock_close(&io, lfd);
    cr_assert_eq(io_tcp_connect(&io, "127.0.0.1", port, 1000000000u, &fd), STROM_ERR_NOT_CONNECTED);
}

Test(io_net, accept_without_a_pending_connection_is_again) {
    int lfd, fd;
    uint16_t port;
    cr_assert_eq(io_tcp_listen(&io, "::1", 0, 4, &lfd, &port), STROM_OK);
    cr_assert_eq(io_tcp_accept(&io, lfd, &fd), STROM_ERR_AGAIN);
    io_sock_close(&io, lfd);
}

Test(io_net, an_event_signalled_by_a_child_wakes_the_parents_poller) {
    int ev, poller;
    cr_assert_eq(io_event_create(&io, &ev), STROM_OK);
    cr_assert_eq(io_poller_create(&io, &poller), STROM_OK);
    cr_assert_eq(io_poller_control(&io, poller, IO_POLL_ADD, ev, IO_POLL_IN, 7), STROM_OK);
    int32_t pid = -1;
    cr_assert_eq(io_proc_fork(&io, &pid), STROM_OK);
    if (pid == 0) {
        io_sleep_ns(&io, 10000000);
        io_event_signal(&io, ev);
        io_event_signal(&io, ev);
        io_proc_exit(&io, 0);
    }
    struct io_poll_event evs[2];
    uint32_t count = 0;
    cr_assert_eq(io_poller_wait(&io, poller, evs, 2, 5000000000u, &count), STROM_OK);
    cr_assert_eq(count, 1);
    cr_assert_eq(evs[0].token, 7);
    cr_assert_eq(io_event_drain(&io, ev), STROM_OK);
    cr_assert_eq(io_poller_wait(&io, poller, evs, 2, 0, &count), STROM_OK);
    cr_assert_eq(count, 0, "two signals are drained by one drain");
    cr_assert_eq(io_event_drain(&io, ev), STROM_OK, "draining a quiet event is fine");
    io_event_close(&io, ev);
    io_poller_close(&io, poller);
}

/* A finished asynchronous sync signals the event given to io_file_datasync_notify, so that one
 * wait on the event covers the sync (the commit waits so for its syncs and its node log). */
Test(io_net, a_finished_sync_signals_the_notify_event) {
    char path[] = "/tmp/strom-notify-XXXXXX";
    int tmp = mkstemp(path);
    cr_assert_geq(tmp, 0);
    close(tmp);
    int fd = -1, ev = -1;
    cr_assert_eq(io_file_open(&io, path, IO_OPEN_WRITE, &fd), STROM_OK);
    cr_assert_eq(io_event_create(&io, &ev), STROM_OK);
    cr_assert_eq(io_file_datasync_notify(&io, ev), STROM_OK);
    uint32_t ready = 0;
    cr_assert_eq(io_fd_wait(&io, ev, IO_POLL_IN, 0, &ready), STROM_OK);
    cr_assert_eq(ready & IO_POLL_IN, 0, "no sync yet");
    for (int i = 0; i < 3; i++) {
        cr_assert_eq(io_file_pwrite(&io, fd, "abc", 3, (uint64_t)i * 3), STROM_OK);
        struct io_sync s;
        cr_assert_eq(io_file_datasync_start(&io, fd, &s), STROM_OK);
        cr_assert_eq(io_fd_wait(&io, ev, IO_POLL_IN, 5000000000u, &ready), STROM_OK);
        cr_assert(ready & IO_POLL_IN, "the event says the sync finished");
        cr_assert_eq(io_file_datasync_wait(&io, &s, 0), STROM_OK);
        cr_assert(s.done, "done without waiting once the event was signalled");
        cr_assert_eq(s.result, STROM_OK);
        cr_assert_eq(io_event_drain(&io, ev), STROM_OK);
    }
    cr_assert_eq(io_file_close(&io, fd), STROM_OK);
    io_event_close(&io, ev);
    unlink(path);
}

/* Reaps one child, waiting up to about 5 s for it. */
static strom_err reap(struct io_exit *ex) {
    strom_err err = STROM_ERR_AGAIN;
    for (int i = 0; i < 5000 && err == STROM_ERR_AGAIN; i++) {
        err = io_proc_reap(&io, ex);
        if (err == STROM_ERR_AGAIN) {
            io_sleep_ns(&io, 1000000);
        }
    }
    return err;
}

Test(io_net, fork_reap_kill) {
    struct io_exit ex;
    cr_assert_eq(io_proc_reap(&io, &ex), STROM_ERR_NOT_FOUND);
    int32_t pid = -1;
    cr_assert_eq(io_proc_fork(&io, &pid), STROM_OK);
    if (pid == 0) {
        io_proc_exit(&io, 7);
    }
    cr_assert_eq(reap(&ex), STROM_OK);
    cr_assert_eq(ex.pid, pid);
    cr_assert(!ex.signalled);
    cr_assert_eq(ex.code, 7);

    cr_assert_eq(io_proc_fork(&io, &pid), STROM_OK);
    if (pid == 0) {
        for (;;) {
            io_sleep_ns(&io, 1000000000u);
        }
    }
    cr_assert_eq(io_proc_reap(&io, &ex), STROM_ERR_AGAIN);
    cr_assert_eq(io_proc_kill(&io, pid, IO_SIGNAL_KILL), STROM_OK);
    cr_assert_eq(reap(&ex), STROM_OK);
    cr_assert_eq(ex.pid, pid);
    cr_assert(ex.signalled);
    cr_assert_eq(ex.signal_number, 9);
}

Test(io_net, a_caught_signal_sets_a_flag_once) {
    cr_assert_eq(io_signal_catch(&io, IO_SIGNAL_TERM), STROM_OK);
    cr_assert(!io_signal_take(&io, IO_SIGNAL_TERM));
    cr_assert_eq(io_proc_kill(&io, io_proc_id(&io), IO_SIGNAL_TERM), STROM_OK);
    cr_assert(io_signal_take(&io, IO_SIGNAL_TERM));
    cr_assert(!io_signal_take(&io, IO_SIGNAL_TERM));
    cr_assert_eq(io_signal_default(&io, IO_SIGNAL_TERM), STROM_OK);
}

/* A forked child starts with clear flags: a signal its parent caught and has not taken yet is the
 * parent's (a supervisor's SIGTERM that came while it forked a child made that child stop, and the
 * supervisor's child setup cleared the flags, losing its own SIGTERM sent right after). */
Test(io_net, a_child_starts_with_clear_signal_flags) {
    cr_assert_eq(io_signal_catch(&io, IO_SIGNAL_TERM), STROM_OK);
    cr_assert_eq(io_proc_kill(&io, io_proc_id(&io), IO_SIGNAL_TERM), STROM_OK);
    int32_t pid = -1;
    cr_assert_eq(io_proc_fork(&io, &pid), STROM_OK);
    if (pid == 0) {
        io_proc_exit(&io, io_signal_take(&io, IO_SIGNAL_TERM) ? 1 : 0);
    }
    struct io_exit ex;
    cr_assert_eq(reap(&ex), STROM_OK);
    cr_assert(!ex.signalled);
    cr_assert_eq(ex.code, 0, "the child saw its parent's SIGTERM as its own");
    cr_assert(io_signal_take(&io, IO_SIGNAL_TERM)); /* the parent's is still there */

    /* A SIGTERM sent at once after the fork reaches the child's flag through the inherited
     * handler, whenever the child looks. */
    cr_assert_eq(io_proc_fork(&io, &pid), STROM_OK);
    if (pid == 0) {
        bool seen = false;
        for (int i = 0; i < 100 && !seen; i++) {
            seen = io_signal_take(&io, IO_SIGNAL_TERM);
            io_sleep_ns(&io, seen ? 0 : 100000000u);
        }
        io_proc_exit(&io, seen ? 0 : 1);
    }
    cr_assert_eq(io_proc_kill(&io, pid, IO_SIGNAL_TERM), STROM_OK);
    cr_assert_eq(reap(&ex), STROM_OK);
    cr_assert(!ex.signalled);
    cr_assert_eq(ex.code, 0);
    cr_assert_eq(io_signal_default(&io, IO_SIGNAL_TERM), STROM_OK);
}

Test(io_net, a_child_dies_with_its_parent) {
    /* Three generations: this test forks a middle process, which forks a leaf that asks to die
     * with its parent and then reports through an event; the middle exits, the leaf must go. */
    int ready_ev;
    cr_assert_eq(io_event_create(&io, &ready_ev), STROM_OK);
    int listen_fd;
    uint16_t port;
    cr_assert_eq(io_tcp_listen(&io, "127.0.0.1", 0, 4, &listen_fd, &port), STROM_OK);
    int32_t middle = -1;
    cr_assert_eq(io_proc_fork(&io, &middle), STROM_OK);
    if (middle == 0) {
        int32_t leaf = -1;
        io_proc_fork(&io, &leaf);
        if (leaf == 0) {
            /* The leaf holds the listener open; when it dies the port closes for good. */
            io_proc_die_with_parent(&io, IO_SIGNAL_KILL);
            io_event_signal(&io, ready_ev);
            for (;;) {
                io_sleep_ns(&io, 1000000000u);
            }
        }
        uint32_t ready = 0;
        /* Generous: on a loaded two-core machine the leaf may be scheduled late, and leaving before
         * it asked to die with its parent would orphan it. */
        io_fd_wait(&io, ready_ev, IO_POLL_IN, 60000000000u, &ready);
        io_proc_exit(&io, 0);
    }
    struct io_exit ex;
    cr_assert_eq(reap(&ex), STROM_OK);
    io_sock_close(&io, listen_fd);
    /* Once the leaf is gone nobody holds the listener: connecting is refused. A dying leaf still
     * listens until its descriptors close (after its memory is torn down: long under ASan on a
     * loaded machine), and the connections made meanwhile fill the backlog of 4 that nobody
     * accepts, so a connect that times out (its SYN dropped) is a listener still there too.
     * Bounded: at most 60 s of tries. */
    strom_err err = STROM_OK;
    uint64_t deadline = io_clock_monotonic_ns(&io) + 60000000000u;
    while ((err == STROM_OK || err == STROM_ERR_TIMEOUT) && io_clock_monotonic_ns(&io) < deadline) {
        int fd;
        err = io_tcp_connect(&io, "127.0.0.1", port, 100000000u, &fd);
        if (err == STROM_OK) {
            io_sock_close(&io, fd);
        }
        if (err != STROM_ERR_NOT_CONNECTED) {
            io_sleep_ns(&io, 10000000);
        }
    }
    cr_assert_eq(err, STROM_ERR_NOT_CONNECTED, "err %d", (int)err);
}

Test(io_net, a_probe_finds_a_port_held_by_any_listener) {
    uint16_t port = 0;
    cr_assert_eq(io_tcp_probe(&io, "127.0.0.1", 0, &port), STROM_OK);
    cr_assert_neq(port, 0);
    uint16_t again = 0;
    cr_assert_eq(io_tcp_probe(&io, "127.0.0.1", port, &again), STROM_OK, "the probe freed it");
    cr_assert_eq(again, port);
    int fd;
    uint16_t bound;
    cr_assert_eq(io_tcp_listen(&io, "127.0.0.1", port, 4, &fd, &bound), STROM_OK);
    cr_assert_eq(io_tcp_probe(&io, "127.0.0.1", port, &again), STROM_ERR_EXISTS,
                 "a listener with SO_REUSEPORT holds it against a probe");
    io_sock_close(&io, fd);
    cr_assert_eq(io_tcp_probe(&io, "no-host", 1, &again), STROM_ERR_INVALID_ARGUMENT);
}
