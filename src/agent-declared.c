/*
 * The answers to an agent's declaration, one per service of its config, in
 * the config's order.
 */
#include "rtun-build.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent-declared.h"
#include "control.h"
#include "log.h"
#include "xmalloc.h"

enum answer { ANSWER_NONE, ANSWER_OK, ANSWER_REFUSED };

struct answer_of {
	enum answer answer;
	uint32_t type;          /* the type rtund accepted it as (a Service.type) */
	char reason[256];       /* ANSWER_REFUSED: rtund's reason */
};

struct declared {
	const struct agent_conf *conf;
	struct answer_of *a;    /* per service of conf */
};

static const struct answer_of *
answer_by_name(const struct declared *d, const char *name)
{
	const struct service_conf *svc;

	if (d == NULL || (svc = config_service(d->conf, name)) == NULL)
		return NULL;
	return &d->a[svc - d->conf->services];
}

struct declared *
declared_new(const struct agent_conf *conf, const struct declared *prev)
{
	struct declared *d = xcalloc(1, sizeof(*d));
	const struct answer_of *old;
	size_t i;

	d->conf = conf;
	d->a = xcalloc(conf->nservices + 1, sizeof(*d->a));
	for (i = 0; i < conf->nservices; i++) {
		if ((old = answer_by_name(prev, conf->services[i].name)) != NULL)
			d->a[i] = *old;
	}
	return d;
}

void
declared_free(struct declared *d)
{
	if (d == NULL)
		return;
	free(d->a);
	free(d);
}

int
declared_note(struct declared *d, const Rtun__ServiceResult *r)
{
	const struct service_conf *svc = config_service(d->conf, r->name);
	struct answer_of *a;
	const char *want;

	if (svc == NULL)
		return 0;
	a = &d->a[svc - d->conf->services];
	a->type = r->type;
	if (r->status != RTUN__SERVICE_STATUS__SERVICE_OK) {
		a->answer = ANSWER_REFUSED;
		snprintf(a->reason, sizeof(a->reason), "%s", r->reason != NULL ? r->reason : "");
		return 1;
	}
	a->answer = ANSWER_OK;
	if (r->type == (uint32_t)svc->type)
		return 1;
	want = control_service_type_name((uint32_t)svc->type);
	log_warn("service %s: rtund bound a %s port for it, not %s (an rtund that does not know "
	    "type = %s?); refusing what it opens for it", svc->name,
	    control_service_type_name(r->type), want, want);
	return 1;
}

void
declared_forget(struct declared *d)
{
	memset(d->a, 0, d->conf->nservices * sizeof(*d->a));
}

int
declared_type_ok(const struct declared *d, const struct service_conf *svc)
{
	const struct answer_of *a = &d->a[svc - d->conf->services];

	return a->answer == ANSWER_OK && a->type == (uint32_t)svc->type;
}

const char *
declared_state(const struct declared *d, const struct service_conf *svc)
{
	const struct answer_of *a = &d->a[svc - d->conf->services];

	switch (a->answer) {
	case ANSWER_OK:
		return a->type == (uint32_t)svc->type ? "ok" : "bound as another type";
	case ANSWER_REFUSED:
		return a->reason;
	default:
		return "not declared yet";
	}
}
