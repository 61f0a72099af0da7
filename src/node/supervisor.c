/* supervisor.c: the root process of a node (see supervisor.h). */
#include "node/supervisor.h"

#include <stdio.h>
#include <string.h>

#include "base/assert.h"
#include "io/io.h"
#include "node/log.h"

/* A child that exits with this code asks not to be restarted: the node stops (bad data directory,
 * port in use: retrying cannot help). */
#define NODE_EXIT_FATAL 3
/* Children still running this long before the stop deadline are killed. */
#define NODE_KILL_MARGIN_NS 300000000u

const char *node_role_name(enum node_role role) {
    switch (role) {
    case NODE_ROLE_COMMIT:
        return "commit";
    case NODE_ROLE_SEQUENCER:
        return "sequencer";
    case NODE_ROLE_GATEWAY:
        return "gateway";
    }
    return "unknown";
}

/* One strom.node.child line: event, and for an exit its reason (signal or code) and, when the
 * child will be started again, the back-off before that (restart_in_ns, UINT64_MAX: none). */
static void log_child(struct supervisor *s, const struct node_child *ch, const char *event,
                      const struct io_exit *ex, uint64_t restart_in_ns) {
    struct node_log line;
    node_log_begin(&line, s->io, "strom.node.child", "supervisor");
    strom_ssim_write_str(&line.w, "child", node_role_name(ch->role));
    strom_ssim_write_u64(&line.w, "index", ch->index);
    strom_ssim_write_u64(&line.w, "child_pid", (uint64_t)(ex ? ex->pid : ch->pid));
    strom_ssim_write_str(&line.w, "event", event);
    if (ex != NULL && ex->signalled) {
        strom_ssim_write_u64(&line.w, "signal", (uint64_t)ex->signal_number);
    } else if (ex != NULL) {
        strom_ssim_write_u64(&line.w, "code", (uint64_t)ex->code);
    }
    if (restart_in_ns != UINT64_MAX) {
        strom_ssim_write_u64(&line.w, "restart_in_ms", restart_in_ns / 1000000u);
    }
    if (ch->restarts > 0 && strcmp(event, "started") == 0) {
        strom_ssim_write_u64(&line.w, "restarts", ch->restarts);
    }
    node_log_end(&line, s->io);
}

static const node_role_main role_mains[] = {
    [NODE_ROLE_COMMIT] = commit_main,
    [NODE_ROLE_SEQUENCER] = sequencer_main,
    [NODE_ROLE_GATEWAY] = gateway_main,
};

/* In the forked child: --pin-cpu puts the sequencer and the gateways on one CPU. A CPU this
 * machine does not have is said in the log, and the child runs where the kernel puts it: a node
 * that does not start over a placement hint would be worse. */
static void child_place(struct supervisor *s, const struct node_child *ch) {
    uint32_t cpu = s->config.pin_cpu;
    bool placed = ch->role == NODE_ROLE_SEQUENCER || ch->role == NODE_ROLE_GATEWAY;
    strom_err err = placed && cpu != NODE_PIN_CPU_OFF ? io_proc_set_cpu(s->io, cpu) : STROM_OK;
    if (err) {
        struct node_log line;
        node_log_begin(&line, s->io, "strom.node.pin_failed", node_role_name(ch->role));
        strom_ssim_write_u64(&line.w, "cpu", cpu);
        strom_ssim_write_str(&line.w, "error", strom_errname(err));
        strom_ssim_write_str(&line.w, "text", "no such CPU here: running unpinned");
        node_log_end(&line, s->io);
    }
}

/* In the forked child: becomes the role and never returns. */
static void child_run(struct supervisor *s, const struct node_child *ch) {
    struct io *io = s->io;
    if (io_proc_die_with_parent(io, IO_SIGNAL_KILL) != STROM_OK) {
        io_proc_exit(io, 1); /* the supervisor is gone already */
    }
    io_signal_default(io, IO_SIGNAL_CHLD);
    /* The child starts with clear flags and the supervisor's handler (io_proc_fork): a SIGTERM
     * the supervisor sent already is kept, not cleared (it stops at once, right after start). */
    io_signal_catch(io, IO_SIGNAL_TERM);
    /* Ctrl-C reaches the whole process group; the supervisor orders the stop. */
    io_signal_ignore(io, IO_SIGNAL_INT);
    io_signal_ignore(io, IO_SIGNAL_PIPE);
    child_place(s, ch);
    int code = role_mains[ch->role](io, &s->config, &s->shm, ch->index);
    io_proc_exit(io, code);
}

