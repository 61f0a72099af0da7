/*
 * sim.c: the simulator's world (see sim.h): timers, the scheduler, fibers, processes, the trace.
 *
 * The scheduler is the only code that runs outside a fiber. It fires every timer that is due,
 * then resumes one runnable process picked with the world's rng, and repeats; when nothing is
 * due and nothing can run, time jumps to the next timer. A process runs until an io call blocks
 * (sim_block), ends, or crashes; then control returns here. Fibers are ucontext_t contexts on
 * stacks of their own (mmap'd with a guard page so that a role's stack overflow faults instead of
 * corrupting the heap); under AddressSanitizer every switch is announced to it.
 *
 * Invariants: at most one process is SIM_PROC_RUNNING, and then w->current is it; a BLOCKED
 * process is woken only by sim_wake or its deadline timer (matched by wait_gen); a DEAD process's
 * slot is freed once its exit has been reported.
 */
#include "sim/sim_internal.h"

#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "base/assert.h"

#if defined(__SANITIZE_ADDRESS__)
#define SIM_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SIM_ASAN 1
#endif
#endif

#ifdef SIM_ASAN
#include <sanitizer/common_interface_defs.h>
#define asan_start(save, bottom, size)  __sanitizer_start_switch_fiber(save, bottom, size)
#define asan_finish(save, bottom, size) __sanitizer_finish_switch_fiber(save, bottom, size)
#else
#define asan_start(save, bottom, size)  ((void)(save), (void)(bottom), (void)(size))
#define asan_finish(save, bottom, size) ((void)(save), (void)(bottom), (void)(size))
#endif

#define SIM_GUARD_BYTES 4096u

/* --- world ------------------------------------------------------------------------------------ */

strom_err sim_world_create(uint64_t seed, struct sim_world **out) {
    struct sim_world *w = calloc(1, sizeof *w);
    strom_err err = w ? STROM_OK : STROM_ERR_NO_MEMORY;
    if (!err) {
        w->heap = calloc(SIM_TIMERS_MAX, sizeof *w->heap);
        err = w->heap ? sim_net_init(w) : STROM_ERR_NO_MEMORY;
    }
    if (err) {
        if (w) {
            free(w->heap);
        }
        free(w);
        return err;
    }
    w->seed = seed;
    rng_init(&w->rng, seed);
    w->next_pid = 100;
    w->trace_hash = UINT64_C(0xcbf29ce484222325);
    w->latency = (struct sim_latency){.net_delay_min_ns = 10000, .net_delay_max_ns = 50000};
    *out = w;
    return STROM_OK;
}

static void proc_free_stack(struct sim_proc *p) {
    if (p->stack) {
        munmap((uint8_t *)p->stack - SIM_GUARD_BYTES, p->stack_bytes + SIM_GUARD_BYTES);
        p->stack = NULL;
    }
}

void sim_world_destroy(struct sim_world *w) {
    if (!w) {
        return;
    }
    for (uint32_t i = 0; i < SIM_PROCS_MAX; i++) {
        proc_free_stack(&w->procs[i]);
    }
    for (uint32_t n = 0; n < w->node_count; n++) {
        sim_node_regions_free(&w->nodes[n]);
    }
    sim_net_free(w);
    free(w->heap);
    free(w);
}

struct rng *sim_rng(struct sim_world *w) {
    return &w->rng;
}

uint64_t sim_now_ns(const struct sim_world *w) {
    return w->now_ns;
}

void sim_set_latency(struct sim_world *w, const struct sim_latency *lat) {
    strom_assert(lat->net_delay_min_ns <= lat->net_delay_max_ns);
    strom_assert(lat->disk_sync_ns_min <= lat->disk_sync_ns_max);
    w->latency = *lat;
}

void sim_set_exit_callback(struct sim_world *w, sim_exit_fn fn, void *arg) {
    w->on_exit = fn;
    w->on_exit_arg = arg;
}

