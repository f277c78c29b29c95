/*
 * fladmin_session - log in, run server commands with the session token,
 * and log in again once when the server says the session expired.
 *
 * A certificate login (_cert_login, the certificate's CN) needs nothing
 * else; a password login (_login USER PASSWORD) takes the password from
 * FLADMIN_PASSWORD, for scripts, or from the terminal without echo. The
 * password and the token are kept in memory only, wiped when done, and
 * never printed or logged.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <termios.h>
#include <unistd.h>

#include "fladmin.h"
#include "log.h"

#define SESSION_PASSWORD_ENV	"FLADMIN_PASSWORD"
#define SESSION_PASSWORD_MAX	1024

/* session_wipe - zero and free a secret */
static void
session_wipe(char **secret)
{
	if (*secret == NULL)
		return;
	explicit_bzero(*secret, strlen(*secret));
	free(*secret);
	*secret = NULL;
}

/* session_tty_line - a line from the terminal, echo off before the
 * prompt shows, so that nothing typed after it is echoed */
static ssize_t
session_tty_line(int fd, const char *prompt, char *buf, size_t size)
{
	struct termios	 saved, quiet;
	size_t		 n = 0;
	ssize_t		 r;
	char		 c;

	if (tcgetattr(fd, &saved) == -1)
		return -1;
	quiet = saved;
	quiet.c_lflag &= ~ECHO;
	quiet.c_lflag |= ECHONL;
	if (tcsetattr(fd, TCSAFLUSH, &quiet) == -1)
		return -1;
	(void)!write(fd, prompt, strlen(prompt));
	while ((r = read(fd, &c, 1)) == 1 || (r == -1 && errno == EINTR)) {
		if (r == -1)
			continue;
		if (c == '\n' || c == '\r')
			break;
		if (n + 1 < size)
			buf[n++] = c;
	}
	buf[n] = '\0';
	explicit_bzero(&c, sizeof(c));
	(void)tcsetattr(fd, TCSAFLUSH, &saved);
	return r == 1 ? (ssize_t)n : -1;
}

/* session_ask_password - the password, read from the terminal */
static char *
session_ask_password(const char *user, char err[FLADMIN_ERR_MAX])
{
	sigset_t	 block, saved;
	char		 buf[SESSION_PASSWORD_MAX], prompt[128];
	char		*password = NULL;
	int		 fd;

	if ((fd = open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY)) == -1) {
		snprintf(err, FLADMIN_ERR_MAX, "no terminal to read the "
		    "password from; set %s", SESSION_PASSWORD_ENV);
		return NULL;
	}
	snprintf(prompt, sizeof(prompt), "Password for %s: ", user);

	/* An interrupt now would leave the terminal without echo: it
	 * waits until the terminal is restored. */
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGQUIT);
	sigaddset(&block, SIGTSTP);
	sigaddset(&block, SIGHUP);
	sigaddset(&block, SIGTERM);
	sigprocmask(SIG_BLOCK, &block, &saved);
	errno = 0;
	if (session_tty_line(fd, prompt, buf, sizeof(buf)) == -1)
		snprintf(err, FLADMIN_ERR_MAX, "cannot read the password: %s",
		    errno != 0 ? strerror(errno) : "end of input");
	else if ((password = strdup(buf)) == NULL)
		snprintf(err, FLADMIN_ERR_MAX, "out of memory");
	explicit_bzero(buf, sizeof(buf));
	close(fd);
	sigprocmask(SIG_SETMASK, &saved, NULL);
	return password;
}

/* session_password - from the environment, else from the terminal */
static char *
session_password(const char *user, char err[FLADMIN_ERR_MAX])
{
	const char	*env;
	char		*password;

	if ((env = getenv(SESSION_PASSWORD_ENV)) != NULL) {
		if ((password = strdup(env)) == NULL)
			snprintf(err, FLADMIN_ERR_MAX, "out of memory");
	} else
		password = session_ask_password(user, err);
	if (password != NULL && (password[0] == '\0' ||
	    strpbrk(password, " \t\r\n") != NULL)) {
		snprintf(err, FLADMIN_ERR_MAX, "the password is empty or holds "
		    "white space, which a command line cannot carry");
		session_wipe(&password);
	}
	return password;
}

int
session_init(struct fladmin_session *s, const struct fladmin_kit *kit,
    const char *login_user, char err[FLADMIN_ERR_MAX])
{
	memset(s, 0, sizeof(*s));
	s->kit = kit;
	if (login_user != NULL) {
		if (login_user[0] == '\0' ||
		    strpbrk(login_user, " \t\r\n") != NULL) {
			snprintf(err, FLADMIN_ERR_MAX, "a user name holds no "
			    "white space");
			return -1;
		}
		if ((s->login_user = strdup(login_user)) == NULL) {
			snprintf(err, FLADMIN_ERR_MAX, "out of memory");
			return -1;
		}
		if ((s->password = session_password(login_user, err)) == NULL)
			goto fail;
	}
	if ((s->ssl = wire_context(kit, err)) == NULL)
		goto fail;
	return 0;

 fail:
	session_free(s);
	return -1;
}

void
session_free(struct fladmin_session *s)
{
	size_t	 i;

	session_wipe(&s->password);
	session_wipe(&s->token);
	free(s->login_user);
	for (i = 0; i < s->ncommands; i++)
		free(s->commands[i]);
	free(s->commands);
	SSL_CTX_free(s->ssl);
	memset(s, 0, sizeof(*s));
}

