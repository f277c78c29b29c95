/*
 * request - admind's answers to the requests netd brings it.
 *
 * The admin console and the AdminCommunicating channel (sites polling
 * for admin requests) are not built yet: every ADMIN_* request gets
 * UNIMPLEMENTED with a message that says so, and any other request kind,
 * which netd has no business sending here, gets UNIMPLEMENTED too. Sites
 * poll twice a second, so each kind is logged the first time only.
 */
#include <stdio.h>

#include "admind.h"
#include "log.h"
#include "status.h"

#define REQUEST_RELAY_UNAVAILABLE \
	"the admin relay to sites is not available in this version"
#define REQUEST_CONSOLE_UNAVAILABLE \
	"the admin console is not available in this version"

/* request_kind_name - the envelope kind's name, for logs */
static const char *
request_kind_name(int kind)
{
	const ProtobufCEnumValue	*v;

	v = protobuf_c_enum_descriptor_get_value(&flipc__kind__descriptor,
	    kind);
	return v != NULL ? v->name : "unknown";
}

/* request_logged - 1 if a refusal of kind was logged already */
static int
request_logged(int kind)
{
	static unsigned char	 seen[FLIPC__KIND__REPLY + 1];

	if (kind < 0 || kind > FLIPC__KIND__REPLY)
		return 0;
	if (seen[kind])
		return 1;
	seen[kind] = 1;
	return 0;
}

void
request_refuse(struct ipc_link *link, struct ipc_msg *msg)
{
	Flipc__Envelope	 env;
	const char	*why;
	int		 kind = msg->env->kind;

	switch (kind) {
	case FLIPC__KIND__ADMIN_RETRIEVE:
	case FLIPC__KIND__ADMIN_SEND_REPLY:
	case FLIPC__KIND__ADMIN_SEND_RESULT:
		why = REQUEST_RELAY_UNAVAILABLE;
		break;
	case FLIPC__KIND__ADMIN_COMMAND:
		why = REQUEST_CONSOLE_UNAVAILABLE;
		break;
	default:
		why = "admind does not serve this request";
		break;
	}
	if (!request_logged(kind))
		log_info("refused %s from %s: %s (further ones not logged)",
		    request_kind_name(kind),
		    msg->env->peer != NULL && msg->env->peer->common_name[0] ?
		    msg->env->peer->common_name : "netd", why);
	ipc_reply_env(&env, msg->env, FL_UNIMPLEMENTED, why);
	ipc_send(link, &msg->routing, &env, NULL, 0, NULL, NULL);
}
