/*
 * rtund: the public end of rtun. Options, config, loop and signals only.
 */
#include "rtun-build.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ev.h>

#include "config.h"
#include "log.h"
#include "metrics-http.h"
#include "metrics.h"
#include "proc.h"
#include "server.h"
#include "xmalloc.h"

struct rtund {
	const char *path;
	struct server_conf *conf;
	struct server *srv;
};

static void
rtund_drain(void *arg)
{
	server_drain(((struct rtund *)arg)->srv);
}

static int
rtund_busy(void *arg)
{
	return server_busy(((struct rtund *)arg)->srv);
}

static void
rtund_status(void *arg, struct status *st)
{
	server_report(((struct rtund *)arg)->srv, st);
}

static double
rtund_drain_timeout(void *arg)
{
	return ((struct rtund *)arg)->conf->common.shutdown_timeout;
}

/* SIGHUP: load the file again; a broken one is refused and the old one stays. */
static void
rtund_reload(void *arg)
{
	struct rtund *d = arg;
	struct server_conf *conf = xcalloc(1, sizeof(*conf));
	struct config_errors errs = { NULL, 0 };

	if (config_load_server(d->path, conf, &errs) == -1) {
		proc_log_config_errors(&errs, "reload refused; keeping the running configuration");
		free(conf);
		return;
	}
	proc_apply_logging(&conf->common);
	server_reload(d->srv, conf);
	config_free_server(d->conf);
	free(d->conf);
	d->conf = conf;
}

int
main(int argc, char **argv)
{
	struct rtund d = { 0 };
	struct config_errors errs = { NULL, 0 };
	const struct proc_hooks hooks = { rtund_drain, rtund_busy, rtund_reload,
		rtund_drain_timeout, &d };
	struct proc_opts opts;
	struct ev_loop *loop;
	struct metrics *metrics;
	struct metrics_http *http;
	struct status_socket *ss = NULL;
	int ran = 0;

	proc_parse_args(argc, argv, SYSCONFDIR "/rtun/rtund.conf", "rtund", &opts);
	if (opts.status && opts.status_socket != NULL)
		proc_status_command(&opts, NULL, "rtund");
	d.path = opts.config;
	d.conf = xcalloc(1, sizeof(*d.conf));
	if (config_load_server(opts.config, d.conf, &errs) == -1)
		proc_config_failed(&errs);
	if (opts.status)
		proc_status_command(&opts, &d.conf->common, "rtund");
	if (opts.test)
		proc_config_ok(opts.config);
	proc_setup("rtund", opts.debug, &d.conf->common);
	loop = EV_DEFAULT;
	metrics = metrics_new();
	if (proc_metrics_listen(metrics, loop, &d.conf->common, &http) == 0 &&
	    (d.srv = server_new(loop, d.conf, metrics)) != NULL &&
	    proc_status_listen(loop, &d.conf->common, "rtund", rtund_status, &d, &ss) == 0) {
		metrics_http_set_status(http, "rtund", rtund_status, &d);
		proc_run(loop, &hooks);
		ran = 1;
	}
	/* The report reads the server: nothing may ask for one once it is going. */
	metrics_http_set_status(http, "rtund", NULL, NULL);
	status_socket_free(ss);
	if (d.srv != NULL)
		server_free(d.srv);
	/* One more turn runs the deferred frees. */
	ev_run(loop, EVRUN_NOWAIT);
	metrics_http_free(http);
	metrics_free(metrics);
	config_free_server(d.conf);
	free(d.conf);
	ev_loop_destroy(loop);
	if (!ran)
		return 1;
	log_info("exiting");
	return 0;
}
