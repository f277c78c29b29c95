/*
 * sandbox - what confines a daemon: the user it runs as, its capabilities,
 * the system calls it may make, and the folders its sockets live in.
 *
 * A daemon's main calls, in this order:
 *
 *	priv = sandbox_identity("flnetd");	first, before any thread
 *	if (sandbox_runtime_dir(rundir, priv) == -1)
 *		fatalx(...);			before binding or connecting
 *	if (sandbox_check_private_key(keyfile) == -1)
 *		fatalx(...);			before reading a key
 *	... start-up: read files, bind, connect, grpc_init, zmq sockets ...
 *	sandbox_enter(seccomp_netd_rules, seccomp_netd_nrules);
 *
 * What each daemon may call after start-up is not decided here but in
 * its table in policy/seccomp_DAEMON.c. This module does not create
 * folders or sockets; it only refuses ones that others could use.
 */
#ifndef FL_SANDBOX_H
#define FL_SANDBOX_H

#include <sys/types.h>

#include <stddef.h>

#include <seccomp.h>

/* The group of the appliance's users, and of its runtime folder. */
#define SANDBOX_GROUP		"flserver"

/*
 * One line of an allowlist: a system call, allowed when sr_errno is 0
 * (and, with sr_has_cmp, only when its argument compares so), else
 * answered with sr_errno without being made.
 */
struct sandbox_rule {
	const char		*sr_name;
	int			 sr_syscall;
	int			 sr_errno;
	int			 sr_has_cmp;
	struct scmp_arg_cmp	 sr_cmp;
};

#define SANDBOX_ALLOW(call) \
	{ #call, SCMP_SYS(call), 0, 0, { 0, 0, 0, 0 } }
/* Allowed only when argument n equals value. */
#define SANDBOX_ALLOW_ARG(call, n, value) \
	{ #call, SCMP_SYS(call), 0, 1, { n, SCMP_CMP_EQ, value, 0 } }
/* Allowed only when argument n, masked with mask, equals value. */
#define SANDBOX_ALLOW_MASKED(call, n, mask, value) \
	{ #call, SCMP_SYS(call), 0, 1, { n, SCMP_CMP_MASKED_EQ, mask, value } }
/* Never made: the caller sees it fail with err. */
#define SANDBOX_FAIL(call, err) \
	{ #call, SCMP_SYS(call), err, 0, { 0, 0, 0, 0 } }

/* Each daemon's allowlist, in policy/seccomp_DAEMON.c. */
extern const struct sandbox_rule	seccomp_netd_rules[];
extern const size_t			seccomp_netd_nrules;
extern const struct sandbox_rule	seccomp_aggd_rules[];
extern const size_t			seccomp_aggd_nrules;
extern const struct sandbox_rule	seccomp_admind_rules[];
extern const size_t			seccomp_admind_nrules;

/*
 * Become user (flnetd, flaggd, fladmind) in group flserver when started
 * as root, with no capability left, not even in the bounding set; refuse
 * to run when that user does not exist. Started as anyone else, stay that
 * user but drop every capability. Either way, no core dumps and no
 * ptrace by the same user. Fatal on any failure. Call it before anything
 * starts a thread: capabilities belong to each thread.
 * Returns 1 when the process now runs as user (the appliance's layout
 * applies), 0 when it runs as an ordinary user (a test, the demo).
 */
int	sandbox_identity(const char *user);

/*
 * The uid that may connect to a socket whose peer is daemon ("netd",
 * "aggd", "admind"): its appliance user's when privileged, else
 * (uid_t)-1 for "any" (an ordinary user's daemons all share one uid).
 * Fatal when the user does not exist. Call it before sandbox_enter.
 */
uid_t	sandbox_peer_uid(const char *daemon, int privileged);

/*
 * Refuse (-1, logged with the path and the reason) a private key that
 * is not a regular file owned by the running user, or that its group or
 * others could read or write (an ACL granting anyone else access shows
 * in the group bits). 0 when it is fit to use. A key owned by root is
 * refused too: past sandbox_identity no daemon runs as root, and could
 * not read such a key without it being open to others.
 */
int	sandbox_check_private_key(const char *path);

/*
 * Refuse (-1, logged with the path and the reason) a runtime folder
 * that others could use to steal or reach the IPC sockets: privileged
 * (as returned by sandbox_identity), RUNDIR must be root's, group
 * flserver, and each RUNDIR/DAEMON its daemon's user's, group flserver,
 * none group-writable nor open to others; otherwise all of them must be
 * the running user's, not group-writable, and closed to others. Sockets
 * in them must not be writable by others. Folders above RUNDIR must be
 * root's or the running user's and writable by nobody else unless
 * sticky. A missing RUNDIR/DAEMON is not an error: it is checked when it
 * exists.
 */
int	sandbox_runtime_dir(const char *dir, int privileged);

/*
 * Load the seccomp allowlist rules for every thread of the process, with
 * no_new_privs: any other system call kills the whole process. clone3 is
 * always answered with ENOSYS, so that glibc creates threads with clone,
 * whose flags a filter can see. Fatal when the filter cannot be loaded.
 * FL_SECCOMP_LOG=1 in the environment (or -DFL_SECCOMP_LOG) logs
 * unlisted calls to the kernel log instead of killing, to debug a list;
 * -DFL_NO_SECCOMP (sanitizer builds) loads no filter at all.
 */
void	sandbox_enter(const struct sandbox_rule *rules, size_t nrules);

#endif
