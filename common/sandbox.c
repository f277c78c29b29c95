/*
 * sandbox - confine a daemon: its user and capabilities (libcap-ng), its
 * system calls (libseccomp), and the permissions of its runtime folder
 * and private keys.
 *
 * Failing to confine is fatal, and a loose folder or key is refused with
 * a logged reason: a daemon never runs less confined than it asked,
 * except when built with FL_NO_SECCOMP or run with FL_SECCOMP_LOG=1, and
 * then its log says so.
 */
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>

#include <linux/capability.h>

#include <cap-ng.h>
#include <dirent.h>
#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "sandbox.h"

/* The daemons that own a folder in the runtime folder, user "fl" NAME. */
static const char *const sandbox_daemons[] = { "netd", "aggd", "admind" };

/* What the runtime folder and its sockets must look like. */
struct sandbox_expect {
	uid_t	 se_uid;
	gid_t	 se_gid;
	int	 se_check_gid;
	mode_t	 se_deny;	/* mode bits that refuse a folder */
	mode_t	 se_sock_deny;	/* mode bits that refuse a socket */
};

/* sandbox_threads - how many threads this process runs, 0 if unknown */
static int
sandbox_threads(void)
{
	FILE	*f;
	char	 line[256];
	int	 n = 0;

	if ((f = fopen("/proc/self/status", "re")) == NULL)
		return 0;
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "Threads: %d", &n) == 1)
			break;
	fclose(f);
	return n;
}

/* sandbox_become - as root, become user in group flserver */
static void
sandbox_become(const char *user)
{
	struct passwd	*pw;
	struct group	*gr;
	uid_t		 uid;
	gid_t		 gid;
	int		 rc;

	if ((pw = getpwnam(user)) == NULL)
		fatalx("user %s does not exist: create it (the package "
		    "does), or start the daemon as an ordinary user", user);
	uid = pw->pw_uid;
	if (uid == 0)
		fatalx("user %s is root: it must be an unprivileged user",
		    user);
	if ((gr = getgrnam(SANDBOX_GROUP)) == NULL)
		fatalx("group %s does not exist", SANDBOX_GROUP);
	gid = gr->gr_gid;

	capng_clear(CAPNG_SELECT_ALL);
	if ((rc = capng_change_id(uid, gid, CAPNG_DROP_SUPP_GRP |
	    CAPNG_CLEAR_BOUNDING | CAPNG_CLEAR_AMBIENT)) != 0)
		fatalx("cannot become user %s: capng_change_id failed (%d)",
		    user, rc);

	if (getuid() != uid || geteuid() != uid || getgid() != gid ||
	    getegid() != gid || getgroups(0, NULL) != 0)
		fatalx("switching to user %s left other ids behind", user);
	if (setuid(0) != -1)
		fatalx("user %s can become root again", user);
}

/* sandbox_caps_empty - none effective, permitted or inheritable (nor so
 * ambient, which are always permitted too) */
static int
sandbox_caps_empty(void)
{
	struct __user_cap_header_struct	 hdr;
	struct __user_cap_data_struct	 data[_LINUX_CAPABILITY_U32S_3];
	int				 i;

	memset(&hdr, 0, sizeof(hdr));
	/* valgrind's capget fills version 1's single struct only. */
	memset(data, 0, sizeof(data));
	hdr.version = _LINUX_CAPABILITY_VERSION_3;
	if (syscall(SYS_capget, &hdr, data) == -1)
		fatal("capget");
	for (i = 0; i < _LINUX_CAPABILITY_U32S_3; i++)
		if (data[i].effective || data[i].permitted ||
		    data[i].inheritable)
			return 0;
	return 1;
}

/* sandbox_drop_caps - stay the invoking user, give up every capability */
static void
sandbox_drop_caps(void)
{
	int	 setpcap, rc;

	/*
	 * Nothing to give up (systemd started us as our user): do not call
	 * capset, which a unit's SystemCallFilter=~@privileged refuses.
	 */
	if (sandbox_caps_empty())
		return;
	if (capng_get_caps_process() != 0)
		fatalx("cannot read this process's capabilities");
	setpcap = capng_have_capability(CAPNG_EFFECTIVE, CAP_SETPCAP);

	capng_clear(CAPNG_SELECT_ALL);
	/* Emptying the bounding set needs CAP_SETPCAP; without it, keep it. */
	if (setpcap && (rc = capng_apply(CAPNG_SELECT_BOUNDS)) != 0)
		fatalx("cannot clear the capability bounding set (%d)", rc);
	if ((rc = capng_apply(CAPNG_SELECT_CAPS)) != 0)
		fatalx("cannot drop capabilities (%d)", rc);
}

