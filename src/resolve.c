/*
 * Asynchronous getaddrinfo. A numeric host needs no lookup and is answered on
 * the next loop turn; any other name goes to getaddrinfo_a(), whose completion
 * thread only calls ev_async_send(), which is safe from any thread.
 */
#include "rtun-build.h"

#include <netdb.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "resolve.h"
#include "xmalloc.h"

struct resolve {
	struct ev_loop *loop;
	ev_async done_w;
	resolve_cb cb;              /* one of cb and all_cb is set */
	resolve_all_cb all_cb;
	void *arg;
	char *host, *port;
	struct addrinfo hints;
	struct gaicb req;
	struct gaicb *list[1];
	int cancelled;
	int submit_err;      /* getaddrinfo_a() itself failed */
};

static void
resolve_free(struct resolve *r)
{
	if (r->req.ar_result != NULL)
		freeaddrinfo(r->req.ar_result);
	free(r->host);
	free(r->port);
	free(r);
}

/* The answer's addresses, at most RESOLVE_ADDRS_MAX; 0 if it has none. */
static size_t
resolve_addrs(const struct resolve *r, struct net_addr *addrs)
{
	const struct addrinfo *ai;
	size_t n = 0;

	for (ai = r->req.ar_result; ai != NULL && n < RESOLVE_ADDRS_MAX; ai = ai->ai_next) {
		if (ai->ai_addrlen > sizeof(addrs[n].ss))
			continue;
		memcpy(&addrs[n].ss, ai->ai_addr, ai->ai_addrlen);
		addrs[n++].len = ai->ai_addrlen;
	}
	return n;
}

static void
resolve_done_cb(struct ev_loop *loop, ev_async *w, int revents)
{
	struct resolve *r = w->data;
	struct net_addr addrs[RESOLVE_ADDRS_MAX];
	size_t n = 0;
	int err;

	err = r->submit_err ? r->submit_err : gai_error(&r->req);
	if (err == EAI_INPROGRESS)
		return;
	ev_async_stop(loop, w);
	if (err == 0 && (n = resolve_addrs(r, addrs)) == 0)
		err = EAI_NONAME;
	if (!r->cancelled && r->all_cb != NULL)
		r->all_cb(r->arg, err, err == 0 ? addrs : NULL, n);
	else if (!r->cancelled)
		r->cb(r->arg, err, err == 0 ? &addrs[0] : NULL);
	resolve_free(r);
}

static void
resolve_thread_notify(union sigval sv)
{
	struct resolve *r = sv.sival_ptr;

	ev_async_send(r->loop, &r->done_w);
}

static struct resolve *
resolve_begin(struct ev_loop *loop, const char *host, const char *port, resolve_cb cb,
    resolve_all_cb all_cb, void *arg)
{
	struct resolve *r;
	struct sigevent sev;

	r = xcalloc(1, sizeof(*r));
	r->loop = loop;
	r->cb = cb;
	r->all_cb = all_cb;
	r->arg = arg;
	r->host = xstrdup(*host ? host : "localhost");
	r->port = xstrdup(port);
	r->hints.ai_family = AF_UNSPEC;
	r->hints.ai_socktype = SOCK_STREAM;
	r->hints.ai_flags = AI_NUMERICSERV | AI_ADDRCONFIG;
	r->req.ar_name = r->host;
	r->req.ar_service = r->port;
	r->req.ar_request = &r->hints;
	r->list[0] = &r->req;
	ev_async_init(&r->done_w, resolve_done_cb);
	r->done_w.data = r;
	ev_async_start(loop, &r->done_w);
	memset(&sev, 0, sizeof(sev));
	sev.sigev_notify = SIGEV_THREAD;
	sev.sigev_notify_function = resolve_thread_notify;
	sev.sigev_value.sival_ptr = r;
	if ((r->submit_err = getaddrinfo_a(GAI_NOWAIT, r->list, 1, &sev)) != 0)
		ev_async_send(loop, &r->done_w);
	return r;
}

struct resolve *
resolve_start(struct ev_loop *loop, const char *host, const char *port, resolve_cb cb,
    void *arg)
{
	return resolve_begin(loop, host, port, cb, NULL, arg);
}

struct resolve *
resolve_start_all(struct ev_loop *loop, const char *host, const char *port, resolve_all_cb cb,
    void *arg)
{
	return resolve_begin(loop, host, port, NULL, cb, arg);
}

void
resolve_cancel(struct resolve *r)
{
	r->cancelled = 1;
	if (!r->submit_err && gai_cancel(&r->req) == EAI_CANCELED) {
		ev_async_stop(r->loop, &r->done_w);
		resolve_free(r);
	}
}
