/*
 * cmdline - splitting a console command line into words, finding its
 * command, and checking the shape of its arguments.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmdline.h"

static const char cmdline_name_chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    "abcdefghijklmnopqrstuvwxyz0123456789._@-";

/* cmdline_fail - record why the command line is refused */
static int
cmdline_fail(char err[CMDLINE_ERR_MAX], const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(err, CMDLINE_ERR_MAX, fmt, ap);
	va_end(ap);
	return -1;
}

/* cmdline_words - cut buf in place into words; quotes keep spaces */
static int
cmdline_words(char *buf, struct cmdline *cl, char err[CMDLINE_ERR_MAX])
{
	char	*in = buf, *out = buf, quote;

	for (;;) {
		while (*in == ' ')
			in++;
		if (*in == '\0')
			return 0;
		if (cl->argc == CMDLINE_WORDS_MAX)
			return cmdline_fail(err, "more than %d words",
			    CMDLINE_WORDS_MAX);
		cl->argv[cl->argc++] = out;
		quote = '\0';
		while (*in != '\0' && (quote != '\0' || *in != ' ')) {
			if (quote == '\0' && (*in == '\'' || *in == '"'))
				quote = *in++;
			else if (quote != '\0' && *in == quote) {
				quote = '\0';
				in++;
			} else
				*out++ = *in++;
		}
		if (quote != '\0')
			return cmdline_fail(err, "a quote is not closed");
		if (*in == ' ')
			in++;
		*out++ = '\0';
	}
}

int
cmdline_split(const char *line, struct cmdline *cl,
    char err[CMDLINE_ERR_MAX])
{
	size_t	 len = strlen(line), i;

	memset(cl, 0, sizeof(*cl));
	if (len > CMDLINE_MAX)
		return cmdline_fail(err, "the command line is longer than %d "
		    "bytes", CMDLINE_MAX);
	for (i = 0; i < len; i++)
		if ((unsigned char)line[i] < 0x20 || line[i] == 0x7f)
			return cmdline_fail(err, "the command line holds a "
			    "control character");
	if ((cl->buf = malloc(len + 1)) == NULL)
		return cmdline_fail(err, "out of memory");
	memcpy(cl->buf, line, len + 1);
	if (cmdline_words(cl->buf, cl, err) == -1)
		return -1;
	if (cl->argc == 0)
		return cmdline_fail(err, "an empty command");
	cl->argv[cl->argc] = NULL;
	return 0;
}

void
cmdline_free(struct cmdline *cl)
{
	if (cl->buf != NULL)
		explicit_bzero(cl->buf, strlen(cl->buf));
	free(cl->buf);
	memset(cl, 0, sizeof(*cl));
}

const struct command *
cmdline_find(const struct command *table, size_t n, const char *word,
    char err[CMDLINE_ERR_MAX])
{
	const struct command	*found = NULL, *other = NULL;
	const char		*dot = strchr(word, '.'), *name = word;
	size_t			 i, scopelen = 0;

	if (dot != NULL) {
		scopelen = dot - word;
		name = dot + 1;
	}
	for (i = 0; i < n; i++) {
		if (strcmp(table[i].c_name, name) != 0)
			continue;
		if (dot != NULL && (strlen(table[i].c_scope) != scopelen ||
		    strncmp(table[i].c_scope, word, scopelen) != 0))
			continue;
		if (found == NULL)
			found = &table[i];
		else if (other == NULL)
			other = &table[i];
	}
	if (found == NULL) {
		cmdline_fail(err, "unknown command %.64s: _commands lists the "
		    "commands you may run", word);
		return NULL;
	}
	if (other != NULL) {
		cmdline_fail(err, "%s is in scopes %s and %s: say %s.%s or "
		    "%s.%s", found->c_name, found->c_scope, other->c_scope,
		    found->c_scope, found->c_name, other->c_scope,
		    found->c_name);
		return NULL;
	}
	return found;
}

int
cmdline_site_name(const char *name)
{
	size_t	 len = strlen(name);

	return len > 0 && len <= CMDLINE_NAME_MAX &&
	    strspn(name, cmdline_name_chars) == len;
}

/* cmdline_number - decimal digits only, at most CMDLINE_NUMBER_MAX */
static int
cmdline_number(const char *word, long long *out)
{
	long long	 v = 0;
	size_t		 i;

	if (word[0] == '\0' || strlen(word) > 10)
		return -1;
	for (i = 0; word[i] != '\0'; i++) {
		if (word[i] < '0' || word[i] > '9')
			return -1;
		v = v * 10 + (word[i] - '0');
	}
	if (v > CMDLINE_NUMBER_MAX)
		return -1;
	*out = v;
	return 0;
}

/* cmdline_usage - how c is used, as the refusal */
static int
cmdline_usage(const struct command *c, char err[CMDLINE_ERR_MAX])
{
	return cmdline_fail(err, "usage: %s%s%s", c->c_name,
	    c->c_usage[0] != '\0' ? " " : "", c->c_usage);
}

/* cmdline_count - the number of argument words is in [min, max] */
static int
cmdline_count(const struct command *c, int nargs, int min, int max,
    char err[CMDLINE_ERR_MAX])
{
	if (nargs < min || nargs > max)
		return cmdline_usage(c, err);
	return 0;
}

/* cmdline_sites - site names, each once */
static int
cmdline_sites(char *const *words, int n, struct cmd_args *a,
    char err[CMDLINE_ERR_MAX])
{
	int	 i, j;

	for (i = 0; i < n; i++) {
		if (!cmdline_site_name(words[i]))
			return cmdline_fail(err, "%.64s is not a site name",
			    words[i]);
		for (j = 0; j < i; j++)
			if (strcmp(words[i], words[j]) == 0)
				return cmdline_fail(err, "site %s is named "
				    "twice", words[i]);
	}
	a->sites = words;
	a->nsites = n;
	return 0;
}