static void child_fork(struct supervisor *s, struct node_child *ch, uint64_t now_ns) {
    strom_assert(ch->pid == 0);
    int32_t pid = 0;
    strom_err err = io_proc_fork(s->io, &pid);
    if (err) {
        /* Out of processes or memory: try again after the back-off. */
        ch->restart_at_ns = now_ns + ch->backoff_ns;
        s->fork_failed = true;
        return;
    }
    if (pid == 0) {
        child_run(s, ch);
        strom_unreachable();
    }
    ch->pid = pid;
    ch->started_ns = now_ns;
    s->fork_failed = false;
    log_child(s, ch, "started", NULL, UINT64_MAX);
}

/* The counters block's (pid, ready) of a child. */
static bool child_ready(const struct supervisor *s, const struct node_child *ch) {
    const struct node_header *h = s->shm.header;
    const uint64_t *pid = NULL;
    const uint64_t *ready = NULL;
    switch (ch->role) {
    case NODE_ROLE_COMMIT:
        pid = &h->commits_c[ch->index].pid;
        ready = &h->commits_c[ch->index].ready;
        break;
    case NODE_ROLE_SEQUENCER:
        pid = &h->sequencer.pid;
        ready = &h->sequencer.ready;
        break;
    case NODE_ROLE_GATEWAY:
        pid = &h->gateways_c[ch->index].pid;
        ready = &h->gateways_c[ch->index].ready;
        break;
    }
    return ch->pid != 0 && __atomic_load_n(pid, __ATOMIC_ACQUIRE) == (uint64_t)ch->pid &&
           __atomic_load_n(ready, __ATOMIC_ACQUIRE) == 1;
}

/* Calls fn-like checks over the children of a role. */
static bool role_all(const struct supervisor *s, enum node_role role, bool want_ready) {
    for (uint32_t i = 0; i < s->child_count; i++) {
        const struct node_child *ch = &s->children[i];
        if (ch->role != role) {
            continue;
        }
        if (want_ready ? !child_ready(s, ch) : ch->pid != 0) {
            return false;
        }
    }
    return true;
}

static void role_fork(struct supervisor *s, enum node_role role, uint64_t now_ns) {
    for (uint32_t i = 0; i < s->child_count; i++) {
        if (s->children[i].role == role && s->children[i].pid == 0) {
            child_fork(s, &s->children[i], now_ns);
        }
    }
}

static void role_signal(struct supervisor *s, enum node_role role, enum io_signal sig) {
    for (uint32_t i = 0; i < s->child_count; i++) {
        if (s->children[i].role == role && s->children[i].pid != 0) {
            (void)io_proc_kill(s->io, s->children[i].pid, sig);
        }
    }
}

static struct node_child *child_by_pid(struct supervisor *s, int32_t pid) {
    for (uint32_t i = 0; i < s->child_count; i++) {
        if (s->children[i].pid == pid) {
            return &s->children[i];
        }
    }
    return NULL;
}

static void stop_begin(struct supervisor *s, uint64_t now_ns, const char *why) {
    struct node_log line;
    node_log_begin(&line, s->io, "strom.node.stopping", "supervisor");
    strom_ssim_write_str(&line.w, "reason", why);
    node_log_end(&line, s->io);
    s->phase = SUP_STOP_GATEWAYS;
    s->stop_deadline_ns = now_ns + s->config.stop_timeout_ms * 1000000u - NODE_KILL_MARGIN_NS;
    __atomic_store_n(&s->shm.header->supervisor.stopping, 1, __ATOMIC_RELEASE);
    role_signal(s, NODE_ROLE_GATEWAY, IO_SIGNAL_TERM);
}

