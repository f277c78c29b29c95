/*
 * test_sandbox - the confinement each daemon gets.
 *
 * Each seccomp table is loaded in a forked child, which then tries one
 * call; the parent reads how the child ended: killed by SIGSYS, or an
 * exit code saying what the call returned. Then the checks of private
 * keys and runtime folders, and the user switch: as root, in a private
 * mount namespace whose /etc/passwd and /etc/group name flnetd and
 * flserver, so that the machine's own users are never touched.
 */
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <cap-ng.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "log.h"
#include "sandbox.h"

#include "../../policy/seccomp_netd.c"
#include "../../policy/seccomp_aggd.c"
#include "../../policy/seccomp_admind.c"

/* How a child says what its call did, when it was not killed. */
#define CHILD_OK	0
#define CHILD_FATAL	1	/* fatal() or fatalx() */
#define CHILD_RETURNED	3	/* a call that should have killed returned */
#define CHILD_WRONG	4	/* a call failed, or failed the wrong way */
#define CHILD_SETUP	5	/* the child could not prepare its test */

/* Test users, in a private copy of /etc/passwd and /etc/group. */
#define TEST_UID	64011	/* flnetd */
#define TEST_GID	64012	/* flserver */
#define TEST_AGGD_UID	64013
#define TEST_ADMIND_UID	64014
#define TEST_USERS \
	"flnetd:x:64011:64012::/nonexistent:/usr/sbin/nologin\n" \
	"flaggd:x:64013:64012::/nonexistent:/usr/sbin/nologin\n" \
	"fladmind:x:64014:64012::/nonexistent:/usr/sbin/nologin\n"

struct table {
	const struct sandbox_rule	*rules;
	const size_t			*nrules;
};

static const struct table netd = { seccomp_netd_rules, &seccomp_netd_nrules };
static const struct table aggd = { seccomp_aggd_rules, &seccomp_aggd_nrules };
static const struct table admind =
    { seccomp_admind_rules, &seccomp_admind_nrules };

typedef int	 child_fn(void);

static void	*thread_named(void *);

static char	 scratch[64];	/* a fresh folder for the whole run */
static char	 child_log[4096];	/* what the last child logged */

/*
 * start_first_thread - what ZeroMQ does in every daemon before its
 * filter: glibc installs its SIGSETXID handler at the first
 * pthread_create, which no table allows afterwards.
 */
static void
start_first_thread(void)
{
	pthread_t	 t;

	if (pthread_create(&t, NULL, thread_named, NULL) != 0 ||
	    pthread_join(t, NULL) != 0)
		_exit(CHILD_SETUP);
}

/* run_child - fork, run fn in the child, return its wait status */
static int
run_child(const struct table *t, child_fn *fn)
{
	struct rlimit	 nocore = { 0, 0 };
	FILE		*log;
	pid_t		 pid;
	size_t		 n;
	int		 status;

	assert_non_null(log = tmpfile());
	fflush(NULL);
	assert_int_not_equal(pid = fork(), -1);
	if (pid == 0) {
		/* A SIGSYS death must not leave a core behind. */
		setrlimit(RLIMIT_CORE, &nocore);
		dup2(fileno(log), STDERR_FILENO);
		if (t != NULL) {
			start_first_thread();
			sandbox_enter(t->rules, *t->nrules);
		}
		_exit(fn());
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);

	rewind(log);
	n = fread(child_log, 1, sizeof(child_log) - 1, log);
	child_log[n] = '\0';
	fclose(log);
	return status;
}

/* assert_killed - SIGSYS, and only once the child tried its call */
static void
assert_killed(int status)
{
	if (!WIFSIGNALED(status))
		fail_msg("child was not killed: exit %d, log: %s",
		    WEXITSTATUS(status), child_log);
	assert_int_equal(WTERMSIG(status), SIGSYS);
	assert_non_null(strstr(child_log, "trying "));
}