/* session_exchange - one command and its parsed answer */
static int
session_exchange(struct fladmin_session *s, const char *line,
    const char *token, json_t *extra, struct fladmin_reply *r,
    char err[FLADMIN_ERR_MAX])
{
	char	*request, *answer;
	size_t	 reqlen, len;
	int	 rc;

	if ((request = wire_request(line, token, extra, &reqlen, err)) == NULL)
		return -1;
	answer = wire_exchange(s->ssl, s->kit, request, reqlen, &len, err);
	explicit_bzero(request, reqlen);
	free(request);
	if (answer == NULL)
		return -1;
	rc = reply_parse(answer, len, r, err);
	explicit_bzero(answer, len);
	free(answer);
	return rc;
}

/* session_refusal - why a login was refused, from the answer's text */
static void
session_refusal(const struct fladmin_reply *r, const char *user,
    char err[FLADMIN_ERR_MAX])
{
	const char	*text = NULL;
	json_t		*item;
	char		*p;

	if ((item = reply_find(r, "error")) != NULL ||
	    (item = reply_find(r, "string")) != NULL)
		text = json_string_value(json_object_get(item, "data"));
	snprintf(err, FLADMIN_ERR_MAX, "login as %s refused: %s", user,
	    text != NULL ? text : "no session token in the answer");
	for (p = err; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
}

int
session_login(struct fladmin_session *s, char err[FLADMIN_ERR_MAX])
{
	struct fladmin_reply	 r;
	const char		*user, *token;
	char			*line;
	int			 n, rc = -1;

	session_wipe(&s->token);
	user = s->login_user != NULL ? s->login_user : s->kit->user;
	if (s->password != NULL)
		n = asprintf(&line, "_login %s %s", user, s->password);
	else
		n = asprintf(&line, "_cert_login %s", user);
	if (n == -1) {
		snprintf(err, FLADMIN_ERR_MAX, "out of memory");
		return -1;
	}
	n = session_exchange(s, line, NULL, NULL, &r, err);
	explicit_bzero(line, strlen(line));
	free(line);
	if (n == -1)
		return -1;

	token = json_string_value(json_object_get(reply_find(&r, "token"),
	    "data"));
	if (token == NULL || token[0] == '\0' || reply_failed(&r))
		session_refusal(&r, user, err);
	else if ((s->token = strdup(token)) == NULL)
		snprintf(err, FLADMIN_ERR_MAX, "out of memory");
	else
		rc = 0;
	reply_free(&r);
	return rc;
}

int
session_command_item(struct fladmin_session *s, const char *line,
    json_t *item, struct fladmin_reply *r, char err[FLADMIN_ERR_MAX])
{
	if (s->token == NULL && session_login(s, err) == -1)
		return -1;
	if (session_exchange(s, line, s->token, item, r, err) == -1)
		return -1;
	if (!reply_session_expired(r))
		return 0;

	reply_free(r);
	if (session_login(s, err) == -1)
		return -1;
	return session_exchange(s, line, s->token, item, r, err);
}

int
session_command(struct fladmin_session *s, const char *line,
    struct fladmin_reply *r, char err[FLADMIN_ERR_MAX])
{
	return session_command_item(s, line, NULL, r, err);
}

/* session_add_command - one name for completion, unless known already */
static int
session_add_command(struct fladmin_session *s, const char *name)
{
	char	**v;
	size_t	  i;

	if (name == NULL || name[0] == '\0')
		return 0;
	for (i = 0; i < s->ncommands; i++)
		if (strcmp(s->commands[i], name) == 0)
			return 0;
	if ((v = reallocarray(s->commands, s->ncommands + 1,
	    sizeof(*v))) == NULL)
		return -1;
	s->commands = v;
	if ((v[s->ncommands] = strdup(name)) == NULL)
		return -1;
	s->ncommands++;
	return 0;
}

/* session_table_commands - the "command" column of a table's rows */
static int
session_table_commands(struct fladmin_session *s, json_t *rows)
{
	json_t	*header, *cell;
	size_t	 i, col = 0;

	header = json_array_get(rows, 0);
	json_array_foreach(header, i, cell)
		if (json_is_string(cell) &&
		    strcasecmp(json_string_value(cell), "command") == 0)
			col = i;
	for (i = 1; i < json_array_size(rows); i++)
		if (session_add_command(s, json_string_value(json_array_get(
		    json_array_get(rows, i), col))) == -1)
			return -1;
	return 0;
}

/* session_text_commands - the first word of each line of a text */
static int
session_text_commands(struct fladmin_session *s, const char *text)
{
	char	 word[128];
	size_t	 n;

	while (*text != '\0') {
		text += strspn(text, " \t\r\n");
		n = strcspn(text, " \t\r\n");
		if (n > 0 && n < sizeof(word)) {
			memcpy(word, text, n);
			word[n] = '\0';
			if (session_add_command(s, word) == -1)
				return -1;
		}
		text += n;
		text += strcspn(text, "\n");
	}
	return 0;
}

int
session_list_commands(struct fladmin_session *s, char err[FLADMIN_ERR_MAX])
{
	struct fladmin_reply	 r;
	json_t			*item, *data;
	const char		*type;
	size_t			 i;
	int			 rc = 0;

	if (session_command(s, "_commands", &r, err) == -1)
		return -1;
	json_array_foreach(r.items, i, item) {
		type = json_string_value(json_object_get(item, "type"));
		data = json_object_get(item, "data");
		if (strcmp(type, "table") == 0)
			rc |= session_table_commands(s,
			    json_object_get(data, "rows"));
		else if (strcmp(type, "string") == 0 && json_is_string(data))
			rc |= session_text_commands(s,
			    json_string_value(data));
	}
	if (reply_failed(&r))
		snprintf(err, FLADMIN_ERR_MAX, "the server did not list its "
		    "commands");
	else if (rc != 0)
		snprintf(err, FLADMIN_ERR_MAX, "out of memory");
	rc = reply_failed(&r) || rc != 0 ? -1 : 0;
	reply_free(&r);
	return rc;
}
