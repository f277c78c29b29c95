/*
 * audit_verify - read an audit trail and say whether it is the one
 * admind wrote, or where it stops being so.
 *
 * Each line is checked on its own first (well-formed and canonical, its
 * chain value is the SHA-256 of its bytes, its signature verifies with
 * the pinned key), then against the line before (sequence number one
 * more, prev equal to the chain value before), then against the heads
 * published outside the file. The first failure is the verdict: what
 * follows a broken record proves nothing. Depends on jansson and
 * OpenSSL; never logs, so that flaudit's output is only its verdict.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "audit_verify.h"
#include "digest.h"

const char audit_verify_genesis[AUDIT_CHAIN_HEX + 1] =
    "0000000000000000000000000000000000000000000000000000000000000000";

enum audit_field_type {
	AUDIT_F_SEQ,
	AUDIT_F_EVENT,
	AUDIT_F_TIME,
	AUDIT_F_TEXT,
	AUDIT_F_LIST,
	AUDIT_F_DECISION,
	AUDIT_F_OUTCOME,
	AUDIT_F_CHAIN,
	AUDIT_F_SIG
};

/* A record's keys, in the only order admind writes them. */
static const struct {
	const char		*name;
	enum audit_field_type	 type;
} audit_fields[] = {
	{ "seq",	AUDIT_F_SEQ },
	{ "event",	AUDIT_F_EVENT },
	{ "time",	AUDIT_F_TIME },
	{ "user",	AUDIT_F_TEXT },
	{ "cn",		AUDIT_F_TEXT },
	{ "fp",		AUDIT_F_TEXT },
	{ "addr",	AUDIT_F_TEXT },
	{ "roles",	AUDIT_F_LIST },
	{ "command",	AUDIT_F_TEXT },
	{ "args",	AUDIT_F_LIST },
	{ "sites",	AUDIT_F_LIST },
	{ "decision",	AUDIT_F_DECISION },
	{ "reason",	AUDIT_F_TEXT },
	{ "outcome",	AUDIT_F_OUTCOME },
	{ "result",	AUDIT_F_TEXT },
	{ "prev",	AUDIT_F_CHAIN },
	{ "chain",	AUDIT_F_CHAIN },
	{ "sig",	AUDIT_F_SIG },
};
#define AUDIT_NFIELDS	(sizeof(audit_fields) / sizeof(audit_fields[0]))

/* What reading one line gave. */
enum audit_line {
	AUDIT_LINE_OK,
	AUDIT_LINE_EOF,
	AUDIT_LINE_ERROR,
	AUDIT_LINE_LONG,
	AUDIT_LINE_TORN
};

/* Reads with pread(2): the descriptor's own offset is never moved. */
struct audit_walk {
	int			 fd;
	off_t			 off;		/* of the next read */
	unsigned char		 in[16384];
	size_t			 inlen;
	size_t			 inpos;
	int			 error;		/* errno of a failed read */
	char			*buf;
	size_t			 len;		/* of the line, with its '\n' */
	EVP_PKEY		*key;
	const struct audit_head	*heads;
	size_t			 nheads;
	struct audit_verdict	*v;
	long long		 line;
};

static void
audit_verify_unhex(const char *s, unsigned char *out, size_t len)
{
	size_t	 i;
	int	 hi, lo;

	for (i = 0; i < len; i++) {
		hi = s[2 * i] <= '9' ? s[2 * i] - '0' : s[2 * i] - 'a' + 10;
		lo = s[2 * i + 1] <= '9' ? s[2 * i + 1] - '0' :
		    s[2 * i + 1] - 'a' + 10;
		out[i] = (unsigned char)(hi << 4 | lo);
	}
}

static void
audit_verify_fail(struct audit_walk *w, enum audit_break kind, long long seq,
    long long line, const char *fmt, ...)
{
	va_list	 ap;

	w->v->av_break = kind;
	w->v->av_seq = seq;
	w->v->av_line = line;
	va_start(ap, fmt);
	vsnprintf(w->v->av_reason, sizeof(w->v->av_reason), fmt, ap);
	va_end(ap);
}

/* audit_verify_getc - the next byte, EOF at the end or on an error */
static int
audit_verify_getc(struct audit_walk *w)
{
	ssize_t	 n;

	if (w->inpos == w->inlen) {
		do
			n = pread(w->fd, w->in, sizeof(w->in), w->off);
		while (n == -1 && errno == EINTR);
		if (n <= 0) {
			w->error = n == -1 ? errno : 0;
			return EOF;
		}
		w->off += n;
		w->inlen = (size_t)n;
		w->inpos = 0;
	}
	return w->in[w->inpos++];
}

