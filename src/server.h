/*
 * rtund's state: the agent listener, one peer per agent link (handshake,
 * authentication, declared services) and the table of public ports, each
 * owned by at most one live agent.
 */
#ifndef RTUN_SERVER_H
#define RTUN_SERVER_H

#include <ev.h>

#include "config.h"

struct server;

/* Start listening for agents; NULL (logged) if the listen address cannot be bound. */
struct server *server_new(struct ev_loop *loop, const struct server_conf *conf);
/* Drop every link, release every port, free. */
void server_free(struct server *srv);

#endif