/* Collects every child that ended; schedules restarts while running. */
static void reap_children(struct supervisor *s, uint64_t now_ns) {
    struct io_exit ex;
    while (io_proc_reap(s->io, &ex) == STROM_OK) {
        struct node_child *ch = child_by_pid(s, ex.pid);
        if (ch == NULL) {
            continue; /* not ours (cannot happen: the supervisor forks nothing else) */
        }
        bool stopping = s->phase >= SUP_STOP_GATEWAYS;
        bool fatal = !ex.signalled && ex.code == NODE_EXIT_FATAL;
        ch->pid = 0;
        ch->exited_cleanly = !ex.signalled && ex.code == 0;
        if (stopping || fatal) {
            log_child(s, ch, stopping ? "stopped" : "exit", &ex, UINT64_MAX);
            s->stop_failed |= fatal || !ch->exited_cleanly;
            if (!stopping) {
                stop_begin(s, now_ns, "a child failed for good");
            }
            continue;
        }
        bool ran_long = now_ns - ch->started_ns >= NODE_BACKOFF_RESET_NS;
        ch->backoff_ns = ran_long ? NODE_BACKOFF_MIN_NS : ch->backoff_ns;
        ch->restart_at_ns = now_ns + ch->backoff_ns;
        log_child(s, ch, "exit", &ex, ch->backoff_ns);
        ch->backoff_ns =
            ch->backoff_ns * 2 > NODE_BACKOFF_MAX_NS ? NODE_BACKOFF_MAX_NS : ch->backoff_ns * 2;
    }
}

/* Forks again every child due for a restart whose group has been started. */
static void restart_children(struct supervisor *s, uint64_t now_ns) {
    for (uint32_t i = 0; i < s->child_count; i++) {
        struct node_child *ch = &s->children[i];
        bool started = ch->role == NODE_ROLE_COMMIT ||
                       (ch->role == NODE_ROLE_SEQUENCER && s->phase >= SUP_START_SEQUENCER) ||
                       (ch->role == NODE_ROLE_GATEWAY && s->phase >= SUP_START_GATEWAYS);
        if (ch->pid == 0 && started && now_ns >= ch->restart_at_ns) {
            ch->restarts++;
            __atomic_fetch_add(&s->shm.header->supervisor.restarts, 1, __ATOMIC_RELAXED);
            child_fork(s, ch, now_ns);
        }
    }
}

static void log_ready(struct supervisor *s) {
    struct node_log line;
    node_log_begin(&line, s->io, "strom.node.ready", "supervisor");
    strom_ssim_write_str(&line.w, "host", s->config.listen.host);
    strom_ssim_write_u64(&line.w, "port", s->shm.header->gateways_c[0].port);
    strom_ssim_write_u64(&line.w, "kafka_port", s->shm.header->gateways_c[0].kafka_port);
    strom_ssim_write_u64(&line.w, "gateways", s->config.gateways);
    strom_ssim_write_u64(&line.w, "commits", s->config.commits);
    node_log_end(&line, s->io);
}

/* Moves to the next phase when the current one is complete. */
static void advance_phase(struct supervisor *s, uint64_t now_ns) {
    switch (s->phase) {
    case SUP_START_COMMITS:
        if (role_all(s, NODE_ROLE_COMMIT, true)) {
            s->phase = SUP_START_SEQUENCER;
            role_fork(s, NODE_ROLE_SEQUENCER, now_ns);
        }
        break;
    case SUP_START_SEQUENCER:
        if (role_all(s, NODE_ROLE_SEQUENCER, true)) {
            s->phase = SUP_START_GATEWAYS;
            role_fork(s, NODE_ROLE_GATEWAY, now_ns);
        }
        break;
    case SUP_START_GATEWAYS:
        if (role_all(s, NODE_ROLE_GATEWAY, true)) {
            s->phase = SUP_RUNNING;
            log_ready(s);
        }
        break;
    case SUP_RUNNING:
        break;
    case SUP_STOP_GATEWAYS:
        if (role_all(s, NODE_ROLE_GATEWAY, false)) {
            s->phase = SUP_STOP_SEQUENCER;
            role_signal(s, NODE_ROLE_SEQUENCER, IO_SIGNAL_TERM);
        }
        break;
    case SUP_STOP_SEQUENCER:
        if (role_all(s, NODE_ROLE_SEQUENCER, false)) {
            s->phase = SUP_STOP_COMMITS;
            role_signal(s, NODE_ROLE_COMMIT, IO_SIGNAL_TERM);
        }
        break;
    case SUP_STOP_COMMITS:
        if (role_all(s, NODE_ROLE_COMMIT, false)) {
            s->phase = SUP_DONE;
        }
        break;
    case SUP_DONE:
        break;
    }
}

/*
 * One turn of the background prefault (docs/node.md, "Shared memory"): the next chunk of every
 * ring at the same offset (their writers all start at 0), so that the sequencer and the gateways
 * find the pages of their first lap allocated and take only a minor fault there. The regions are
 * mapped without MAP_POPULATE: prefaulting all of them before the fork took most of a start (2 s
 * under load) and held up a stop asked meanwhile. The node region is left to fault in as it is
 * used (most of it is capacity for streams and producers that may never come).
 */
