/*
 * bench_store.c: `make bench-store`, the storage engine against the disk it runs on, in one run.
 *
 *  1. raw sequential pwrite (1 MiB, the store's write size) + fdatasync every 4 MiB of the same
 *     random bytes: MB/s; and the same with the space reserved ahead (fallocate), as the store
 *     does
 *  2. store appends, one stream, 1 KiB messages in batches of 64, sync every 4 MiB: MB/s of
 *     payload, ratio to 1
 *  3. 1,000,000 streams (each given one 1 KiB message first), then the workload of 2 spread over
 *     them round robin: MB/s, ratio to 2; resident memory per stream (RSS growth / streams)
 *     (1, 2 and 3 run interleaved in 32 MiB rounds: the disk of this machine is shared with
 *     other work and its speed varies from minute to minute)
 *  4. random point reads (stream, offset) in a 1 GiB file of one stream in batches of 4 messages:
 *     latency with a warm and a cold page cache, preads per lookup against 1 + ceil(log_F(n))
 *  5. open time after kill -9 of a writer that wrote 1 GiB and 4 GiB (page cache warm, as after
 *     a process crash; and read-only with the file evicted from the page cache)
 *  6. the index fan-out F from 8 to 64: point-read latency, preads, index bytes
 *
 * Data files live in build/bench-store-data (the work tree's disk) and are deleted as each part
 * ends. Figures follow the benchmark convention (src/base/bench.h). Not role code: it calls the
 * OS directly for fork, kill, statvfs, posix_fadvise and /proc, and drives the store through the
 * Linux io.
 */
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/bench.h"
#include "base/hist.h"
#include "base/rng.h"
#include "io/io.h"
#include "store/store.h"

#define DATA_DIR "build/bench-store-data"
#define MIB      (UINT64_C(1) << 20)
#define GIB      (UINT64_C(1) << 30)

enum {
    MESSAGE_BYTES = 1024,
    BATCH_MESSAGES = 64,
    SYNC_BYTES = 4 << 20,
    ROUNDS = 16,
    ROUND_BYTES = 32 << 20,
    STREAMS_MANY = 1000000,
};

static struct bench figures;
static uint8_t *payload; /* 64 KiB of random bytes */

/* The machine is shared: say how busy it was, since every figure here depends on it. */
static void print_load(const char *when) {
    FILE *f = fopen("/proc/loadavg", "r");
    char line[128] = "";
    if (f != NULL && fgets(line, sizeof line, f) != NULL) {
        printf("# load average at %s: %s", when, line);
    }
    if (f != NULL) {
        fclose(f);
    }
}

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static uint64_t now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static void check(strom_err err, const char *what) {
    if (err) {
        fprintf(stderr, "bench_store: %s: %s\n", what, strom_strerror(err));
        exit(1);
    }
}

static void add(const char *name, double value, const char *unit, const char *baseline) {
    check(bench_add(&figures, name, value, unit, baseline), name);
}

static uint64_t rss_bytes(void) {
    FILE *f = fopen("/proc/self/statm", "r");
    unsigned long size = 0, resident = 0;
    if (f == NULL || fscanf(f, "%lu %lu", &size, &resident) != 2) {
        fprintf(stderr, "bench_store: cannot read /proc/self/statm\n");
        exit(1);
    }
    fclose(f);
    return (uint64_t)resident * (uint64_t)sysconf(_SC_PAGESIZE);
}