/* sandbox_check_no_caps - fail unless no capability is left */
static void
sandbox_check_no_caps(void)
{
	if (!sandbox_caps_empty())
		fatalx("capabilities remain after dropping them");
}

/* sandbox_no_core - no core dumps, no ptrace by the same user */
static void
sandbox_no_core(void)
{
	struct rlimit	 rl = { 0, 0 };

	if (setrlimit(RLIMIT_CORE, &rl) == -1)
		fatal("setrlimit RLIMIT_CORE");
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == -1)
		fatal("prctl PR_SET_DUMPABLE");
}

int
sandbox_identity(const char *user)
{
	struct passwd	*pw;
	int		 n, privileged;

	if ((n = sandbox_threads()) > 1)
		fatalx("%d threads run before dropping privileges: "
		    "capabilities belong to each thread", n);
	if (getuid() != geteuid() || getgid() != getegid())
		fatalx("refusing to run set-user-id or set-group-id");

	if (geteuid() == 0) {
		sandbox_become(user);
		privileged = 1;
	} else {
		sandbox_drop_caps();
		pw = getpwnam(user);
		privileged = pw != NULL && pw->pw_uid == geteuid();
	}
	sandbox_check_no_caps();
	sandbox_no_core();

	log_debug("running as uid %u gid %u, no capabilities, %s layout",
	    (unsigned)getuid(), (unsigned)getgid(),
	    privileged ? "appliance" : "unprivileged");
	return privileged;
}

int
sandbox_check_private_key(const char *path)
{
	struct stat	 st;

	if (stat(path, &st) == -1) {
		log_warn("private key %s", path);
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		log_warnx("private key %s is not a regular file", path);
		return -1;
	}
	if (st.st_uid != geteuid()) {
		log_warnx("private key %s belongs to uid %u, not to uid %u "
		    "that runs this daemon", path, (unsigned)st.st_uid,
		    (unsigned)geteuid());
		return -1;
	}
	if (st.st_mode & (S_IRWXG | S_IRWXO)) {
		log_warnx("private key %s is open to its group or others "
		    "(mode %04o): it must be 0600 or 0400", path,
		    (unsigned)(st.st_mode & 07777));
		return -1;
	}
	return 0;
}

/* sandbox_check_parents - no one else may move the runtime folder away */
static int
sandbox_check_parents(const char *dir)
{
	char		 path[PATH_MAX], *slash;
	struct stat	 st;

	if (realpath(dir, path) == NULL) {
		log_warn("runtime folder %s", dir);
		return -1;
	}
	while ((slash = strrchr(path, '/')) != NULL) {
		if (slash == path)
			slash[1] = '\0';
		else
			*slash = '\0';
		if (stat(path, &st) == -1) {
			log_warn("%s, above runtime folder %s", path, dir);
			return -1;
		}
		if (st.st_uid != 0 && st.st_uid != geteuid()) {
			log_warnx("%s, above runtime folder %s, belongs to "
			    "uid %u", path, dir, (unsigned)st.st_uid);
			return -1;
		}
		/* A sticky folder (/tmp) lets no one rename our folder. */
		if ((st.st_mode & (S_IWGRP | S_IWOTH)) &&
		    !(st.st_mode & S_ISVTX)) {
			log_warnx("%s, above runtime folder %s, is writable "
			    "by group or others (mode %04o)", path, dir,
			    (unsigned)(st.st_mode & 07777));
			return -1;
		}
		if (slash == path)
			break;
	}
	return 0;
}

