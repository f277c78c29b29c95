/*
 * seccomp_netd - the system calls netd may make once it serves.
 *
 * netd holds the TLS key and sees every site's and admin's traffic in
 * flight. Once its ports are open and its ZeroMQ links made, it opens no
 * file, starts no program and no process, maps no executable memory and
 * creates no socket but AF_UNIX ones (ZeroMQ reconnects to aggd and
 * admind from its I/O thread whenever one of them restarts). The admin
 * port's thread (OpenSSL over plain sockets, one poll(2) loop) needs
 * nothing that grpc and ZeroMQ do not already: its uses are noted below.
 * Anything not listed here kills the whole process; sandbox_enter
 * answers clone3 with ENOSYS.
 */
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>

#include <errno.h>
#include <sched.h>

#include "sandbox.h"

const struct sandbox_rule seccomp_netd_rules[] = {
	/* Connections: grpc's to sites, the admin port's, ZeroMQ's. */
	SANDBOX_ALLOW(accept4),		/* grpc, admin port: a new client */
	SANDBOX_ALLOW(connect),		/* ZeroMQ: reconnect to aggd, admind */
	SANDBOX_ALLOW_ARG(socket, 0, AF_UNIX), /* ZeroMQ: that reconnection */
	SANDBOX_ALLOW(close),
	SANDBOX_ALLOW(shutdown),	/* grpc, admin port: closing one */
	SANDBOX_ALLOW(getsockopt),	/* SO_ERROR after connect; TCP info */
	SANDBOX_ALLOW(setsockopt),	/* grpc: TCP_NODELAY etc. per accept */
	SANDBOX_ALLOW(getsockname),	/* grpc, ZeroMQ: endpoint names */
	SANDBOX_ALLOW(getpeername),	/* grpc: the peer's address */
	SANDBOX_ALLOW(fcntl),		/* O_NONBLOCK, FD_CLOEXEC on new fds */
	SANDBOX_ALLOW(eventfd2),	/* ZeroMQ: a link reopened after a
					   peer restarts gets a mailbox */

	/* Moving bytes. */
	SANDBOX_ALLOW(read),		/* eventfds, wakeup pipes; admin
					   port: TLS records (OpenSSL) */
	SANDBOX_ALLOW(write),		/* standard error, eventfds; admin
					   port: TLS records (OpenSSL) */
	SANDBOX_ALLOW(readv),
	SANDBOX_ALLOW(writev),
	SANDBOX_ALLOW(recvmsg),		/* grpc: TLS records from sites */
	SANDBOX_ALLOW(sendmsg),		/* grpc: TLS records to sites */
	SANDBOX_ALLOW(recvfrom),	/* ZeroMQ: frames from aggd, admind */
	SANDBOX_ALLOW(sendto),		/* ZeroMQ: frames to aggd, admind */

	/* Waiting. */
	SANDBOX_ALLOW(epoll_wait),	/* grpc and ZeroMQ pollers */
	SANDBOX_ALLOW(epoll_pwait),
	SANDBOX_ALLOW(epoll_ctl),
	SANDBOX_ALLOW(poll),		/* zmq_poll, the admin port's loop */
	SANDBOX_ALLOW(ppoll),
	SANDBOX_ALLOW(futex),		/* mutexes, condition variables */
	SANDBOX_ALLOW(sched_yield),	/* grpc and absl spin locks */
	SANDBOX_ALLOW(nanosleep),
	SANDBOX_ALLOW(clock_nanosleep),
	SANDBOX_ALLOW(restart_syscall),	/* a sleep resumed after a signal */

	/* Time, randomness, who we are. */
	SANDBOX_ALLOW(clock_gettime),	/* when the vDSO cannot answer */
	SANDBOX_ALLOW(gettimeofday),
	SANDBOX_ALLOW(getrandom),	/* OpenSSL (both ports), grpc */
	SANDBOX_ALLOW(getpid),		/* OpenSSL: a fork check before it
					   draws random bytes */
	SANDBOX_ALLOW(gettid),

	/* Memory: never executable, so no code can be brought in. */
	SANDBOX_ALLOW(brk),
	SANDBOX_ALLOW_MASKED(mmap, 2, PROT_EXEC, 0),
	SANDBOX_ALLOW_MASKED(mprotect, 2, PROT_EXEC, 0),
	SANDBOX_ALLOW(munmap),
	SANDBOX_ALLOW(mremap),		/* realloc of large blocks */
	SANDBOX_ALLOW(madvise),		/* glibc frees thread stacks so */

	/* Threads: grpc starts more under load; fork has no CLONE_THREAD. */
	SANDBOX_ALLOW_MASKED(clone, 0, CLONE_THREAD, CLONE_THREAD),
	SANDBOX_ALLOW(set_robust_list),	/* each new thread */
	SANDBOX_ALLOW(rseq),		/* each new thread */
	SANDBOX_ALLOW_ARG(prctl, 0, PR_SET_NAME), /* thread names */
	SANDBOX_ALLOW(rt_sigprocmask),	/* pthread_create, ZeroMQ threads */
	SANDBOX_ALLOW(rt_sigreturn),
	SANDBOX_ALLOW(sched_getaffinity), /* grpc: how many CPUs to use */
	SANDBOX_ALLOW(sched_getparam),	/* ZeroMQ thread scheduling */
	SANDBOX_ALLOW(sched_getscheduler),
	SANDBOX_ALLOW(sched_setscheduler),
	SANDBOX_ALLOW(exit),		/* one thread ends */
	SANDBOX_ALLOW(exit_group),

	/*
	 * Files: grpc and glibc read /etc/localtime, /proc and /sys lazily
	 * and cope with a refusal; nothing else may be opened.
	 */
	SANDBOX_FAIL(open, EACCES),
	SANDBOX_FAIL(openat, EACCES),
};

const size_t seccomp_netd_nrules =
    sizeof(seccomp_netd_rules) / sizeof(seccomp_netd_rules[0]);