static void evict(const char *path) {
    int fd = open(path, O_RDONLY);
    if (fd >= 0) {
        fdatasync(fd);
        posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
        close(fd);
    }
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a;
    double y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(const double *v, int n) {
    double sorted[ROUNDS];
    memcpy(sorted, v, (size_t)n * sizeof *v);
    qsort(sorted, (size_t)n, sizeof *sorted, cmp_double);
    return sorted[n / 2];
}

/* --- 1, 2 and 3 ------------------------------------------------------------------------------ */

/* The baseline: a file written with pwrite of 1 MiB (the store's write size) and fdatasync
 * every 4 MiB, with the same random bytes the store's batches carry. */
struct raw_file {
    int fd;
    uint64_t off;
    uint8_t *buf;
    bool reserve;          /* fallocate(KEEP_SIZE) 64 MiB ahead, as the store does */
    uint64_t reserved_end; /* reserved up to here */
};

static void raw_open(struct raw_file *r, const char *path, bool reserve) {
    r->fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
    r->buf = malloc(MIB);
    r->off = 0;
    r->reserve = reserve;
    r->reserved_end = 0;
    if (r->fd < 0 || r->buf == NULL) {
        fprintf(stderr, "bench_store: %s: %s\n", path, strerror(errno));
        exit(1);
    }
    for (uint64_t i = 0; i < MIB; i += MESSAGE_BYTES * BATCH_MESSAGES) {
        memcpy(r->buf + i, payload, MESSAGE_BYTES * BATCH_MESSAGES);
    }
}

/* Writes bytes more; returns the seconds it took. */
static double raw_chunk(struct raw_file *r, uint64_t bytes) {
    double t0 = now_s();
    uint64_t since = 0;
    for (uint64_t done = 0; done < bytes; done += MIB) {
        if (r->reserve && r->off + MIB > r->reserved_end) {
            fallocate(r->fd, FALLOC_FL_KEEP_SIZE, (off_t)r->reserved_end, 64 << 20);
            r->reserved_end += 64 << 20;
        }
        if (pwrite(r->fd, r->buf, MIB, (off_t)r->off) != (ssize_t)MIB) {
            fprintf(stderr, "bench_store: raw pwrite: %s\n", strerror(errno));
            exit(1);
        }
        r->off += MIB;
        since += MIB;
        if (since >= SYNC_BYTES) {
            fdatasync(r->fd);
            since = 0;
        }
    }
    fdatasync(r->fd);
    return now_s() - t0;
}

/* Appends `bytes` of payload in batches of 64 x 1 KiB, syncing every 4 MiB: to stream 1 when
 * streams is 1 (from batch *next on), else round robin over streams 1..streams, which already
 * hold one message each (batch number g goes to stream 1 + g * 7919 mod streams, a permutation,
 * so that consecutive batches touch streams far apart in the table and the trie). Returns the
 * seconds it took. */
static double append_chunk(struct store *s, uint64_t bytes, uint64_t streams, uint64_t *next) {
    uint64_t batch_bytes = (uint64_t)MESSAGE_BYTES * BATCH_MESSAGES;
    uint64_t batches = bytes / batch_bytes;
    uint64_t since = 0;
    double t0 = now_s();
    for (uint64_t i = *next; i < *next + batches; i++) {
        uint64_t sid = streams == 1 ? 1 : 1 + (i * 7919) % streams;
        uint64_t base = streams == 1 ? i * BATCH_MESSAGES : 1 + (i / streams) * BATCH_MESSAGES;
        uint64_t ts = now_ns();
        struct store_append a = {.stream_id = sid,
                                 .base_offset = base,
                                 .message_count = BATCH_MESSAGES,
                                 .first_ts_ns = ts,
                                 .last_ts_ns = ts,
                                 .payload = payload,
                                 .payload_bytes = (uint32_t)batch_bytes};
        check(store_append(s, &a, NULL), "append");
        since += batch_bytes;
        if (since >= SYNC_BYTES) {
            check(store_sync(s, NULL), "sync");
            since = 0;
        }
    }
    check(store_sync(s, NULL), "sync");
    *next += batches;
    return now_s() - t0;
}

static struct store *open_store(struct io *io, const char *path, uint32_t fanout) {
    struct store_options o;
    store_options_default(&o);
    if (fanout) {
        o.index_fanout = fanout;
    }
    struct store *s = NULL;
    check(store_open(io, path, &o, &s), path);
    return s;
}

/* A store of STREAMS_MANY streams with one 1 KiB message each; adds the populate figures. */
static struct store *populate(struct io *io, const char *path, uint64_t rss0) {
    struct store *s = open_store(io, path, 0);
    uint64_t since = 0;
    double t0 = now_s();
    for (uint64_t i = 0; i < STREAMS_MANY; i++) {
        struct store_append a = {.stream_id = 1 + i,
                                 .message_count = 1,
                                 .payload = payload,
                                 .payload_bytes = MESSAGE_BYTES};
        check(store_append(s, &a, NULL), "populate");
        since += MESSAGE_BYTES;
        if (since >= SYNC_BYTES) {
            check(store_sync(s, NULL), "sync");
            since = 0;
        }
    }
    check(store_checkpoint(s, true), "checkpoint");
    double mbps = (double)STREAMS_MANY * MESSAGE_BYTES / (now_s() - t0) / 1e6;
    uint64_t rss1 = rss_bytes();
    struct store_stats st;
    store_get_stats(s, &st);
    add("store.populate.1m_streams.1_msg_batches", mbps, "MB/s", "store.raw_write");
    add("store.memory_per_stream.rss", (double)(rss1 - rss0) / STREAMS_MANY, "B", "");
    add("store.memory_per_stream.accounted", (double)st.memory_bytes / (double)st.streams, "B", "");
    printf("# populated %llu streams in %.1f s: %llu trie nodes in memory, %llu checkpoints "
           "(%.1f MB)\n",
           (unsigned long long)st.streams, now_s() - t0, (unsigned long long)st.trie_nodes_loaded,
           (unsigned long long)st.checkpoints, (double)st.checkpoint_bytes / 1e6);
    return s;
}

/* Parts 1, 2 and 3 interleaved: ROUNDS rounds of ROUND_BYTES each, the order rotating, so that
 * the three meet the same disk (its speed here changes from minute to minute). Throughputs are
 * totals over the rounds; the paired ratios are medians of the ratios within each round. */
static void part_append(struct io *io) {
    const char *raw_path = DATA_DIR "/raw.bin";
    const char *reserved_path = DATA_DIR "/raw-reserved.bin";
    const char *one_path = DATA_DIR "/append.store";
    const char *many_path = DATA_DIR "/many.store";
    uint64_t rss0 = rss_bytes();
    struct store *many = populate(io, many_path, rss0);
    struct store *one = open_store(io, one_path, 0);
    struct raw_file raw, reserved;
    raw_open(&raw, raw_path, false);
    raw_open(&reserved, reserved_path, true);
    enum { WAYS = 4 };
    double t[WAYS][ROUNDS];
    double total[WAYS] = {0, 0, 0, 0};
    uint64_t one_next = 0, many_next = 0;
    for (int round = 0; round < ROUNDS; round++) {
        for (int k = 0; k < WAYS; k++) {
            int which = (round + k) % WAYS;
            t[which][round] = which == 0   ? raw_chunk(&raw, ROUND_BYTES)
                              : which == 1 ? append_chunk(one, ROUND_BYTES, 1, &one_next)
                              : which == 2
                                  ? append_chunk(many, ROUND_BYTES, STREAMS_MANY, &many_next)
                                  : raw_chunk(&reserved, ROUND_BYTES);
            total[which] += t[which][round];
        }
    }
    uint64_t rss2 = rss_bytes();
    check(store_close(many), "close");
    check(store_close(one), "close");
    close(raw.fd);
    close(reserved.fd);
    free(raw.buf);
    free(reserved.buf);
    unlink(many_path);
    unlink(one_path);
    unlink(raw_path);
    unlink(reserved_path);
    double one_ratio[ROUNDS], many_ratio[ROUNDS];
    for (int round = 0; round < ROUNDS; round++) {
        one_ratio[round] = t[0][round] / t[1][round];
        many_ratio[round] = t[1][round] / t[2][round];
    }
    double bytes = (double)ROUNDS * ROUND_BYTES;
    add("store.raw_write", bytes / total[0] / 1e6, "MB/s", "");
    add("store.raw_write.reserved", bytes / total[3] / 1e6, "MB/s", "");
    add("store.append.1_stream", bytes / total[1] / 1e6, "MB/s", "store.raw_write");
    add("store.append.1_stream.vs_reserved", bytes / total[1] / 1e6, "MB/s",
        "store.raw_write.reserved");
    add("store.append.1m_streams", bytes / total[2] / 1e6, "MB/s", "store.append.1_stream");
    add("store.append.1_stream.paired_ratio", median(one_ratio, ROUNDS), "x", "");
    add("store.append.1m_streams.paired_ratio", median(many_ratio, ROUNDS), "x", "");
    add("store.memory_per_stream.rss_after_appends", (double)(rss2 - rss0) / STREAMS_MANY, "B", "");
    printf("# %d rounds of %u MiB each: raw, one stream, 1M streams, raw with reserved space, in "
           "rotating order\n",
           ROUNDS, (unsigned)(ROUND_BYTES >> 20));
}

/* --- 4 and 6 ---------------------------------------------------------------------------------- */

/* One stream of `bytes` in batches of `messages` 1 KiB messages; returns the batch count. */
static uint64_t write_one_stream(struct io *io, const char *path, uint32_t fanout, uint64_t bytes,
                                 uint32_t messages) {
    struct store *s = open_store(io, path, fanout);
    uint64_t batches = bytes / ((uint64_t)messages * MESSAGE_BYTES);
    uint64_t since = 0;
    for (uint64_t i = 0; i < batches; i++) {
        struct store_append a = {.stream_id = 1,
                                 .base_offset = i * messages,
                                 .message_count = messages,
                                 .payload = payload,
                                 .payload_bytes = messages * MESSAGE_BYTES};
        check(store_append(s, &a, NULL), "append");
        since += a.payload_bytes;
        if (since >= SYNC_BYTES) {
            check(store_sync(s, NULL), "sync");
            since = 0;
        }
    }
    check(store_close(s), "close");
    return batches;
}

/* count random point reads; latencies into h; *preads_max, *preads_mean. */
static void point_reads(struct store *s, uint64_t next_offset, uint32_t count, struct rng *r,
                        struct hist *h, double *preads_mean, uint64_t *preads_max) {
    static uint8_t buf[1 << 20];
    uint64_t total = 0;
    uint64_t worst = 0;
    for (uint32_t i = 0; i < count; i++) {
        struct store_cursor c;
        struct store_batch b;
        struct store_stats before, after;
        store_cursor_init(&c, 1, rng_below(r, next_offset));
        store_get_stats(s, &before);
        uint64_t t0 = now_ns();
        check(store_cursor_next(s, &c, &b, buf, sizeof buf), "read");
        hist_record(h, now_ns() - t0);
        store_get_stats(s, &after);
        uint64_t preads = after.preads - before.preads;
        total += preads;
        worst = preads > worst ? preads : worst;
    }
    *preads_mean = (double)total / count;
    *preads_max = worst;
}

static uint32_t levels_for(uint64_t batches, uint32_t fanout) {
    uint32_t levels = 0;
    for (uint64_t covered = 1; covered < batches; covered *= fanout) {
        levels++;
    }
    return levels;
}

static void part_point_reads(struct io *io) {
    const char *path = DATA_DIR "/reads.store";
    uint32_t messages = 4;
    uint64_t batches = write_one_stream(io, path, 0, GIB, messages);
    struct store *s = open_store(io, path, 0);
    struct store_stream_info info;
    check(store_stream_info(s, 1, &info), "info"); /* the stream's state comes into memory */
    struct rng r;
    rng_init(&r, 4);
    static struct hist warm, cold;
    hist_reset(&warm);
    hist_reset(&cold);
    double mean_warm = 0, mean_cold = 0;
    uint64_t max_warm = 0, max_cold = 0;
    point_reads(s, info.next_offset, 20000, &r, &warm, &mean_warm, &max_warm); /* warm up */
    hist_reset(&warm);
    point_reads(s, info.next_offset, 100000, &r, &warm, &mean_warm, &max_warm);
    evict(path);
    point_reads(s, info.next_offset, 3000, &r, &cold, &mean_cold, &max_cold);
    check(store_close(s), "close");
    unlink(path);
    uint32_t target = 1 + levels_for(batches, STORE_FANOUT_DEFAULT);
    check(bench_add_hist(&figures, "store.read.warm", &warm, "us", 1000, ""), "hist");
    check(bench_add_hist(&figures, "store.read.cold", &cold, "us", 1000, ""), "hist");
    add("store.read.preads_target", target, "preads", "");
    add("store.read.preads_max", (double)(max_warm > max_cold ? max_warm : max_cold), "preads",
        "store.read.preads_target");
    add("store.read.preads_mean.warm", mean_warm, "preads", "store.read.preads_target");
    add("store.read.preads_mean.cold", mean_cold, "preads", "store.read.preads_target");
    printf("# point reads: %llu batches of %u messages in one stream, F = %d\n",
           (unsigned long long)batches, messages, STORE_FANOUT_DEFAULT);
}

static void part_fanout(struct io *io) {
    static const uint32_t fanouts[] = {8, 16, 32, 64};
    const char *path = DATA_DIR "/fanout.store";
    for (size_t k = 0; k < sizeof fanouts / sizeof fanouts[0]; k++) {
        uint32_t f = fanouts[k];
        uint64_t batches = write_one_stream(io, path, f, 256 * MIB, 1);
        struct store *s = open_store(io, path, 0);
        struct store_stream_info info;
        check(store_stream_info(s, 1, &info), "info");
        static struct hist h;
        hist_reset(&h);
        struct rng r;
        rng_init(&r, f);
        double mean = 0;
        uint64_t worst = 0;
        point_reads(s, info.next_offset, 20000, &r, &h, &mean, &worst);
        hist_reset(&h);
        point_reads(s, info.next_offset, 50000, &r, &h, &mean, &worst);
        struct stat st;
        stat(path, &st);
        check(store_close(s), "close");
        unlink(path);
        /* Index bytes: one record of F entries per F children, all levels: about n/(F-1). */
        double index_bytes = (double)batches / (f - 1) * (32 + 24 + 24.0 * f);
        char name[64];
        snprintf(name, sizeof name, "store.fanout.%u.read_p50", f);
        add(name, (double)hist_percentile(&h, 50) / 1000, "us", "");
        snprintf(name, sizeof name, "store.fanout.%u.read_p99", f);
        add(name, (double)hist_percentile(&h, 99) / 1000, "us", "");
        snprintf(name, sizeof name, "store.fanout.%u.preads_mean", f);
        add(name, mean, "preads", "");
        snprintf(name, sizeof name, "store.fanout.%u.index_share", f);
        add(name, 100.0 * index_bytes / (double)st.st_size, "%", "");
    }
    printf("# fan-out sweep: one stream, 256 MiB of 1-message batches (262144 batches) each\n");
}

/* --- 5 ---------------------------------------------------------------------------------------- */

/* A writer that appends until killed. */
static void writer_child(const char *path) {
    struct io io;
    io_linux_init(&io);
    struct store *s = open_store(&io, path, 0);
    uint64_t next = 0;
    append_chunk(s, UINT64_C(1) << 50, 1, &next);
    _exit(0);
}

static void part_open_after_kill(struct io *io, uint64_t bytes, const char *label) {
    const char *path = DATA_DIR "/kill.store";
    unlink(path);
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        writer_child(path);
    }
    struct stat st = {0};
    while (stat(path, &st) != 0 || (uint64_t)st.st_size < bytes) {
        usleep(2000);
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    /* Cold, read-only: the file evicted from the page cache first. */
    evict(path);
    struct store_options o;
    store_options_default(&o);
    o.read_only = true;
    struct store *s = NULL;
    double t0 = now_s();
    check(store_open(io, path, &o, &s), "open read-only");
    double cold = now_s() - t0;
    check(store_close(s), "close");
    /* The restart of the writer: page cache as the crash left it (after the read above). */
    o.read_only = false;
    t0 = now_s();
    check(store_open(io, path, &o, &s), "open");
    double warm = now_s() - t0;
    struct store_stats stats;
    store_get_stats(s, &stats);
    check(store_close(s), "close");
    char name[64];
    snprintf(name, sizeof name, "store.open_after_kill.%s", label);
    add(name, warm, "s", strcmp(label, "1g") ? "store.open_after_kill.1g" : "");
    snprintf(name, sizeof name, "store.open_after_kill.%s.cold_read_only", label);
    add(name, cold, "s", "");
    snprintf(name, sizeof name, "store.open_after_kill.%s.replayed", label);
    add(name, (double)stats.open_replayed_bytes / 1e6, "MB", "");
    printf("# kill -9 at %.2f GiB: replayed %llu records, cut %llu bytes of torn tail\n",
           (double)st.st_size / GIB, (unsigned long long)stats.open_replayed_records,
           (unsigned long long)stats.open_cut_bytes);
    unlink(path);
}

/* STROM_BENCH_PARTS=append,reads,open,fanout runs only those parts (all by default). */
static bool part_on(const char *name) {
    const char *parts = getenv("STROM_BENCH_PARTS");
    return parts == NULL || strstr(parts, name) != NULL;
}

int main(void) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    mkdir("build", 0755);
    mkdir(DATA_DIR, 0755);
    struct statvfs vfs;
    if (statvfs(DATA_DIR, &vfs) != 0) {
        fprintf(stderr, "bench_store: %s: %s\n", DATA_DIR, strerror(errno));
        return 1;
    }
    uint64_t free_bytes = (uint64_t)vfs.f_bavail * vfs.f_frsize;
    printf("# data in %s: %.1f GiB free\n", DATA_DIR, (double)free_bytes / GIB);
    print_load("start");
    payload = malloc(MESSAGE_BYTES * BATCH_MESSAGES);
    struct rng r;
    rng_init(&r, 1);
    rng_fill(&r, payload, MESSAGE_BYTES * BATCH_MESSAGES);
    bench_init(&figures);
    struct io io;
    io_linux_init(&io);
    if (part_on("append")) {
        part_append(&io);
    }
    if (part_on("reads")) {
        part_point_reads(&io);
    }
    if (part_on("open")) {
        part_open_after_kill(&io, GIB, "1g");
    }
    if (part_on("open") && free_bytes >= 6 * GIB) {
        part_open_after_kill(&io, 4 * GIB, "4g");
    } else if (part_on("open")) {
        printf("# skipped the 4 GiB open test: %.1f GiB free, 6 GiB needed\n",
               (double)free_bytes / GIB);
    }
    if (part_on("fanout")) {
        part_fanout(&io);
    }
    rmdir(DATA_DIR);
    print_load("end");
    bench_print(&figures, stdout);
    free(payload);
    return 0;
}
