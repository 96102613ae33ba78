/*
 * Socket helpers: address parsing and formatting, non-blocking sockets,
 * listening and connecting. No function here blocks except net_resolve(),
 * which is only called while loading a config, before the loop runs.
 */
#ifndef RTUN_NET_H
#define RTUN_NET_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* Longest string net_addr_str() writes, "[v6]:port" included. */
#define NET_ADDRSTRLEN 64

struct net_addr {
	struct sockaddr_storage ss;
	socklen_t len;
};

/* Split "host:port", "[v6]:port" or ":port" into new strings; -1 with *why set if malformed. */
int net_split_hostport(const char *s, char **host, char **port, const char **why);
/* Resolve host and port (blocking getaddrinfo); passive means an empty host is the wildcard. */
int net_resolve(const char *host, const char *port, int passive, struct net_addr *out,
    char *err, size_t errlen);
/* Parse a numeric "1.2.3.4:5" or "[::1]:5" (never resolves); -1 if it is not one. */
int net_parse_numeric(const char *s, struct net_addr *out);
/* Parse a numeric "1.2.3.4" or "::1" without a port (never resolves); port 0, -1 if bad. */
int net_parse_host(const char *s, struct net_addr *out);
/* Set the port of an IPv4 or IPv6 address. */
void net_addr_set_port(struct net_addr *a, uint16_t port);
/* Format an address without its port, "1.2.3.4" or "::1", into buf (NET_ADDRSTRLEN bytes). */
const char *net_host_str(const struct sockaddr *sa, char *buf);
/* Format an address as "1.2.3.4:5" or "[::1]:5" into buf (NET_ADDRSTRLEN bytes). */
const char *net_addr_str(const struct sockaddr *sa, char *buf);
/* The local address of a socket as net_addr_str() writes it, or "unknown". */
const char *net_local_str(int fd, char *buf);
/* Make fd non-blocking and close-on-exec. */
int net_set_nonblock(int fd);
/* Disable Nagle on a TCP socket. */
void net_set_nodelay(int fd);
/* Bound the kernel's unsent backlog of a TCP socket so scheduling stays in user space. */
void net_set_notsent_lowat(int fd, int bytes);
/*
 * Make close() of a connected TCP socket abortive (RST, SO_LINGER 0) or, with
 * abort 0, graceful again (FIN after the queued bytes). Stream sockets are
 * abortive from birth, so that the kernel's close after a crash resets them.
 */
void net_set_abortive(int fd, int abort);
/* Set SO_RCVLOWAT: readiness is only reported once this many bytes (or EOF) arrived. */
void net_set_rcvlowat(int fd, int bytes);
/* Non-blocking listening TCP socket with SO_REUSEADDR; -1 with errno set on failure. */
int net_listen(const struct net_addr *addr, int backlog);
/*
 * A listening socket on a port the kernel picks, of family's address family,
 * shared (SO_REUSEADDR, SO_REUSEPORT) with sockets net_connect_from() binds
 * to the same port: a hole punch listens and dials from one port. -1 with errno.
 */
int net_listen_shared(const struct net_addr *family, uint16_t *port);
/* Start a non-blocking connect; returns the fd (connect may be in progress) or -1 with errno. */
int net_connect(const struct net_addr *addr);
/*
 * The same from local_port (0: any), bound with SO_REUSEADDR and SO_REUSEPORT
 * so that other sockets may use that port too, as a hole punch needs.
 */
int net_connect_from(const struct net_addr *addr, uint16_t local_port);
/* Non-blocking, close-on-exec UDP socket bound to addr; -1 with errno set on failure. */
int net_udp_bind(const struct net_addr *addr);
/* Non-blocking, close-on-exec UDP socket connected to addr; -1 with errno set on failure. */
int net_udp_connect(const struct net_addr *addr);
/* Pending error of a socket (SO_ERROR), 0 if none. */
int net_socket_error(int fd);
/* accept() a non-blocking, close-on-exec connection; -1 with errno. */
int net_accept(int lfd, struct net_addr *peer);

#endif
