/*
 * rtund's state: the agent listener, one peer per agent link (handshake,
 * authentication, declared services) and the table of public ports, each
 * owned by at most one live agent.
 */
#ifndef RTUN_SERVER_H
#define RTUN_SERVER_H

#include <ev.h>

#include "config.h"

struct metrics;
struct server;
struct status;

/* Start listening for agents; NULL (logged) if the listen address cannot be bound. */
struct server *server_new(struct ev_loop *loop, const struct server_conf *conf,
    struct metrics *metrics);
/* Stop accepting agents and users; open streams carry on. */
void server_drain(struct server *srv);
/* True while any link still has open streams. */
int server_busy(const struct server *srv);
/*
 * Switch to a reloaded config (the caller frees the old one afterwards): new
 * tokens apply to the next authentication, ports no longer in allow_ports are
 * released and their agents told, routes are added, changed and removed;
 * links and their streams are untouched.
 */
void server_reload(struct server *srv, const struct server_conf *conf);
/* Fill st with rtund's status: links, services, routes, visitors' paths, refusals. */
void server_report(struct server *srv, struct status *st);
/* Drop every link, release every port, free. */
void server_free(struct server *srv);

#endif