static void
assert_exit(int status, int code)
{
	if (!WIFEXITED(status))
		fail_msg("child was killed by signal %d, log: %s",
		    WTERMSIG(status), child_log);
	assert_int_equal(WEXITSTATUS(status), code);
}

static void
skip_without_seccomp(void)
{
#ifdef FL_NO_SECCOMP
	skip();
#endif
	unsetenv("FL_SECCOMP_LOG");
}

/* The calls a confined child tries. */

/* trying - say which call comes next, so that a death is pinned to it */
static void
trying(const char *call)
{
	char	 line[64];
	int	 n;

	n = snprintf(line, sizeof(line), "trying %s\n", call);
	(void)!write(STDERR_FILENO, line, n);
}

static int
try_execve(void)
{
	char	*argv[] = { "true", NULL };

	trying("execve");
	execve("/bin/true", argv, environ);
	return CHILD_RETURNED;
}

static int
try_fork(void)
{
	pid_t	 pid;

	trying("fork");
	if ((pid = fork()) == 0)
		_exit(0);
	return CHILD_RETURNED;
}

static int
try_mmap_exec(void)
{
	trying("mmap");
	mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS,
	    -1, 0);
	return CHILD_RETURNED;
}

static int
try_mprotect_exec(void)
{
	void	*p;

	p = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return CHILD_WRONG;
	trying("mprotect");
	mprotect(p, 4096, PROT_READ | PROT_EXEC);
	return CHILD_RETURNED;
}

static int
try_socket_inet(void)
{
	trying("socket");
	socket(AF_INET, SOCK_STREAM, 0);
	return CHILD_RETURNED;
}

static int
try_socket_unix(void)
{
	int	 fd;

	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return CHILD_WRONG;
	close(fd);
	return CHILD_OK;
}

static int
try_prctl_dumpable(void)
{
	trying("prctl");
	prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
	return CHILD_RETURNED;
}

static int
try_open_refused(void)
{
	if (open("/dev/null", O_RDONLY | O_CLOEXEC) != -1 || errno != EACCES)
		return CHILD_WRONG;
	if (fopen("/etc/hostname", "r") != NULL || errno != EACCES)
		return CHILD_WRONG;
	return CHILD_OK;
}

static int
try_clone3(void)
{
	if (syscall(SYS_clone3, NULL, 0) != -1 || errno != ENOSYS)
		return CHILD_WRONG;
	return CHILD_OK;
}

/* try_getppid - a call in no table: only logged with FL_SECCOMP_LOG=1 */
static int
try_getppid(void)
{
	return getppid() > 0 ? CHILD_OK : CHILD_WRONG;
}

static void *
thread_named(void *arg)
{
	(void)arg;
	if (prctl(PR_SET_NAME, "flworker", 0, 0, 0) == -1)
		return (void *)1;
	return NULL;
}

static int
try_thread(void)
{
	pthread_t	 t;
	void		*rv;

	if (pthread_create(&t, NULL, thread_named, NULL) != 0 ||
	    pthread_join(t, &rv) != 0 || rv != NULL)
		return CHILD_WRONG;
	return CHILD_OK;
}

/* try_model_write - what aggd does with a model: temporary, fsync, rename */
static int
try_model_write(void)
{
	char	 tmp[128], path[128];
	int	 fd;

	snprintf(tmp, sizeof(tmp), "%s/model.XXXXXX", scratch);
	snprintf(path, sizeof(path), "%s/model.npz", scratch);
	if ((fd = mkstemp(tmp)) == -1 || fchmod(fd, 0640) == -1 ||
	    write(fd, "PK", 2) != 2 || fsync(fd) == -1 || close(fd) == -1)
		return CHILD_WRONG;
	if (rename(tmp, path) == -1 || access(path, F_OK) == -1 ||
	    unlink(path) == -1)
		return CHILD_WRONG;
	return CHILD_OK;
}