void sim_get_stats(const struct sim_world *w, struct sim_stats *out) {
    *out = w->stats;
}

const char *sim_spin_name(const struct sim_world *w) {
    return w->spin_name;
}

void sim_set_verbose(struct sim_world *w, bool verbose, bool trace_echo) {
    w->verbose = verbose;
    w->trace_echo = trace_echo;
}

void sim_stop(struct sim_world *w) {
    w->stopped = true;
}

bool sim_stopped(const struct sim_world *w) {
    return w->stopped;
}

struct sim_proc *sim_current(struct sim_world *w) {
    return w->current;
}

/* --- timers: a binary min-heap on (at_ns, seq) --------------------------------------------- */

static bool timer_before(const struct sim_timer *a, const struct sim_timer *b) {
    return a->at_ns < b->at_ns || (a->at_ns == b->at_ns && a->seq < b->seq);
}

void sim_timer_at(struct sim_world *w, uint64_t at_ns, sim_timer_fn fn, void *arg, uint64_t data) {
    strom_assert(w->heap_count < SIM_TIMERS_MAX);
    strom_assert(fn != NULL);
    struct sim_timer t = {.at_ns = at_ns < w->now_ns ? w->now_ns : at_ns,
                          .seq = w->timer_seq++,
                          .fn = fn,
                          .arg = arg,
                          .data = data};
    uint32_t i = w->heap_count++;
    while (i > 0) {
        uint32_t parent = (i - 1) / 2;
        if (!timer_before(&t, &w->heap[parent])) {
            break;
        }
        w->heap[i] = w->heap[parent];
        i = parent;
    }
    w->heap[i] = t;
}

static struct sim_timer timer_pop(struct sim_world *w) {
    strom_assert(w->heap_count > 0);
    struct sim_timer top = w->heap[0];
    struct sim_timer last = w->heap[--w->heap_count];
    uint32_t i = 0;
    for (;;) {
        uint32_t child = 2 * i + 1;
        if (child >= w->heap_count) {
            break;
        }
        if (child + 1 < w->heap_count && timer_before(&w->heap[child + 1], &w->heap[child])) {
            child++;
        }
        if (!timer_before(&w->heap[child], &last)) {
            break;
        }
        w->heap[i] = w->heap[child];
        i = child;
    }
    if (w->heap_count > 0) {
        w->heap[i] = last;
    }
    return top;
}

/* --- trace ------------------------------------------------------------------------------------ */

static uint64_t mix(uint64_t h, uint64_t x) {
    h ^= x + UINT64_C(0x9e3779b97f4a7c15) + (h << 6) + (h >> 2);
    h *= UINT64_C(0x100000001b3);
    return h ^ (h >> 29);
}

static uint64_t mix_text(uint64_t h, const char *text, size_t len) {
    for (size_t i = 0; i < len; i++) {
        h = (h ^ (uint8_t)text[i]) * UINT64_C(0x100000001b3);
    }
    return h;
}

void sim_trace(struct sim_world *w, const char *what, uint64_t a, uint64_t b, uint64_t c) {
    int32_t pid = w->current ? w->current->pid : 0;
    uint64_t h = mix_text(w->trace_hash, what, strlen(what));
    h = mix(mix(mix(mix(mix(h, w->now_ns), (uint64_t)pid), a), b), c);
    w->trace_hash = h;
    w->trace[w->trace_count % SIM_TRACE_KEEP] = (struct sim_trace_event){
        .now_ns = w->now_ns, .what = what, .a = a, .b = b, .c = c, .pid = pid};
    w->trace_count++;
    if (w->trace_echo) {
        fprintf(stderr, "%llu.%06llu ms pid:%d %s %llu %llu %llu\n",
                (unsigned long long)(w->now_ns / 1000000u),
                (unsigned long long)(w->now_ns % 1000000u), pid, what, (unsigned long long)a,
                (unsigned long long)b, (unsigned long long)c);
    }
}

