/*
 * client_common.h: what the client subcommands of strom (append, read, streams, create, stat,
 * demo) share: the --server option, opening a client with an error message that says what to do,
 * and number parsing for options.
 */
#ifndef STROM_CLI_CLIENT_COMMON_H
#define STROM_CLI_CLIENT_COMMON_H

#include <stdbool.h>
#include <stdint.h>

#include "strom.h"

/* Exit codes of every subcommand (cli.h). */
enum { CLI_EXIT_OK = 0, CLI_EXIT_ERROR = 1, CLI_EXIT_USAGE = 2 };

/*
 * Opens a client to server (NULL: the default) for the subcommand cmd ("append"). On failure
 * prints to stderr what went wrong and what to do, and returns NULL.
 */
strom_client *cli_client_open(const char *cmd, const char *server);

/* Parses a decimal u64 option value; false (after a message on stderr naming cmd and option)
 * when it is not one. */
bool cli_parse_u64(const char *cmd, const char *option, const char *text, uint64_t *out);

/* Parses --ack: "1" (nodes) -> 1; false after a message when out of 1..255. */
bool cli_parse_ack(const char *cmd, const char *text, uint32_t *out);

/* Checks a stream path argument; false after a message on stderr saying what a path may hold. */
bool cli_check_path(const char *cmd, const char *path);

/* Prints "strom CMD: WHAT: ERROR TEXT" and a hint for the error on stderr. */
void cli_report(const char *cmd, const char *what, strom_err err);

#endif
