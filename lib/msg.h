/*
 * msg — messages to the user on stderr: errors, warnings, verbose traces, die().
 *
 * Contract:
 *  - errorf/warnf/verbosef/die write "PROG: message\n" to stderr, after redact_text(), so
 *    a secret registered with redact_add_secret() never reaches a terminal or a log.
 *  - msg sits above util and redact and calls only them; nothing below it prints.
 *  - warnf is silent with -q (opskit_quiet); verbosef(level) prints with at least level -v.
 */
#ifndef OPSKIT_MSG_H
#define OPSKIT_MSG_H

#include "util.h"

/* The program name comes from set_progname() (default "opskit"). */
extern int opskit_verbose; /* number of -v given */
extern int opskit_quiet;   /* -q given */
void set_progname(const char *name);
const char *get_progname(void);
void errorf(const char *fmt, ...) PRINTF_LIKE(1, 2);
void warnf(const char *fmt, ...) PRINTF_LIKE(1, 2);
void verbosef(int level, const char *fmt, ...) PRINTF_LIKE(2, 3);
_Noreturn void die(int exit_code, const char *fmt, ...) PRINTF_LIKE(2, 3);

#endif
