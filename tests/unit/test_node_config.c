/* test_node_config.c: `strom node` configuration: defaults, flags, the ssim file, checks. */
#include <criterion/criterion.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "io/io.h"
#include "node/config.h"

static struct io io;
static struct node_config c;
static char msg[NODE_ERROR_BYTES_MAX];

static void setup(void) {
    io_linux_init(&io);
    node_config_defaults(&c);
    msg[0] = 0;
}

TestSuite(node_config, .init = setup);

static strom_err args(int argc, const char **argv) {
    return node_config_from_args(&c, &io, argc, (char **)argv, msg, sizeof msg);
}

Test(node_config, defaults_are_the_documented_ones) {
    cr_assert_str_eq(c.data_dir, "./strom-data");
    cr_assert_str_eq(c.listen.host, "127.0.0.1");
    cr_assert_eq(c.listen.port, 7420);
    cr_assert(c.kafka.enabled);
    cr_assert_eq(c.kafka.port, 9092);
    cr_assert_eq(c.gateways, 1);
    cr_assert_eq(c.commits, 1);
    cr_assert_eq(c.fsync, NODE_FSYNC_ALWAYS);
    cr_assert(c.auto_create);
    cr_assert_eq(c.idempotence_window, 5);
    cr_assert_eq(c.frame_bytes_max, 16u << 20);
    cr_assert_eq(node_config_check(&c, msg, sizeof msg), STROM_OK, "%s", msg);
}

Test(node_config, flags_override_defaults) {
    const char *argv[] = {"node",          "--data",   "/tmp/x",      "--listen=[::1]:9000",
                          "--gateways",    "3",        "--commits",   "2",
                          "--fsync",       "interval", "--fsync-us",  "250",
                          "--fsync-bytes", "64K",      "--kafka",     "127.0.0.1:9092",
                          "--auto-create", "false",    "--log-bytes", "300M"};
    cr_assert_eq(args(sizeof argv / sizeof argv[0], argv), STROM_OK, "%s", msg);
    cr_assert_str_eq(c.data_dir, "/tmp/x");
    cr_assert_str_eq(c.listen.host, "::1");
    cr_assert_eq(c.listen.port, 9000);
    cr_assert_eq(c.gateways, 3);
    cr_assert_eq(c.commits, 2);
    cr_assert_eq(c.fsync, NODE_FSYNC_INTERVAL);
    cr_assert_eq(c.fsync_us, 250);
    cr_assert_eq(c.fsync_bytes, 65536);
    cr_assert(c.kafka.enabled);
    cr_assert_eq(c.kafka.port, 9092);
    cr_assert(!c.auto_create);
    cr_assert_eq(node_config_check(&c, msg, sizeof msg), STROM_OK, "%s", msg);
    cr_assert_eq(c.log_bytes, 512u << 20, "ring sizes round up to a power of two");
}

Test(node_config, bad_flags_say_what_is_wrong) {
    const char *a1[] = {"node", "--gateways", "17"};
    cr_assert_eq(args(3, a1), STROM_ERR_INVALID_ARGUMENT);
    cr_assert(strstr(msg, "--gateways") != NULL, "%s", msg);
    const char *a2[] = {"node", "--fsync", "sometimes"};
    cr_assert_eq(args(3, a2), STROM_ERR_INVALID_ARGUMENT);
    cr_assert(strstr(msg, "sometimes") != NULL, "%s", msg);
    const char *a3[] = {"node", "--listen", "localhost"};
    cr_assert_eq(args(3, a3), STROM_ERR_INVALID_ARGUMENT);
    const char *a4[] = {"node", "--listen", "127.0.0.1:70000"};
    cr_assert_eq(args(3, a4), STROM_ERR_INVALID_ARGUMENT);
    const char *a5[] = {"node", "--no-such-flag", "1"};
    cr_assert_eq(args(3, a5), STROM_ERR_INVALID_ARGUMENT);
    cr_assert(strstr(msg, "--no-such-flag") != NULL, "%s", msg);
    const char *a6[] = {"node", "--commits"};
    cr_assert_eq(args(2, a6), STROM_ERR_INVALID_ARGUMENT);
    const char *a7[] = {"node", "stray"};
    cr_assert_eq(args(2, a7), STROM_ERR_INVALID_ARGUMENT);
    const char *a8[] = {"node", "--fsync-bytes", "99999999999999999999G"};
    cr_assert_eq(args(3, a8), STROM_ERR_INVALID_ARGUMENT);
}

Test(node_config, rings_must_hold_the_largest_frame) {
    c.log_bytes = 16u << 20;
    cr_assert_eq(node_config_check(&c, msg, sizeof msg), STROM_ERR_INVALID_ARGUMENT);
    cr_assert(strstr(msg, "--log-bytes") != NULL, "%s", msg);
    c.frame_bytes_max = 1u << 20;
    cr_assert_eq(node_config_check(&c, msg, sizeof msg), STROM_OK, "%s", msg);
}

