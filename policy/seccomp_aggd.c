/*
 * seccomp_aggd - the system calls aggd may make once it serves.
 *
 * aggd holds the global model, the site registry and the tokens. It has
 * no network: its only sockets are ZeroMQ's AF_UNIX ones (netd and admind
 * connect to it; it reconnects to admind from ZeroMQ's I/O thread). It
 * reads configuration and writes models, checkpoints and provenance in
 * its part of the workspace, so it may open, create, fsync, rename and
 * remove files; it starts no program and no process and maps no
 * executable memory. Anything not listed here kills the whole process;
 * sandbox_enter answers clone3 with ENOSYS.
 */
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>

#include <sched.h>

#include "sandbox.h"

const struct sandbox_rule seccomp_aggd_rules[] = {
	/* ZeroMQ links: netd and admind connect in, aggd connects to admind. */
	SANDBOX_ALLOW(accept4),		/* a daemon connects to aggd.sock */
	SANDBOX_ALLOW(connect),		/* reconnect to admind */
	SANDBOX_ALLOW_ARG(socket, 0, AF_UNIX), /* that reconnection */
	SANDBOX_ALLOW(close),
	SANDBOX_ALLOW(getsockopt),	/* SO_ERROR after connect */
	SANDBOX_ALLOW(setsockopt),	/* buffer sizes per connection */
	SANDBOX_ALLOW(getsockname),	/* endpoint names per connection */
	SANDBOX_ALLOW(getpeername),
	SANDBOX_ALLOW(fcntl),		/* O_NONBLOCK, FD_CLOEXEC */

	/* Moving bytes. */
	SANDBOX_ALLOW(read),		/* files, eventfds */
	SANDBOX_ALLOW(write),		/* files, standard error, eventfds */
	SANDBOX_ALLOW(readv),
	SANDBOX_ALLOW(writev),
	SANDBOX_ALLOW(recvfrom),	/* ZeroMQ frames */
	SANDBOX_ALLOW(sendto),
	SANDBOX_ALLOW(recvmsg),
	SANDBOX_ALLOW(sendmsg),

	/* Files: configuration in, models and checkpoints out. */
	SANDBOX_ALLOW(openat),		/* glibc's open and fopen */
	SANDBOX_ALLOW(newfstatat),	/* glibc's stat and fstat, stdio */
	SANDBOX_ALLOW(lseek),
	SANDBOX_ALLOW(fsync),		/* a model is on disk before rename */
	SANDBOX_ALLOW(fdatasync),
	SANDBOX_ALLOW(rename),		/* a model replaces the last one whole */
	SANDBOX_ALLOW(unlink),		/* a half-written model, old rounds */
	SANDBOX_ALLOW(mkdir),		/* run_N/models, run_N/provenance */
	SANDBOX_ALLOW(getdents64),	/* finding runs and checkpoints */

	/* Waiting. */
	SANDBOX_ALLOW(epoll_wait),	/* ZeroMQ's I/O thread */
	SANDBOX_ALLOW(epoll_pwait),
	SANDBOX_ALLOW(epoll_ctl),
	SANDBOX_ALLOW(poll),		/* zmq_poll */
	SANDBOX_ALLOW(ppoll),
	SANDBOX_ALLOW(futex),
	SANDBOX_ALLOW(sched_yield),
	SANDBOX_ALLOW(nanosleep),
	SANDBOX_ALLOW(clock_nanosleep),
	SANDBOX_ALLOW(restart_syscall),

	/* Time, randomness, who we are. */
	SANDBOX_ALLOW(clock_gettime),
	SANDBOX_ALLOW(gettimeofday),
	SANDBOX_ALLOW(getrandom),	/* tokens */
	SANDBOX_ALLOW(getpid),		/* ZeroMQ checks it was not forked */
	SANDBOX_ALLOW(gettid),

	/* Memory: never executable, so no code can be brought in. */
	SANDBOX_ALLOW(brk),
	SANDBOX_ALLOW_MASKED(mmap, 2, PROT_EXEC, 0),
	SANDBOX_ALLOW_MASKED(mprotect, 2, PROT_EXEC, 0),
	SANDBOX_ALLOW(munmap),
	SANDBOX_ALLOW(mremap),		/* realloc of large models */
	SANDBOX_ALLOW(madvise),

	/* Threads, only as threads: fork has no CLONE_THREAD. */
	SANDBOX_ALLOW_MASKED(clone, 0, CLONE_THREAD, CLONE_THREAD),
	SANDBOX_ALLOW(set_robust_list),
	SANDBOX_ALLOW(rseq),
	SANDBOX_ALLOW_ARG(prctl, 0, PR_SET_NAME),
	SANDBOX_ALLOW(rt_sigprocmask),
	SANDBOX_ALLOW(rt_sigreturn),	/* SIGTERM and SIGINT handlers */
	SANDBOX_ALLOW(sched_getaffinity),
	SANDBOX_ALLOW(sched_getparam),	/* ZeroMQ thread scheduling */
	SANDBOX_ALLOW(sched_getscheduler),
	SANDBOX_ALLOW(sched_setscheduler),
	SANDBOX_ALLOW(exit),
	SANDBOX_ALLOW(exit_group),
};

const size_t seccomp_aggd_nrules =
    sizeof(seccomp_aggd_rules) / sizeof(seccomp_aggd_rules[0]);