/* try_status_write - what admind does with status.json and the audit */
static int
try_status_write(void)
{
	char	 tmp[128], path[128];
	FILE	*f;
	int	 fd;

	snprintf(tmp, sizeof(tmp), "%s/status.json.tmp", scratch);
	snprintf(path, sizeof(path), "%s/status.json", scratch);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0600)) == -1 || write(fd, "{}", 2) != 2 || fsync(fd) == -1 ||
	    close(fd) == -1 || rename(tmp, path) == -1)
		return CHILD_WRONG;
	if ((f = fopen(path, "re")) == NULL || fgetc(f) != '{' ||
	    fclose(f) != 0 || unlink(path) == -1)
		return CHILD_WRONG;
	return CHILD_OK;
}

static int	 thread_pipe[2];

static void *
thread_execve_later(void *arg)
{
	char	 c;

	(void)arg;
	if (read(thread_pipe[0], &c, 1) == 1)
		try_execve();
	return NULL;
}

/* start_thread_then_confine - the thread exists before the filter */
static int
start_thread_then_confine(void)
{
	pthread_t	 t;

	if (pipe(thread_pipe) == -1 ||
	    pthread_create(&t, NULL, thread_execve_later, NULL) != 0)
		return CHILD_SETUP;
	sandbox_enter(netd.rules, *netd.nrules);
	if (write(thread_pipe[1], "x", 1) != 1)
		return CHILD_WRONG;
	pthread_join(t, NULL);
	return CHILD_RETURNED;
}

static int
confine_logging_only(void)
{
	setenv("FL_SECCOMP_LOG", "1", 1);
	sandbox_enter(netd.rules, *netd.nrules);
	return try_getppid();
}

/* The filters. */

static void
test_execve_kills(void **state)
{
	skip_without_seccomp();
	assert_killed(run_child(*state, try_execve));
}

static void
test_fork_kills(void **state)
{
	skip_without_seccomp();
	assert_killed(run_child(*state, try_fork));
}

static void
test_mmap_exec_kills(void **state)
{
	skip_without_seccomp();
	assert_killed(run_child(*state, try_mmap_exec));
}

static void
test_mprotect_exec_kills(void **state)
{
	skip_without_seccomp();
	assert_killed(run_child(*state, try_mprotect_exec));
}

static void
test_socket_inet_kills(void **state)
{
	skip_without_seccomp();
	assert_killed(run_child(*state, try_socket_inet));
}

static void
test_socket_unix_allowed(void **state)
{
	skip_without_seccomp();
	assert_exit(run_child(*state, try_socket_unix), CHILD_OK);
}

static void
test_threads_start(void **state)
{
	skip_without_seccomp();
	assert_exit(run_child(*state, try_thread), CHILD_OK);
}

static void
test_clone3_fails_enosys(void **state)
{
	skip_without_seccomp();
	assert_exit(run_child(*state, try_clone3), CHILD_OK);
}

static void
test_prctl_other_than_name_kills(void **state)
{
	skip_without_seccomp();
	assert_killed(run_child(*state, try_prctl_dumpable));
}

static void
test_netd_open_fails_eacces(void **state)
{
	skip_without_seccomp();
	assert_exit(run_child(&netd, try_open_refused), CHILD_OK);
}

static void
test_aggd_writes_a_model(void **state)
{
	skip_without_seccomp();
	assert_exit(run_child(&aggd, try_model_write), CHILD_OK);
}

static void
test_admind_writes_status(void **state)
{
	skip_without_seccomp();
	assert_exit(run_child(&admind, try_status_write), CHILD_OK);
}

static void
test_thread_started_before_is_bound(void **state)
{
	skip_without_seccomp();
	assert_killed(run_child(NULL, start_thread_then_confine));
}

static void
test_log_switch_logs_instead_of_killing(void **state)
{
	skip_without_seccomp();
	assert_exit(run_child(NULL, confine_logging_only), CHILD_OK);
	assert_non_null(strstr(child_log, "FL_SECCOMP_LOG"));
}

