/*
 * The status socket, both ends. The daemon's end is a small state machine per
 * connection (read one request line, write the report, close), bounded in
 * size, time and number like the metrics endpoint; the report is made only
 * when a request asks for it, so an idle socket costs nothing.
 */
#include "rtun-build.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "buf.h"
#include "log.h"
#include "status-socket.h"
#include "status.h"
#include "xmalloc.h"

/* A client must send its request and take the answer within this. */
#define STATUS_TIMEOUT 5.0
/* Longest request line ("json\n" is all there is today). */
#define STATUS_REQUEST_MAX 64
/* Connections at once; more are closed at once. */
#define STATUS_CONNS_MAX 16
/* How long the command waits for the daemon's answer. */
#define STATUS_CLIENT_TIMEOUT 10

struct sconn {
	struct status_socket *ss;
	LIST_ENTRY(sconn) entry;
	int fd;
	ev_io rio;
	ev_io wio;
	ev_timer timer;
	char req[STATUS_REQUEST_MAX];
	size_t reqlen;
	struct buf out;
};

struct status_socket {
	struct ev_loop *loop;
	char *path;
	char role[16];
	int fd;
	ino_t ino;             /* the file we made: removed at exit only if it is still ours */
	ev_io accept_w;
	status_fill_fn *fill;
	void *arg;
	LIST_HEAD(, sconn) conns;
	unsigned int nconns;
};

static void
sconn_free(struct sconn *c)
{
	struct ev_loop *loop = c->ss->loop;

	ev_io_stop(loop, &c->rio);
	ev_io_stop(loop, &c->wio);
	ev_timer_stop(loop, &c->timer);
	close(c->fd);
	LIST_REMOVE(c, entry);
	c->ss->nconns--;
	buf_free(&c->out);
	free(c);
}

static void
sconn_flush(struct sconn *c)
{
	int rc = buf_send(&c->out, c->fd);

	if (rc == 1) {
		ev_io_start(c->ss->loop, &c->wio);
		return;
	}
	if (rc == -1)
		log_debug("status: send: %s", strerror(errno));
	sconn_free(c);
}

static void
sconn_write_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	sconn_flush(w->data);
}

/* The answer to one request line (without its newline). */
static void
sconn_answer(struct sconn *c)
{
	struct status_socket *ss = c->ss;
	int json = strcmp(c->req, "json") == 0;
	struct status *st;
	char *body;

	ev_io_stop(ss->loop, &c->rio);
	if (!json && strcmp(c->req, "text") != 0) {
		char safe[STATUS_REQUEST_MAX * 4];

		log_warn("status: unknown request \"%s\"", log_safe(c->req, c->reqlen, safe,
		    sizeof(safe)));
		buf_printf(&c->out, "error: unknown request (this %s knows \"text\" and \"json\")\n",
		    ss->role);
		sconn_flush(c);
		return;
	}
	st = status_new(ss->role);
	ss->fill(ss->arg, st);
	body = json ? status_render_json(st) : status_render_text(st);
	buf_append(&c->out, body, strlen(body));
	free(body);
	status_free(st);
	sconn_flush(c);
}

static void
sconn_read_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct sconn *c = w->data;
	char *nl;
	ssize_t n;

	n = recv(c->fd, c->req + c->reqlen, sizeof(c->req) - 1 - c->reqlen, 0);
	if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return;
	if (n <= 0) {
		sconn_free(c);
		return;
	}
	c->reqlen += (size_t)n;
	c->req[c->reqlen] = '\0';
	if ((nl = memchr(c->req, '\n', c->reqlen)) != NULL) {
		*nl = '\0';
		c->reqlen = (size_t)(nl - c->req);
		sconn_answer(c);
	} else if (c->reqlen == sizeof(c->req) - 1) {
		log_warn("status: request over %d bytes", STATUS_REQUEST_MAX - 1);
		sconn_free(c);
	}
}

