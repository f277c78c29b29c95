/*
 * audit_entry - an admin action as the JSON object of its audit record,
 * before the chain is added: every text valid UTF-8 without control
 * characters, cut to a size, and no secret in it.
 *
 * Secrets: the password of "_login USER PASSWORD" is replaced by "***",
 * and so is any run of 32 or more hex digits in the command, its
 * arguments, the reason and the result: admind's and aggd's tokens are
 * 32 hex digits, and a token pasted into a command must not be kept.
 * Nothing else is recognised as a secret; the contract has no other
 * command that carries one.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <jansson.h>

#include "audit.h"
#include "digest.h"

#define AUDIT_ENTRY_TEXT_MAX	256	/* bytes of one text */
#define AUDIT_ENTRY_COMMAND_MAX	1024	/* bytes of the command line */
#define AUDIT_ENTRY_LIST_MAX	4096	/* bytes of a list's items */
#define AUDIT_ENTRY_SPACE	" \t\n\v\f\r"
#define AUDIT_ENTRY_REDACTED	"***"
#define AUDIT_ENTRY_CUT		"..."

/* audit_entry_utf8 - bytes of the valid UTF-8 character at s, or 0 */
static size_t
audit_entry_utf8(const unsigned char *s, size_t left)
{
	unsigned int	 cp;
	size_t		 len, i;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		len = 2;
		cp = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		len = 3;
		cp = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		len = 4;
		cp = s[0] & 0x07;
	} else
		return 0;
	if (left < len)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((len == 3 && cp < 0x800) || (cp >= 0xd800 && cp <= 0xdfff) ||
	    (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return len;
}

/* audit_entry_scrub - every run of 32 or more hex digits becomes "***" */
static void
audit_entry_scrub(char *s)
{
	char	*out = s;
	size_t	 run;

	while (*s != '\0') {
		run = strspn(s, "0123456789abcdefABCDEF");
		if (run >= TOKEN_HEX_LEN) {
			memcpy(out, AUDIT_ENTRY_REDACTED,
			    sizeof(AUDIT_ENTRY_REDACTED) - 1);
			out += sizeof(AUDIT_ENTRY_REDACTED) - 1;
			s += run;
		} else if (run > 0) {
			memmove(out, s, run);
			out += run;
			s += run;
		} else
			*out++ = *s++;
	}
	*out = '\0';
}

/*
 * audit_entry_copy - len bytes of in as a text fit for the record, cut at
 * a character to at most max bytes (then ending in "..."). Invalid UTF-8
 * and control characters become '?'. NULL when out of memory.
 */
static char *
audit_entry_copy(const char *in, size_t len, size_t max, int scrub)
{
	const unsigned char	*s = (const unsigned char *)in;
	char			*out;
	size_t			 i = 0, o = 0, n;

	if ((out = malloc(max + sizeof(AUDIT_ENTRY_CUT))) == NULL)
		return NULL;
	while (i < len) {
		n = audit_entry_utf8(s + i, len - i);
		if (o + (n == 0 ? 1 : n) > max) {
			memcpy(out + o, AUDIT_ENTRY_CUT,
			    sizeof(AUDIT_ENTRY_CUT));
			o += sizeof(AUDIT_ENTRY_CUT) - 1;
			break;
		}
		if (n == 0 || (n == 1 && (s[i] < 0x20 || s[i] == 0x7f))) {
			out[o++] = '?';
			i++;
			continue;
		}
		memcpy(out + o, s + i, n);
		o += n;
		i += n;
	}
	out[o] = '\0';
	if (scrub)
		audit_entry_scrub(out);
	return out;
}

static json_t *
audit_entry_string(const char *in, size_t len, int scrub)
{
	json_t	*value;
	char	*text;

	if ((text = audit_entry_copy(in != NULL ? in : "", in != NULL ? len :
	    0, AUDIT_ENTRY_TEXT_MAX, scrub)) == NULL)
		return NULL;
	value = json_string(text);
	free(text);
	return value;
}

static json_t *
audit_entry_text(const char *in, int scrub)
{
	return audit_entry_string(in, in != NULL ? strlen(in) : 0, scrub);
}

/* audit_entry_list - the items, then "+N more" past the list's size */
static json_t *
audit_entry_list(const char *const *items, size_t n)
{
	json_t	*list;
	char	 more[32];
	size_t	 i, bytes = 0;

	if ((list = json_array()) == NULL)
		return NULL;
	for (i = 0; i < n && items != NULL; i++) {
		bytes += items[i] != NULL ? strlen(items[i]) : 0;
		if (bytes > AUDIT_ENTRY_LIST_MAX) {
			snprintf(more, sizeof(more), "+%zu more", n - i);
			if (json_array_append_new(list, json_string(more)))
				goto fail;
			break;
		}
		if (json_array_append_new(list, audit_entry_text(items[i], 0)))
			goto fail;
	}
	return list;
fail:
	json_decref(list);
	return NULL;
}

/* audit_entry_word - the next word of *line, and where it ends */
static const char *
audit_entry_word(const char **line, size_t *len)
{
	const char	*word;

	word = *line + strspn(*line, AUDIT_ENTRY_SPACE);
	*len = strcspn(word, AUDIT_ENTRY_SPACE);
	*line = word + *len;
	return *len > 0 ? word : NULL;
}

/*
 * audit_entry_is_login - whether the command word names _login however
 * it is written: in any case, quoted in parts, or qualified by a scope,
 * all of which the console's own parsing may accept.
 */
static int
audit_entry_is_login(const char *word, size_t len)
{
	char	 name[16];
	size_t	 i, start = 0, n = 0;

	for (i = 0; i < len; i++)
		if (word[i] == '.')
			start = i + 1;
	for (i = start; i < len; i++) {
		if (word[i] == '\'' || word[i] == '"')
			continue;
		if (n == sizeof(name) - 1)
			return 0;
		name[n++] = word[i];
	}
	name[n] = '\0';
	return strcasecmp(name, "_login") == 0;
}

/*
 * audit_entry_args - the words after the command. Of a login only the
 * user is kept; whatever follows it is the password.
 */
static json_t *
audit_entry_args(const char *rest, int login, int cut)
{
	json_t		*args;
	const char	*word;
	size_t		 len;

	if ((args = json_array()) == NULL)
		return NULL;
	while ((word = audit_entry_word(&rest, &len)) != NULL) {
		if (login && json_array_size(args) == 1) {
			if (json_array_append_new(args,
			    json_string(AUDIT_ENTRY_REDACTED)))
				goto fail;
			return args;
		}
		if (json_array_append_new(args, audit_entry_string(word, len,
		    1)))
			goto fail;
	}
	if (cut && json_array_append_new(args, json_string(AUDIT_ENTRY_CUT)))
		goto fail;
	return args;
fail:
	json_decref(args);
	return NULL;
}

/* audit_entry_command - "command" and "args" from the line as typed */
static int
audit_entry_command(json_t *record, const char *line)
{
	const char	*rest, *word;
	char		*copy;
	size_t		 len;
	int		 rc, login;

	if (line == NULL)
		line = "";
	if ((copy = strndup(line, AUDIT_ENTRY_COMMAND_MAX)) == NULL)
		return -1;
	rest = copy;
	if ((word = audit_entry_word(&rest, &len)) == NULL)
		word = "";
	login = audit_entry_is_login(word, len);
	rc = json_object_set_new(record, "command",
	    audit_entry_string(word, len, 1)) == -1 ||
	    json_object_set_new(record, "args", audit_entry_args(rest, login,
	    strlen(line) > AUDIT_ENTRY_COMMAND_MAX)) == -1 ? -1 : 0;
	free(copy);
	return rc;
}

static const char *
audit_entry_outcome(const struct audit_entry *e)
{
	if (e->ae_decision == AUDIT_REFUSED)
		return "error";
	switch (e->ae_outcome) {
	case AUDIT_OK:
		return "ok";
	case AUDIT_PENDING:
		return "pending";
	default:
		return "error";
	}
}

/* audit_entry_result - a refusal without a result text gives its reason */
static const char *
audit_entry_result(const struct audit_entry *e)
{
	if (e->ae_decision == AUDIT_REFUSED &&
	    (e->ae_result == NULL || e->ae_result[0] == '\0'))
		return e->ae_reason;
	return e->ae_result;
}

json_t *
audit_entry_json(const struct audit_entry *e, long long seq,
    const char *event, time_t when)
{
	json_t		*r;
	struct tm	 tm;
	char		 stamp[32];

	if (gmtime_r(&when, &tm) == NULL ||
	    strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0 ||
	    (r = json_object()) == NULL)
		return NULL;
	if (json_object_set_new(r, "seq", json_integer(seq)) ||
	    json_object_set_new(r, "event", json_string(event)) ||
	    json_object_set_new(r, "time", json_string(stamp)) ||
	    json_object_set_new(r, "user", audit_entry_text(e->ae_user, 0)) ||
	    json_object_set_new(r, "cn", audit_entry_text(e->ae_cn, 0)) ||
	    json_object_set_new(r, "fp",
	    audit_entry_text(e->ae_fingerprint, 0)) ||
	    json_object_set_new(r, "addr",
	    audit_entry_text(e->ae_address, 0)) ||
	    json_object_set_new(r, "roles",
	    audit_entry_list(e->ae_roles, e->ae_nroles)) ||
	    audit_entry_command(r, e->ae_command) ||
	    json_object_set_new(r, "sites",
	    audit_entry_list(e->ae_sites, e->ae_nsites)) ||
	    json_object_set_new(r, "decision", json_string(e->ae_decision ==
	    AUDIT_REFUSED ? "refused" : "allowed")) ||
	    json_object_set_new(r, "reason", audit_entry_text(e->ae_reason,
	    1)) ||
	    json_object_set_new(r, "outcome",
	    json_string(audit_entry_outcome(e))) ||
	    json_object_set_new(r, "result",
	    audit_entry_text(audit_entry_result(e), 1))) {
		json_decref(r);
		return NULL;
	}
	return r;
}

void
audit_entry_describe(const struct audit_entry *e, char *out, size_t size)
{
	const char	*line = e->ae_command != NULL ? e->ae_command : "";
	const char	*word;
	char		*user, *verb;
	size_t		 len;

	if ((word = audit_entry_word(&line, &len)) == NULL)
		word = "";
	user = audit_entry_copy(e->ae_user != NULL ? e->ae_user : "",
	    e->ae_user != NULL ? strlen(e->ae_user) : 0, 64, 0);
	verb = audit_entry_copy(word, len, 64, 1);
	snprintf(out, size, "%s by \"%s\"", verb != NULL ? verb : "?",
	    user != NULL ? user : "?");
	free(user);
	free(verb);
}