/* cmdline_targets - server | client [SITE...] | all, as c accepts */
static int
cmdline_targets(const struct command *c, char *const *words, int n,
    struct cmd_args *a, char err[CMDLINE_ERR_MAX])
{
	if (n == 0)
		return cmdline_usage(c, err);
	if (strcmp(words[0], "server") == 0)
		a->target = TARGET_SERVER;
	else if (strcmp(words[0], "client") == 0)
		a->target = TARGET_CLIENT;
	else if (strcmp(words[0], "all") == 0)
		a->target = TARGET_ALL;
	if ((a->target & c->c_targets) == 0)
		return cmdline_usage(c, err);
	if (a->target != TARGET_CLIENT)
		return cmdline_count(c, n, 1, 1, err);
	return cmdline_sites(words + 1, n - 1, a, err);
}

/* cmdline_shell - the target (server or one site), then the words */
static int
cmdline_shell(const struct command *c, char *const *words, int n,
    struct cmd_args *a, char err[CMDLINE_ERR_MAX])
{
	if (cmdline_count(c, n, 1, c->c_max_words + 1, err) == -1)
		return -1;
	if (strcmp(words[0], "server") == 0)
		a->target = TARGET_SERVER;
	else {
		a->target = TARGET_CLIENT;
		if (cmdline_sites(words, 1, a, err) == -1)
			return -1;
	}
	a->words = words + 1;
	a->nwords = n - 1;
	return 0;
}

/* cmdline_validate - all, or SITE OWNER */
static int
cmdline_validate(const struct command *c, char *const *words, int n,
    struct cmd_args *a, char err[CMDLINE_ERR_MAX])
{
	if (n == 1 && strcmp(words[0], "all") == 0) {
		a->target = TARGET_ALL;
		return 0;
	}
	if (cmdline_count(c, n, 2, 2, err) == -1)
		return -1;
	if (!cmdline_site_name(words[0]) || !cmdline_site_name(words[1]))
		return cmdline_usage(c, err);
	a->name = words[0];
	a->second = words[1];
	return 0;
}

/* cmdline_user - a user's name: printable, no space, not too long */
static int
cmdline_user(const char *word, char err[CMDLINE_ERR_MAX])
{
	size_t	 len = strlen(word);

	if (len == 0 || len > CMDLINE_USER_MAX ||
	    strspn(word, cmdline_name_chars) != len)
		return cmdline_fail(err, "%.64s is not a user name", word);
	return 0;
}

int
cmdline_args(const struct command *c, const struct cmdline *cl,
    struct cmd_args *a, char err[CMDLINE_ERR_MAX])
{
	char *const	*words = cl->argv + 1;
	int	  n = cl->argc - 1;

	memset(a, 0, sizeof(*a));
	switch (c->c_shape) {
	case SHAPE_NONE:
		return cmdline_count(c, n, 0, 0, err);
	case SHAPE_LOGIN:
		if (cmdline_count(c, n, 2, 2, err) == -1 ||
		    cmdline_user(words[0], err) == -1)
			return -1;
		a->name = words[0];
		a->second = words[1];
		return 0;
	case SHAPE_USER:
		if (cmdline_count(c, n, 1, 1, err) == -1 ||
		    cmdline_user(words[0], err) == -1)
			return -1;
		a->name = words[0];
		return 0;
	case SHAPE_RUN:
	case SHAPE_SECONDS:
		if (cmdline_count(c, n, 1, 1, err) == -1)
			return -1;
		if (cmdline_number(words[0], &a->number) == -1)
			a->number = 0;
		if (c->c_shape == SHAPE_RUN && a->number < 1)
			return cmdline_fail(err, "%s: %.16s is not a run "
			    "number (1 or more)", c->c_name, words[0]);
		if (c->c_shape == SHAPE_SECONDS && (a->number < 1 ||
		    a->number > CMDLINE_TIMEOUT_MAX))
			return cmdline_fail(err, "%s: %.16s is not a number "
			    "of seconds from 1 to %d", c->c_name, words[0],
			    CMDLINE_TIMEOUT_MAX);
		return 0;
	case SHAPE_TARGETS:
		return cmdline_targets(c, words, n, a, err);
	case SHAPE_DEPLOY:
		/* The MMAR's name is checked once authorized. */
		if (n < 2)
			return cmdline_usage(c, err);
		a->name = words[0];
		return cmdline_targets(c, words + 1, n - 1, a, err);
	case SHAPE_MMAR:
		if (cmdline_count(c, n, 1, 1, err) == -1)
			return -1;
		a->name = words[0];
		return 0;
	case SHAPE_SITE:
		if (cmdline_count(c, n, 1, 1, err) == -1 ||
		    cmdline_sites(words, 1, a, err) == -1)
			return -1;
		a->name = words[0];
		return 0;
	case SHAPE_VALIDATE:
		return cmdline_validate(c, words, n, a, err);
	case SHAPE_SHELL:
		return cmdline_shell(c, words, n, a, err);
	}
	return cmdline_fail(err, "%s: unknown argument shape", c->c_name);
}

const char *
cmdline_rest(const char *line, int n)
{
	char	 quote;

	while (n-- > 0) {
		while (*line == ' ')
			line++;
		quote = '\0';
		while (*line != '\0' && (quote != '\0' || *line != ' ')) {
			if (quote == '\0' && (*line == '\'' || *line == '"'))
				quote = *line;
			else if (quote != '\0' && *line == quote)
				quote = '\0';
			line++;
		}
	}
	while (*line == ' ')
		line++;
	return line;
}