/* Private keys. */

/* make_file - scratch/name with mode, returns its path */
static const char *
make_file(const char *name, mode_t mode)
{
	static char	 path[128];
	int		 fd;

	snprintf(path, sizeof(path), "%s/%s", scratch, name);
	unlink(path);
	assert_int_not_equal(fd = open(path, O_WRONLY | O_CREAT | O_EXCL,
	    0600), -1);
	assert_int_equal(write(fd, "key\n", 4), 4);
	close(fd);
	assert_int_equal(chmod(path, mode), 0);
	return path;
}

static void
test_key_0600_accepted(void **state)
{
	assert_int_equal(sandbox_check_private_key(make_file("k600", 0600)),
	    0);
	assert_int_equal(sandbox_check_private_key(make_file("k400", 0400)),
	    0);
}

static void
test_key_0644_refused(void **state)
{
	assert_int_equal(sandbox_check_private_key(make_file("k644", 0644)),
	    -1);
}

static void
test_key_0640_refused(void **state)
{
	assert_int_equal(sandbox_check_private_key(make_file("k640", 0640)),
	    -1);
}

static void
test_key_of_another_user_refused(void **state)
{
	const char	*path;

	if (geteuid() != 0)
		skip();
	path = make_file("kother", 0600);
	assert_int_equal(chown(path, 65534, 65534), 0);
	assert_int_equal(sandbox_check_private_key(path), -1);
}

static void
test_key_folder_refused(void **state)
{
	assert_int_equal(sandbox_check_private_key(scratch), -1);
}

/* Runtime folders. */

/* runtime_dir_logged - sandbox_runtime_dir, and what it logged */
static int
runtime_dir_logged(const char *dir, char *out, size_t len)
{
	FILE	*f;
	size_t	 n;
	int	 saved, rc;

	assert_non_null(f = tmpfile());
	fflush(stderr);
	saved = dup(STDERR_FILENO);
	dup2(fileno(f), STDERR_FILENO);
	rc = sandbox_runtime_dir(dir, 0);
	dup2(saved, STDERR_FILENO);
	close(saved);
	rewind(f);
	n = fread(out, 1, len - 1, f);
	out[n] = '\0';
	fclose(f);
	return rc;
}

/* make_dir - scratch/name with mode, returns its path */
static const char *
make_dir(const char *name, mode_t mode)
{
	static char	 path[128];

	snprintf(path, sizeof(path), "%s/%s", scratch, name);
	assert_int_equal(mkdir(path, 0700), 0);
	assert_int_equal(chmod(path, mode), 0);
	return path;
}

