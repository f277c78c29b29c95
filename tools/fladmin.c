/*
 * fladmin - the admin console of an flserver (or Clara Train 3.1) server.
 *
 *   fladmin -k KITDIR [-u USER]			interactive
 *   fladmin -k KITDIR [-u USER] -c 'COMMAND'		one command
 *   fladmin -k KITDIR [-u USER] -f SCRIPT		one command a line
 *
 * KITDIR is the admin's startup kit (fed_admin.json, client.crt,
 * client.key, rootCA.pem). fladmin logs in with the certificate
 * (_cert_login, as the certificate's CN), or with -u as USER and a
 * password: FLADMIN_PASSWORD if set, else asked on the terminal.
 *
 * A command fails when the server's answer holds an error item or the
 * server cannot be reached; -c then exits 1, and -f stops at the first
 * failing line and exits 1. Lines of a script that start with '#' are
 * comments. Exit 0 otherwise.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fladmin.h"
#include "log.h"

#define FLADMIN_LINE_MAX	(1024 * 1024)
#define FLADMIN_SPACE		" \t\r\n"

enum fladmin_next { FLADMIN_OK, FLADMIN_FAILED, FLADMIN_BYE };

static void __attribute__((noreturn))
fladmin_usage(void)
{
	fprintf(stderr,
	    "usage: fladmin -k kitdir [-u user] [-c command | -f script] "
	    "[-v]\n");
	exit(1);
}

/* fladmin_is_login - 1 if line is a login of its own */
static int
fladmin_is_login(const char *line)
{
	size_t	 n = strcspn(line, FLADMIN_SPACE);

	return (n == 6 && strncmp(line, "_login", 6) == 0) ||
	    (n == 11 && strncmp(line, "_cert_login", 11) == 0);
}

/* fladmin_server - one command for the server, its answer shown */
static enum fladmin_next
fladmin_server(struct fladmin_session *s, const char *line)
{
	struct fladmin_reply	 r;
	char			 err[FLADMIN_ERR_MAX];
	enum fladmin_next	 next;

	if (session_command(s, line, &r, err) == -1) {
		fprintf(stderr, "fladmin: %s\n", err);
		return FLADMIN_FAILED;
	}
	if (reply_print(&r, stdout))
		next = FLADMIN_FAILED;
	else
		next = reply_shutdown(&r) ? FLADMIN_BYE : FLADMIN_OK;
	reply_free(&r);
	return next;
}

/* fladmin_line - one line, whoever answers it */
static enum fladmin_next
fladmin_line(struct fladmin_session *s, const char *line)
{
	const struct local_command	*c;

	line += strspn(line, FLADMIN_SPACE);
	if (*line == '\0')
		return FLADMIN_OK;
	if (fladmin_is_login(line)) {
		fprintf(stderr, "fladmin: the console logs in by itself; "
		    "start it with -u USER for a password login\n");
		return FLADMIN_FAILED;
	}
	if ((c = local_find(line)) != NULL) {
		switch (local_run(s, c, line)) {
		case LOCAL_OK:
			return FLADMIN_OK;
		case LOCAL_BYE:
			return FLADMIN_BYE;
		default:
			return FLADMIN_FAILED;
		}
	}
	return fladmin_server(s, line);
}