/* sandbox_check_folder - a folder owned and closed as expected */
static int
sandbox_check_folder(const char *path, const struct sandbox_expect *se)
{
	struct stat	 st;

	if (lstat(path, &st) == -1) {
		log_warn("runtime folder %s", path);
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		log_warnx("runtime folder %s is not a folder", path);
		return -1;
	}
	if (st.st_uid != se->se_uid) {
		log_warnx("runtime folder %s belongs to uid %u, not %u", path,
		    (unsigned)st.st_uid, (unsigned)se->se_uid);
		return -1;
	}
	if (se->se_check_gid && st.st_gid != se->se_gid) {
		log_warnx("runtime folder %s is in gid %u, not %s (%u)", path,
		    (unsigned)st.st_gid, SANDBOX_GROUP, (unsigned)se->se_gid);
		return -1;
	}
	if (st.st_mode & se->se_deny) {
		log_warnx("runtime folder %s is open to group or others "
		    "(mode %04o)", path, (unsigned)(st.st_mode & 07777));
		return -1;
	}
	return 0;
}

/* sandbox_check_socket - one socket no one else may connect to */
static int
sandbox_check_socket(const char *path, const struct sandbox_expect *se)
{
	struct stat	 st;

	if (lstat(path, &st) == -1) {
		log_warn("socket %s", path);
		return -1;
	}
	if (!S_ISSOCK(st.st_mode))
		return 0;
	if (st.st_uid != se->se_uid) {
		log_warnx("socket %s belongs to uid %u, not %u", path,
		    (unsigned)st.st_uid, (unsigned)se->se_uid);
		return -1;
	}
	/* Connecting to a socket takes write permission on it. */
	if (st.st_mode & se->se_sock_deny) {
		log_warnx("socket %s can be connected to by others (mode "
		    "%04o)", path, (unsigned)(st.st_mode & 07777));
		return -1;
	}
	return 0;
}