/* audit_verify_read - one line, without ever holding more than the cap */
static enum audit_line
audit_verify_read(struct audit_walk *w)
{
	int	 c;

	w->len = 0;
	while ((c = audit_verify_getc(w)) != EOF) {
		if (w->len == AUDIT_LINE_MAX) {
			while (c != EOF && c != '\n')
				c = audit_verify_getc(w);
			return AUDIT_LINE_LONG;
		}
		w->buf[w->len++] = (char)c;
		if (c == '\n')
			return AUDIT_LINE_OK;
	}
	if (w->error != 0)
		return AUDIT_LINE_ERROR;
	return w->len == 0 ? AUDIT_LINE_EOF : AUDIT_LINE_TORN;
}

static int
audit_verify_time(const char *s)
{
	static const char	 form[] = "dddd-dd-ddTdd:dd:ddZ";
	size_t			 i;

	if (strlen(s) != sizeof(form) - 1)
		return 0;
	for (i = 0; form[i] != '\0'; i++) {
		if (form[i] == 'd' ? (s[i] < '0' || s[i] > '9') :
		    s[i] != form[i])
			return 0;
	}
	return 1;
}

static int
audit_verify_list(const json_t *list)
{
	size_t	 i;

	if (!json_is_array(list))
		return 0;
	for (i = 0; i < json_array_size(list); i++)
		if (!json_is_string(json_array_get(list, i)))
			return 0;
	return 1;
}

/* audit_verify_value - whether one field has the type and form it must */
static int
audit_verify_value(enum audit_field_type type, const json_t *value)
{
	const char	*s = json_string_value(value);

	switch (type) {
	case AUDIT_F_SEQ:
		return json_is_integer(value) && json_integer_value(value) > 0;
	case AUDIT_F_LIST:
		return audit_verify_list(value);
	default:
		break;
	}
	if (s == NULL)
		return 0;
	switch (type) {
	case AUDIT_F_EVENT:
		return digest_is_hex(s, AUDIT_EVENT_HEX);
	case AUDIT_F_TIME:
		return audit_verify_time(s);
	case AUDIT_F_DECISION:
		return strcmp(s, "allowed") == 0 || strcmp(s, "refused") == 0;
	case AUDIT_F_OUTCOME:
		return strcmp(s, "ok") == 0 || strcmp(s, "error") == 0 ||
		    strcmp(s, "pending") == 0;
	case AUDIT_F_CHAIN:
		return digest_is_hex(s, AUDIT_CHAIN_HEX);
	case AUDIT_F_SIG:
		return digest_is_hex(s, AUDIT_SIG_HEX);
	default:
		return 1;
	}
}

/* audit_verify_fields - exactly the keys, in order, each of its type */
static int
audit_verify_fields(const json_t *record, char *why, size_t size)
{
	void		*it;
	size_t		 i = 0;

	for (it = json_object_iter((json_t *)record); it != NULL;
	    it = json_object_iter_next((json_t *)record, it), i++) {
		if (i == AUDIT_NFIELDS) {
			snprintf(why, size, "a key after \"sig\"");
			return -1;
		}
		if (strcmp(json_object_iter_key(it), audit_fields[i].name)) {
			snprintf(why, size, "key %d is not \"%s\"", (int)i + 1,
			    audit_fields[i].name);
			return -1;
		}
		if (!audit_verify_value(audit_fields[i].type,
		    json_object_iter_value(it))) {
			snprintf(why, size, "\"%s\" has the wrong type or form",
			    audit_fields[i].name);
			return -1;
		}
	}
	if (i != AUDIT_NFIELDS) {
		snprintf(why, size, "\"%s\" is missing", audit_fields[i].name);
		return -1;
	}
	return 0;
}

/*
 * audit_verify_parse - the record on the current line, or NULL with why.
 * The line must be the very bytes admind would write for the record it
 * holds, so that no byte of it can change without changing the record.
 */