uint64_t sim_trace_hash(const struct sim_world *w) {
    return w->trace_hash;
}

uint64_t sim_trace_count(const struct sim_world *w) {
    return w->trace_count;
}

void sim_log_line(struct sim_world *w, const struct sim_proc *p, const char *text, size_t len) {
    while (len > 0 && text[len - 1] == '\n') {
        len--;
    }
    char *slot = w->log[w->log_count % SIM_LOG_KEEP];
    int n = snprintf(slot, SIM_LOG_LINE_BYTES, "%llu.%06llu ms %s: %.*s",
                     (unsigned long long)(w->now_ns / 1000000u),
                     (unsigned long long)(w->now_ns % 1000000u), p->name, (int)len, text);
    (void)n;
    w->log_count++;
    w->trace_hash = mix_text(mix(w->trace_hash, w->now_ns), text, len);
    if (w->verbose) {
        fprintf(stderr, "%s\n", slot);
    }
}

void sim_trace_dump(const struct sim_world *w, void *file) {
    FILE *f = file;
    uint64_t first = w->trace_count > SIM_TRACE_KEEP ? w->trace_count - SIM_TRACE_KEEP : 0;
    fprintf(f, "sim.trace  events:%llu  shown:%llu  hash:%016llx\n",
            (unsigned long long)w->trace_count, (unsigned long long)(w->trace_count - first),
            (unsigned long long)w->trace_hash);
    for (uint64_t i = first; i < w->trace_count; i++) {
        const struct sim_trace_event *e = &w->trace[i % SIM_TRACE_KEEP];
        fprintf(f, "  %llu.%06llu ms pid:%d %s %llu %llu %llu\n",
                (unsigned long long)(e->now_ns / 1000000u),
                (unsigned long long)(e->now_ns % 1000000u), e->pid, e->what,
                (unsigned long long)e->a, (unsigned long long)e->b, (unsigned long long)e->c);
    }
    uint64_t lfirst = w->log_count > SIM_LOG_KEEP ? w->log_count - SIM_LOG_KEEP : 0;
    fprintf(f, "sim.log  lines:%llu  shown:%llu\n", (unsigned long long)w->log_count,
            (unsigned long long)(w->log_count - lfirst));
    for (uint64_t i = lfirst; i < w->log_count; i++) {
        fprintf(f, "  %s\n", w->log[i % SIM_LOG_KEEP]);
    }
}

/* --- fibers ----------------------------------------------------------------------------------- */

/*
 * Switching. A fiber starts through makecontext/swapcontext; after that, without
 * AddressSanitizer, switches go through _setjmp/_longjmp, which do not save the signal mask:
 * swapcontext makes a sigprocmask system call at every switch, and switches are the simulator's
 * most frequent operation. Under AddressSanitizer every switch uses ucontext and is announced.
 */
#ifdef SIM_ASAN
#define SIM_FAST_SWITCH 0
#else
#define SIM_FAST_SWITCH 1
#endif

/* Switches from the running process p back to the scheduler; returns when p is resumed. A dying
 * process passes dying: it is never resumed. */
static void fiber_yield(struct sim_world *w, struct sim_proc *p, bool dying) {
    asan_start(dying ? NULL : &p->asan_fake_stack, w->sched_stack_bottom, w->sched_stack_bytes);
    if (SIM_FAST_SWITCH) {
        if (dying || _setjmp(p->jb) == 0) {
            _longjmp(w->sched_jb, 1);
        }
        return;
    }
    if (dying) {
        setcontext(&w->sched_ctx);
        strom_unreachable();
    }
    int rc = swapcontext(&p->ctx, &w->sched_ctx);
    strom_assert(rc == 0);
    asan_finish(p->asan_fake_stack, &w->sched_stack_bottom, &w->sched_stack_bytes);
}