static void supervisor_prefault(struct supervisor *s) {
    const struct node_shm *shm = &s->shm;
    uint64_t off = s->prefault_offset;
    strom_assert(off != UINT64_MAX && s->phase == SUP_RUNNING);
    strom_err err = STROM_OK;
    for (uint32_t r = 0; !err && r <= s->config.gateways; r++) {
        char *region = r == 0 ? shm->log_region : shm->request_regions[r - 1];
        uint64_t bytes = r == 0 ? shm->log_bytes : shm->request_bytes;
        if (off < bytes) {
            uint64_t left = bytes - off;
            err = io_shm_prefault(s->io, region + off,
                                  left < NODE_PREFAULT_CHUNK_BYTES ? left
                                                                   : NODE_PREFAULT_CHUNK_BYTES);
        }
    }
    off += NODE_PREFAULT_CHUNK_BYTES;
    uint64_t end = shm->log_bytes > shm->request_bytes ? shm->log_bytes : shm->request_bytes;
    s->prefault_offset = err != STROM_OK || off >= end ? UINT64_MAX : off;
}

/* One turn of the supervisor at monotonic time now_ns. */
static void supervisor_step(struct supervisor *s, uint64_t now_ns) {
    /* Both flags are taken (cleared) every turn, whichever was set. */
    bool term = io_signal_take(s->io, IO_SIGNAL_TERM);
    bool intr = io_signal_take(s->io, IO_SIGNAL_INT);
    bool stop_asked = term || intr;
    (void)io_signal_take(s->io, IO_SIGNAL_CHLD);
    if (stop_asked && s->phase < SUP_STOP_GATEWAYS) {
        stop_begin(s, now_ns, "signal");
    }
    reap_children(s, now_ns);
    if (s->phase < SUP_STOP_GATEWAYS) {
        restart_children(s, now_ns);
    }
    if (s->phase >= SUP_STOP_GATEWAYS && s->phase < SUP_DONE && now_ns >= s->stop_deadline_ns) {
        for (uint32_t i = 0; i < s->child_count; i++) {
            if (s->children[i].pid != 0) {
                log_child(s, &s->children[i], "killed", NULL, UINT64_MAX);
                (void)io_proc_kill(s->io, s->children[i].pid, IO_SIGNAL_KILL);
                s->stop_failed = true;
            }
        }
        s->stop_deadline_ns = UINT64_MAX; /* kill once; the reaping follows */
    }
    advance_phase(s, now_ns);
    if (s->phase == SUP_RUNNING && s->prefault_offset != UINT64_MAX) {
        supervisor_prefault(s);
    }
}

/* How long to sleep before the next turn: short while starting or stopping (it polls the
 * counters page), long while running (a signal, SIGCHLD included, ends the sleep early), but never
 * past a restart that is due. */
static uint64_t supervisor_sleep_ns(const struct supervisor *s, uint64_t now_ns) {
    uint64_t sleep = s->phase != SUP_RUNNING            ? NODE_STEP_NS
                     : s->prefault_offset != UINT64_MAX ? NODE_PREFAULT_STEP_NS
                                                        : NODE_IDLE_STEP_NS;
    for (uint32_t i = 0; i < s->child_count; i++) {
        const struct node_child *ch = &s->children[i];
        if (ch->pid == 0 && ch->restart_at_ns > now_ns && ch->restart_at_ns - now_ns < sleep) {
            sleep = ch->restart_at_ns - now_ns;
        }
    }
    return sleep;
}

static void supervisor_init(struct supervisor *s, struct io *io, const struct node_config *c) {
    memset(s, 0, sizeof *s);
    s->io = io;
    s->config = *c;
    for (uint32_t i = 0; i < c->commits; i++) {
        s->children[s->child_count++] = (struct node_child){.role = NODE_ROLE_COMMIT, .index = i};
    }
    s->children[s->child_count++] = (struct node_child){.role = NODE_ROLE_SEQUENCER, .index = 0};
    for (uint32_t g = 0; g < c->gateways; g++) {
        s->children[s->child_count++] = (struct node_child){.role = NODE_ROLE_GATEWAY, .index = g};
    }
    for (uint32_t i = 0; i < s->child_count; i++) {
        s->children[i].backoff_ns = NODE_BACKOFF_MIN_NS;
    }
    s->phase = SUP_START_COMMITS;
    strom_assert(s->child_count == 1 + c->commits + c->gateways);
}