static json_t *
audit_verify_parse(const struct audit_walk *w, char *why, size_t size)
{
	json_t		*record;
	json_error_t	 jerr;
	char		*canon;
	int		 same;

	record = json_loadb(w->buf, w->len - 1, JSON_REJECT_DUPLICATES, &jerr);
	if (record == NULL) {
		snprintf(why, size, "not JSON: %.120s", jerr.text);
		return NULL;
	}
	if (!json_is_object(record)) {
		snprintf(why, size, "not a JSON object");
		goto bad;
	}
	if (audit_verify_fields(record, why, size) == -1)
		goto bad;
	if ((canon = json_dumps(record, JSON_COMPACT)) == NULL) {
		snprintf(why, size, "out of memory");
		goto bad;
	}
	same = strlen(canon) == w->len - 1 &&
	    memcmp(canon, w->buf, w->len - 1) == 0;
	free(canon);
	if (!same) {
		snprintf(why, size, "not in the canonical form admind writes");
		goto bad;
	}
	return record;
bad:
	json_decref(record);
	return NULL;
}

char *
audit_verify_body(const json_t *record)
{
	json_t	*body;
	char	*out;

	if ((body = json_deep_copy(record)) == NULL)
		return NULL;
	json_object_del(body, "chain");
	json_object_del(body, "sig");
	out = json_dumps(body, JSON_COMPACT);
	json_decref(body);
	return out;
}

int
audit_verify_sig(EVP_PKEY *key, const char *chain_hex, const char *sig_hex)
{
	unsigned char	 chain[AUDIT_CHAIN_HEX / 2], sig[AUDIT_SIG_HEX / 2];
	EVP_MD_CTX	*ctx;
	int		 ok;

	if (!digest_is_hex(chain_hex, AUDIT_CHAIN_HEX) ||
	    !digest_is_hex(sig_hex, AUDIT_SIG_HEX))
		return 0;
	audit_verify_unhex(chain_hex, chain, sizeof(chain));
	audit_verify_unhex(sig_hex, sig, sizeof(sig));
	if ((ctx = EVP_MD_CTX_new()) == NULL)
		return 0;
	ok = EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, key) == 1 &&
	    EVP_DigestVerify(ctx, sig, sizeof(sig), chain,
	    sizeof(chain)) == 1;
	EVP_MD_CTX_free(ctx);
	return ok;
}

/* audit_verify_content - the record agrees with itself and the key */
static int
audit_verify_content(struct audit_walk *w, const json_t *record,
    long long seq)
{
	const char	*chain, *sig;
	char		*body, digest[AUDIT_CHAIN_HEX + 1];
	unsigned char	 md[EVP_MAX_MD_SIZE];
	unsigned int	 mdlen = 0;
	int		 ok;

	chain = json_string_value(json_object_get(record, "chain"));
	sig = json_string_value(json_object_get(record, "sig"));
	if ((body = audit_verify_body(record)) == NULL) {
		audit_verify_fail(w, AUDIT_UNREADABLE, seq, w->line,
		    "out of memory");
		return -1;
	}
	ok = EVP_Digest(body, strlen(body), md, &mdlen, EVP_sha256(),
	    NULL) == 1 && mdlen == AUDIT_CHAIN_HEX / 2;
	free(body);
	if (!ok) {
		audit_verify_fail(w, AUDIT_UNREADABLE, seq, w->line,
		    "SHA-256 failed inside OpenSSL");
		return -1;
	}
	digest_hex(md, mdlen, digest);
	if (strcmp(digest, chain) != 0) {
		audit_verify_fail(w, AUDIT_EDITED, seq, w->line, "edited: its "
		    "content does not match its chain value");
		return -1;
	}
	if (!audit_verify_sig(w->key, chain, sig)) {
		audit_verify_fail(w, AUDIT_FORGED, seq, w->line, "forged: its "
		    "signature does not verify with the pinned public key "
		    "(written without admind's key)");
		return -1;
	}
	return 0;
}

/*
 * audit_verify_later - the first record of the rest of the file whose
 * sequence number is in [from, to), to tell a record that moved from one
 * that is gone. Only called once a verdict is decided, so it may read on.
 */
static long long
audit_verify_later(struct audit_walk *w, long long from, long long to,
    long long *line)
{
	json_t		*record;
	json_int_t	 seq;

	*line = w->line;
	for (;;) {
		switch (audit_verify_read(w)) {
		case AUDIT_LINE_EOF:
		case AUDIT_LINE_ERROR:
			return 0;
		case AUDIT_LINE_OK:
			break;
		default:
			(*line)++;
			continue;
		}
		(*line)++;
		record = json_loadb(w->buf, w->len - 1, 0, NULL);
		seq = json_integer_value(json_object_get(record, "seq"));
		json_decref(record);
		if (seq >= from && seq < to)
			return seq;
	}
}