static void fiber_entry(unsigned hi, unsigned lo) {
    struct sim_proc *p = (struct sim_proc *)(((uintptr_t)hi << 32) | (uintptr_t)lo);
    struct sim_world *w = p->world;
    asan_finish(NULL, &w->sched_stack_bottom, &w->sched_stack_bytes);
    int code = p->main(&p->io, p->arg);
    sim_proc_end(w, p, false, code);
}

static void exit_report(struct sim_world *w, void *arg, uint64_t data) {
    struct sim_proc *p = arg;
    strom_assert(p->state == SIM_PROC_DEAD);
    if (w->on_exit) {
        w->on_exit(w, w->on_exit_arg, p, (data >> 32) != 0, (int)(int32_t)(uint32_t)data);
    }
    proc_free_stack(p);
    p->state = SIM_PROC_FREE;
}

static void sched_resume(struct sim_world *w, struct sim_proc *p) {
    strom_assert(p->state == SIM_PROC_RUNNABLE && w->current == NULL);
    p->state = SIM_PROC_RUNNING;
    p->calls_in_slice = 0;
    w->current = p;
    w->stats.switches++;
    asan_start(&w->sched_fake_stack, p->stack, p->stack_bytes);
    if (SIM_FAST_SWITCH) {
        if (_setjmp(w->sched_jb) == 0) {
            if (p->started) {
                _longjmp(p->jb, 1);
            }
            p->started = true;
            swapcontext(&w->sched_ctx, &p->ctx); /* the first entry; it returns by _longjmp */
        }
    } else {
        int rc = swapcontext(&w->sched_ctx, &p->ctx);
        strom_assert(rc == 0);
    }
    asan_finish(w->sched_fake_stack, NULL, NULL);
    w->current = NULL;
    if (w->dead_pending) {
        proc_free_stack(w->dead_pending);
        w->dead_pending = NULL;
    }
}

/* --- blocking and waking -------------------------------------------------------------------- */

static void deadline_fire(struct sim_world *w, void *arg, uint64_t gen) {
    struct sim_proc *p = arg;
    if (p->state == SIM_PROC_BLOCKED && p->wait_gen == gen) {
        p->timed_out = true;
        p->state = SIM_PROC_RUNNABLE;
        p->wait = SIM_WAIT_NONE;
        p->wait_gen++;
    }
    (void)w;
}

bool sim_block(struct sim_world *w, struct sim_proc *p, uint64_t deadline_ns) {
    strom_assert(p == w->current && p->state == SIM_PROC_RUNNING);
    strom_assert(deadline_ns > w->now_ns || deadline_ns == UINT64_MAX || p->wait == SIM_WAIT_SLEEP);
    p->state = SIM_PROC_BLOCKED;
    p->timed_out = false;
    p->wait_gen++;
    if (!p->preempting) {
        p->spin_since_ns = 0; /* it waits for something: not a spin */
    }
    if (deadline_ns != UINT64_MAX) {
        sim_timer_at(w, deadline_ns, deadline_fire, p, p->wait_gen);
    }
    fiber_yield(w, p, false);
    strom_assert(p->state == SIM_PROC_RUNNING);
    return !p->timed_out;
}

void sim_wake(struct sim_world *w, struct sim_proc *p) {
    if (p->state != SIM_PROC_BLOCKED) {
        return;
    }
    p->state = SIM_PROC_RUNNABLE;
    p->wait = SIM_WAIT_NONE;
    p->timed_out = false;
    p->wait_gen++;
    (void)w;
}

/* --- processes -------------------------------------------------------------------------------- */

static struct sim_proc *proc_slot(struct sim_world *w) {
    for (uint32_t i = 0; i < SIM_PROCS_MAX; i++) {
        if (w->procs[i].state == SIM_PROC_FREE) {
            w->proc_hi = i + 1 > w->proc_hi ? i + 1 : w->proc_hi;
            return &w->procs[i];
        }
    }
    strom_assert(!"SIM_PROCS_MAX processes");
    return NULL;
}

