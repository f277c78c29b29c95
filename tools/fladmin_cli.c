/*
 * fladmin_cli - the interactive prompt: libedit line editing, a history
 * kept in ~/.fladmin_history (mode 0600), and tab completion of command
 * names (the server's, from its _commands answer, and the console's own).
 *
 * A line that starts with _login, or holds the session's password or
 * token, is never added to the history.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <histedit.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fladmin.h"
#include "log.h"

#define CLI_HISTORY_FILE	".fladmin_history"
#define CLI_HISTORY_SIZE	1000
#define CLI_PROMPT		"> "
#define CLI_SPACE		" \t"

struct fladmin_cli {
	EditLine			*el;
	History				*hist;
	char				*path;	/* NULL: not saved */
	const struct fladmin_session	*session;
	char				*line;
	int				 save_warned;
};

static char *
cli_prompt(EditLine *el)
{
	return CLI_PROMPT;
}

/* cli_history_path - ~/.fladmin_history, NULL without a home */
static char *
cli_history_path(void)
{
	const char	*home;
	struct passwd	*pw;
	char		*path;

	if ((home = getenv("HOME")) == NULL || home[0] == '\0') {
		if ((pw = getpwuid(getuid())) == NULL)
			return NULL;
		home = pw->pw_dir;
	}
	if (asprintf(&path, "%s/%s", home, CLI_HISTORY_FILE) == -1)
		return NULL;
	return path;
}

/* cli_matches - command names that start with prefix, without repeats */
static size_t
cli_matches(const struct fladmin_cli *cli, const char *prefix, size_t len,
    const char **out, size_t max)
{
	const struct local_command	*c;
	const struct fladmin_session	*s = cli->session;
	size_t				 i, j, n = 0;

	for (c = local_commands(); c->name != NULL; c++)
		if (strncmp(c->name, prefix, len) == 0 && n < max)
			out[n++] = c->name;
	for (i = 0; i < s->ncommands; i++) {
		if (strncmp(s->commands[i], prefix, len) != 0)
			continue;
		for (j = 0; j < n && strcmp(out[j], s->commands[i]) != 0; j++)
			;
		if (j == n && n < max)
			out[n++] = s->commands[i];
	}
	return n;
}

/* cli_common - length of the prefix every match shares */
static size_t
cli_common(const char **names, size_t n)
{
	size_t	 len, i;

	len = strlen(names[0]);
	for (i = 1; i < n; i++)
		while (len > 0 && strncmp(names[0], names[i], len) != 0)
			len--;
	return len;
}

/* cli_complete - the command name under the cursor, when it is the first
 * word; several choices are listed below the line */
static unsigned char
cli_complete(EditLine *el, int ch)
{
	const LineInfo		*li = el_line(el);
	struct fladmin_cli	*cli;
	const char		*start, *names[512];
	char			 rest[256];
	size_t			 len, n, common, i;

	if (el_get(el, EL_CLIENTDATA, &cli) != 0 || cli == NULL)
		return CC_ERROR;
	start = li->buffer + strspn(li->buffer, CLI_SPACE);
	if (start > li->cursor)
		start = li->cursor;
	len = (size_t)(li->cursor - start);
	if (memchr(start, ' ', len) != NULL || memchr(start, '\t', len) != NULL)
		return CC_ERROR;
	if ((n = cli_matches(cli, start, len, names, 512)) == 0)
		return CC_ERROR;

	common = cli_common(names, n);
	if (common > len || n == 1) {
		snprintf(rest, sizeof(rest), "%.*s%s", (int)(common - len),
		    names[0] + len, n == 1 ? " " : "");
		return el_insertstr(el, rest) == 0 ? CC_REFRESH : CC_ERROR;
	}
	fputc('\n', stdout);
	for (i = 0; i < n; i++)
		printf("%s%s", names[i], i + 1 < n ? "  " : "\n");
	fflush(stdout);
	return CC_REDISPLAY;
}