/* audit_verify_gap - records missing before this one: gone or moved */
static void
audit_verify_gap(struct audit_walk *w, long long last, long long seq)
{
	long long	 line = w->line, moved, at;

	if ((moved = audit_verify_later(w, last + 1, seq, &at)) != 0) {
		audit_verify_fail(w, AUDIT_REORDERED, seq, line, "reordered: "
		    "it comes before record %lld, which is at line %lld",
		    moved, at);
		return;
	}
	if (seq == last + 2)
		audit_verify_fail(w, AUDIT_DELETED, seq, line, "deleted: "
		    "record %lld is missing before it", last + 1);
	else
		audit_verify_fail(w, AUDIT_DELETED, seq, line, "deleted: "
		    "records %lld to %lld are missing before it", last + 1,
		    seq - 1);
}

/* audit_verify_link - the record follows the one before it */
static int
audit_verify_link(struct audit_walk *w, const json_t *record, long long seq)
{
	const struct audit_head	*last = &w->v->av_head;
	const char		*prev;

	if (seq == last->ah_seq) {
		audit_verify_fail(w, AUDIT_INSERTED, seq, w->line, "inserted: "
		    "sequence number %lld repeats", seq);
		return -1;
	}
	if (seq < last->ah_seq) {
		audit_verify_fail(w, AUDIT_REORDERED, seq, w->line,
		    "reordered: sequence goes back from %lld to %lld (a "
		    "record moved, or copied in again)", last->ah_seq, seq);
		return -1;
	}
	if (seq > last->ah_seq + 1) {
		audit_verify_gap(w, last->ah_seq, seq);
		return -1;
	}
	prev = json_string_value(json_object_get(record, "prev"));
	if (strcmp(prev, last->ah_chain) == 0)
		return 0;
	if (last->ah_seq == 0)
		audit_verify_fail(w, AUDIT_UNLINKED, seq, w->line, "deleted or "
		    "inserted: its prev is not the genesis value");
	else
		audit_verify_fail(w, AUDIT_UNLINKED, seq, w->line, "deleted or "
		    "inserted: its prev is not the chain value of record %lld",
		    last->ah_seq);
	return -1;
}

/* audit_verify_heads - the record agrees with every head published */
static int
audit_verify_heads(struct audit_walk *w, long long seq, const char *chain)
{
	size_t	 i;

	for (i = 0; i < w->nheads; i++) {
		if (w->heads[i].ah_seq != seq ||
		    strcmp(w->heads[i].ah_chain, chain) == 0)
			continue;
		audit_verify_fail(w, AUDIT_REWRITTEN, seq, w->line,
		    "rewritten: its chain value differs from the published "
		    "head %lld %s",
		    seq, w->heads[i].ah_chain);
		return -1;
	}
	return 0;
}

/* audit_verify_line - the current line as a record of the trail */
static int
audit_verify_line(struct audit_walk *w)
{
	struct audit_verdict	*v = w->v;
	json_t			*record;
	const char		*chain;
	char			 why[160];
	long long		 seq;
	int			 rc = -1;

	if ((record = audit_verify_parse(w, why, sizeof(why))) == NULL) {
		audit_verify_fail(w, AUDIT_MALFORMED, v->av_head.ah_seq + 1,
		    w->line, "edited: %s", why);
		return -1;
	}
	seq = json_integer_value(json_object_get(record, "seq"));
	chain = json_string_value(json_object_get(record, "chain"));
	if (audit_verify_content(w, record, seq) == -1 ||
	    audit_verify_link(w, record, seq) == -1 ||
	    audit_verify_heads(w, seq, chain) == -1)
		goto done;

	v->av_records++;
	v->av_head.ah_seq = seq;
	snprintf(v->av_head.ah_chain, sizeof(v->av_head.ah_chain), "%s",
	    chain);
	v->av_size += (off_t)w->len;
	rc = 0;
done:
	json_decref(record);
	return rc;
}

/* audit_verify_end - the trail reaches every published head */
static int
audit_verify_end(struct audit_walk *w)
{
	const struct audit_head	*last = &w->v->av_head;
	long long		 missing = 0;
	size_t			 i;

	for (i = 0; i < w->nheads; i++)
		if (w->heads[i].ah_seq > missing)
			missing = w->heads[i].ah_seq;
	if (missing <= last->ah_seq)
		return 0;
	audit_verify_fail(w, AUDIT_TRUNCATED, last->ah_seq + 1, w->line + 1,
	    "truncated: the trail ends at record %lld but record %lld was "
	    "published", last->ah_seq, missing);
	return -1;
}