static void
sconn_timeout_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	log_warn("status: a client timed out after %.0fs", STATUS_TIMEOUT);
	sconn_free(w->data);
}

/* Only the daemon's own user and root; the file mode says the same, this makes sure. */
static int
peer_allowed(int fd)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == -1) {
		log_warn("status: cannot read the client's credentials: %s", strerror(errno));
		return 0;
	}
	if (cred.uid == 0 || cred.uid == geteuid())
		return 1;
	log_warn("status: refused uid %u (pid %d): only uid %u and root may ask",
	    (unsigned int)cred.uid, (int)cred.pid, (unsigned int)geteuid());
	return 0;
}

static void
status_accept_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct status_socket *ss = w->data;
	struct sconn *c;
	int fd;

	fd = accept4(ss->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd == -1) {
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
			log_warn("status: accept: %s", strerror(errno));
		return;
	}
	if (ss->nconns >= STATUS_CONNS_MAX || !peer_allowed(fd)) {
		if (ss->nconns >= STATUS_CONNS_MAX)
			log_warn("status: refused a client, %d connections open", STATUS_CONNS_MAX);
		close(fd);
		return;
	}
	c = xcalloc(1, sizeof(*c));
	c->ss = ss;
	c->fd = fd;
	ev_io_init(&c->rio, sconn_read_cb, fd, EV_READ);
	ev_io_init(&c->wio, sconn_write_cb, fd, EV_WRITE);
	ev_timer_init(&c->timer, sconn_timeout_cb, STATUS_TIMEOUT, 0.0);
	c->rio.data = c->wio.data = c->timer.data = c;
	LIST_INSERT_HEAD(&ss->conns, c, entry);
	ss->nconns++;
	ev_io_start(loop, &c->rio);
	ev_timer_start(loop, &c->timer);
}

static int
unix_addr(const char *path, struct sockaddr_un *sun)
{
	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun->sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(sun->sun_path, path, strlen(path) + 1);
	return 0;
}

/*
 * Clear the way for a new socket at path: a socket nobody answers on is a
 * leftover and goes; a live one, or a file that is not a socket, stays.
 */
static int
claim_path(const struct sockaddr_un *sun, const char **why)
{
	struct stat sb;
	int fd, rc;

	if (lstat(sun->sun_path, &sb) == -1)
		return errno == ENOENT ? 0 : (*why = "lstat", -1);
	if (!S_ISSOCK(sb.st_mode)) {
		*why = "it exists and is not a socket";
		errno = EEXIST;
		return -1;
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return (*why = "socket", -1);
	rc = connect(fd, (const struct sockaddr *)sun, sizeof(*sun));
	close(fd);
	if (rc == 0) {
		*why = "another running daemon answers on it";
		errno = EADDRINUSE;
		return -1;
	}
	if (errno != ECONNREFUSED)
		return (*why = "connect", -1);
	if (unlink(sun->sun_path) == -1)
		return (*why = "unlink the old socket", -1);
	return 0;
}

static int
status_listen(const struct sockaddr_un *sun, ino_t *ino, const char **why)
{
	struct stat sb;
	mode_t old;
	int fd, rc, e;

	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) == -1)
		return (*why = "socket", -1);
	/* Owner-only from the moment it exists: no window in which others could connect. */
	old = umask(0177);
	rc = bind(fd, (const struct sockaddr *)sun, sizeof(*sun));
	umask(old);
	if (rc == -1 || listen(fd, STATUS_CONNS_MAX) == -1 || stat(sun->sun_path, &sb) == -1) {
		e = errno;
		*why = rc == -1 ? "bind" : "listen";
		close(fd);
		errno = e;
		return -1;
	}
	*ino = sb.st_ino;
	return fd;
}

