/*
 * cmd_session - _login, _cert_login and _logout.
 *
 * A login answers "OK" and a token item, or an error item that starts
 * with "REJECT", as Clara's did. Who may log in, and how often one may
 * fail, is session.c's; the user must also be named in the policy,
 * since the roles come from there. A password is never logged, and the
 * audit trail redacts it from the command line.
 */
#include <stdio.h>
#include <string.h>

#include "admind.h"
#include "log.h"

/* cmd_session_opened - the session is open: say so, hand the token */
static void
cmd_session_opened(struct command_run *run, const char *user,
    const char *how)
{
	snprintf(run->r_user, sizeof(run->r_user), "%s", user);
	frame_string(&run->r_reply, "OK");
	frame_token(&run->r_reply, run->r_token);
	run_result(run, "logged in %s", how);
	log_info("%s logged in %s from %s (%s)", user, how, run->r_peer.p_cn,
	    run->r_peer.p_address);
}

/* cmd_session_rejected - the login is refused: say why */
static void
cmd_session_rejected(struct command_run *run, const char *user,
    const char *why)
{
	log_warnx("login as %s from %s (%s) refused: %s", user,
	    run->r_peer.p_cn, run->r_peer.p_address, why);
	run_fail(run, "REJECT: %s", why);
}

void
cmd_session_login(struct command_run *run)
{
	struct admind	*ad = run->r_ad;
	const char	*user = run->r_args.name;
	char		 err[SESSION_ERR_MAX];
	int		 known;

	known = policy_user_org(&ad->policy, user) != NULL;
	if (session_login_password(&ad->sessions, user, run->r_args.second,
	    known, run->r_peer.p_fingerprint, admind_now(), run->r_token,
	    err) == -1)
		cmd_session_rejected(run, user, err);
	else
		cmd_session_opened(run, user, "with a password");
}

void
cmd_session_cert_login(struct command_run *run)
{
	struct admind	*ad = run->r_ad;
	const char	*user = run->r_args.name;
	char		 err[SESSION_ERR_MAX];
	int		 known;

	known = policy_user_org(&ad->policy, user) != NULL;
	if (session_login_cert(&ad->sessions, user, run->r_peer.p_cn,
	    run->r_peer.p_kind == FLIPC__PEER_KIND__PEER_ADMIN, known,
	    run->r_peer.p_fingerprint, admind_now(), run->r_token,
	    err) == -1)
		cmd_session_rejected(run, user, err);
	else
		cmd_session_opened(run, user, "with a certificate");
}

void
cmd_session_logout(struct command_run *run)
{
	session_logout(&run->r_ad->sessions, run->r_token);
	frame_success(&run->r_reply, "logged out");
	run_result(run, "logged out");
	log_info("%s logged out", run->r_user);
}

void
cmd_session_undo(struct command_run *run)
{
	if (run->r_token[0] != '\0')
		session_logout(&run->r_ad->sessions, run->r_token);
}
