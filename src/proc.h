/*
 * What both daemons' mains share: command-line options, process setup
 * (signals, descriptor limit) and running the loop until SIGTERM/SIGINT.
 */
#ifndef RTUN_PROC_H
#define RTUN_PROC_H

#include <ev.h>

struct config_errors;

struct proc_opts {
	const char *config;   /* -c */
	int test;             /* -t: check the config and exit */
	int debug;            /* -d: debug logging */
};

/* Parse argv; prints usage or version and exits where the options ask for it. */
void proc_parse_args(int argc, char **argv, const char *default_config, const char *role,
    struct proc_opts *opts);
/* Print every config error and exit with CONFIG_EXIT_BAD. */
void proc_config_failed(struct config_errors *errs) __attribute__((noreturn));
/* Ignore SIGPIPE and raise the descriptor limit to its hard maximum. */
void proc_setup(void);
/* Run the loop until SIGTERM or SIGINT; returns the signal that stopped it. */
int proc_run(struct ev_loop *loop);

#endif
