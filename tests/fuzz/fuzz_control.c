/*
 * libFuzzer target for CONTROL payloads: raw input to control_decode(). A
 * message it accepts must be one the rest of the code can use as is, so the
 * fields the checks promise are checked again here.
 */
#include "rtun-build.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "control.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	Rtun__Control *m;
	const char *why = NULL;

	if ((m = control_decode(data, size, &why)) == NULL) {
		if (why == NULL)
			abort();
		return 0;
	}
	if (m->msg_case == RTUN__CONTROL__MSG_CLIENT_HELLO &&
	    (!control_name_valid(m->client_hello->name) ||
		m->client_hello->nonce.len != AUTH_NONCE_LEN))
		abort();
	if (m->msg_case == RTUN__CONTROL__MSG_DECLARE &&
	    m->declare->n_services > CONTROL_SERVICES_MAX)
		abort();
	(void)control_name(m);
	control_free(m);
	return 0;
}
