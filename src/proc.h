/*
 * What both daemons' mains share: command-line options, process setup
 * (signals, descriptor limit) and running the loop until SIGTERM/SIGINT.
 */
#ifndef RTUN_PROC_H
#define RTUN_PROC_H

#include <ev.h>

#include "status-socket.h"

struct config_common;
struct config_errors;
struct metrics;
struct metrics_http;

struct proc_opts {
	const char *config;   /* -c */
	int test;             /* -t: check the config and exit */
	int debug;            /* -d: debug logging */
	int status;           /* "status": ask the running daemon instead of being one */
	int status_json;      /* status -j / --json */
	const char *status_socket;  /* status -s: the socket, instead of the config's */
};

/*
 * Parse argv ("[-dhtV] [-c file]" or "status [-j] [-c file | -s socket]"); prints usage
 * or version and exits where the options ask for it.
 */
void proc_parse_args(int argc, char **argv, const char *default_config, const char *role,
    struct proc_opts *opts);
/* Print every config error and exit with CONFIG_EXIT_BAD. */
void proc_config_failed(struct config_errors *errs) __attribute__((noreturn));
/* -t: say the config is good and exit 0. */
void proc_config_ok(const char *path) __attribute__((noreturn));
/* Log every config error (a refused reload), then what happens instead; frees errs. */
void proc_log_config_errors(struct config_errors *errs, const char *outcome);
/* Start logging, ignore SIGPIPE and raise the descriptor limit to its hard maximum. */
void proc_setup(const char *progname, int debug, const struct config_common *c);
/* Apply a (reloaded) config's log settings; -d stays in force. */
void proc_apply_logging(const struct config_common *c);
/* Serve m in *http if metrics_listen is set, else *http = NULL; -1 (logged) if it cannot. */
int proc_metrics_listen(struct metrics *m, struct ev_loop *loop, const struct config_common *c,
    struct metrics_http **http);
/*
 * "status": ask the daemon whose socket the options or config c name (c may be NULL with
 * -s), print its answer and exit.
 */
void proc_status_command(const struct proc_opts *opts, const struct config_common *c,
    const char *role) __attribute__((noreturn));
/*
 * Serve status reports made by fill on the config's status_socket (*ss NULL when it is
 * off, or the default cannot be made: logged); -1 (logged) if a socket the config names
 * cannot be made.
 */
int proc_status_listen(struct ev_loop *loop, const struct config_common *c, const char *role,
    status_fill_fn *fill, void *arg, struct status_socket **ss);
/* What the loop driver asks of a daemon. */
struct proc_hooks {
	void (*drain)(void *arg);     /* SIGTERM/SIGINT: stop accepting, let streams finish */
	int (*busy)(void *arg);       /* streams still open? */
	void (*reload)(void *arg);    /* SIGHUP */
	double (*drain_timeout)(void *arg);  /* current shutdown_timeout */
	void *arg;
};

/*
 * Run the loop. SIGHUP calls reload; the first SIGTERM or SIGINT calls drain
 * and ends the loop once nothing is busy or the drain timeout passed; a second
 * one ends it at once.
 */
void proc_run(struct ev_loop *loop, const struct proc_hooks *hooks);

#endif