static void log_start(struct supervisor *s) {
    const struct node_config *c = &s->config;
    struct node_log line;
    node_log_begin(&line, s->io, "strom.node.start", "supervisor");
    strom_ssim_write_str(&line.w, "data", c->data_dir);
    strom_ssim_write_str(&line.w, "host", c->listen.host);
    strom_ssim_write_u64(&line.w, "port", c->listen.port);
    strom_ssim_write_u64(&line.w, "gateways", c->gateways);
    strom_ssim_write_u64(&line.w, "commits", c->commits);
    strom_ssim_write_str(&line.w, "fsync", node_fsync_name(c->fsync));
    strom_ssim_write_bool(&line.w, "auto_create", c->auto_create);
    node_log_end(&line, s->io);
}

/* A start that cannot go on: what failed, the error, and what to do about it (fix). */
static void log_failure(struct io *io, const char *what, strom_err err, const char *fix) {
    struct node_log line;
    node_log_begin(&line, io, "strom.node.error", "supervisor");
    strom_ssim_write_str(&line.w, "what", what);
    strom_ssim_write_str(&line.w, "error", strom_errname(err));
    strom_ssim_write_str(&line.w, "text", strom_strerror(err));
    strom_ssim_write_str(&line.w, "fix", fix);
    node_log_end(&line, io);
}

/* Reads the whole small file at path into buf (NUL-terminated); *len_out its length. */
static strom_err read_small_file(struct io *io, const char *path, char *buf, size_t cap,
                                 size_t *len_out) {
    int fd = -1;
    strom_err err = io_file_open(io, path, IO_OPEN_READ, &fd);
    if (err) {
        return err;
    }
    size_t got = 0;
    err = io_file_pread(io, fd, buf, cap - 1, 0, &got);
    io_file_close(io, fd);
    buf[got] = 0;
    *len_out = got;
    return err;
}

/* Checks (or, on a new directory, writes) the facts a data directory must keep from one start
 * to the next: the number of commits decides which store holds a stream. */
static strom_err check_dir_meta(struct supervisor *s, const char *path) {
    struct io *io = s->io;
    char text[512];
    size_t len = 0;
    strom_err err = read_small_file(io, path, text, sizeof text, &len);
    if (err == STROM_ERR_NOT_FOUND) {
        struct strom_ssim_writer w;
        strom_ssim_writer_init(&w, text, sizeof text);
        strom_ssim_write_type(&w, "strom.node_meta");
        strom_ssim_write_u64(&w, "version", 1);
        strom_ssim_write_u64(&w, "commits", s->config.commits);
        err = strom_ssim_writer_end(&w);
        int fd = -1;
        if (!err) {
            err = io_file_open(io, path, IO_OPEN_WRITE | IO_OPEN_CREATE, &fd);
        }
        if (!err) {
            err = io_file_pwrite(io, fd, text, w.bytes_used, 0);
            err = err ? err : io_file_datasync(io, fd);
            io_file_close(io, fd);
        }
        return err ? err : io_dir_sync(io, s->config.data_dir);
    }
    static struct strom_ssim_record rec;
    char scratch[512];
    uint64_t commits = 0;
    if (!err) {
        err = strom_ssim_parse(&rec, text, len && text[len - 1] == '\n' ? len - 1 : len, scratch,
                               sizeof scratch, NULL);
    }
    if (!err) {
        err = strom_ssim_get_u64(&rec, "commits", &commits, NULL);
    }
    if (err) {
        log_failure(io, "data directory meta file unreadable", err,
                    "restore strom.node of the data directory (ssim: strom.node  commits:N)");
        return err;
    }
    if (commits != s->config.commits) {
        struct node_log line;
        node_log_begin(&line, io, "strom.node.error", "supervisor");
        strom_ssim_write_str(&line.w, "what", "data directory made with another --commits");
        strom_ssim_write_u64(&line.w, "commits", commits);
        strom_ssim_write_str(&line.w, "fix", "start the node with that --commits");
        node_log_end(&line, io);
        return STROM_ERR_INVALID_ARGUMENT;
    }
    return STROM_OK;
}