Test(node_config, a_file_then_flags) {
    char path[] = "/tmp/strom-config-XXXXXX";
    int fd = mkstemp(path);
    cr_assert(fd >= 0);
    const char text[] = "# a node\n"
                        "strom.node  data:/srv/strom  gateways:4  fsync:never\n"
                        "strom.node  listen:0.0.0.0:7500  idempotence_window:9\n";
    cr_assert_eq(write(fd, text, sizeof text - 1), (ssize_t)(sizeof text - 1));
    close(fd);
    const char *argv[] = {"node", "--gateways", "2", "--config", path};
    cr_assert_eq(args(5, argv), STROM_OK, "%s", msg);
    unlink(path);
    cr_assert_str_eq(c.data_dir, "/srv/strom");
    cr_assert_eq(c.gateways, 2, "a flag beats the file, wherever it stands");
    cr_assert_eq(c.fsync, NODE_FSYNC_NEVER);
    cr_assert_eq(c.listen.port, 7500);
    cr_assert_eq(c.idempotence_window, 9);
}

Test(node_config, bad_files_name_the_line) {
    const char t1[] = "strom.node  gateways:2\nstrom.node  gateways:zero\n";
    cr_assert_eq(node_config_from_text(&c, t1, sizeof t1 - 1, msg, sizeof msg), STROM_ERR_PARSE);
    cr_assert(strstr(msg, "line 2") != NULL, "%s", msg);
    const char t2[] = "strom.other  x:1\n";
    cr_assert_eq(node_config_from_text(&c, t2, sizeof t2 - 1, msg, sizeof msg), STROM_ERR_PARSE);
    const char t3[] = "strom.node  colour:blue\n";
    cr_assert_eq(node_config_from_text(&c, t3, sizeof t3 - 1, msg, sizeof msg), STROM_ERR_PARSE);
    cr_assert(strstr(msg, "colour") != NULL, "%s", msg);
    const char t4[] = "strom.node  data:\"unterminated\n";
    cr_assert_eq(node_config_from_text(&c, t4, sizeof t4 - 1, msg, sizeof msg), STROM_ERR_PARSE);
    const char *argv[] = {"node", "--config", "/nonexistent/strom.conf"};
    cr_assert_eq(args(3, argv), STROM_ERR_NOT_FOUND);
    cr_assert(strstr(msg, "/nonexistent/strom.conf") != NULL, "%s", msg);
}

Test(node_config, endpoints) {
    struct node_endpoint e;
    cr_assert_eq(node_endpoint_parse("off", true, &e), STROM_OK);
    cr_assert(!e.enabled);
    cr_assert_eq(node_endpoint_parse("off", false, &e), STROM_ERR_INVALID_ARGUMENT);
    cr_assert_eq(node_endpoint_parse("10.0.0.1:1", false, &e), STROM_OK);
    cr_assert_str_eq(e.host, "10.0.0.1");
    cr_assert_eq(node_endpoint_parse(":80", false, &e), STROM_ERR_INVALID_ARGUMENT);
    cr_assert_eq(node_endpoint_parse("h:", false, &e), STROM_ERR_INVALID_ARGUMENT);
    cr_assert_eq(node_endpoint_parse("h:-1", false, &e), STROM_ERR_INVALID_ARGUMENT);
}

/* --pin-cpu (docs/node.md, "Latency", session 7): off unless given, a CPU number in range. */
Test(node_config, pin_cpu_is_off_unless_given) {
    cr_assert_eq(c.pin_cpu, NODE_PIN_CPU_OFF);
    const char *ok[] = {"node", "--pin-cpu", "1"};
    cr_assert_eq(args(3, ok), STROM_OK, "%s", msg);
    cr_assert_eq(c.pin_cpu, 1);
    const char *bad[] = {"node", "--pin-cpu", "1024"};
    cr_assert_eq(args(3, bad), STROM_ERR_INVALID_ARGUMENT);
    cr_assert(strstr(msg, "--pin-cpu") != NULL, "%s", msg);
}

/* The Linux io places the calling process (each test runs in a process of its own). */
Test(node_config, the_linux_io_pins_the_calling_process) {
    cr_assert_eq(io_proc_set_cpu(&io, 0), STROM_OK);
    cpu_set_t set;
    CPU_ZERO(&set);
    cr_assert_eq(sched_getaffinity(0, sizeof set, &set), 0);
    cr_assert_eq(CPU_COUNT(&set), 1);
    cr_assert(CPU_ISSET(0, &set));
    cr_assert_eq(io_proc_set_cpu(&io, NODE_PIN_CPU_MAX), STROM_ERR_INVALID_ARGUMENT,
                 "no machine here has 1,024 CPUs");
    cr_assert_eq(io_proc_set_cpu(&io, 1u << 20), STROM_ERR_INVALID_ARGUMENT);
}
