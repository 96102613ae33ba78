/*
 * Process plumbing shared by rtund and rtun.
 */
#include "rtun-build.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "proc.h"

static void __attribute__((noreturn))
proc_usage(const char *role, const char *default_config, int status)
{
	FILE *f = status == 0 ? stdout : stderr;

	fprintf(f, "usage: %s [-dhtV] [-c file]\n", program_invocation_short_name);
	fprintf(f, "  -c file  %s configuration (default %s)\n", role, default_config);
	fprintf(f, "  -d       debug logging\n");
	fprintf(f, "  -t       check the configuration and exit (0 good, 78 bad)\n");
	fprintf(f, "  -V       print the version and exit\n");
	fprintf(f, "  -h       this help\n");
	exit(status);
}

void
proc_parse_args(int argc, char **argv, const char *default_config, const char *role,
    struct proc_opts *opts)
{
	int ch;

	memset(opts, 0, sizeof(*opts));
	opts->config = default_config;
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
proc_setup(void)
{
	struct rlimit rl;

	signal(SIGPIPE, SIG_IGN);
	/* Every user connection costs a descriptor: take all the kernel allows us. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static void
proc_signal_cb(struct ev_loop *loop, ev_signal *w, int revents)
{
	*(int *)w->data = w->signum;
	ev_break(loop, EVBREAK_ALL);
}

int
proc_run(struct ev_loop *loop)
{
	ev_signal term_w, int_w;
	int signum = 0;

	ev_signal_init(&term_w, proc_signal_cb, SIGTERM);
	ev_signal_init(&int_w, proc_signal_cb, SIGINT);
	term_w.data = int_w.data = &signum;
	ev_signal_start(loop, &term_w);
	ev_signal_start(loop, &int_w);
	ev_unref(loop);
	ev_unref(loop);
	ev_run(loop, 0);
	ev_ref(loop);
	ev_ref(loop);
	ev_signal_stop(loop, &term_w);
	ev_signal_stop(loop, &int_w);
	return signum;
}