/* make_socket - a bound AF_UNIX socket at dir/name with mode */
static void
make_socket(const char *dir, const char *name, mode_t mode)
{
	struct sockaddr_un	 sun;
	int			 fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/%s", dir, name);
	assert_int_not_equal(fd = socket(AF_UNIX, SOCK_STREAM, 0), -1);
	assert_int_equal(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	close(fd);
	assert_int_equal(chmod(sun.sun_path, mode), 0);
}

static void
test_runtime_dir_0700_accepted(void **state)
{
	char		 log[1024], sub[160];
	const char	*dir;

	dir = make_dir("run700", 0700);
	snprintf(sub, sizeof(sub), "%s/aggd", dir);
	assert_int_equal(mkdir(sub, 0700), 0);
	make_socket(sub, "aggd.sock", 0600);
	assert_int_equal(runtime_dir_logged(dir, log, sizeof(log)), 0);
}

static void
test_runtime_dir_0777_refused(void **state)
{
	char		 log[1024];
	const char	*dir;

	dir = make_dir("run777", 0777);
	assert_int_equal(runtime_dir_logged(dir, log, sizeof(log)), -1);
	assert_non_null(strstr(log, dir));
	assert_non_null(strstr(log, "mode 0777"));
}

static void
test_runtime_dir_world_readable_refused(void **state)
{
	char		 log[1024];
	const char	*dir;

	dir = make_dir("run705", 0705);
	assert_int_equal(runtime_dir_logged(dir, log, sizeof(log)), -1);
	assert_non_null(strstr(log, dir));
}

static void
test_daemon_folder_group_writable_refused(void **state)
{
	char		 log[1024], sub[160];
	const char	*dir;

	dir = make_dir("runsub", 0700);
	snprintf(sub, sizeof(sub), "%s/admind", dir);
	assert_int_equal(mkdir(sub, 0700), 0);
	assert_int_equal(chmod(sub, 0770), 0);
	assert_int_equal(runtime_dir_logged(dir, log, sizeof(log)), -1);
	assert_non_null(strstr(log, sub));
}

static void
test_socket_open_to_others_refused(void **state)
{
	char		 log[1024], sub[160];
	const char	*dir;

	dir = make_dir("runsock", 0700);
	snprintf(sub, sizeof(sub), "%s/aggd", dir);
	assert_int_equal(mkdir(sub, 0700), 0);
	make_socket(sub, "aggd.sock", 0666);
	assert_int_equal(runtime_dir_logged(dir, log, sizeof(log)), -1);
	assert_non_null(strstr(log, "aggd.sock"));
}

static void
test_parent_writable_by_others_refused(void **state)
{
	char		 log[1024], child[160], parent[128];

	snprintf(parent, sizeof(parent), "%s", make_dir("open", 0777));
	snprintf(child, sizeof(child), "%s/run", parent);
	assert_int_equal(mkdir(child, 0700), 0);
	assert_int_equal(runtime_dir_logged(child, log, sizeof(log)), -1);
	assert_non_null(strstr(log, parent));
}

/* Identity. */

/* status_caps - a capability set from /proc/self/status, or ~0 */
static unsigned long long
status_caps(const char *field)
{
	char			 line[256];
	FILE			*f;
	unsigned long long	 v = ~0ULL;
	size_t			 len = strlen(field);

	if ((f = fopen("/proc/self/status", "re")) == NULL)
		return v;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, field, len) == 0 && line[len] == ':')
			sscanf(line + len + 1, "%llx", &v);
	fclose(f);
	return v;
}

/* check_confined - exit code 0 when no capability and no core remain */
static int
check_confined(int with_bounding)
{
	struct rlimit	 rl;

	if (status_caps("CapEff") != 0 || status_caps("CapPrm") != 0 ||
	    status_caps("CapInh") != 0 || status_caps("CapAmb") != 0)
		return 10;
	if (with_bounding && status_caps("CapBnd") != 0)
		return 11;
	if (prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) != 0)
		return 12;
	if (getrlimit(RLIMIT_CORE, &rl) == -1 || rl.rlim_cur != 0 ||
	    rl.rlim_max != 0)
		return 13;
	return CHILD_OK;
}

static int
identity_missing_user(void)
{
	sandbox_identity("flnosuchuser");
	return CHILD_RETURNED;
}

/* identity_user_with_caps - a non-root user that still holds capabilities */
static int
identity_user_with_caps(void)
{
	if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) == -1 ||
	    setgroups(0, NULL) == -1 || setresgid(65534, 65534, 65534) == -1 ||
	    setresuid(65534, 65534, 65534) == -1)
		return CHILD_SETUP;
	capng_get_caps_process();
	capng_update(CAPNG_ADD, CAPNG_EFFECTIVE, CAP_SETPCAP);
	if (capng_apply(CAPNG_SELECT_CAPS) != 0 || status_caps("CapPrm") == 0)
		return CHILD_SETUP;

	if (sandbox_identity("flnetd") != 0)
		return CHILD_WRONG;
	if (getuid() != 65534)
		return CHILD_WRONG;
	return check_confined(1);
}

