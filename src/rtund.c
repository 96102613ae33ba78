/*
 * rtund: the public end of rtun. Options, config, loop and signals only.
 */
#include "rtun-build.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ev.h>

#include "config.h"
#include "log.h"
#include "proc.h"
#include "server.h"

int
main(int argc, char **argv)
{
	struct server_conf conf;
	struct config_errors errs = { NULL, 0 };
	struct proc_opts opts;
	struct ev_loop *loop;
	struct server *srv;
	int signum;

	proc_parse_args(argc, argv, SYSCONFDIR "/rtun/rtund.conf", "rtund", &opts);
	if (config_load_server(opts.config, &conf, &errs) == -1)
		proc_config_failed(&errs);
	if (opts.test) {
		printf("%s: configuration OK\n", opts.config);
		config_free_server(&conf);
		return 0;
	}
	log_init("rtund", opts.debug ? LOG_LEVEL_DEBUG : (enum log_level)conf.common.log_level);
	proc_setup();
	loop = EV_DEFAULT;
	if ((srv = server_new(loop, &conf)) == NULL) {
		config_free_server(&conf);
		return 1;
	}
	signum = proc_run(loop);
	log_info("%s received; shutting down", strsignal(signum));
	server_free(srv);
	/* One more turn runs the deferred frees. */
	ev_run(loop, EVRUN_NOWAIT);
	config_free_server(&conf);
	ev_loop_destroy(loop);
	return 0;
}
