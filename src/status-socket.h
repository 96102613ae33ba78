/*
 * The local status socket: a unix stream socket, mode 0600, that answers one
 * request per connection with a status report ("text\n" or "json\n" asks for
 * the form; anything else gets "error: ..."). Only the daemon's own user and
 * root may ask: the file mode keeps others out, and each peer's credentials
 * are checked as well. Nothing of it is reachable over the network.
 */
#ifndef RTUN_STATUS_SOCKET_H
#define RTUN_STATUS_SOCKET_H

#include <ev.h>

#include "status.h"

struct status_socket;

/*
 * Serve reports made by fill on path. A file left there by a daemon that is gone is
 * replaced; one a running daemon answers on is not. NULL (errno set, *why says what
 * failed) if the socket cannot be made.
 */
struct status_socket *status_socket_new(struct ev_loop *loop, const char *path,
    const char *role, status_fill_fn *fill, void *arg, const char **why);
/* Close every connection, remove the socket file, free (NULL is ignored). */
void status_socket_free(struct status_socket *ss);

/* Ask the daemon on path for a report (json or text) and copy it to stdout; an exit status. */
int status_client(const char *path, int json);

#endif
