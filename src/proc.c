/*
 * Process plumbing shared by rtund and rtun.
 */
#include "rtun-build.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "metrics-http.h"
#include "proc.h"

static void __attribute__((noreturn))
proc_usage(const char *role, const char *default_config, int status)
{
	FILE *f = status == 0 ? stdout : stderr;

	fprintf(f, "usage: %s [-dhtV] [-c file]\n", program_invocation_short_name);
	fprintf(f, "       %s status [-hj] [-c file | -s socket]\n", program_invocation_short_name);
	fprintf(f, "  -c file  %s configuration (default %s)\n", role, default_config);
	fprintf(f, "  -d       debug logging\n");
	fprintf(f, "  -t       check the configuration and exit (0 good, 78 bad)\n");
	fprintf(f, "  -V       print the version and exit\n");
	fprintf(f, "  -h       this help\n");
	exit(status);
}

static void __attribute__((noreturn))
status_usage(const char *role, const char *default_config, int status)
{
	FILE *f = status == 0 ? stdout : stderr;

	fprintf(f, "usage: %s status [-hj] [-c file | -s socket]\n", program_invocation_short_name);
	fprintf(f, "  -c file    %s configuration naming status_socket (default %s)\n", role,
	    default_config);
	fprintf(f, "  -s socket  ask the daemon on this socket; the configuration is not read\n");
	fprintf(f, "  -j, --json the report as JSON\n");
	fprintf(f, "  -h         this help\n");
	exit(status);
}

/* "status [-hj] [-c file | -s socket]", argv[0] being "status". */
static void
parse_status_args(int argc, char **argv, const char *default_config, const char *role,
    struct proc_opts *opts)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int ch, config = 0;

	opts->status = 1;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "c:hjs:", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			opts->config = optarg;
			config = 1;
			break;
		case 'j':
			opts->status_json = 1;
			break;
		case 's':
			opts->status_socket = optarg;
			break;
		case 'h':
			status_usage(role, default_config, 0);
		default:
			status_usage(role, default_config, 1);
		}
	}
	if (optind != argc || (config && opts->status_socket != NULL))
		status_usage(role, default_config, 1);
}

void
proc_parse_args(int argc, char **argv, const char *default_config, const char *role,
    struct proc_opts *opts)
{
	int ch;

	memset(opts, 0, sizeof(*opts));
	opts->config = default_config;
	if (argc > 1 && strcmp(argv[1], "status") == 0) {
		parse_status_args(argc - 1, argv + 1, default_config, role, opts);
		return;
	}
	while ((ch = getopt(argc, argv, "c:dhtV")) != -1) {
		switch (ch) {
		case 'c':
			opts->config = optarg;
			break;
		case 'd':
			opts->debug = 1;
			break;
		case 't':
			opts->test = 1;
			break;
		case 'V':
			printf("%s %s\n", program_invocation_short_name, PACKAGE_VERSION);
			exit(0);
		case 'h':
			proc_usage(role, default_config, 0);
		default:
			proc_usage(role, default_config, 1);
		}
	}
	if (optind != argc)
		proc_usage(role, default_config, 1);
}

void
proc_config_failed(struct config_errors *errs)
{
	size_t i;

	for (i = 0; i < errs->n; i++)
		fprintf(stderr, "%s\n", errs->msgs[i]);
	config_errors_free(errs);
	exit(CONFIG_EXIT_BAD);
}

void
proc_config_ok(const char *path)
{
	printf("%s: configuration OK\n", path);
	exit(0);
}

void
proc_log_config_errors(struct config_errors *errs, const char *outcome)
{
	size_t i;

	for (i = 0; i < errs->n; i++)
		log_error("%s", errs->msgs[i]);
	log_error("%s", outcome);
	config_errors_free(errs);
}

void
proc_apply_logging(const struct config_common *c)
{
	log_set_level((enum log_level)c->log_level);
	log_set_syslog(c->log_syslog);
}

int
proc_metrics_listen(struct metrics *m, struct ev_loop *loop, const struct config_common *c,
    struct metrics_http **http)
{
	*http = NULL;
	if (c->metrics_listen == NULL)
		return 0;
	if ((*http = metrics_http_new(loop, &c->metrics_addr, m)) == NULL) {
		log_error("cannot serve metrics on %s: %s", c->metrics_listen, strerror(errno));
		return -1;
	}
	log_info("serving metrics on http://%s/metrics", c->metrics_listen);
	return 0;
}