/* sandbox_check_sockets - every socket in one daemon's folder */
static int
sandbox_check_sockets(const char *dir, const struct sandbox_expect *se)
{
	DIR		*d;
	struct dirent	*de;
	char		 path[PATH_MAX];
	int		 rc = 0, n;

	if ((d = opendir(dir)) == NULL) {
		log_warn("runtime folder %s", dir);
		return -1;
	}
	while (rc == 0 && (de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		n = snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (n < 0 || (size_t)n >= sizeof(path)) {
			log_warnx("path too long in runtime folder %s", dir);
			rc = -1;
		} else
			rc = sandbox_check_socket(path, se);
	}
	closedir(d);
	return rc;
}

/* sandbox_expect_init - the owner and modes of the whole tree */
static int
sandbox_expect_init(struct sandbox_expect *se, int privileged)
{
	struct group	*gr;

	memset(se, 0, sizeof(*se));
	if (!privileged) {
		se->se_uid = geteuid();
		se->se_deny = S_IWGRP | S_IRWXO;
		se->se_sock_deny = S_IWGRP | S_IWOTH;
		return 0;
	}
	if ((gr = getgrnam(SANDBOX_GROUP)) == NULL) {
		log_warnx("group %s does not exist", SANDBOX_GROUP);
		return -1;
	}
	se->se_uid = 0;
	se->se_gid = gr->gr_gid;
	se->se_check_gid = 1;
	se->se_deny = S_IWGRP | S_IRWXO;
	se->se_sock_deny = S_IWOTH;
	return 0;
}

/* sandbox_daemon_dir - check RUNDIR/daemon, if it exists, and its sockets */
static int
sandbox_daemon_dir(const char *dir, const char *daemon,
    struct sandbox_expect se)
{
	struct passwd	*pw;
	struct stat	 st;
	char		 path[PATH_MAX], user[32];
	int		 n;

	n = snprintf(path, sizeof(path), "%s/%s", dir, daemon);
	if (n < 0 || (size_t)n >= sizeof(path)) {
		log_warnx("runtime folder %s: path too long", dir);
		return -1;
	}
	if (lstat(path, &st) == -1 && errno == ENOENT)
		return 0;
	if (se.se_check_gid) {
		snprintf(user, sizeof(user), "fl%s", daemon);
		if ((pw = getpwnam(user)) == NULL) {
			log_warnx("runtime folder %s: user %s does not exist",
			    path, user);
			return -1;
		}
		se.se_uid = pw->pw_uid;
	}
	if (sandbox_check_folder(path, &se) == -1)
		return -1;
	return sandbox_check_sockets(path, &se);
}

int
sandbox_runtime_dir(const char *dir, int privileged)
{
	struct sandbox_expect	 se;
	size_t			 i;

	if (sandbox_expect_init(&se, privileged) == -1)
		return -1;
	if (sandbox_check_parents(dir) == -1)
		return -1;
	if (sandbox_check_folder(dir, &se) == -1)
		return -1;
	for (i = 0; i < sizeof(sandbox_daemons) / sizeof(*sandbox_daemons);
	    i++)
		if (sandbox_daemon_dir(dir, sandbox_daemons[i], se) == -1)
			return -1;
	return 0;
}

#ifdef FL_NO_SECCOMP

void
sandbox_enter(const struct sandbox_rule *rules, size_t nrules)
{
	(void)rules;
	log_warnx("seccomp filter is off: built with FL_NO_SECCOMP "
	    "(%zu rules not loaded)", nrules);
}

#else

/* sandbox_default_action - kill, or only log while debugging a list */
static uint32_t
sandbox_default_action(void)
{
#ifndef FL_SECCOMP_LOG
	const char	*env;

	if ((env = getenv("FL_SECCOMP_LOG")) == NULL || strcmp(env, "1") != 0)
		return SCMP_ACT_KILL_PROCESS;
#endif
	log_warnx("seccomp: unlisted system calls are logged to the kernel "
	    "log, not refused (FL_SECCOMP_LOG): never in production");
	return SCMP_ACT_LOG;
}

/* sandbox_add - one line of a table into the filter */
static void
sandbox_add(scmp_filter_ctx ctx, const struct sandbox_rule *r)
{
	uint32_t	 action;
	int		 rc;

	/* A call this architecture lacks (open on arm64) needs no rule. */
	if (r->sr_syscall < 0)
		return;
	action = r->sr_errno ? SCMP_ACT_ERRNO(r->sr_errno) : SCMP_ACT_ALLOW;
	if (r->sr_has_cmp)
		rc = seccomp_rule_add_exact_array(ctx, action, r->sr_syscall,
		    1, &r->sr_cmp);
	else
		rc = seccomp_rule_add_exact(ctx, action, r->sr_syscall, 0);
	if (rc < 0)
		fatalx("seccomp rule for %s: %s", r->sr_name, strerror(-rc));
}

void
sandbox_enter(const struct sandbox_rule *rules, size_t nrules)
{
	scmp_filter_ctx	 ctx;
	size_t		 i;
	int		 rc;

	if ((ctx = seccomp_init(sandbox_default_action())) == NULL)
		fatalx("seccomp_init failed");
	/* Threads of grpc and ZeroMQ exist already: filter them too. */
	if ((rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1)) < 0 ||
	    (rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 1)) < 0 ||
	    (rc = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH,
	    SCMP_ACT_KILL_PROCESS)) < 0)
		fatalx("seccomp attributes: %s", strerror(-rc));

	/* clone3 passes its flags in memory, out of a filter's sight. */
	if ((rc = seccomp_rule_add_exact(ctx, SCMP_ACT_ERRNO(ENOSYS),
	    SCMP_SYS(clone3), 0)) < 0)
		fatalx("seccomp rule for clone3: %s", strerror(-rc));
	for (i = 0; i < nrules; i++)
		sandbox_add(ctx, &rules[i]);

	if ((rc = seccomp_load(ctx)) < 0)
		fatalx("cannot load the seccomp filter: %s", strerror(-rc));
	seccomp_release(ctx);
	log_debug("seccomp filter loaded: %zu rules", nrules);
}

#endif

uid_t
sandbox_peer_uid(const char *daemon, int privileged)
{
	struct passwd	*pw;
	char		 user[64];

	if (!privileged)
		return (uid_t)-1;
	if ((size_t)snprintf(user, sizeof(user), "fl%s", daemon) >=
	    sizeof(user))
		fatalx("daemon name %s is too long", daemon);
	if ((pw = getpwnam(user)) == NULL)
		fatalx("user %s does not exist: create it (the package does)",
		    user);
	return pw->pw_uid;
}