/* cli_setup - prompt, editor, completion and the user's ~/.editrc */
static int
cli_setup(struct fladmin_cli *cli)
{
	HistEvent	 ev;

	if ((cli->hist = history_init()) == NULL)
		return -1;
	history(cli->hist, &ev, H_SETSIZE, CLI_HISTORY_SIZE);
	history(cli->hist, &ev, H_SETUNIQUE, 1);
	if (cli->path != NULL && access(cli->path, R_OK) == 0)
		history(cli->hist, &ev, H_LOAD, cli->path);

	el_set(cli->el, EL_CLIENTDATA, cli);
	el_set(cli->el, EL_PROMPT, cli_prompt);
	el_set(cli->el, EL_EDITOR, "emacs");
	el_set(cli->el, EL_SIGNAL, 1);
	el_set(cli->el, EL_HIST, history, cli->hist);
	el_set(cli->el, EL_ADDFN, "fladmin-complete",
	    "complete a command name", cli_complete);
	el_set(cli->el, EL_BIND, "^I", "fladmin-complete", NULL);
	el_source(cli->el, NULL);
	return 0;
}

struct fladmin_cli *
cli_open(const char *progname, const struct fladmin_session *s)
{
	struct fladmin_cli	*cli;

	if ((cli = calloc(1, sizeof(*cli))) == NULL)
		return NULL;
	cli->session = s;
	cli->path = cli_history_path();
	if ((cli->el = el_init(progname, stdin, stdout, stderr)) == NULL ||
	    cli_setup(cli) == -1) {
		cli_close(cli);
		return NULL;
	}
	return cli;
}

const char *
cli_read(struct fladmin_cli *cli)
{
	const char	*got;
	int		 count;
	size_t		 n;

	free(cli->line);
	cli->line = NULL;
	if ((got = el_gets(cli->el, &count)) == NULL || count <= 0)
		return NULL;
	if ((cli->line = strdup(got)) == NULL)
		return NULL;
	n = strlen(cli->line);
	while (n > 0 && (cli->line[n - 1] == '\n' || cli->line[n - 1] == '\r'))
		cli->line[--n] = '\0';
	return cli->line;
}

/* cli_secret - 1 if line must stay out of the history */
static int
cli_secret(const struct fladmin_cli *cli, const char *line)
{
	const struct fladmin_session	*s = cli->session;

	line += strspn(line, CLI_SPACE);
	return strncmp(line, "_login", 6) == 0 ||
	    (s->password != NULL && strstr(line, s->password) != NULL) ||
	    (s->token != NULL && strstr(line, s->token) != NULL);
}

/* cli_save - the history, written afresh, readable by its owner only */
static void
cli_save(struct fladmin_cli *cli)
{
	HistEvent	 ev;
	FILE		*f;
	int		 fd;

	fd = open(cli->path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW |
	    O_CLOEXEC, 0600);
	if (fd == -1 || fchmod(fd, 0600) == -1 ||
	    (f = fdopen(fd, "w")) == NULL) {
		if (!cli->save_warned++)
			log_warn("history %s not saved", cli->path);
		if (fd != -1)
			close(fd);
		return;
	}
	if (history(cli->hist, &ev, H_SAVE_FP, f) == -1 && !cli->save_warned++)
		log_warnx("history %s not saved: %s", cli->path, ev.str);
	fclose(f);
}

void
cli_remember(struct fladmin_cli *cli, const char *line)
{
	HistEvent	 ev;

	if (line[strspn(line, CLI_SPACE)] == '\0' || cli_secret(cli, line))
		return;
	history(cli->hist, &ev, H_ENTER, line);
	if (cli->path != NULL)
		cli_save(cli);
}

void
cli_close(struct fladmin_cli *cli)
{
	if (cli == NULL)
		return;
	if (cli->el != NULL)
		el_end(cli->el);
	if (cli->hist != NULL)
		history_end(cli->hist);
	free(cli->line);
	free(cli->path);
	free(cli);
}
