/*
 * request - netd's requests to admind, by kind, and their answers.
 *
 * A console command (ADMIN_COMMAND) goes to console.c; a site's poll or
 * answer on the AdminCommunicating channel goes to relay.c. Both often
 * answer later, once aggd or the sites have: the routing id of netd's
 * request is kept until then. Any other kind is refused here; ipc.c has
 * already refused kinds that do not belong on this socket.
 */
#include <string.h>

#include "admind.h"
#include "log.h"
#include "status.h"

void
request_keep(struct netd_request *nr, struct ipc_msg *msg)
{
	zmq_msg_init(&nr->nr_routing);
	zmq_msg_copy(&nr->nr_routing, &msg->routing);
	nr->nr_id = msg->env->request_id;
	nr->nr_open = 1;
}

void
request_answer(struct ipc_link *link, struct netd_request *nr, int status,
    const char *message, const void *payload, size_t len)
{
	Flipc__Envelope	 env = FLIPC__ENVELOPE__INIT;

	if (!nr->nr_open)
		return;
	env.request_id = nr->nr_id;
	env.kind = FLIPC__KIND__REPLY;
	env.status = status;
	env.status_message = (char *)(message != NULL ? message : "");
	ipc_send(link, &nr->nr_routing, &env, payload, len, NULL, NULL);
	request_drop(nr);
}

void
request_drop(struct netd_request *nr)
{
	if (!nr->nr_open)
		return;
	zmq_msg_close(&nr->nr_routing);
	nr->nr_open = 0;
}

void
request_dispatch(struct admind *ad, struct ipc_msg *msg)
{
	Flipc__Envelope	 env;

	switch (msg->env->kind) {
	case FLIPC__KIND__ADMIN_COMMAND:
		console_command(ad, msg);
		return;
	case FLIPC__KIND__ADMIN_RETRIEVE:
	case FLIPC__KIND__ADMIN_SEND_REPLY:
	case FLIPC__KIND__ADMIN_SEND_RESULT:
		relay_request(ad, msg);
		return;
	default:
		log_warnx("refused a request of kind %d from netd: admind "
		    "does not serve it", msg->env->kind);
		ipc_reply_env(&env, msg->env, FL_UNIMPLEMENTED,
		    "admind does not serve this request");
		ipc_send(&ad->console, &msg->routing, &env, NULL, 0, NULL,
		    NULL);
	}
}