void
proc_status_command(const struct proc_opts *opts, const struct config_common *c,
    const char *role)
{
	char buf[PATH_MAX];
	const char *path = opts->status_socket;
	int dflt;

	if (path == NULL && (path = config_status_socket(c, role, buf, sizeof(buf), &dflt)) == NULL) {
		fprintf(stderr, "%s: status_socket is off in %s\n", program_invocation_short_name,
		    opts->config);
		exit(1);
	}
	exit(status_client(path, opts->status_json));
}

int
proc_status_listen(struct ev_loop *loop, const struct config_common *c, const char *role,
    status_fill_fn *fill, void *arg, struct status_socket **ss)
{
	char buf[PATH_MAX];
	const char *path, *why = "";
	int dflt;

	*ss = NULL;
	if ((path = config_status_socket(c, role, buf, sizeof(buf), &dflt)) == NULL)
		return 0;
	if ((*ss = status_socket_new(loop, path, role, fill, arg, &why)) != NULL) {
		log_info("status on %s (\"%s status\")", path, role);
		return 0;
	}
	/* The default is a convenience: a daemon started by hand without /run/rtun runs on. */
	if (dflt) {
		log_info("no status socket: %s: %s: %s (set status_socket, or off)", path, why,
		    strerror(errno));
		return 0;
	}
	log_error("cannot make the status socket %s: %s: %s", path, why, strerror(errno));
	return -1;
}

void
proc_setup(const char *progname, int debug, const struct config_common *c)
{
	struct rlimit rl;

	log_init(progname, (enum log_level)c->log_level, debug);
	log_set_syslog(c->log_syslog);
	signal(SIGPIPE, SIG_IGN);
	/* Every user connection costs a descriptor: take all the kernel allows us. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
}

struct proc_state {
	const struct proc_hooks *hooks;
	ev_signal term_w, int_w, hup_w;
	ev_timer drain_w;
	ev_tstamp drain_until;
	int draining;
};

/* Poll while draining: cheap, bounded, and needs no hook into every stream's end. */
static void
proc_drain_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct proc_state *ps = w->data;

	if (ps->hooks->busy(ps->hooks->arg) && ev_now(loop) < ps->drain_until)
		return;
	if (ps->hooks->busy(ps->hooks->arg))
		log_warn("shutdown_timeout reached; closing the remaining streams");
	ev_break(loop, EVBREAK_ALL);
}

static void
proc_stop_cb(struct ev_loop *loop, ev_signal *w, int revents)
{
	struct proc_state *ps = w->data;
	double timeout;

	if (ps->draining) {
		log_info("%s received again; exiting now", strsignal(w->signum));
		ev_break(loop, EVBREAK_ALL);
		return;
	}
	ps->draining = 1;
	timeout = ps->hooks->drain_timeout(ps->hooks->arg);
	log_info("%s received; no longer accepting, letting open streams finish for up to %.1fs",
	    strsignal(w->signum), timeout);
	ps->hooks->drain(ps->hooks->arg);
	ps->drain_until = ev_now(loop) + timeout;
	ev_timer_start(loop, &ps->drain_w);
	ev_invoke(loop, &ps->drain_w, EV_TIMER);
}

static void
proc_hup_cb(struct ev_loop *loop, ev_signal *w, int revents)
{
	struct proc_state *ps = w->data;

	if (!ps->draining)
		ps->hooks->reload(ps->hooks->arg);
}

void
proc_run(struct ev_loop *loop, const struct proc_hooks *hooks)
{
	struct proc_state ps = { .hooks = hooks };

	ev_signal_init(&ps.term_w, proc_stop_cb, SIGTERM);
	ev_signal_init(&ps.int_w, proc_stop_cb, SIGINT);
	ev_signal_init(&ps.hup_w, proc_hup_cb, SIGHUP);
	ev_timer_init(&ps.drain_w, proc_drain_cb, 0.1, 0.1);
	ps.term_w.data = ps.int_w.data = ps.hup_w.data = ps.drain_w.data = &ps;
	ev_signal_start(loop, &ps.term_w);
	ev_signal_start(loop, &ps.int_w);
	ev_signal_start(loop, &ps.hup_w);
	ev_run(loop, 0);
	ev_signal_stop(loop, &ps.term_w);
	ev_signal_stop(loop, &ps.int_w);
	ev_signal_stop(loop, &ps.hup_w);
	ev_timer_stop(loop, &ps.drain_w);
}
