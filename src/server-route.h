/*
 * rtund's routes ([route NAME] in rtund.conf, the rinetd model): each owns a
 * public port in the registry (server-ports.h). A user connection on it
 * becomes a stream on the named agent's link whose OPEN names the
 * destination, which the agent checks against its own allow_connect; a route
 * without an agent is spliced by rtund itself (splice.h). While the agent is
 * not connected the port stays open and each user is reset at once, so a
 * route works as soon as its agent authenticates. A reload adds, changes and
 * removes routes by name, leaving the others and every connection alone.
 */
#ifndef RTUN_SERVER_ROUTE_H
#define RTUN_SERVER_ROUTE_H

#include <ev.h>

#include "config.h"

struct link;
struct metrics;
struct ports;
struct routeset;
struct status;

/*
 * The link of the authenticated agent called name, or NULL: *unable is then 1
 * if the agent is connected but does not serve route streams (an older rtun).
 */
typedef struct link *route_agent_fn(void *arg, const char *name, int *unable);

/* No routes yet; their ports go into ps, agents are found through agent_link. */
struct routeset *routeset_new(struct ev_loop *loop, struct ports *ps, struct metrics *m,
    route_agent_fn *agent_link, void *arg);
/*
 * Make the routes those of conf (kept until the next call): new ones listen,
 * removed ones stop listening (their connections carry on until they end),
 * changed ones apply to new connections, keeping their listener when the
 * port stays. A route without a listener (its bind failed) tries again.
 */
void routeset_apply(struct routeset *rs, const struct server_conf *conf);
/* True while a spliced connection is open (route streams count on their links). */
int routeset_busy(const struct routeset *rs);
/* Add the "routes" table to st. */
void routeset_report(const struct routeset *rs, struct status *st);
/* Reset spliced connections, close the ports and free; the links must be gone already. */
void routeset_free(struct routeset *rs);

#endif
