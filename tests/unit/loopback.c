/*
 * Loopback sockets for unit tests; every failure is a failed check.
 */
#include "rtun-build.h"

#include <check.h>
#include <netinet/in.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "loopback.h"

int
loopback_listen(struct net_addr *addr)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)&addr->ss;
	int fd;

	memset(addr, 0, sizeof(*addr));
	sin->sin_family = AF_INET;
	sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	addr->len = sizeof(*sin);
	fd = net_listen(addr, 16);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&addr->ss, &addr->len), 0);
	return fd;
}

void
loopback_pair(int fds[2])
{
	struct net_addr a, peer;
	int lfd = loopback_listen(&a), i;

	fds[0] = net_connect(&a);
	ck_assert_int_ge(fds[0], 0);
	for (i = 0, fds[1] = -1; fds[1] == -1 && i < 1000; i++) {
		fds[1] = net_accept(lfd, &peer);
		if (fds[1] == -1)
			usleep(1000);
	}
	ck_assert_int_ge(fds[1], 0);
	close(lfd);
}

void
loopback_send_frame(int fd, const struct frame *f, void (*wait)(void))
{
	struct buf b;
	ssize_t n;

	buf_init(&b);
	frame_append(&b, f);
	while (buf_len(&b) > 0) {
		if ((n = write(fd, buf_ptr(&b), buf_len(&b))) > 0)
			buf_consume(&b, (size_t)n);
		else
			wait();
	}
	buf_free(&b);
}

double
loopback_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}
