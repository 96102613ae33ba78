/*
 * rtun: the agent. Options, config, loop and signals only.
 */
#include "rtun-build.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ev.h>

#include "agent.h"
#include "config.h"
#include "log.h"
#include "metrics-http.h"
#include "metrics.h"
#include "proc.h"
#include "xmalloc.h"

struct rtun {
	const char *path;
	struct agent_conf *conf;
	struct agent *agent;
};

static void
rtun_drain(void *arg)
{
	agent_drain(((struct rtun *)arg)->agent);
}

static int
rtun_busy(void *arg)
{
	return agent_busy(((struct rtun *)arg)->agent);
}

static void
rtun_status(void *arg, struct status *st)
{
	agent_report(((struct rtun *)arg)->agent, st);
}

static double
rtun_drain_timeout(void *arg)
{
	return ((struct rtun *)arg)->conf->common.shutdown_timeout;
}

/* SIGHUP: load the file again; a broken one is refused and the old one stays. */
static void
rtun_reload(void *arg)
{
	struct rtun *r = arg;
	struct agent_conf *conf = xcalloc(1, sizeof(*conf));
	struct config_errors errs = { NULL, 0 };

	if (config_load_agent(r->path, conf, &errs) == -1) {
		proc_log_config_errors(&errs, "reload refused; keeping the running configuration");
		free(conf);
		return;
	}
	if (agent_reload(r->agent, conf) == -1) {
		log_error("reload refused; keeping the running configuration");
		config_free_agent(conf);
		free(conf);
		return;
	}
	proc_apply_logging(&conf->common);
	config_free_agent(r->conf);
	free(r->conf);
	r->conf = conf;
}

int
main(int argc, char **argv)
{
	struct rtun r = { 0 };
	struct config_errors errs = { NULL, 0 };
	const struct proc_hooks hooks = { rtun_drain, rtun_busy, rtun_reload, rtun_drain_timeout,
		&r };
	struct proc_opts opts;
	struct ev_loop *loop;
	struct metrics *metrics;
	struct metrics_http *http;
	struct status_socket *ss = NULL;
	int ran = 0;

	proc_parse_args(argc, argv, SYSCONFDIR "/rtun/rtun.conf", "rtun", &opts);
	if (opts.status && opts.status_socket != NULL)
		proc_status_command(&opts, NULL, "rtun");
	r.path = opts.config;
	r.conf = xcalloc(1, sizeof(*r.conf));
	if (config_load_agent(opts.config, r.conf, &errs) == -1)
		proc_config_failed(&errs);
	if (opts.status)
		proc_status_command(&opts, &r.conf->common, "rtun");
	if (opts.test)
		proc_config_ok(opts.config);
	proc_setup("rtun", opts.debug, &r.conf->common);
	loop = EV_DEFAULT;
	metrics = metrics_new();
	if (proc_metrics_listen(metrics, loop, &r.conf->common, &http) == 0 &&
	    (r.agent = agent_new(loop, r.conf, metrics)) != NULL &&
	    proc_status_listen(loop, &r.conf->common, "rtun", rtun_status, &r, &ss) == 0) {
		metrics_http_set_status(http, "rtun", rtun_status, &r);
		proc_run(loop, &hooks);
		ran = 1;
	}
	/* The report reads the agent: nothing may ask for one once it is going. */
	metrics_http_set_status(http, "rtun", NULL, NULL);
	status_socket_free(ss);
	if (r.agent != NULL)
		agent_free(r.agent);
	ev_run(loop, EVRUN_NOWAIT);
	metrics_http_free(http);
	metrics_free(metrics);
	config_free_agent(r.conf);
	free(r.conf);
	ev_loop_destroy(loop);
	if (!ran)
		return 1;
	log_info("exiting");
	return 0;
}
