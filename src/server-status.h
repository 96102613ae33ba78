/*
 * The parts of rtund's status report that more than one file fills: the
 * services table takes rows from agents' ports (server.c) and from their
 * host names (server-web.c).
 */
#ifndef RTUN_SERVER_STATUS_H
#define RTUN_SERVER_STATUS_H

#include <stdint.h>

struct status;
struct stream_counters;

/* Start the "services" table. */
void server_status_services(struct status *st);
/*
 * One row of it: the agent, its service and type, where users reach it ("port 2222",
 * "host a.example.com"), open streams, and bytes each way (ctr NULL: none counted).
 */
void server_status_service(struct status *st, const char *agent, const char *service,
    const char *type, const char *public, uint32_t streams, const struct stream_counters *ctr);

#endif
