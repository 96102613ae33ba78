/*
 * rtun's state: one link to the server at a time, dialled again with
 * exponential backoff and jitter for as long as the agent runs, and the
 * services it declares on every new link.
 */
#ifndef RTUN_AGENT_H
#define RTUN_AGENT_H

#include <ev.h>

#include "config.h"

struct agent;

/* Start connecting to the server; runs until agent_free(). */
struct agent *agent_new(struct ev_loop *loop, const struct agent_conf *conf);
/* Close the link and free. */
void agent_free(struct agent *a);

#endif
