/*
 * Socket helpers shared by both daemons.
 */
#include "rtun-build.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "net.h"
#include "xmalloc.h"

int
net_split_hostport(const char *s, char **host, char **port, const char **why)
{
	const char *colon, *end;

	*host = *port = NULL;
	if (s[0] == '[') {
		if ((end = strchr(s, ']')) == NULL || end[1] != ':') {
			*why = "expected [address]:port";
			return -1;
		}
		colon = end + 1;
		*host = xstrndup(s + 1, (size_t)(end - s - 1));
	} else {
		if ((colon = strrchr(s, ':')) == NULL) {
			*why = "expected host:port";
			return -1;
		}
		if (memchr(s, ':', (size_t)(colon - s)) != NULL) {
			*why = "IPv6 addresses need brackets: [address]:port";
			return -1;
		}
		*host = xstrndup(s, (size_t)(colon - s));
	}
	*port = xstrdup(colon + 1);
	if (**port == '\0' || strspn(*port, "0123456789") != strlen(*port) ||
	    atoi(*port) < 1 || atoi(*port) > 65535) {
		free(*host);
		free(*port);
		*host = *port = NULL;
		*why = "port must be a number from 1 to 65535";
		return -1;
	}
	return 0;
}

int
net_resolve(const char *host, const char *port, int passive, struct net_addr *out,
    char *err, size_t errlen)
{
	struct addrinfo hints, *res;
	int r;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV | (passive ? AI_PASSIVE : 0);
	if (host != NULL && *host == '\0')
		host = passive ? NULL : "localhost";
	if ((r = getaddrinfo(host, port, &hints, &res)) != 0) {
		snprintf(err, errlen, "cannot resolve %s: %s", host ? host : "*", gai_strerror(r));
		return -1;
	}
	memcpy(&out->ss, res->ai_addr, res->ai_addrlen);
	out->len = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

int
net_parse_numeric(const char *s, struct net_addr *out)
{
	struct addrinfo hints, *res;
	char *host, *port;
	const char *why;
	int r;

	if (net_split_hostport(s, &host, &port, &why) == -1)
		return -1;
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
	r = getaddrinfo(host, port, &hints, &res);
	free(host);
	free(port);
	if (r != 0)
		return -1;
	memcpy(&out->ss, res->ai_addr, res->ai_addrlen);
	out->len = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

int
net_parse_host(const char *s, struct net_addr *out)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)&out->ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&out->ss;

	memset(out, 0, sizeof(*out));
	if (inet_pton(AF_INET, s, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		out->len = sizeof(*sin);
		return 0;
	}
	if (inet_pton(AF_INET6, s, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		out->len = sizeof(*sin6);
		return 0;
	}
	return -1;
}

void
net_addr_set_port(struct net_addr *a, uint16_t port)
{
	if (a->ss.ss_family == AF_INET)
		((struct sockaddr_in *)&a->ss)->sin_port = htons(port);
	else if (a->ss.ss_family == AF_INET6)
		((struct sockaddr_in6 *)&a->ss)->sin6_port = htons(port);
}

const char *
net_host_str(const struct sockaddr *sa, char *buf)
{
	const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)sa;

	if (sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &sin->sin_addr, buf, NET_ADDRSTRLEN);
	else if (sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &sin6->sin6_addr, buf, NET_ADDRSTRLEN);
	else
		snprintf(buf, NET_ADDRSTRLEN, "unknown");
	return buf;
}

const char *
net_addr_str(const struct sockaddr *sa, char *buf)
{
	char host[INET6_ADDRSTRLEN];
	const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)sa;

	switch (sa->sa_family) {
	case AF_INET:
		inet_ntop(AF_INET, &sin->sin_addr, host, sizeof(host));
		snprintf(buf, NET_ADDRSTRLEN, "%s:%u", host, ntohs(sin->sin_port));
		break;
	case AF_INET6:
		inet_ntop(AF_INET6, &sin6->sin6_addr, host, sizeof(host));
		snprintf(buf, NET_ADDRSTRLEN, "[%s]:%u", host, ntohs(sin6->sin6_port));
		break;
	default:
		snprintf(buf, NET_ADDRSTRLEN, "unknown");
	}
	return buf;
}

int
net_set_nonblock(int fd)
{
	int fl;

	if ((fl = fcntl(fd, F_GETFL)) == -1 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) == -1)
		return -1;
	if (fcntl(fd, F_SETFD, FD_CLOEXEC) == -1)
		return -1;
	return 0;
}