/* identity_user_under_unit - no capability, capset refused as by systemd */
static int
identity_user_under_unit(void)
{
	scmp_filter_ctx	 ctx;

	if (setgroups(0, NULL) == -1 || setresgid(65534, 65534, 65534) == -1 ||
	    setresuid(65534, 65534, 65534) == -1)
		return CHILD_SETUP;
	if ((ctx = seccomp_init(SCMP_ACT_ALLOW)) == NULL ||
	    seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(capset),
	    0) < 0 || seccomp_load(ctx) < 0)
		return CHILD_SETUP;
	seccomp_release(ctx);

	if (sandbox_identity("flnetd") != 0)
		return CHILD_WRONG;
	return check_confined(0);
}

/* appliance_entry - a line of /etc/passwd or /etc/group of ours */
static int
appliance_entry(const char *line)
{
	static const char *const names[] = {
		"flnetd:", "flaggd:", "fladmind:", "flserver:"
	};
	size_t	 i;

	for (i = 0; i < sizeof(names) / sizeof(*names); i++)
		if (strncmp(line, names[i], strlen(names[i])) == 0)
			return 1;
	return 0;
}

/*
 * copy_with_line - src copied to dst with one more line at the end, less
 * the appliance's own users and group: when the machine has them (make
 * users), the test's must be the ones found.
 */
static int
copy_with_line(const char *src, const char *dst, const char *line)
{
	char	 buf[4096];
	FILE	*in, *out;
	int	 rc = 0;

	if ((in = fopen(src, "re")) == NULL)
		return -1;
	if ((out = fopen(dst, "we")) == NULL) {
		fclose(in);
		return -1;
	}
	while (fgets(buf, sizeof(buf), in) != NULL)
		if (!appliance_entry(buf) && fputs(buf, out) == EOF)
			rc = -1;
	fputs(line, out);
	fclose(in);
	if (fclose(out) != 0)
		rc = -1;
	return rc;
}

/* fake_users - bind scratch copies of /etc/passwd and /etc/group */
static int
fake_users(void)
{
	char	 path[128];

	snprintf(path, sizeof(path), "%s/passwd", scratch);
	if (copy_with_line("/etc/passwd", path, TEST_USERS) == -1 ||
	    mount(path, "/etc/passwd", NULL, MS_BIND, NULL) == -1)
		return -1;
	snprintf(path, sizeof(path), "%s/group", scratch);
	if (copy_with_line("/etc/group", path, "flserver:x:64012:\n") == -1 ||
	    mount(path, "/etc/group", NULL, MS_BIND, NULL) == -1)
		return -1;
	return 0;
}

/* in_fake_users - a private mount namespace that knows the test users */
static int
in_fake_users(void)
{
	if (unshare(CLONE_NEWNS) == -1 ||
	    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == -1 ||
	    fake_users() == -1)
		return -1;
	return 0;
}

static int
identity_root_becomes_user(void)
{
	if (in_fake_users() == -1)
		return CHILD_SETUP;

	if (sandbox_identity("flnetd") != 1)
		return CHILD_WRONG;
	if (getuid() != TEST_UID || geteuid() != TEST_UID ||
	    getgid() != TEST_GID || getegid() != TEST_GID ||
	    getgroups(0, NULL) != 0)
		return 20;
	return check_confined(1);
}

/* appliance_dir - scratch/name/sub as tmpfiles.d makes it, or NULL */
static const char *
appliance_dir(const char *name, const char *sub, uid_t uid)
{
	static char	 path[128];

	if (sub == NULL)
		snprintf(path, sizeof(path), "%s/%s", scratch, name);
	else
		snprintf(path, sizeof(path), "%s/%s/%s", scratch, name, sub);
	if (mkdir(path, 0750) == -1 || chown(path, uid, TEST_GID) == -1 ||
	    chmod(path, 0750) == -1)
		return NULL;
	return path;
}