/* fladmin_script - each line of path in turn, until one fails */
static int
fladmin_script(struct fladmin_session *s, const char *path)
{
	FILE			*f;
	char			*line = NULL, *p;
	size_t			 size = 0;
	ssize_t			 n;
	unsigned long		 lineno = 0;
	enum fladmin_next	 next = FLADMIN_OK;

	if ((f = strcmp(path, "-") == 0 ? stdin : fopen(path, "re")) == NULL) {
		fprintf(stderr, "fladmin: %s: %s\n", path, strerror(errno));
		return 1;
	}
	while (next == FLADMIN_OK && (n = getline(&line, &size, f)) != -1) {
		lineno++;
		p = line + strspn(line, FLADMIN_SPACE);
		p[strcspn(p, "\r\n")] = '\0';
		if (*p == '\0' || *p == '#')
			continue;
		if (n > FLADMIN_LINE_MAX) {
			fprintf(stderr, "fladmin: %s:%lu: line longer than "
			    "%d bytes\n", path, lineno, FLADMIN_LINE_MAX);
			next = FLADMIN_FAILED;
			break;
		}
		if (!fladmin_is_login(p))
			printf("> %s\n", p);
		fflush(stdout);
		if ((next = fladmin_line(s, p)) == FLADMIN_FAILED)
			fprintf(stderr, "fladmin: %s:%lu failed; stopping\n",
			    path, lineno);
	}
	if (ferror(f)) {
		fprintf(stderr, "fladmin: %s: %s\n", path, strerror(errno));
		next = FLADMIN_FAILED;
	}
	free(line);
	if (f != stdin)
		fclose(f);
	return next == FLADMIN_FAILED;
}

/* fladmin_interactive - the prompt, until bye or the end of input */
static int
fladmin_interactive(struct fladmin_session *s)
{
	struct fladmin_cli	*cli;
	const char		*line;
	char			 err[FLADMIN_ERR_MAX];
	int			 tty = isatty(STDIN_FILENO);

	if (session_list_commands(s, err) == -1)
		fprintf(stderr, "fladmin: completing the console's commands "
		    "only: %s\n", err);
	if ((cli = cli_open("fladmin", s)) == NULL) {
		fprintf(stderr, "fladmin: cannot set up line editing\n");
		return 1;
	}
	if (tty)
		printf("Connected to %s port %d as %s. Type help for the "
		    "commands, bye to leave.\n", s->kit->host, s->kit->port,
		    s->login_user != NULL ? s->login_user : s->kit->user);
	while ((line = cli_read(cli)) != NULL) {
		cli_remember(cli, line);
		if (fladmin_line(s, line) == FLADMIN_BYE)
			break;
	}
	if (line == NULL && tty)
		printf("\n");
	cli_close(cli);
	return 0;
}

int
main(int argc, char *argv[])
{
	struct fladmin_kit	 kit;
	struct fladmin_session	 session;
	const char		*kitdir = NULL, *user = NULL, *command = NULL;
	const char		*script = NULL;
	char			 err[FLADMIN_ERR_MAX];
	int			 ch, verbose = 0, rc;

	while ((ch = getopt(argc, argv, "c:f:k:u:v")) != -1) {
		switch (ch) {
		case 'c':
			command = optarg;
			break;
		case 'f':
			script = optarg;
			break;
		case 'k':
			kitdir = optarg;
			break;
		case 'u':
			user = optarg;
			break;
		case 'v':
			verbose = 1;
			break;
		default:
			fladmin_usage();
		}
	}
	if (optind != argc || kitdir == NULL ||
	    (command != NULL && script != NULL))
		fladmin_usage();
	log_init("fladmin", verbose);
	/* A server that closes first must not kill us in the middle of a
	 * write: the write fails instead. */
	signal(SIGPIPE, SIG_IGN);

	if (kit_load(kitdir, &kit, err) == -1) {
		fprintf(stderr, "fladmin: %s: %s\n", kitdir, err);
		return 1;
	}
	if (session_init(&session, &kit, user, err) == -1 ||
	    session_login(&session, err) == -1) {
		fprintf(stderr, "fladmin: %s\n", err);
		session_free(&session);
		kit_free(&kit);
		return 1;
	}

	if (command != NULL)
		rc = fladmin_line(&session, command) == FLADMIN_FAILED;
	else if (script != NULL)
		rc = fladmin_script(&session, script);
	else
		rc = fladmin_interactive(&session);
	session_free(&session);
	kit_free(&kit);
	return rc;
}
