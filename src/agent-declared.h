/*
 * What rtund answered, in its last DeclareResult, for each service of one
 * agent config: accepted (and bound as which type) or refused (and why).
 *
 * An OPEN does not say whether it is a connection or a UDP flow: the agent
 * serves an OPEN for a service only when rtund accepted it as the type the
 * config has now (not for an rtund that does not know the type, nor for OPENs
 * of an old port still in flight while a reload changes a service's type).
 * The status report shows the same answers.
 */
#ifndef RTUN_AGENT_DECLARED_H
#define RTUN_AGENT_DECLARED_H

#include "config.h"
#include "rtun.pb-c.h"

struct declared;

/* Nothing answered yet for conf's services, except what prev knew of services of the same name. */
struct declared *declared_new(const struct agent_conf *conf, const struct declared *prev);
/* Free (NULL is ignored). */
void declared_free(struct declared *d);
/* rtund answered r; 0 if r names no service of the config. */
int declared_note(struct declared *d, const Rtun__ServiceResult *r);
/* The link to rtund is gone: nothing is accepted until the next DeclareResult. */
void declared_forget(struct declared *d);
/* True when rtund accepted svc (of the config) as the type svc has. */
int declared_type_ok(const struct declared *d, const struct service_conf *svc);
/* svc's state for people: "ok", "not declared yet", or the reason rtund gave. */
const char *declared_state(const struct declared *d, const struct service_conf *svc);

#endif