static int
audit_verify_walk(struct audit_walk *w)
{
	for (;;) {
		switch (audit_verify_read(w)) {
		case AUDIT_LINE_EOF:
			return audit_verify_end(w);
		case AUDIT_LINE_ERROR:
			audit_verify_fail(w, AUDIT_UNREADABLE,
			    w->v->av_head.ah_seq + 1, w->line + 1,
			    "unreadable: %s", strerror(w->error));
			return -1;
		case AUDIT_LINE_LONG:
			audit_verify_fail(w, AUDIT_MALFORMED,
			    w->v->av_head.ah_seq + 1, w->line + 1,
			    "edited: a line longer than %d bytes",
			    AUDIT_LINE_MAX);
			return -1;
		case AUDIT_LINE_TORN:
			audit_verify_fail(w, AUDIT_INCOMPLETE,
			    w->v->av_head.ah_seq + 1, w->line + 1,
			    "incomplete: the last line has no end of line "
			    "(a write that never finished, or a cut)");
			return -1;
		case AUDIT_LINE_OK:
			break;
		}
		w->line++;
		if (audit_verify_line(w) == -1)
			return -1;
	}
}

int
audit_verify_fd(int fd, EVP_PKEY *key, const struct audit_head *heads,
    size_t nheads, struct audit_verdict *v)
{
	struct audit_walk	*w;
	int			 rc;

	memset(v, 0, sizeof(*v));
	snprintf(v->av_head.ah_chain, sizeof(v->av_head.ah_chain), "%s",
	    audit_verify_genesis);
	if ((w = calloc(1, sizeof(*w))) == NULL ||
	    (w->buf = malloc(AUDIT_LINE_MAX)) == NULL) {
		free(w);
		v->av_break = AUDIT_UNREADABLE;
		v->av_seq = v->av_line = 1;
		snprintf(v->av_reason, sizeof(v->av_reason), "out of memory");
		return -1;
	}
	w->fd = fd;
	w->key = key;
	w->heads = heads;
	w->nheads = nheads;
	w->v = v;
	rc = audit_verify_walk(w);
	free(w->buf);
	free(w);
	return rc;
}

EVP_PKEY *
audit_verify_load_key(const char *path, char *err, size_t size)
{
	EVP_PKEY	*key;
	FILE		*f;

	if ((f = fopen(path, "r")) == NULL) {
		snprintf(err, size, "%s: %s", path, strerror(errno));
		return NULL;
	}
	key = PEM_read_PUBKEY(f, NULL, NULL, NULL);
	fclose(f);
	if (key == NULL) {
		snprintf(err, size, "%s: not a PEM public key", path);
		return NULL;
	}
	if (EVP_PKEY_get_id(key) != EVP_PKEY_ED25519) {
		snprintf(err, size, "%s: not an Ed25519 key", path);
		EVP_PKEY_free(key);
		return NULL;
	}
	return key;
}

int
audit_verify_fingerprint(EVP_PKEY *key, char out[AUDIT_CHAIN_HEX + 1])
{
	unsigned char	*der = NULL, md[EVP_MAX_MD_SIZE];
	unsigned int	 mdlen = 0;
	int		 len, ok;

	if ((len = i2d_PUBKEY(key, &der)) <= 0)
		return -1;
	ok = EVP_Digest(der, (size_t)len, md, &mdlen, EVP_sha256(),
	    NULL) == 1 && mdlen == AUDIT_CHAIN_HEX / 2;
	OPENSSL_free(der);
	if (!ok)
		return -1;
	digest_hex(md, mdlen, out);
	return 0;
}

int
audit_verify_parse_head(const char *s, struct audit_head *head)
{
	const char	*colon;
	char		*end;
	long long	 seq;

	if ((colon = strchr(s, ':')) == NULL || colon == s)
		return -1;
	errno = 0;
	seq = strtoll(s, &end, 10);
	if (errno != 0 || end != colon || seq < 0 || s[0] == '-' ||
	    s[0] == '+' || !digest_is_hex(colon + 1, AUDIT_CHAIN_HEX))
		return -1;
	if (seq == 0 && strcmp(colon + 1, audit_verify_genesis) != 0)
		return -1;
	head->ah_seq = seq;
	snprintf(head->ah_chain, sizeof(head->ah_chain), "%s", colon + 1);
	return 0;
}
