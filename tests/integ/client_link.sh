#!/usr/bin/env bash
# client_link.sh: a program outside the tree builds with the compile and link line that
# include/strom.h and docs/client.md give (the libraries taken from strom.h's comment, so that the
# documented line is the one tested), and appends, reads back and pings through libstrom against a
# real node, driving the asynchronous appends with its own poll loop.
source "$(dirname "$0")/lib/client.sh"

libs=$(sed -n 's/.*build\/libstrom\.a (and \(-l[-a-z0-9 ]*\),.*/\1/p' include/strom.h)
[ -n "$libs" ] || fail "include/strom.h does not say which libraries to link"
grep -q -- "(plus \`$libs\`" docs/client.md || fail "docs/client.md's link line is not '$libs'"
cat >"$work/prog.c" <<'PROG'
#include <poll.h>
#include <stdio.h>
#include <string.h>

#include "strom.h"

enum { PROG_MESSAGES = 5000 };

static int acked;
static int failed;

static void done(void *arg, const struct strom_append_result *r) {
    (void)arg;
    acked += r->err == STROM_OK;
    failed += r->err != STROM_OK;
}

static int read_count;

static void on_msg(void *arg, strom_sub *sub, const struct strom_msg *msg, strom_err end) {
    (void)arg;
    (void)sub;
    (void)end;
    read_count += msg != NULL;
}

int main(int argc, char **argv) {
    struct strom_options opt;
    strom_options_init(&opt);
    opt.server = argv[argc - 1];
    strom_client *c = NULL;
    if (strom_open(&opt, &c) != STROM_OK) {
        return 1;
    }
    int queued = 0;
    char text[32];
    while (queued < PROG_MESSAGES) {
        snprintf(text, sizeof text, "m%d", queued);
        struct strom_msg m = {.payload = text, .payload_bytes = (uint32_t)strlen(text)};
        strom_err err = strom_append_async(c, "/link/a", &m, 1, 1 | STROM_NO_SYNC, done, NULL);
        if (err == STROM_ERR_AGAIN) {
            struct pollfd p = {.fd = strom_fd(c), .events = strom_events(c)};
            (void)poll(&p, 1, 100);
            (void)strom_step(c, 0);
        } else if (err != STROM_OK) {
            return 1;
        } else {
            queued++;
        }
    }
    strom_err drained = strom_drain(c, 30000000000ull);
    struct strom_read_options ro;
    strom_read_options_init(&ro);
    ro.ack = 1 | STROM_NO_SYNC;
    strom_err read = strom_read(c, "/link/a", &ro, on_msg, NULL, NULL);
    strom_err ping = strom_ping(c, NULL);
    printf("prog  acked:%d  failed:%d  drain:%s  read:%d  read_end:%s  ping:%s\n", acked, failed,
           strom_errname(drained), read_count, strom_errname(read), strom_errname(ping));
    strom_close(c);
    return 0;
}
PROG
# shellcheck disable=SC2086 # $libs is a list of flags
${CC:-cc} -std=c17 -Wall -Wextra -Werror -Iinclude -Isrc -o "$work/prog" "$work/prog.c" \
  build/libstrom.a $libs 2>"$work/link.err" || fail "the documented line does not build: $(cat "$work/link.err")"

start_node
out=$("$work/prog" "127.0.0.1:$port") || fail "the program failed: $out"
[ "$out" = "prog  acked:5000  failed:0  drain:OK  read:5000  read_end:OK  ping:OK" ] ||
  fail "the program said: $out"
echo "client_link: ok"