/* appliance_layout - the runtime folder of the appliance, under name */
static int
appliance_layout(const char *name)
{
	char		 sock[160];
	const char	*aggd_dir;

	if (appliance_dir(name, NULL, 0) == NULL ||
	    appliance_dir(name, "netd", TEST_UID) == NULL ||
	    (aggd_dir = appliance_dir(name, "aggd", TEST_AGGD_UID)) == NULL)
		return -1;
	snprintf(sock, sizeof(sock), "%s/aggd.sock", aggd_dir);
	make_socket(aggd_dir, "aggd.sock", 0660);
	if (chown(sock, TEST_AGGD_UID, TEST_GID) == -1 ||
	    appliance_dir(name, "admind", TEST_ADMIND_UID) == NULL)
		return -1;
	return 0;
}

static int
appliance_layout_checked(void)
{
	char	 path[128];

	if (in_fake_users() == -1 || appliance_layout("app") == -1)
		return CHILD_SETUP;
	snprintf(path, sizeof(path), "%s/app", scratch);
	return sandbox_runtime_dir(path, 1) == 0 ? CHILD_OK : CHILD_WRONG;
}

static int
appliance_layout_swapped(void)
{
	char	 path[128], admind_dir[160];

	if (in_fake_users() == -1 || appliance_layout("swap") == -1)
		return CHILD_SETUP;
	snprintf(path, sizeof(path), "%s/swap", scratch);
	snprintf(admind_dir, sizeof(admind_dir), "%s/admind", path);
	if (chown(admind_dir, TEST_AGGD_UID, TEST_GID) == -1)
		return CHILD_SETUP;
	return sandbox_runtime_dir(path, 1) == -1 ? CHILD_OK : CHILD_WRONG;
}

static void
test_appliance_runtime_dir_accepted(void **state)
{
	if (geteuid() != 0)
		skip();
	assert_exit(run_child(NULL, appliance_layout_checked), CHILD_OK);
}

static void
test_appliance_folder_of_another_daemon_refused(void **state)
{
	if (geteuid() != 0)
		skip();
	assert_exit(run_child(NULL, appliance_layout_swapped), CHILD_OK);
	assert_non_null(strstr(child_log, "admind belongs to uid 64013"));
}

static void *
thread_idle(void *arg)
{
	pause();
	return arg;
}

static int
identity_after_threads(void)
{
	pthread_t	 t;

	if (pthread_create(&t, NULL, thread_idle, NULL) != 0)
		return CHILD_SETUP;
	sandbox_identity("flnetd");
	return CHILD_RETURNED;
}

static void
test_identity_refuses_missing_user_as_root(void **state)
{
	if (geteuid() != 0)
		skip();
	assert_exit(run_child(NULL, identity_missing_user), CHILD_FATAL);
	assert_non_null(strstr(child_log, "user flnosuchuser does not exist"));
}

static void
test_identity_clears_a_users_capabilities(void **state)
{
	if (geteuid() != 0)
		skip();
	assert_exit(run_child(NULL, identity_user_with_caps), CHILD_OK);
}

static void
test_identity_needs_no_capset_without_capabilities(void **state)
{
	if (geteuid() != 0)
		skip();
	assert_exit(run_child(NULL, identity_user_under_unit), CHILD_OK);
}

static void
test_identity_root_becomes_the_daemon_user(void **state)
{
	if (geteuid() != 0)
		skip();
	assert_exit(run_child(NULL, identity_root_becomes_user), CHILD_OK);
}

static void
test_identity_refuses_after_threads_start(void **state)
{
	assert_exit(run_child(NULL, identity_after_threads), CHILD_FATAL);
	assert_non_null(strstr(child_log, "2 threads"));
}

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	return flag == FTW_DP ? rmdir(path) : unlink(path);
}

static int
setup_scratch(void **state)
{
	snprintf(scratch, sizeof(scratch), "/tmp/test_sandbox.XXXXXX");
	if (mkdtemp(scratch) == NULL)
		return -1;
	log_init("test_sandbox", 0);
	return 0;
}