void
net_set_nodelay(int fd)
{
	int on = 1;

	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
}

void
net_set_notsent_lowat(int fd, int bytes)
{
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NOTSENT_LOWAT, &bytes, sizeof(bytes));
}

const char *
net_local_str(int fd, char *buf)
{
	struct net_addr local;

	local.len = sizeof(local.ss);
	if (getsockname(fd, (struct sockaddr *)&local.ss, &local.len) == -1) {
		snprintf(buf, NET_ADDRSTRLEN, "unknown");
		return buf;
	}
	return net_addr_str((const struct sockaddr *)&local.ss, buf);
}

void
net_set_abortive(int fd, int abort)
{
	struct linger lg = { abort ? 1 : 0, 0 };

	(void)setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
}

void
net_set_rcvlowat(int fd, int bytes)
{
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVLOWAT, &bytes, sizeof(bytes));
}

int
net_listen(const struct net_addr *addr, int backlog)
{
	int fd, on = 1, saved;

	fd = socket(addr->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1)
		return -1;
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	if (bind(fd, (const struct sockaddr *)&addr->ss, addr->len) == -1 ||
	    listen(fd, backlog) == -1) {
		saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	return fd;
}

/* The wildcard address of addr's family with port, for binding before a connect. */
static void
net_any(const struct net_addr *addr, uint16_t port, struct net_addr *out)
{
	memset(out, 0, sizeof(*out));
	out->ss.ss_family = addr->ss.ss_family;
	if (addr->ss.ss_family == AF_INET6) {
		((struct sockaddr_in6 *)&out->ss)->sin6_port = htons(port);
		out->len = sizeof(struct sockaddr_in6);
	} else {
		((struct sockaddr_in *)&out->ss)->sin_port = htons(port);
		out->len = sizeof(struct sockaddr_in);
	}
}

int
net_listen_shared(const struct net_addr *family, uint16_t *port)
{
	struct net_addr local, bound;
	int fd, on = 1, saved;

	net_any(family, 0, &local);
	fd = socket(local.ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1)
		return -1;
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof(on));
	bound.len = sizeof(bound.ss);
	if (bind(fd, (const struct sockaddr *)&local.ss, local.len) == -1 || listen(fd, 16) == -1 ||
	    getsockname(fd, (struct sockaddr *)&bound.ss, &bound.len) == -1) {
		saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	*port = ntohs(bound.ss.ss_family == AF_INET6 ?
	    ((struct sockaddr_in6 *)&bound.ss)->sin6_port :
	    ((struct sockaddr_in *)&bound.ss)->sin_port);
	return fd;
}

int
net_connect_from(const struct net_addr *addr, uint16_t local_port)
{
	struct net_addr local;
	int fd, on = 1, saved;

	fd = socket(addr->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1)
		return -1;
	if (local_port != 0) {
		/* Others may hold the port the same way: a listener, or a connect elsewhere. */
		net_any(addr, local_port, &local);
		(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
		(void)setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof(on));
		if (bind(fd, (const struct sockaddr *)&local.ss, local.len) == -1)
			goto fail;
	}
	if (connect(fd, (const struct sockaddr *)&addr->ss, addr->len) == -1 &&
	    errno != EINPROGRESS)
		goto fail;
	return fd;
fail:
	saved = errno;
	close(fd);
	errno = saved;
	return -1;
}

int
net_connect(const struct net_addr *addr)
{
	return net_connect_from(addr, 0);
}

/* A UDP socket on which op (bind or connect) succeeded; -1 with errno. */
static int
udp_socket(const struct net_addr *addr, int (*op)(int, const struct sockaddr *, socklen_t))
{
	int fd, saved;

	fd = socket(addr->ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1)
		return -1;
	if (op(fd, (const struct sockaddr *)&addr->ss, addr->len) == -1) {
		saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	return fd;
}

int
net_udp_bind(const struct net_addr *addr)
{
	/* No SO_REUSEADDR: on UDP it would let a second socket share the port. */
	return udp_socket(addr, bind);
}

int
net_udp_connect(const struct net_addr *addr)
{
	return udp_socket(addr, connect);
}

int
net_socket_error(int fd)
{
	int err = 0;
	socklen_t len = sizeof(err);

	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1)
		return errno;
	return err;
}

int
net_accept(int lfd, struct net_addr *peer)
{
	peer->len = sizeof(peer->ss);
	return accept4(lfd, (struct sockaddr *)&peer->ss, &peer->len,
	    SOCK_NONBLOCK | SOCK_CLOEXEC);
}
