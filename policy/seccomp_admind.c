/*
 * seccomp_admind - the system calls admind may make once it serves.
 *
 * admind holds the admin sessions, the authorization policy and the
 * audit trail. It has no network: its only sockets are ZeroMQ's AF_UNIX
 * ones (netd and aggd connect to it; ZeroMQ's I/O thread reconnects it
 * to aggd whenever aggd restarts). It writes the status, the audit trail,
 * uploads and deployed MMARs in its part of the workspace, so it may
 * open, create, fsync, rename and remove files; it starts no program and
 * no process and maps no executable memory, so it must not look up user
 * or group names once serving (glibc would load an NSS module). Anything
 * not listed here kills the whole process; sandbox_enter answers clone3
 * with ENOSYS.
 */
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>

#include <sched.h>

#include "sandbox.h"

const struct sandbox_rule seccomp_admind_rules[] = {
	/* ZeroMQ links: netd and aggd connect in, admind out to aggd. */
	SANDBOX_ALLOW(accept4),		/* a daemon connects to admind.sock */
	SANDBOX_ALLOW(connect),		/* reconnect to aggd.sock */
	SANDBOX_ALLOW_ARG(socket, 0, AF_UNIX), /* for that reconnection */
	SANDBOX_ALLOW(close),
	SANDBOX_ALLOW(getsockopt),	/* SO_ERROR of that connect */
	SANDBOX_ALLOW(getsockname),	/* ZeroMQ names each connection */
	SANDBOX_ALLOW(getpeername),
	SANDBOX_ALLOW(fcntl),		/* O_NONBLOCK on new sockets */

	/* Moving bytes. */
	SANDBOX_ALLOW(read),		/* files, the signalfd, eventfds */
	SANDBOX_ALLOW(write),		/* files, standard error, eventfds */
	SANDBOX_ALLOW(recvfrom),	/* ZeroMQ frames */
	SANDBOX_ALLOW(sendto),

	/* Files: status, audit trail, uploads, deployed MMARs. */
	SANDBOX_ALLOW(openat),		/* glibc's open, fopen, opendir */
	SANDBOX_ALLOW(newfstatat),	/* glibc's stat, lstat, fstat */
	SANDBOX_ALLOW(lseek),		/* stdio */
	SANDBOX_ALLOW(getdents64),	/* readdir: listing the workspace */
	SANDBOX_ALLOW(fsync),		/* status and uploads reach the disk */
	SANDBOX_ALLOW(fdatasync),	/* an audit record, before the answer */
	SANDBOX_ALLOW(ftruncate),	/* a half-written audit record, cut */
	SANDBOX_ALLOW(pwrite64),	/* state/audit.head, in place */
	SANDBOX_ALLOW(rename),		/* status.json replaced whole */
	SANDBOX_ALLOW(unlink),		/* a half-written temporary file */
	SANDBOX_ALLOW(mkdir),		/* transfer/, run_N/ on deploy */
	SANDBOX_ALLOW(rmdir),		/* a deployment that failed */
	SANDBOX_ALLOW(mkdirat),		/* an MMAR's folders, unpacked */
	SANDBOX_ALLOW(unlinkat),	/* a refused MMAR's files removed */
	SANDBOX_ALLOW(dup),		/* fdopendir of a folder, kept open */
	SANDBOX_ALLOW(readlink),	/* realpath: an MMAR config's folder */

	/* Waiting. */
	SANDBOX_ALLOW(epoll_wait),	/* ZeroMQ's I/O thread */
	SANDBOX_ALLOW(epoll_pwait),
	SANDBOX_ALLOW(epoll_ctl),
	SANDBOX_ALLOW(poll),		/* zmq_poll */
	SANDBOX_ALLOW(ppoll),
	SANDBOX_ALLOW(futex),		/* mutexes, condition variables */
	SANDBOX_ALLOW(sched_yield),	/* jansson's and ZeroMQ's spin locks */
	SANDBOX_ALLOW(nanosleep),
	SANDBOX_ALLOW(clock_nanosleep),
	SANDBOX_ALLOW(restart_syscall),	/* a sleep resumed after a signal */

	/* Time, randomness, who we are. */
	SANDBOX_ALLOW(clock_gettime),	/* when the vDSO cannot answer */
	SANDBOX_ALLOW(gettimeofday),
	SANDBOX_ALLOW(getrandom),	/* tokens, audit event ids, mkstemp */
	SANDBOX_ALLOW(getpid),		/* ZeroMQ checks it was not forked */
	SANDBOX_ALLOW(gettid),

	/* Memory: never executable, so no code can be brought in. */
	SANDBOX_ALLOW(brk),
	SANDBOX_ALLOW_MASKED(mmap, 2, PROT_EXEC, 0),
	SANDBOX_ALLOW_MASKED(mprotect, 2, PROT_EXEC, 0),
	SANDBOX_ALLOW(munmap),
	SANDBOX_ALLOW(mremap),		/* realloc of a large upload */
	SANDBOX_ALLOW(madvise),		/* glibc frees memory so */

	/* Threads, only as threads: fork and vfork lack CLONE_THREAD. */
	SANDBOX_ALLOW_MASKED(clone, 0, CLONE_THREAD, CLONE_THREAD),
	SANDBOX_ALLOW(set_robust_list),	/* each new thread */
	SANDBOX_ALLOW(rseq),		/* each new thread */
	SANDBOX_ALLOW_ARG(prctl, 0, PR_SET_NAME), /* thread names */
	SANDBOX_ALLOW(rt_sigprocmask),	/* pthread_create, ZeroMQ */
	SANDBOX_ALLOW(rt_sigreturn),
	SANDBOX_ALLOW(sched_getaffinity),
	SANDBOX_ALLOW(sched_getparam),	/* ZeroMQ thread scheduling */
	SANDBOX_ALLOW(sched_getscheduler),
	SANDBOX_ALLOW(sched_setscheduler),
	SANDBOX_ALLOW(exit),		/* one thread ends */
	SANDBOX_ALLOW(exit_group),
};

const size_t seccomp_admind_nrules =
    sizeof(seccomp_admind_rules) / sizeof(seccomp_admind_rules[0]);