struct status_socket *
status_socket_new(struct ev_loop *loop, const char *path, const char *role,
    status_fill_fn *fill, void *arg, const char **why)
{
	struct status_socket *ss;
	struct sockaddr_un sun;
	ino_t ino;
	int fd;

	if (unix_addr(path, &sun) == -1) {
		*why = "the path is too long for a unix socket";
		return NULL;
	}
	if (claim_path(&sun, why) == -1 || (fd = status_listen(&sun, &ino, why)) == -1)
		return NULL;
	ss = xcalloc(1, sizeof(*ss));
	ss->loop = loop;
	ss->path = xstrdup(path);
	snprintf(ss->role, sizeof(ss->role), "%s", role);
	ss->fd = fd;
	ss->ino = ino;
	ss->fill = fill;
	ss->arg = arg;
	LIST_INIT(&ss->conns);
	ev_io_init(&ss->accept_w, status_accept_cb, fd, EV_READ);
	ss->accept_w.data = ss;
	ev_io_start(loop, &ss->accept_w);
	return ss;
}

void
status_socket_free(struct status_socket *ss)
{
	struct stat sb;

	if (ss == NULL)
		return;
	while (!LIST_EMPTY(&ss->conns))
		sconn_free(LIST_FIRST(&ss->conns));
	ev_io_stop(ss->loop, &ss->accept_w);
	close(ss->fd);
	/* A daemon started after us may have taken the path over; leave its socket alone. */
	if (lstat(ss->path, &sb) == 0 && sb.st_ino == ss->ino)
		unlink(ss->path);
	free(ss->path);
	free(ss);
}

/* Why a connect to the status socket failed, in the operator's terms. */
static const char *
client_hint(int err)
{
	switch (err) {
	case ENOENT:
		return "is the daemon running, with status_socket set to this path?";
	case ECONNREFUSED:
		return "nothing answers on it: the daemon that made it is gone";
	case EACCES:
	case EPERM:
		return "it is the daemon's own: run this as the daemon's user or as root";
	default:
		return "";
	}
}

int
status_client(const char *path, int json)
{
	const char *me = program_invocation_short_name;
	struct timeval tv = { STATUS_CLIENT_TIMEOUT, 0 };
	struct sockaddr_un sun;
	struct buf b;
	char chunk[8192];
	ssize_t n;
	int fd, status = 0;

	if (unix_addr(path, &sun) == -1) {
		fprintf(stderr, "%s: %s: the path is too long for a unix socket\n", me, path);
		return 1;
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1 ||
	    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) == -1 ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) == -1 ||
	    connect(fd, (const struct sockaddr *)&sun, sizeof(sun)) == -1) {
		int e = errno;

		fprintf(stderr, "%s: %s: %s%s%s\n", me, path, strerror(e),
		    *client_hint(e) != '\0' ? "; " : "", client_hint(e));
		if (fd != -1)
			close(fd);
		return 1;
	}
	buf_init(&b);
	n = send(fd, json ? "json\n" : "text\n", 5, MSG_NOSIGNAL);
	while (n > 0 && (n = recv(fd, chunk, sizeof(chunk), 0)) > 0)
		buf_append(&b, chunk, (size_t)n);
	/* A refused client is closed at once, maybe before its request or with it unread. */
	if ((n == 0 || errno == ECONNRESET || errno == EPIPE) && buf_len(&b) == 0) {
		fprintf(stderr, "%s: %s: the daemon closed without an answer (its log says why)\n",
		    me, path);
		status = 1;
	} else if (n == -1) {
		fprintf(stderr, "%s: %s: no answer: %s\n", me, path,
		    errno == EAGAIN ? "timed out" : strerror(errno));
		status = 1;
	} else if (buf_len(&b) >= 7 && memcmp(buf_ptr(&b), "error: ", 7) == 0) {
		fprintf(stderr, "%s: %.*s", me, (int)buf_len(&b), (const char *)buf_ptr(&b));
		status = 1;
	} else if (fwrite(buf_ptr(&b), 1, buf_len(&b), stdout) != buf_len(&b) || fflush(stdout) != 0) {
		status = 1;
	}
	buf_free(&b);
	close(fd);
	return status;
}
