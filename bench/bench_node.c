/*
 * bench_node.c: `make bench-node`, the node's figures beside the machine's floors, in one run.
 *
 * Baselines, measured first in the same run:
 *   tcp.rtt         loopback TCP ping-pong of 100 B, one connection (a forked echo process)
 *   tcp.relay       100 B at 10,000/s through a forked relay process (two loopback TCP hops),
 *                   send-to-receive: the smallest broker path at the latency workloads' rate (a
 *                   reference printed beside lat.ack1, not a target's baseline)
 *   tcp.throughput  loopback TCP, one connection, 1 MiB writes for 2 s
 *   disk.write      256 MiB of 1 MiB writes then one fdatasync, in the node's data folder
 *   disk.fdatasync  4 KiB write + fdatasync, 500 times
 * Then a node (`build/strom node`, forked, a fresh data directory, a free port) and libstrom:
 *   lat.ack1     1 producer -> 1 subscriber, 100 B at 10,000 msg/s for 10 s (after 1 s of
 *                warm-up), ack 1 without sync; send-to-deliver on CLOCK_MONOTONIC, from the time
 *                each message was scheduled to be sent (no coordinated omission: a stalled sender
 *                does not hide the stall); also pub.* send-to-ack, and lat.*.send_late: how
 *                late this program itself queued each append (its share of every figure),
 *                lat.*.node_cpu and node_switches: the node's processes' CPU time and context
 *                switches per message (from /proc), whole run including the warm-up, and
 *                lat.*.bench_cpu: this program's own CPU time per message (its clients);
 *                lat.*.spins, spin_hits (per message) and spin_hit_time (us, mean): the
 *                gateways' polls for ack-1 answers (strom stat), when the node counts them
 *   lat.sync     the same with sync appends and a sync reader
 *   tput.ack1.fsync_never   4 producers, 1 KiB messages in batches of 64, max rate for 5 s, ack 1,
 *                on a node of its own started with `--fsync never`: ack 1 is "published, in
 *                memory", and this is the node a Kafka user with acks=1 runs (no fdatasync per
 *                write). The figure the target is about.
 *   tput.ack1.fsync_always  the same on the node of the other workloads (default `--fsync
 *                always`), where the node log is given back only as syncs cover it: over 5 s the
 *                disk's sync rate bounds it too. Printed so that nothing is hidden.
 *   tput.sync    the tput workload with sync (on the default node), in batches of 256 (256 KiB
 *                per append): a sync append waits for an fdatasync (milliseconds), so a producer
 *                at max rate keeps what the disk needs per sync in flight: 4 producers x W = 5
 *                appends x 256 KiB = 5.2 MB (64 KiB appends: 1.3 MB, and this disk gives 120-400
 *                MB/s at about 1 MB per fdatasync), as a Kafka producer set up for acks=all
 *                throughput raises batch.size; tput.sync.batch prints the messages per append
 *   lat.100k     the lat.ack1 workload spread round-robin over 100,000 streams (one subscription
 *                each, 1,024 per subscriber connection)
 * Output: bench.h's convention (ssim lines, then a table). Targets (docs/protocol.md, the node
 * issue): lat.ack1 p50/p99 <= 2x tcp.rtt; lat.sync p50 <= 1.5x (disk.fdatasync p50 + tcp.rtt
 * p50); tput.ack1.fsync_never >= 0.4x tcp.throughput; tput.sync >= 0.7x disk.write; lat.100k p99
 * <= 1.5x lat.ack1 p99. The ratios are printed; the program fails only when a run cannot be done.
 *
 * Flags: --quick (1 s runs, 10,000 streams), --only PART (lat.ack1, lat.sync, tput or
 * lat.many, with only the baselines it needs; lat.many runs lat.ack1 too, its baseline),
 * --streams N (for lat.many), --strom PATH (default build/strom). The node runs with Kafka off
 * (its port may be taken on a shared machine).
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/bench.h"
#include "base/hist.h"
#include "strom.h"

enum {
    RTT_WARMUP = 2000,
    RTT_ROUNDS = 50000,
    RTT_BYTES = 100,
    RELAY_WARMUP = 2000,  /* 0.2 s at 10,000/s */
    RELAY_ROUNDS = 20000, /* 2 s */
    RELAY_BUF_BYTES = 1 << 16,
    MSG_BYTES = 100,
    TPUT_MSG_BYTES = 1024,
    TPUT_BATCH = 64,       /* tput.ack1: messages per append */
    TPUT_SYNC_BATCH = 256, /* tput.sync: messages per append (see the top of the file) */
    TPUT_PRODUCERS = 4,
    SUBS_PER_CLIENT = 1024,
    FSYNC_ROUNDS = 500,
    DUE_MAX = 256, /* messages one producer turn may send */
};

#define NS_PER_S UINT64_C(1000000000)

/* The run's settings. */
struct run {
    const char *strom;
    char dir[256];
    char server[64];
    pid_t node;
    uint64_t lat_secs;
    uint64_t tput_secs;
    uint32_t many_streams;
    const char *only; /* NULL: every part; else "lat.ack1", "lat.sync", "tput" or "lat.many" */
    struct bench b;
};

