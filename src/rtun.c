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
#include "proc.h"

int
main(int argc, char **argv)
{
	struct agent_conf conf;
	struct config_errors errs = { NULL, 0 };
	struct proc_opts opts;
	struct ev_loop *loop;
	struct agent *agent;
	int signum;

	proc_parse_args(argc, argv, SYSCONFDIR "/rtun/rtun.conf", "rtun", &opts);
	if (config_load_agent(opts.config, &conf, &errs) == -1)
		proc_config_failed(&errs);
	if (opts.test) {
		printf("%s: configuration OK\n", opts.config);
		config_free_agent(&conf);
		return 0;
	}
	log_init("rtun", opts.debug ? LOG_LEVEL_DEBUG : (enum log_level)conf.common.log_level);
	proc_setup();
	loop = EV_DEFAULT;
	agent = agent_new(loop, &conf);
	signum = proc_run(loop);
	log_info("%s received; shutting down", strsignal(signum));
	agent_free(agent);
	ev_run(loop, EVRUN_NOWAIT);
	config_free_agent(&conf);
	ev_loop_destroy(loop);
	return 0;
}
