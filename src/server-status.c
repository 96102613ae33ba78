/*
 * Rows of rtund's status report shared by several files.
 */
#include "rtun-build.h"

#include <stddef.h>

#include "server-status.h"
#include "status.h"
#include "stream.h"

static const struct status_col service_cols[] = {
	{ "agent", "AGENT", STATUS_TEXT },
	{ "service", "SERVICE", STATUS_TEXT },
	{ "type", "TYPE", STATUS_TEXT },
	{ "public", "PUBLIC", STATUS_TEXT },
	{ "streams", "STREAMS", STATUS_COUNT },
	{ "bytes_in", "IN", STATUS_BYTES },
	{ "bytes_out", "OUT", STATUS_BYTES },
};

void
server_status_services(struct status *st)
{
	status_table(st, "services", service_cols, sizeof(service_cols) / sizeof(service_cols[0]));
}

void
server_status_service(struct status *st, const char *agent, const char *service,
    const char *type, const char *public, uint32_t streams, const struct stream_counters *ctr)
{
	status_text(st, agent);
	status_text(st, service);
	status_text(st, type);
	status_text(st, public);
	status_num(st, streams);
	status_num(st, ctr != NULL && ctr->local_read != NULL ? (double)*ctr->local_read : 0);
	status_num(st, ctr != NULL && ctr->local_written != NULL ? (double)*ctr->local_written : 0);
}