static uint64_t now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * NS_PER_S + (uint64_t)t.tv_nsec;
}

static void die(const char *what) {
    fprintf(stderr, "bench_node: %s\n", what);
    exit(1);
}

static void add(struct run *r, const char *name, double v, const char *unit, const char *base) {
    if (bench_add(&r->b, name, v, unit, base) != STROM_OK) {
        die("cannot add a figure");
    }
}

/* --- baselines ------------------------------------------------------------------------------ */

static int listen_loopback(uint16_t *port) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(fd, 8) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &len) != 0) {
        die("cannot listen on 127.0.0.1");
    }
    *port = ntohs(a.sin_port);
    return fd;
}

static int connect_loopback(uint16_t port) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {
        .sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int one = 1;
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) != 0 ||
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) != 0) {
        die("cannot connect on 127.0.0.1");
    }
    return fd;
}

static bool read_full(int fd, void *buf, size_t len) {
    for (size_t got = 0; got < len;) {
        ssize_t n = read(fd, (char *)buf + got, len - got);
        if (n <= 0) {
            return false;
        }
        got += (size_t)n;
    }
    return true;
}

static bool write_full(int fd, const void *buf, size_t len) {
    for (size_t put = 0; put < len;) {
        ssize_t n = write(fd, (const char *)buf + put, len - put);
        if (n <= 0) {
            return false;
        }
        put += (size_t)n;
    }
    return true;
}

/* A child that serves one connection: echo (true) or sink, answering the byte count at EOF. */
static pid_t peer_start(int lfd, bool echo) {
    pid_t pid = fork();
    if (pid != 0) {
        close(lfd);
        return pid;
    }
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    int fd = accept(lfd, NULL, NULL);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    static char buf[1 << 20];
    uint64_t total = 0;
    for (;;) {
        ssize_t n =
            echo ? (read_full(fd, buf, RTT_BYTES) ? RTT_BYTES : 0) : read(fd, buf, sizeof buf);
        if (n <= 0) {
            break;
        }
        total += (uint64_t)n;
        if (echo && !write_full(fd, buf, (size_t)n)) {
            break;
        }
    }
    if (!echo) {
        write_full(fd, &total, sizeof total);
    }
    _exit(0);
}

static void baseline_rtt(struct run *r) {
    uint16_t port;
    int lfd = listen_loopback(&port);
    pid_t pid = peer_start(lfd, true);
    int fd = connect_loopback(port);
    static struct hist h;
    hist_reset(&h);
    char buf[RTT_BYTES] = {0};
    for (int i = 0; i < RTT_WARMUP + RTT_ROUNDS; i++) {
        uint64_t t0 = now_ns();
        if (!write_full(fd, buf, sizeof buf) || !read_full(fd, buf, sizeof buf)) {
            die("the echo peer went away");
        }
        if (i >= RTT_WARMUP) {
            hist_record(&h, now_ns() - t0);
        }
    }
    close(fd);
    waitpid(pid, NULL, 0);
    if (bench_add_hist(&r->b, "tcp.rtt", &h, "us", 1000, NULL) != STROM_OK) {
        die("cannot add tcp.rtt");
    }
}