static int
teardown_scratch(void **state)
{
	return nftw(scratch, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

#define ON(name, fn, table) \
	{ name, fn, NULL, NULL, (void *)&table }

int
main(void)
{
	const struct CMUnitTest tests[] = {
		ON("netd: execve kills", test_execve_kills, netd),
		ON("aggd: execve kills", test_execve_kills, aggd),
		ON("admind: execve kills", test_execve_kills, admind),
		ON("netd: fork kills", test_fork_kills, netd),
		ON("aggd: fork kills", test_fork_kills, aggd),
		ON("admind: fork kills", test_fork_kills, admind),
		ON("netd: PROT_EXEC mmap kills", test_mmap_exec_kills, netd),
		ON("aggd: PROT_EXEC mmap kills", test_mmap_exec_kills, aggd),
		ON("admind: PROT_EXEC mmap kills", test_mmap_exec_kills,
		    admind),
		ON("netd: PROT_EXEC mprotect kills", test_mprotect_exec_kills,
		    netd),
		ON("aggd: PROT_EXEC mprotect kills", test_mprotect_exec_kills,
		    aggd),
		ON("admind: PROT_EXEC mprotect kills",
		    test_mprotect_exec_kills, admind),
		ON("netd: socket(AF_INET) kills", test_socket_inet_kills, netd),
		ON("aggd: socket(AF_INET) kills", test_socket_inet_kills, aggd),
		ON("admind: socket(AF_INET) kills", test_socket_inet_kills,
		    admind),
		ON("netd: socket(AF_UNIX) allowed", test_socket_unix_allowed,
		    netd),
		ON("aggd: socket(AF_UNIX) allowed", test_socket_unix_allowed,
		    aggd),
		ON("admind: socket(AF_UNIX) allowed", test_socket_unix_allowed,
		    admind),
		ON("netd: threads start", test_threads_start, netd),
		ON("aggd: threads start", test_threads_start, aggd),
		ON("admind: threads start", test_threads_start, admind),
		ON("netd: clone3 fails ENOSYS", test_clone3_fails_enosys, netd),
		ON("netd: prctl other than PR_SET_NAME kills",
		    test_prctl_other_than_name_kills, netd),
		ON("aggd: prctl other than PR_SET_NAME kills",
		    test_prctl_other_than_name_kills, aggd),
		cmocka_unit_test(test_netd_open_fails_eacces),
		cmocka_unit_test(test_aggd_writes_a_model),
		cmocka_unit_test(test_admind_writes_status),
		cmocka_unit_test(test_thread_started_before_is_bound),
		cmocka_unit_test(test_log_switch_logs_instead_of_killing),
		cmocka_unit_test(test_key_0600_accepted),
		cmocka_unit_test(test_key_0644_refused),
		cmocka_unit_test(test_key_0640_refused),
		cmocka_unit_test(test_key_of_another_user_refused),
		cmocka_unit_test(test_key_folder_refused),
		cmocka_unit_test(test_runtime_dir_0700_accepted),
		cmocka_unit_test(test_runtime_dir_0777_refused),
		cmocka_unit_test(test_runtime_dir_world_readable_refused),
		cmocka_unit_test(test_daemon_folder_group_writable_refused),
		cmocka_unit_test(test_socket_open_to_others_refused),
		cmocka_unit_test(test_parent_writable_by_others_refused),
		cmocka_unit_test(test_appliance_runtime_dir_accepted),
		cmocka_unit_test(
		    test_appliance_folder_of_another_daemon_refused),
		cmocka_unit_test(test_identity_refuses_missing_user_as_root),
		cmocka_unit_test(test_identity_clears_a_users_capabilities),
		cmocka_unit_test(
		    test_identity_needs_no_capset_without_capabilities),
		cmocka_unit_test(test_identity_root_becomes_the_daemon_user),
		cmocka_unit_test(test_identity_refuses_after_threads_start),
	};

	return cmocka_run_group_tests(tests, setup_scratch, teardown_scratch);
}