static void proc_fill(struct sim_world *w, struct sim_proc *p, uint32_t node, const char *name) {
    uint32_t index = (uint32_t)(p - w->procs);
    memset(p, 0, sizeof *p);
    p->world = w;
    p->index = index;
    p->pid = w->next_pid++;
    p->node = node;
    p->wait_fd = -1;
    snprintf(p->name, sizeof p->name, "%s", name);
    sim_proc_io_init(p);
}

struct sim_proc *sim_proc_spawn(struct sim_world *w, uint32_t node, const char *name,
                                sim_proc_main main, void *arg) {
    strom_assert(node < w->node_count && main != NULL);
    struct sim_proc *p = proc_slot(w);
    proc_fill(w, p, node, name);
    p->main = main;
    p->arg = arg;
    p->stack_bytes = SIM_STACK_BYTES;
    uint8_t *map = mmap(NULL, SIM_STACK_BYTES + SIM_GUARD_BYTES, PROT_READ | PROT_WRITE,
                        MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    strom_assert(map != MAP_FAILED);
    int rc = mprotect(map, SIM_GUARD_BYTES, PROT_NONE);
    strom_assert(rc == 0);
    p->stack = map + SIM_GUARD_BYTES;
    rc = getcontext(&p->ctx);
    strom_assert(rc == 0);
    p->ctx.uc_stack.ss_sp = p->stack;
    p->ctx.uc_stack.ss_size = p->stack_bytes;
    p->ctx.uc_link = NULL;
    uintptr_t bits = (uintptr_t)p;
    makecontext(&p->ctx, (void (*)(void))fiber_entry, 2, (unsigned)(bits >> 32),
                (unsigned)(bits & 0xffffffffu));
    p->state = SIM_PROC_RUNNABLE;
    sim_trace(w, "proc.spawn", (uint64_t)p->pid, node, 0);
    return p;
}

void sim_proc_end(struct sim_world *w, struct sim_proc *p, bool crashed, int code) {
    strom_assert(p->state != SIM_PROC_FREE && p->state != SIM_PROC_DEAD);
    strom_assert(p->state != SIM_PROC_SUPERVISOR);
    bool self = p == w->current;
    sim_trace(w, crashed ? "proc.crash" : "proc.exit", (uint64_t)p->pid, (uint64_t)(int64_t)code,
              0);
    sim_proc_files_close(p);
    sim_net_close_owned(w, p->node, (int32_t)p->index);
    p->state = SIM_PROC_DEAD;
    p->wait = SIM_WAIT_NONE;
    p->wait_gen++;
    if (crashed) {
        w->stats.crashes++;
    }
    sim_timer_at(w, w->now_ns, exit_report, p, ((uint64_t)crashed << 32) | (uint32_t)(int32_t)code);
    if (self) {
        w->dead_pending = p;
        fiber_yield(w, p, true);
    }
}

void sim_proc_kill(struct sim_world *w, struct sim_proc *p) {
    strom_assert(p != w->current);
    if (sim_proc_alive(p)) {
        sim_proc_end(w, p, true, 0);
        proc_free_stack(p);
    }
}

void sim_proc_crash_after_calls(struct sim_proc *p, uint64_t calls) {
    strom_assert(calls > 0);
    p->crash_after_calls = calls;
}

void sim_proc_signal(struct sim_world *w, struct sim_proc *p, enum io_signal sig) {
    strom_assert(sig >= 0 && sig < IO_SIGNAL_COUNT_);
    uint32_t bit = 1u << sig;
    if (!sim_proc_alive(p)) {
        return;
    }
    sim_trace(w, "proc.signal", (uint64_t)p->pid, (uint64_t)sig, 0);
    if (sig != IO_SIGNAL_KILL && (p->signals_caught & bit)) {
        p->signals |= bit;
        sim_wake(w, p);
        return;
    }
    /* Not caught: ignored, or the default action (CHLD and PIPE ignore; the others end it). */
    bool ignore = sig != IO_SIGNAL_KILL &&
                  ((p->signals_ignored & bit) || sig == IO_SIGNAL_CHLD || sig == IO_SIGNAL_PIPE);
    if (ignore) {
        return;
    }
    if (p == w->current) {
        sim_proc_end(w, p, true, 0);
    } else {
        sim_proc_kill(w, p);
    }
}

bool sim_proc_alive(const struct sim_proc *p) {
    return p->state == SIM_PROC_RUNNABLE || p->state == SIM_PROC_RUNNING ||
           p->state == SIM_PROC_BLOCKED;
}

const char *sim_proc_name(const struct sim_proc *p) {
    return p->name;
}

int32_t sim_proc_pid(const struct sim_proc *p) {
    return p->pid;
}

struct io *sim_proc_io(struct sim_proc *p) {
    return &p->io;
}

/* --- nodes ------------------------------------------------------------------------------------ */

uint32_t sim_node_add(struct sim_world *w, const struct io *disk) {
    strom_assert(w->node_count < SIM_NODES_MAX);
    uint32_t n = w->node_count++;
    struct sim_node *node = &w->nodes[n];
    memset(node, 0, sizeof *node);
    node->used = true;
    if (disk) {
        node->disk = *disk;
    }
    struct sim_proc *super = proc_slot(w);
    char name[SIM_NAME_BYTES];
    snprintf(name, sizeof name, "node%u", n);
    proc_fill(w, super, n, name);
    super->state = SIM_PROC_SUPERVISOR;
    node->super = super;
    return n;
}

struct io *sim_node_io(struct sim_world *w, uint32_t node) {
    strom_assert(node < w->node_count);
    return &w->nodes[node].super->io;
}

void sim_node_crash(struct sim_world *w, uint32_t node) {
    strom_assert(node < w->node_count && w->current == NULL);
    sim_trace(w, "node.crash", node, 0, 0);
    w->stats.node_crashes++;
    for (uint32_t i = 0; i < SIM_PROCS_MAX; i++) {
        struct sim_proc *p = &w->procs[i];
        if (p->node == node && sim_proc_alive(p)) {
            sim_proc_kill(w, p);
        }
    }
    sim_net_close_owned(w, node, -2);
    sim_node_regions_free(&w->nodes[node]);
}

/* --- the scheduler ---------------------------------------------------------------------------- */

/* Picks a runnable process at random; NULL when none is. */
static struct sim_proc *pick_runnable(struct sim_world *w) {
    uint32_t idx[SIM_PROCS_MAX];
    uint32_t n = 0;
    for (uint32_t i = 0; i < w->proc_hi; i++) {
        if (w->procs[i].state == SIM_PROC_RUNNABLE) {
            idx[n++] = i;
        }
    }
    return n == 0 ? NULL : &w->procs[idx[n == 1 ? 0 : rng_below(&w->rng, n)]];
}

void sim_run(struct sim_world *w, uint64_t until_ns) {
    strom_assert(w->current == NULL);
    w->stopped = false;
    while (!w->stopped) {
        if (w->heap_count > 0 && w->heap[0].at_ns <= w->now_ns) {
            struct sim_timer t = timer_pop(w);
            w->stats.timers++;
            t.fn(w, t.arg, t.data);
            continue;
        }
        struct sim_proc *p = pick_runnable(w);
        if (p) {
            sched_resume(w, p);
            continue;
        }
        if (w->heap_count == 0 || w->heap[0].at_ns > until_ns) {
            w->now_ns = w->now_ns > until_ns ? w->now_ns : until_ns;
            break;
        }
        w->now_ns = w->heap[0].at_ns;
    }
}