/* A child that accepts two connections, in then out, and copies every byte from in to out. */
static pid_t relay_start(int lfd) {
    pid_t pid = fork();
    if (pid != 0) {
        close(lfd);
        return pid;
    }
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    int in = accept(lfd, NULL, NULL);
    int out = accept(lfd, NULL, NULL);
    int one = 1;
    setsockopt(out, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    static char buf[1 << 16];
    for (;;) {
        ssize_t n = read(in, buf, sizeof buf);
        if (n <= 0 || !write_full(out, buf, (size_t)n)) {
            break;
        }
    }
    _exit(0);
}

/* Takes the whole 100 B records out of the relay's output: each starts with its scheduled send
 * time; records now minus that. *have carries a partial record's bytes to the next call. */
static uint64_t relay_take(int fd, char *buf, size_t *have, struct hist *h, bool record) {
    ssize_t n = read(fd, buf + *have, RELAY_BUF_BYTES - *have);
    if (n <= 0) {
        die("the relay went away");
    }
    size_t len = *have + (size_t)n;
    uint64_t now = now_ns(), got = 0;
    size_t at = 0;
    for (; len - at >= RTT_BYTES; at += RTT_BYTES, got++) {
        uint64_t due;
        memcpy(&due, buf + at, sizeof due);
        if (record) {
            hist_record(h, now - due);
        }
    }
    memmove(buf, buf + at, len - at);
    *have = len - at;
    return got;
}

/* tcp.relay: the smallest broker path, as a reference for lat.ack1 (not a target's baseline):
 * this program sends 100 B at 10,000/s for 2 s over loopback TCP to a forked relay process,
 * which copies them to a second connection that this program reads; each message is timed from
 * its scheduled send time, the sender asleep in epoll_pwait2 until then as lat_run's is. Two TCP
 * hops and the wake-ups of three processes at that rate, as producer -> node -> subscriber has,
 * without anything a node does between them. (A paced ping-pong cannot serve: a round trip here
 * is longer than the 100 us between messages.) */
static void baseline_relay(struct run *r) {
    uint16_t port;
    int lfd = listen_loopback(&port);
    pid_t pid = relay_start(lfd);
    int in = connect_loopback(port);
    int out = connect_loopback(port);
    int one = 1;
    setsockopt(in, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    int epfd = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event ev = {.events = EPOLLIN};
    if (epfd < 0 || epoll_ctl(epfd, EPOLL_CTL_ADD, out, &ev) != 0) {
        die("cannot set up the relay's epoll");
    }
    static struct hist h;
    hist_reset(&h);
    static char rbuf[RELAY_BUF_BYTES];
    size_t have = 0;
    char msg[RTT_BYTES] = {0};
    const uint64_t total = RELAY_WARMUP + RELAY_ROUNDS, period_ns = NS_PER_S / 10000;
    const uint64_t t0 = now_ns() + 10 * 1000 * 1000, give_up = t0 + total * period_ns + NS_PER_S;
    uint64_t sent = 0, received = 0;
    for (uint64_t now = now_ns(); received < total && now < give_up; now = now_ns()) {
        uint64_t due = t0 + sent * period_ns;
        if (sent < total && due <= now) {
            memcpy(msg, &due, sizeof due);
            if (!write_full(in, msg, sizeof msg)) {
                die("the relay went away");
            }
            sent++;
            continue;
        }
        uint64_t wait = sent < total ? due - now : give_up - now;
        struct timespec ts = {(time_t)(wait / NS_PER_S), (long)(wait % NS_PER_S)};
        if (epoll_pwait2(epfd, &ev, 1, &ts, NULL) == 1) {
            received += relay_take(out, rbuf, &have, &h, received >= RELAY_WARMUP);
        }
    }
    close(epfd);
    close(in);
    close(out);
    waitpid(pid, NULL, 0);
    if (received < total) {
        die("the relay lost messages");
    }
    if (bench_add_hist(&r->b, "tcp.relay", &h, "us", 1000, NULL) != STROM_OK) {
        die("cannot add tcp.relay");
    }
}

static void baseline_throughput(struct run *r) {
    uint16_t port;
    int lfd = listen_loopback(&port);
    pid_t pid = peer_start(lfd, false);
    int fd = connect_loopback(port);
    static char buf[1 << 20];
    memset(buf, 'x', sizeof buf);
    uint64_t t0 = now_ns();
    uint64_t sent = 0;
    while (now_ns() - t0 < 2 * NS_PER_S) {
        if (!write_full(fd, buf, sizeof buf)) {
            die("the sink peer went away");
        }
        sent += sizeof buf;
    }
    shutdown(fd, SHUT_WR);
    uint64_t got = 0;
    if (!read_full(fd, &got, sizeof got) || got != sent) {
        die("the sink peer did not get every byte");
    }
    double secs = (double)(now_ns() - t0) / 1e9;
    close(fd);
    waitpid(pid, NULL, 0);
    add(r, "tcp.throughput", (double)got / secs / 1e6, "MB/s", NULL);
}

static void baseline_disk(struct run *r) {
    char path[300];
    snprintf(path, sizeof path, "%s/bench-disk", r->dir);
    int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0644);
    static char buf[1 << 20];
    memset(buf, 'd', sizeof buf);
    uint64_t t0 = now_ns();
    for (int i = 0; i < 256; i++) {
        if (fd < 0 || !write_full(fd, buf, sizeof buf)) {
            die("cannot write the disk baseline file");
        }
    }
    fdatasync(fd);
    double secs = (double)(now_ns() - t0) / 1e9;
    add(r, "disk.write", 256.0 * (1 << 20) / secs / 1e6, "MB/s", NULL);
    static struct hist h;
    hist_reset(&h);
    for (int i = 0; i < FSYNC_ROUNDS; i++) {
        uint64_t t = now_ns();
        if (!write_full(fd, buf, 4096) || fdatasync(fd) != 0) {
            die("cannot write and fdatasync the disk baseline file");
        }
        hist_record(&h, now_ns() - t);
    }
    close(fd);
    unlink(path);
    if (bench_add_hist(&r->b, "disk.fdatasync", &h, "us", 1000, NULL) != STROM_OK) {
        die("cannot add disk.fdatasync");
    }
}

/* --- the node -------------------------------------------------------------------------------- */

static uint16_t free_port(void) {
    uint16_t port;
    close(listen_loopback(&port));
    return port;
}

static strom_client *open_client(struct run *r, const char *name) {
    struct strom_options o;
    strom_options_init(&o);
    o.server = r->server;
    o.client_name = name;
    o.connect_timeout_ns = NS_PER_S;
    strom_client *c = NULL;
    strom_err err = strom_open(&o, &c);
    if (err) {
        fprintf(stderr, "bench_node: cannot connect to the node at %s: %s (its log: in %s)\n",
                r->server, strom_strerror(err), r->dir);
        exit(1);
    }
    return c;
}

/* Starts `strom node --fsync fsync` on a fresh folder (name under the run's folder) and waits
 * until it answers (at most 20 s). */
static void node_start(struct run *r, const char *name, const char *fsync) {
    uint16_t port = free_port();
    snprintf(r->server, sizeof r->server, "127.0.0.1:%u", port);
    char data[300], log[300];
    snprintf(data, sizeof data, "%s/%s", r->dir, name);
    snprintf(log, sizeof log, "%s/%s.log", r->dir, name);
    r->node = fork();
    if (r->node == 0) {
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        int fd = open(log, O_CREAT | O_WRONLY | O_TRUNC, 0644);
        dup2(fd, 2);
        /* reads-max: the 100,000-stream run opens up to 1,024 subscriptions per connection. */
        execl(r->strom, r->strom, "node", "--data", data, "--listen", r->server, "--reads-max",
              "4096", "--kafka", "off", "--fsync", fsync, (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 200; i++) {
        struct strom_options o;
        strom_options_init(&o);
        o.server = r->server;
        o.connect_timeout_ns = NS_PER_S;
        strom_client *c = NULL;
        if (strom_open(&o, &c) == STROM_OK) {
            strom_close(c);
            return;
        }
        if (waitpid(r->node, NULL, WNOHANG) == r->node) {
            fprintf(stderr, "bench_node: %s node exited at start (log: %s)\n", r->strom, log);
            exit(1);
        }
        usleep(100000);
    }
    die("the node did not answer within 20 s");
}

static void node_stop(struct run *r) {
    kill(r->node, SIGTERM);
    for (int i = 0; i < 100 && waitpid(r->node, NULL, WNOHANG) != r->node; i++) {
        usleep(100000);
    }
    kill(r->node, SIGKILL);
    waitpid(r->node, NULL, 0);
}

/* CPU time and context switches of the node's processes (the supervisor's children), from
 * /proc: what the node spends on a workload, a figure that a busy machine disturbs less than
 * latency. */
struct usage {
    double cpu_us;
    double switches;
};

static double proc_field(const char *path, const char *key) {
    FILE *f = fopen(path, "r");
    char line[256];
    double v = 0;
    size_t n = strlen(key);
    while (f != NULL && fgets(line, sizeof line, f) != NULL) {
        if (strncmp(line, key, n) == 0) {
            v += strtod(line + n, NULL);
        }
    }
    if (f != NULL) {
        fclose(f);
    }
    return v;
}

static struct usage node_usage(const struct run *r) {
    struct usage u = {0};
    char path[128];
    snprintf(path, sizeof path, "/proc/%d/task/%d/children", (int)r->node, (int)r->node);
    FILE *f = fopen(path, "r");
    int pid;
    while (f != NULL && fscanf(f, "%d", &pid) == 1) {
        unsigned long ut = 0, st = 0;
        snprintf(path, sizeof path, "/proc/%d/stat", pid);
        FILE *sf = fopen(path, "r");
        /* After "pid (comm) ", fields 3..: utime and stime are fields 14 and 15. */
        if (sf != NULL && fscanf(sf, "%*d %*s %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
                                 &ut, &st) == 2) {
            u.cpu_us += (double)(ut + st) * 1e6 / (double)sysconf(_SC_CLK_TCK);
        }
        if (sf != NULL) {
            fclose(sf);
        }
        snprintf(path, sizeof path, "/proc/%d/status", pid);
        u.switches += proc_field(path, "voluntary_ctxt_switches:") +
                      proc_field(path, "nonvoluntary_ctxt_switches:");
    }
    if (f != NULL) {
        fclose(f);
    }
    return u;
}

/* This program's own CPU time (its clients: the producer and the subscribers), in us. */
static double self_cpu_us(void) {
    struct rusage u;
    getrusage(RUSAGE_SELF, &u);
    return (double)(u.ru_utime.tv_sec + u.ru_stime.tv_sec) * 1e6 +
           (double)(u.ru_utime.tv_usec + u.ru_stime.tv_usec);
}

/* The gateways' polls for ack-1 answers (strom stat: spins, spin_hits, spin_hit_ns, summed over
 * the gateway lines) into out[3]; false when the node does not count them. */
static bool node_spins(strom_client *c, double out[3]) {
    static char text[1 << 16];
    static const char *const keys[3] = {" spins:", " spin_hits:", " spin_hit_ns:"};
    size_t len = 0;
    bool found = false;
    if (strom_stat(c, text, sizeof text - 1, &len) != STROM_OK) {
        return false;
    }
    text[len] = 0;
    for (int k = 0; k < 3; k++) {
        out[k] = 0;
        for (const char *at = strstr(text, keys[k]); at != NULL; at = strstr(at + 1, keys[k])) {
            out[k] += strtod(at + strlen(keys[k]), NULL);
            found = true;
        }
    }
    return found;
}

/* --- latency: 1 producer -> subscribers ------------------------------------------------------ */

struct lat_ack;

struct lat {
    struct run *r;
    uint32_t ack;
    uint32_t streams;
    const char *prefix;
    strom_client *prod;
    strom_client **subc; /* subscriber clients, SUBS_PER_CLIENT streams each */
    uint32_t subc_count;
    uint64_t t_start; /* when message 0 is scheduled */
    uint64_t period_ns;
    uint64_t warm_ns; /* messages scheduled before t_start + warm_ns are not recorded */
    uint64_t total;   /* messages to send */
    uint64_t next;    /* the next message to queue */
    uint64_t acked, delivered, errors;
    struct lat_ack *acks; /* total of them */
    struct hist deliver;  /* send-to-deliver, from the scheduled time */
    struct hist publish;  /* send-to-ack, from the scheduled time */
    struct hist late;     /* this program's own lateness: queued minus scheduled time */
    int epfd;             /* an epoll of every client's descriptor (lat_wait) */
    int *polled_fd;       /* per client (0: the producer, 1 + i: subc[i]): registered fd, -1 */
    short *polled_events; /* ... and its registered poll events */
};

static void lat_path(const struct lat *l, uint64_t stream, char *out, size_t cap) {
    snprintf(out, cap, "/bench/%s/%llu", l->prefix, (unsigned long long)stream);
}

static uint64_t lat_sched(const struct lat *l, uint64_t i) {
    return l->t_start + i * l->period_ns;
}

/* One append's context: where its messages start (acks are timed per message from their
 * scheduled times). acks[i] belongs to the append whose first message is i. */
struct lat_ack {
    struct lat *l;
    uint64_t first;
};

static void lat_on_ack(void *arg, const struct strom_append_result *res) {
    struct lat_ack *a = arg;
    struct lat *l = a->l;
    if (res->err) {
        l->errors++;
        return;
    }
    uint64_t now = now_ns();
    for (uint64_t i = a->first; i < a->first + res->count; i++) {
        uint64_t sched = lat_sched(l, i);
        if (sched >= l->t_start + l->warm_ns && now >= sched) {
            hist_record(&l->publish, now - sched);
        }
    }
    l->acked += res->count;
}

static void lat_on_deliver(void *arg, strom_sub *sub, const struct strom_msg *m, strom_err err) {
    (void)sub;
    struct lat *l = arg;
    if (m == NULL) {
        if (err) {
            l->errors++;
        }
        return;
    }
    uint64_t sched = 0;
    if (m->payload_bytes >= sizeof sched) {
        memcpy(&sched, m->payload, sizeof sched);
    }
    uint64_t now = now_ns();
    l->delivered++;
    if (sched >= l->t_start + l->warm_ns && now >= sched) {
        hist_record(&l->deliver, now - sched);
    }
}

/* Queues the messages that are due: consecutive ones to the same stream as one batch. Stops at
 * the first AGAIN (they stay due, and their latency keeps counting from their scheduled time). */
static void lat_queue(struct lat *l, uint64_t now) {
    static uint8_t payloads[DUE_MAX][MSG_BYTES];
    struct strom_msg msgs[DUE_MAX];
    while (l->next < l->total && lat_sched(l, l->next) <= now) {
        uint64_t stream = l->next % l->streams;
        uint32_t n = 0;
        while (n < DUE_MAX && l->next + n < l->total && lat_sched(l, l->next + n) <= now &&
               (l->next + n) % l->streams == stream) {
            uint64_t sched = lat_sched(l, l->next + n);
            memcpy(payloads[n], &sched, sizeof sched);
            msgs[n] = (struct strom_msg){.payload = payloads[n], .payload_bytes = MSG_BYTES};
            n++;
        }
        char path[64];
        lat_path(l, stream, path, sizeof path);
        struct lat_ack *a = &l->acks[l->next];
        *a = (struct lat_ack){l, l->next};
        strom_err err = strom_append_async(l->prod, path, msgs, n, l->ack, lat_on_ack, a);
        if (err == STROM_ERR_AGAIN) {
            return;
        }
        if (err) {
            die("an append could not be queued");
        }
        if (lat_sched(l, l->next) >= l->t_start + l->warm_ns) {
            hist_record(&l->late, now_ns() - lat_sched(l, l->next));
        }
        l->next += n;
    }
}

static strom_client *lat_client(const struct lat *l, uint32_t i) {
    return i == 0 ? l->prod : l->subc[i - 1];
}

/* Registers client i's descriptor and events with the epoll when they changed (a reconnect
 * changes the descriptor; POLLOUT comes and goes with unsent output). false: no descriptor. */
static bool lat_poll_update(struct lat *l, uint32_t i) {
    strom_client *c = lat_client(l, i);
    int fd = strom_fd(c);
    short events = strom_events(c);
    if (fd != l->polled_fd[i] || events != l->polled_events[i]) {
        if (l->polled_fd[i] >= 0 && fd != l->polled_fd[i]) {
            epoll_ctl(l->epfd, EPOLL_CTL_DEL, l->polled_fd[i], NULL);
        }
        struct epoll_event ev = {.events = (events & POLLIN ? EPOLLIN : 0u) |
                                           (events & POLLOUT ? EPOLLOUT : 0u),
                                 .data.u32 = i};
        if (fd >= 0) {
            int op = fd == l->polled_fd[i] ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
            epoll_ctl(l->epfd, op, fd, &ev);
        }
        l->polled_fd[i] = fd;
        l->polled_events[i] = events;
    }
    return fd >= 0;
}

/* Waits for any client's descriptor (or until deadline) and steps the ready ones. One epoll,
 * not a poll of every descriptor: the 100,000-stream run has 99 connections, and a poll of all
 * of them on every wake-up (two or three per message) cost this program tens of microseconds
 * of system time per message, which counted in every figure of that run. */
static void lat_wait(struct lat *l, uint64_t deadline) {
    uint32_t clients = 1 + l->subc_count;
    bool step_now = false;
    for (uint32_t i = 0; i < clients; i++) {
        if (!lat_poll_update(l, i)) {
            strom_step(lat_client(l, i), 0); /* down: its step reconnects */
            step_now = true;
        }
    }
    uint64_t now = now_ns();
    uint64_t wait = deadline > now && !step_now ? deadline - now : 0;
    struct timespec ts = {(time_t)(wait / NS_PER_S), (long)(wait % NS_PER_S)};
    struct epoll_event evs[64];
    int n = epoll_pwait2(l->epfd, evs, 64, &ts, NULL);
    for (int k = 0; k < n; k++) {
        strom_step(lat_client(l, evs[k].data.u32), 0);
    }
}

/* Creates the streams with one message each and subscribes to them from offset 1. */
static void lat_prepare(struct lat *l) {
    static uint8_t zero[MSG_BYTES];
    struct strom_msg m = {.payload = zero, .payload_bytes = MSG_BYTES};
    for (uint64_t s = 0; s < l->streams; s++) {
        char path[64];
        lat_path(l, s, path, sizeof path);
        strom_err err;
        while ((err = strom_append_async(l->prod, path, &m, 1, l->ack, NULL, NULL)) ==
               STROM_ERR_AGAIN) {
            strom_step(l->prod, 1000000);
        }
        if (err) {
            die("cannot create the streams");
        }
    }
    if (strom_drain(l->prod, 120 * NS_PER_S) != STROM_OK) {
        die("the streams were not created within 120 s");
    }
    struct strom_read_options ro;
    strom_read_options_init(&ro);
    ro.from = 1;
    ro.follow = true;
    ro.ack = l->ack;
    l->subc_count = (l->streams + SUBS_PER_CLIENT - 1) / SUBS_PER_CLIENT;
    l->subc = calloc(l->subc_count, sizeof l->subc[0]);
    for (uint64_t s = 0; s < l->streams; s++) {
        if (s % SUBS_PER_CLIENT == 0) {
            l->subc[s / SUBS_PER_CLIENT] = open_client(l->r, "bench-subscriber");
        }
        char path[64];
        lat_path(l, s, path, sizeof path);
        strom_sub *sub = NULL;
        if (strom_subscribe(l->subc[s / SUBS_PER_CLIENT], path, &ro, lat_on_deliver, l, &sub)) {
            die("cannot subscribe");
        }
    }
    for (uint32_t i = 0; i < l->subc_count; i++) {
        strom_ping(l->subc[i], NULL); /* the reads are at the node before the first message */
    }
    l->epfd = epoll_create1(EPOLL_CLOEXEC);
    l->polled_fd = malloc((1 + l->subc_count) * sizeof l->polled_fd[0]);
    l->polled_events = calloc(1 + l->subc_count, sizeof l->polled_events[0]);
    if (l->epfd < 0 || l->polled_fd == NULL || l->polled_events == NULL) {
        die("cannot set up the epoll of the clients");
    }
    for (uint32_t i = 0; i <= l->subc_count; i++) {
        l->polled_fd[i] = -1;
    }
}

/* One latency workload: 10,000 msg/s of 100 B for lat_secs (after 1 s of warm-up) over streams
 * streams, at ack; adds name.* (deliver) and pub_name.* (ack) against baseline. */
static void lat_run(struct run *r, const char *name, const char *pub_name, const char *prefix,
                    uint32_t streams, uint32_t ack, const char *baseline) {
    char late[64];
    snprintf(late, sizeof late, "%s.send_late", name);
    struct lat *l = calloc(1, sizeof *l);
    *l = (struct lat){.r = r, .ack = ack, .streams = streams, .prefix = prefix};
    hist_reset(&l->deliver);
    hist_reset(&l->publish);
    hist_reset(&l->late);
    l->prod = open_client(r, "bench-producer");
    lat_prepare(l);
    l->period_ns = NS_PER_S / 10000;
    l->warm_ns = NS_PER_S;
    l->total = (r->lat_secs + 1) * 10000;
    l->acks = calloc(l->total, sizeof l->acks[0]);
    l->t_start = now_ns() + 50 * 1000 * 1000;
    uint64_t give_up = lat_sched(l, l->total) + 20 * NS_PER_S;
    double spins0[3] = {0}, spins1[3] = {0};
    bool spins = node_spins(l->prod, spins0);
    struct usage u0 = node_usage(r);
    double self0 = self_cpu_us();
    for (uint64_t now = now_ns(); now < give_up; now = now_ns()) {
        if (l->next == l->total && l->acked + l->errors >= l->total && l->delivered >= l->total) {
            break;
        }
        lat_queue(l, now);
        strom_step(l->prod, 0);
        uint64_t due = l->next < l->total ? lat_sched(l, l->next) : now + 1000000;
        lat_wait(l, due > now ? due : now + 50000);
    }
    if (l->delivered < l->total || l->errors > 0) {
        fprintf(stderr, "bench_node: %s: %llu of %llu delivered, %llu acked, %llu errors\n", name,
                (unsigned long long)l->delivered, (unsigned long long)l->total,
                (unsigned long long)l->acked, (unsigned long long)l->errors);
    }
    struct usage u1 = node_usage(r);
    double self1 = self_cpu_us();
    char fig[64];
    snprintf(fig, sizeof fig, "%s.lost", name);
    add(r, fig, (double)(l->total - l->delivered), "msgs", NULL);
    snprintf(fig, sizeof fig, "%s.node_cpu", name);
    add(r, fig, (u1.cpu_us - u0.cpu_us) / (double)l->total, "us/msg", NULL);
    snprintf(fig, sizeof fig, "%s.node_switches", name);
    add(r, fig, (u1.switches - u0.switches) / (double)l->total, "/msg", NULL);
    snprintf(fig, sizeof fig, "%s.bench_cpu", name);
    add(r, fig, (self1 - self0) / (double)l->total, "us/msg", NULL);
    if (spins && node_spins(l->prod, spins1)) {
        double hits = spins1[1] - spins0[1];
        snprintf(fig, sizeof fig, "%s.spins", name);
        add(r, fig, (spins1[0] - spins0[0]) / (double)l->total, "/msg", NULL);
        snprintf(fig, sizeof fig, "%s.spin_hits", name);
        add(r, fig, hits / (double)l->total, "/msg", NULL);
        snprintf(fig, sizeof fig, "%s.spin_hit_time", name);
        add(r, fig, hits > 0 ? (spins1[2] - spins0[2]) / hits / 1000 : 0, "us", NULL);
    }
    if (bench_add_hist(&r->b, name, &l->deliver, "us", 1000, baseline) != STROM_OK ||
        bench_add_hist(&r->b, pub_name, &l->publish, "us", 1000, NULL) != STROM_OK ||
        bench_add_hist(&r->b, late, &l->late, "us", 1000, NULL) != STROM_OK) {
        die("cannot add the latency figures");
    }
    for (uint32_t i = 0; i < l->subc_count; i++) {
        strom_close(l->subc[i]); /* closing the connection ends its reads at the node */
    }
    strom_close(l->prod);
    close(l->epfd);
    free(l->polled_fd);
    free(l->polled_events);
    free(l->subc);
    free(l->acks);
    free(l);
}

/* --- throughput: 4 producers at max rate ------------------------------------------------------ */

struct tput {
    uint64_t acked_bytes;
    uint64_t errors;
};

static void tput_on_ack(void *arg, const struct strom_append_result *res) {
    struct tput *t = arg;
    if (res->err) {
        t->errors++;
    } else {
        t->acked_bytes += (uint64_t)res->count * TPUT_MSG_BYTES;
    }
}

/* Appends batches of batch messages (at most TPUT_SYNC_BATCH) for r->tput_secs. */
static void tput_run(struct run *r, const char *name, const char *path, uint32_t ack,
                     uint32_t batch, const char *baseline) {
    static uint8_t payload[TPUT_MSG_BYTES];
    static struct strom_msg msgs[TPUT_SYNC_BATCH];
    if (batch == 0 || batch > TPUT_SYNC_BATCH) {
        die("tput: a batch of 1 to TPUT_SYNC_BATCH messages");
    }
    for (int i = 0; i < TPUT_SYNC_BATCH; i++) {
        msgs[i] = (struct strom_msg){.payload = payload, .payload_bytes = TPUT_MSG_BYTES};
    }
    strom_client *c[TPUT_PRODUCERS];
    for (int i = 0; i < TPUT_PRODUCERS; i++) {
        c[i] = open_client(r, "bench-tput");
    }
    struct tput t = {0};
    uint64_t t0 = now_ns();
    uint64_t end = t0 + r->tput_secs * NS_PER_S;
    while (now_ns() < end) {
        struct pollfd p[TPUT_PRODUCERS];
        for (int i = 0; i < TPUT_PRODUCERS; i++) {
            while (strom_append_async(c[i], path, msgs, batch, ack, tput_on_ack, &t) == STROM_OK) {
            }
            strom_step(c[i], 0);
            p[i] = (struct pollfd){.fd = strom_fd(c[i]), .events = strom_events(c[i])};
        }
        poll(p, TPUT_PRODUCERS, 10);
        for (int i = 0; i < TPUT_PRODUCERS; i++) {
            if (p[i].revents) {
                strom_step(c[i], 0);
            }
        }
    }
    for (int i = 0; i < TPUT_PRODUCERS; i++) {
        strom_drain(c[i], 60 * NS_PER_S);
    }
    double secs = (double)(now_ns() - t0) / 1e9;
    for (int i = 0; i < TPUT_PRODUCERS; i++) {
        strom_close(c[i]);
    }
    if (t.errors) {
        fprintf(stderr, "bench_node: %s: %llu appends failed\n", name,
                (unsigned long long)t.errors);
    }
    add(r, name, (double)t.acked_bytes / secs / 1e6, "MB/s", baseline);
    char fig[64];
    snprintf(fig, sizeof fig, "%s.batch", name);
    add(r, fig, batch, "msgs", NULL);
}

/* --- main ------------------------------------------------------------------------------------- */

static void run_init(struct run *r, int argc, char **argv) {
    r->strom = "build/strom";
    r->lat_secs = 10;
    r->tput_secs = 5;
    r->many_streams = 100000;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0) {
            r->lat_secs = 1;
            r->tput_secs = 1;
            r->many_streams = 10000;
        } else if (strcmp(argv[i], "--only") == 0 && i + 1 < argc) {
            r->only = argv[++i];
        } else if (strcmp(argv[i], "--streams") == 0 && i + 1 < argc) {
            r->many_streams = (uint32_t)strtoul(argv[++i], NULL, 10);
        } else if (strcmp(argv[i], "--strom") == 0 && i + 1 < argc) {
            r->strom = argv[++i];
        } else {
            die("usage: bench_node [--quick] [--only lat.ack1|lat.sync|tput|lat.many] [--streams "
                "N] "
                "[--strom PATH]");
        }
    }
    snprintf(r->dir, sizeof r->dir, "build/bench-node.XXXXXX");
    mkdir("build", 0755);
    if (mkdtemp(r->dir) == NULL || access(r->strom, X_OK) != 0) {
        die("needs build/ writable and build/strom built (make)");
    }
    bench_init(&r->b);
}

/* Whether the run includes part name (--only). */
static bool part(const struct run *r, const char *name) {
    return r->only == NULL || strcmp(r->only, name) == 0;
}

int main(int argc, char **argv) {
    static struct run r;
    run_init(&r, argc, argv);
    signal(SIGPIPE, SIG_IGN);
    /* This program sleeps until each message's scheduled time; the default timer slack (50 us)
     * would make it send late by up to that, and the lateness counts in every latency figure
     * (they start at the scheduled time). 1 ns: wake when asked. */
    prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);
    baseline_rtt(&r);
    if (part(&r, "lat.ack1") || part(&r, "lat.many")) {
        baseline_relay(&r);
    }
    if (part(&r, "tput")) {
        baseline_throughput(&r);
    }
    if (part(&r, "lat.sync") || part(&r, "tput")) {
        baseline_disk(&r);
        const struct bench_figure *rtt = bench_find(&r.b, "tcp.rtt.p50");
        const struct bench_figure *fs = bench_find(&r.b, "disk.fdatasync.p50");
        add(&r, "floor.sync.p50", rtt->value + fs->value, "us", NULL);
    }
    node_start(&r, "node", "always"); /* the default policy */
    if (part(&r, "lat.ack1") || part(&r, "lat.many")) {
        lat_run(&r, "lat.ack1", "pub.ack1", "lat-ack1", 1, 1 | STROM_NO_SYNC, "tcp.rtt");
    }
    if (part(&r, "lat.sync")) {
        lat_run(&r, "lat.sync", "pub.sync", "lat-sync", 1, STROM_ACK_DEFAULT, "floor.sync");
    }
    if (part(&r, "tput")) {
        tput_run(&r, "tput.ack1.fsync_always", "/bench/tput-ack1", 1 | STROM_NO_SYNC, TPUT_BATCH,
                 "tcp.throughput");
        tput_run(&r, "tput.sync", "/bench/tput-sync", STROM_ACK_DEFAULT, TPUT_SYNC_BATCH,
                 "disk.write");
    }
    if (part(&r, "lat.many")) {
        char many[32];
        snprintf(many, sizeof many, "lat.%uk", r.many_streams / 1000);
        lat_run(&r, many, "pub.many", "lat-many", r.many_streams, 1 | STROM_NO_SYNC, "lat.ack1");
    }
    node_stop(&r);
    if (part(&r, "tput")) {
        /* ack 1 is in memory: the node a Kafka user with acks=1 runs, no fdatasync per write. */
        node_start(&r, "node-fsync-never", "never");
        tput_run(&r, "tput.ack1.fsync_never", "/bench/tput-ack1", 1 | STROM_NO_SYNC, TPUT_BATCH,
                 "tcp.throughput");
        node_stop(&r);
    }
    bench_print(&r.b, stdout);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", r.dir);
    return system(cmd) == 0 ? 0 : 1;
}