/* Creates the data directory, locks it against a second node, checks its meta file. */
static strom_err claim_dir(struct supervisor *s) {
    struct io *io = s->io;
    char path[NODE_DIR_BYTES_MAX + 32];
    strom_err err = io_dir_create(io, s->config.data_dir);
    if (err) {
        log_failure(io, "data directory", err, "pass a --data DIR that can be created and written");
        return err;
    }
    snprintf(path, sizeof path, "%s/strom.lock", s->config.data_dir);
    err = io_file_open(io, path, IO_OPEN_WRITE | IO_OPEN_CREATE, &s->lock_fd);
    if (!err) {
        err = io_file_lock(io, s->lock_fd);
    }
    if (err) {
        bool taken = err == STROM_ERR_EXISTS;
        log_failure(io, taken ? "another node runs on this data directory" : "data directory lock",
                    err,
                    taken ? "stop that node, or pass another --data DIR"
                          : "check that strom.lock in the data directory can be written");
        return err;
    }
    snprintf(path, sizeof path, "%s/strom.node", s->config.data_dir);
    return check_dir_meta(s, path);
}

/* A SIGTERM or SIGINT taken before any child runs (during a long start step, such as faulting
 * in the shared memory under load): the node stops at once, cleanly, and no child is started. */
static bool stop_before_children(struct supervisor *s) {
    bool term = io_signal_take(s->io, IO_SIGNAL_TERM);
    bool intr = io_signal_take(s->io, IO_SIGNAL_INT);
    if (term || intr) {
        struct node_log line;
        node_log_begin(&line, s->io, "strom.node.stopping", "supervisor");
        strom_ssim_write_str(&line.w, "reason", "signal before start");
        node_log_end(&line, s->io);
        node_log_begin(&line, s->io, "strom.node.stopped", "supervisor");
        strom_ssim_write_bool(&line.w, "clean", true);
        node_log_end(&line, s->io);
    }
    return term || intr;
}

int supervisor_run(struct io *io, const struct node_config *c) {
    static struct supervisor s; /* one per process; too large for the stack of a small thread */
    supervisor_init(&s, io, c);
    io_signal_catch(io, IO_SIGNAL_TERM);
    io_signal_catch(io, IO_SIGNAL_INT);
    io_signal_catch(io, IO_SIGNAL_CHLD);
    io_signal_ignore(io, IO_SIGNAL_PIPE);
    log_start(&s);
    strom_err err = claim_dir(&s);
    if (err) {
        return 1;
    }
    /* The port must be free: with SO_REUSEPORT the gateways would otherwise join another
     * node's listeners. Port 0 picks a free port for every gateway. */
    uint16_t port = 0;
    err = io_tcp_probe(io, s.config.listen.host, s.config.listen.port, &port);
    if (err) {
        bool taken = err == STROM_ERR_EXISTS;
        log_failure(io, taken ? "listen port in use" : "listen address", err,
                    taken ? "stop what listens there, or pass another --listen HOST:PORT"
                          : "pass a --listen HOST:PORT of this machine");
        return 1;
    }
    s.config.listen.port = port;
    if (s.config.kafka.enabled) {
        err = io_tcp_probe(io, s.config.kafka.host, s.config.kafka.port, &port);
        if (err) {
            bool taken = err == STROM_ERR_EXISTS;
            log_failure(io, taken ? "kafka port in use" : "kafka address", err,
                        taken ? "stop what listens there, or pass another --kafka HOST:PORT or off"
                              : "pass a --kafka HOST:PORT of this machine, or off");
            return 1;
        }
        s.config.kafka.port = port;
    }
    if (stop_before_children(&s)) {
        return 0;
    }
    err = node_shm_create(&s.shm, io, &s.config);
    if (err) {
        log_failure(io, "shared memory", err,
                    "give the node more memory, or smaller --log-bytes and --request-bytes");
        return 1;
    }
    if (stop_before_children(&s)) {
        return 0; /* the regions go with the process */
    }
    s.shm.header->supervisor.pid = (uint64_t)io_proc_id(io);
    s.shm.header->supervisor.started_ns = io_clock_realtime_ns(io);
    role_fork(&s, NODE_ROLE_COMMIT, io_clock_monotonic_ns(io));
    while (s.phase != SUP_DONE) {
        io_sleep_ns(io, supervisor_sleep_ns(&s, io_clock_monotonic_ns(io)));
        supervisor_step(&s, io_clock_monotonic_ns(io));
    }
    struct node_log line;
    node_log_begin(&line, io, "strom.node.stopped", "supervisor");
    strom_ssim_write_bool(&line.w, "clean", !s.stop_failed);
    node_log_end(&line, io);
    return s.stop_failed ? 1 : 0;
}
