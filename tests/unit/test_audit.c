/*
 * test_audit - admind's audit trail and its verification.
 *
 * A scripted session (a login, a failed login, an allowed command, a
 * refused one) is recorded in a temporary workspace at a fixed time with
 * fixed event ids, and its lines are compared with the expected text;
 * the chain values and signatures are recomputed here with OpenSSL
 * directly. Then each attack on the file (an edited byte, a deleted,
 * inserted or moved record, a cut tail, a trail rewritten with another
 * key) is made and must be found at the right record, by the shared
 * verifier, by admind at its next start, and by build/flaudit.
 */
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <libgen.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "../../admind/audit.h"
#include "digest.h"
#include "log.h"
#include "sandbox.h"

#include "../../policy/seccomp_admind.c"

/* 2024-05-01T12:00:00Z */
#define NOW		((time_t)1714564800)
#define LINES_MAX	16
#define FP		"5d41402abc4b2a76b9719d911017c592" \
			"5d41402abc4b2a76b9719d911017c592"
#define EVENT(n)	"0000000000000000000000000000000" #n
#define GENESIS		"0000000000000000000000000000000000000000000000000000" \
			"000000000000"

static char	flaudit_path[PATH_MAX];

struct trail {
	char	 ws[64];
	char	 log[PATH_MAX];
	char	 pub[PATH_MAX];
	char	*lines[LINES_MAX];
	size_t	 nlines;
};

static const char *const roles_super[] = { "super" };
static const char *const to_server[] = { "server" };
static const char *const to_sites[] = { "site-a", "site-b" };

/* The session every trail here records, in this order. */
static const struct audit_entry script[] = {
	{ EVENT(1), "admin@example.org", "admin@example.org", FP,
	    "192.0.2.7", roles_super, 1, "_login admin@example.org "
	    "Corr3ct-Horse", to_server, 1, AUDIT_ALLOWED, "", AUDIT_OK,
	    "logged in" },
	{ EVENT(2), "admin@example.org", "admin@example.org", FP,
	    "192.0.2.7", NULL, 0, "_login admin@example.org  wr0ng pass",
	    to_server, 1, AUDIT_REFUSED, "wrong password", AUDIT_ERROR, "" },
	{ EVENT(3), "admin@example.org", "admin@example.org", FP,
	    "192.0.2.7", roles_super, 1, "check_status client site-a site-b",
	    to_sites, 2, AUDIT_ALLOWED, "view_all", AUDIT_OK, "2 sites" },
	{ EVENT(4), "lab@example.org", "lab@example.org", FP, "192.0.2.9",
	    NULL, 0, "shutdown all", to_sites, 2, AUDIT_REFUSED,
	    "operate_all is not granted at site-a", AUDIT_ERROR, NULL },
};
#define SCRIPT_LEN	(sizeof(script) / sizeof(script[0]))

/* Each record's bytes up to the value of its prev. */
static const char *const expected[] = {
	"{\"seq\":1,\"event\":\"" EVENT(1) "\","
	"\"time\":\"2024-05-01T12:00:00Z\","
	"\"user\":\"admin@example.org\",\"cn\":\"admin@example.org\","
	"\"fp\":\"" FP "\",\"addr\":\"192.0.2.7\",\"roles\":[\"super\"],"
	"\"command\":\"_login\",\"args\":[\"admin@example.org\",\"***\"],"
	"\"sites\":[\"server\"],\"decision\":\"allowed\",\"reason\":\"\","
	"\"outcome\":\"ok\",\"result\":\"logged in\",\"prev\":\"",

	"{\"seq\":2,\"event\":\"" EVENT(2) "\","
	"\"time\":\"2024-05-01T12:00:00Z\","
	"\"user\":\"admin@example.org\",\"cn\":\"admin@example.org\","
	"\"fp\":\"" FP "\",\"addr\":\"192.0.2.7\",\"roles\":[],"
	"\"command\":\"_login\",\"args\":[\"admin@example.org\",\"***\"],"
	"\"sites\":[\"server\"],\"decision\":\"refused\","
	"\"reason\":\"wrong password\",\"outcome\":\"error\","
	"\"result\":\"wrong password\",\"prev\":\"",

	"{\"seq\":3,\"event\":\"" EVENT(3) "\","
	"\"time\":\"2024-05-01T12:00:00Z\","
	"\"user\":\"admin@example.org\",\"cn\":\"admin@example.org\","
	"\"fp\":\"" FP "\",\"addr\":\"192.0.2.7\",\"roles\":[\"super\"],"
	"\"command\":\"check_status\",\"args\":[\"client\",\"site-a\","
	"\"site-b\"],\"sites\":[\"site-a\",\"site-b\"],"
	"\"decision\":\"allowed\",\"reason\":\"view_all\",\"outcome\":\"ok\","
	"\"result\":\"2 sites\",\"prev\":\"",

	"{\"seq\":4,\"event\":\"" EVENT(4) "\","
	"\"time\":\"2024-05-01T12:00:00Z\","
	"\"user\":\"lab@example.org\",\"cn\":\"lab@example.org\","
	"\"fp\":\"" FP "\",\"addr\":\"192.0.2.9\",\"roles\":[],"
	"\"command\":\"shutdown\",\"args\":[\"all\"],"
	"\"sites\":[\"site-a\",\"site-b\"],\"decision\":\"refused\","
	"\"reason\":\"operate_all is not granted at site-a\","
	"\"outcome\":\"error\","
	"\"result\":\"operate_all is not granted at site-a\","
	"\"prev\":\"",
};

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *f)
{
	return remove(path);
}

static void
trail_free_lines(struct trail *t)
{
	size_t	 i;

	for (i = 0; i < t->nlines; i++)
		free(t->lines[i]);
	t->nlines = 0;
}

/* trail_read - the trail's lines, each with its end of line */
static void
trail_read(struct trail *t)
{
	FILE	*f;
	char	*line = NULL;
	size_t	 cap = 0;

	trail_free_lines(t);
	assert_non_null(f = fopen(t->log, "r"));
	while (getline(&line, &cap, f) != -1) {
		assert_true(t->nlines < LINES_MAX);
		assert_non_null(t->lines[t->nlines++] = strdup(line));
	}
	free(line);
	fclose(f);
}

/* trail_write - the trail as these lines, in this order */
static void
trail_write(struct trail *t, const char *const *lines, size_t n)
{
	FILE	*f;
	size_t	 i;

	assert_non_null(f = fopen(t->log, "w"));
	for (i = 0; i < n; i++)
		assert_int_equal(fputs(lines[i], f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

static struct audit *
trail_open(struct trail *t)
{
	struct audit	*a;
	char		 err[AUDIT_ERR_MAX];

	a = audit_open(t->ws, err, sizeof(err));
	if (a == NULL)
		fail_msg("audit_open: %s", err);
	audit_fix_time(a, NOW);
	return a;
}

static void
trail_record_script(struct trail *t)
{
	struct audit	*a = trail_open(t);
	char		 id[AUDIT_EVENT_HEX + 1];
	size_t		 i;

	for (i = 0; i < SCRIPT_LEN; i++) {
		assert_int_equal(audit_record(a, &script[i], id), 0);
		assert_string_equal(id, script[i].ae_event_id);
	}
	audit_close(a);
	trail_read(t);
	assert_int_equal(t->nlines, SCRIPT_LEN);
}

static int
setup(void **state)
{
	struct trail	*t;

	assert_non_null(t = calloc(1, sizeof(*t)));
	strcpy(t->ws, "/tmp/test_audit.XXXXXX");
	assert_non_null(mkdtemp(t->ws));
	snprintf(t->log, sizeof(t->log), "%s/audit/audit.log", t->ws);
	snprintf(t->pub, sizeof(t->pub), "%s/audit/audit.pub", t->ws);
	*state = t;
	return 0;
}

static int
teardown(void **state)
{
	struct trail	*t = *state;

	trail_free_lines(t);
	nftw(t->ws, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(t);
	return 0;
}

static EVP_PKEY *
pinned_key(const struct trail *t)
{
	EVP_PKEY	*key;
	FILE		*f;

	assert_non_null(f = fopen(t->pub, "r"));
	key = PEM_read_PUBKEY(f, NULL, NULL, NULL);
	fclose(f);
	assert_non_null(key);
	return key;
}

static void
sha256_hex(const char *s, char out[AUDIT_CHAIN_HEX + 1])
{
	unsigned char	 md[32];
	unsigned int	 len = 0;

	assert_int_equal(EVP_Digest(s, strlen(s), md, &len, EVP_sha256(),
	    NULL), 1);
	digest_hex(md, len, out);
}

/* chain_of - the chain value in a line, which ends in chain and sig */
static const char *
chain_of(const char *line, char out[AUDIT_CHAIN_HEX + 1])
{
	const char	*p = strstr(line, ",\"chain\":\"");

	assert_non_null(p);
	memcpy(out, p + 10, AUDIT_CHAIN_HEX);
	out[AUDIT_CHAIN_HEX] = '\0';
	return out;
}

static void
verdict(struct trail *t, const struct audit_head *heads, size_t nheads,
    struct audit_verdict *v)
{
	EVP_PKEY	*key = pinned_key(t);
	int		 fd;

	assert_int_not_equal(fd = open(t->log, O_RDONLY), -1);
	audit_verify_fd(fd, key, heads, nheads, v);
	close(fd);
	EVP_PKEY_free(key);
}

static void
assert_broken(struct trail *t, const struct audit_head *heads,
    size_t nheads, enum audit_break kind, long long seq, long long line)
{
	struct audit_verdict	 v;

	verdict(t, heads, nheads, &v);
	if (v.av_break != kind || v.av_seq != seq || v.av_line != line)
		fail_msg("got break %d at record %lld line %lld (%s); wanted "
		    "%d at %lld line %lld", v.av_break, v.av_seq, v.av_line,
		    v.av_reason, kind, seq, line);
}

/* flaudit - run build/flaudit with args; its exit code and first line */
static int
flaudit(const char *args, char *out, size_t size)
{
	char	 cmd[PATH_MAX * 3];
	FILE	*p;
	int	 status;

	snprintf(cmd, sizeof(cmd), "%s %s 2>&1", flaudit_path, args);
	assert_non_null(p = popen(cmd, "r"));
	if (fgets(out, (int)size, p) == NULL)
		out[0] = '\0';
	out[strcspn(out, "\n")] = '\0';
	while (fgetc(p) != EOF)
		continue;
	status = pclose(p);
	assert_true(WIFEXITED(status));
	return WEXITSTATUS(status);
}

static void
records_are_the_expected_lines(void **state)
{
	struct trail	*t = *state;
	EVP_PKEY	*key;
	char		 prev[AUDIT_CHAIN_HEX + 1] = GENESIS;
	char		 body[2048], chain[AUDIT_CHAIN_HEX + 1];
	char		 want[4096], sig[AUDIT_SIG_HEX + 1];
	size_t		 i;

	trail_record_script(t);
	key = pinned_key(t);
	for (i = 0; i < SCRIPT_LEN; i++) {
		snprintf(body, sizeof(body), "%s%s\"}", expected[i], prev);
		sha256_hex(body, chain);
		body[strlen(body) - 1] = '\0';
		memcpy(sig, strstr(t->lines[i], ",\"sig\":\"") + 8,
		    AUDIT_SIG_HEX);
		sig[AUDIT_SIG_HEX] = '\0';
		snprintf(want, sizeof(want), "%s,\"chain\":\"%s\","
		    "\"sig\":\"%s\"}\n", body, chain, sig);
		assert_string_equal(t->lines[i], want);
		assert_true(audit_verify_sig(key, chain, sig));
		memcpy(prev, chain, sizeof(prev));
	}
	EVP_PKEY_free(key);
}

static void
files_have_their_modes(void **state)
{
	struct trail	*t = *state;
	struct stat	 st;
	char		 path[PATH_MAX];

	trail_record_script(t);
	assert_int_equal(stat(t->log, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	snprintf(path, sizeof(path), "%s/state/audit.key", t->ws);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	snprintf(path, sizeof(path), "%s/audit", t->ws);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0700);
}

static void
folder_others_could_write_is_refused(void **state)
{
	struct trail	*t = *state;
	struct audit	*a;
	char		 dir[PATH_MAX], err[AUDIT_ERR_MAX];

	snprintf(dir, sizeof(dir), "%s/state", t->ws);
	assert_int_equal(mkdir(dir, 0700), 0);
	assert_int_equal(chmod(dir, 0770), 0);
	assert_null(audit_open(t->ws, err, sizeof(err)));
	assert_non_null(strstr(err, "state must be a folder that no one else "
	    "can write to (mode 0770"));

	/* Shared with aggd, as in the appliance: sticky keeps each's files. */
	assert_int_equal(chmod(dir, 01770), 0);
	assert_non_null(a = audit_open(t->ws, err, sizeof(err)));
	audit_close(a);

	snprintf(dir, sizeof(dir), "%s/audit", t->ws);
	assert_int_equal(chmod(dir, 01770), 0);
	assert_null(audit_open(t->ws, err, sizeof(err)));
	assert_non_null(strstr(err, "audit must be a folder"));
}

static void
passwords_and_tokens_are_never_recorded(void **state)
{
	static const char *const lines[] = {
		"\"_login\" admin@example.org Pa55word-One",
		"training._LOGIN admin@example.org Pa55word-Two",
		"cat server 0123456789abcdef0123456789ABCDEF.log",
		"_cert_login admin@example.org",
	};
	struct trail		*t = *state;
	struct audit		*a = trail_open(t);
	struct audit_entry	 e = script[0];
	size_t			 i;

	e.ae_event_id = NULL;
	e.ae_result = "token 00112233445566778899aabbccddeeff refused";
	for (i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		e.ae_command = lines[i];
		assert_int_equal(audit_record(a, &e, NULL), 0);
	}
	audit_close(a);
	trail_read(t);
	for (i = 0; i < t->nlines; i++) {
		assert_null(strstr(t->lines[i], "Pa55word"));
		assert_null(strstr(t->lines[i], "0123456789abcdef"));
		assert_null(strstr(t->lines[i], "00112233445566778899"));
		assert_non_null(strstr(t->lines[i], "token *** refused"));
	}
	assert_non_null(strstr(t->lines[0], "\"args\":[\"admin@example.org\","
	    "\"***\"]"));
	assert_non_null(strstr(t->lines[2],
	    "\"args\":[\"server\",\"***.log\"]"));
	assert_non_null(strstr(t->lines[3], "\"command\":\"_cert_login\","
	    "\"args\":[\"admin@example.org\"]"));
}

static void
hostile_text_is_made_safe(void **state)
{
	struct trail		*t = *state;
	struct audit		*a = trail_open(t);
	struct audit_entry	 e = script[2];

	e.ae_event_id = NULL;
	e.ae_user = "ev\x1b[2Jil\xff";
	e.ae_command = "cat\tserver  log.txt\n";
	assert_int_equal(audit_record(a, &e, NULL), 0);
	audit_close(a);
	trail_read(t);
	assert_non_null(strstr(t->lines[0], "\"user\":\"ev?[2Jil?\""));
	assert_non_null(strstr(t->lines[0], "\"command\":\"cat\",\"args\":"
	    "[\"server\",\"log.txt\"]"));
}

static void
intact_trail_verifies_to_its_head(void **state)
{
	struct trail		*t = *state;
	struct audit_verdict	 v;
	struct audit_head	 head;
	char			 chain[AUDIT_CHAIN_HEX + 1];

	trail_record_script(t);
	head.ah_seq = 4;
	strcpy(head.ah_chain, chain_of(t->lines[3], chain));
	verdict(t, &head, 1, &v);
	assert_int_equal(v.av_break, AUDIT_INTACT);
	assert_int_equal(v.av_records, 4);
	assert_int_equal(v.av_head.ah_seq, 4);
	assert_string_equal(v.av_head.ah_chain, chain);
}

static void
edited_byte_is_found_at_its_record(void **state)
{
	struct trail	*t = *state;
	char		*at;

	trail_record_script(t);
	assert_non_null(at = strstr(t->lines[2], "admin@"));
	at[0] = 'b';
	trail_write(t, (const char *const *)t->lines, 4);
	assert_broken(t, NULL, 0, AUDIT_EDITED, 3, 3);
}

static void
edited_signature_is_found_at_its_record(void **state)
{
	struct trail	*t = *state;
	char		*at;

	trail_record_script(t);
	assert_non_null(at = strstr(t->lines[2], ",\"sig\":\""));
	at[8] = at[8] == '0' ? '1' : '0';
	trail_write(t, (const char *const *)t->lines, 4);
	assert_broken(t, NULL, 0, AUDIT_FORGED, 3, 3);
}

static void
deleted_record_is_found_after_the_gap(void **state)
{
	struct trail	*t = *state;
	const char	*lines[3];

	trail_record_script(t);
	lines[0] = t->lines[0];
	lines[1] = t->lines[2];
	lines[2] = t->lines[3];
	trail_write(t, lines, 3);
	assert_broken(t, NULL, 0, AUDIT_DELETED, 3, 2);
}

/* forge - record 3 as someone without admind's key would write it */
static char *
forge(const char *prev)
{
	EVP_PKEY	*key = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	EVP_MD_CTX	*ctx = EVP_MD_CTX_new();
	unsigned char	 md[32], sig[64];
	unsigned int	 mdlen = 0;
	size_t		 siglen = sizeof(sig);
	char		 body[2048], chain[65], sighex[129], *line;

	snprintf(body, sizeof(body), "%s%s\"}", expected[2], prev);
	assert_int_equal(EVP_Digest(body, strlen(body), md, &mdlen,
	    EVP_sha256(), NULL), 1);
	assert_int_equal(EVP_DigestSignInit(ctx, NULL, NULL, NULL, key), 1);
	assert_int_equal(EVP_DigestSign(ctx, sig, &siglen, md, mdlen), 1);
	digest_hex(md, mdlen, chain);
	digest_hex(sig, siglen, sighex);
	body[strlen(body) - 1] = '\0';
	assert_int_not_equal(asprintf(&line, "%s,\"chain\":\"%s\","
	    "\"sig\":\"%s\"}\n", body, chain, sighex), -1);
	EVP_MD_CTX_free(ctx);
	EVP_PKEY_free(key);
	return line;
}

static void
forged_record_is_found_where_inserted(void **state)
{
	struct trail	*t = *state;
	const char	*lines[5];
	char		 chain[AUDIT_CHAIN_HEX + 1], *forged;

	trail_record_script(t);
	forged = forge(chain_of(t->lines[1], chain));
	lines[0] = t->lines[0];
	lines[1] = t->lines[1];
	lines[2] = forged;
	lines[3] = t->lines[2];
	lines[4] = t->lines[3];
	trail_write(t, lines, 5);
	assert_broken(t, NULL, 0, AUDIT_FORGED, 3, 3);
	free(forged);
}

static void
copied_record_is_found_where_inserted(void **state)
{
	struct trail	*t = *state;
	const char	*lines[5];

	trail_record_script(t);
	lines[0] = t->lines[0];
	lines[1] = t->lines[1];
	lines[2] = t->lines[1];
	lines[3] = t->lines[2];
	lines[4] = t->lines[3];
	trail_write(t, lines, 5);
	assert_broken(t, NULL, 0, AUDIT_INSERTED, 2, 3);
}

static void
swapped_records_are_found_as_reordered(void **state)
{
	struct trail	*t = *state;
	const char	*lines[4];

	trail_record_script(t);
	lines[0] = t->lines[0];
	lines[1] = t->lines[2];
	lines[2] = t->lines[1];
	lines[3] = t->lines[3];
	trail_write(t, lines, 4);
	assert_broken(t, NULL, 0, AUDIT_REORDERED, 3, 2);
}

static void
cut_tail_is_found_against_the_published_head(void **state)
{
	struct trail		*t = *state;
	struct audit_head	 head;
	struct audit_verdict	 v;
	char			 chain[AUDIT_CHAIN_HEX + 1];

	trail_record_script(t);
	head.ah_seq = 4;
	strcpy(head.ah_chain, chain_of(t->lines[3], chain));
	trail_write(t, (const char *const *)t->lines, 2);
	assert_broken(t, &head, 1, AUDIT_TRUNCATED, 3, 3);

	/* Without a head kept outside the file, a cut cannot be seen. */
	verdict(t, NULL, 0, &v);
	assert_int_equal(v.av_break, AUDIT_INTACT);
	assert_int_equal(v.av_records, 2);
}

static void
incomplete_last_line_is_found(void **state)
{
	struct trail	*t = *state;
	const char	*lines[4];

	trail_record_script(t);
	lines[0] = t->lines[0];
	lines[1] = t->lines[1];
	lines[2] = t->lines[2];
	lines[3] = "{\"seq\":4,\"event\"";
	trail_write(t, lines, 4);
	assert_broken(t, NULL, 0, AUDIT_INCOMPLETE, 4, 4);
}

static void
trail_rewritten_with_another_key_is_found(void **state)
{
	struct trail	*t = *state, other;
	char		 chain[AUDIT_CHAIN_HEX + 1];
	struct audit	*a;
	const char	*lines[SCRIPT_LEN];
	size_t		 i;

	trail_record_script(t);
	memset(&other, 0, sizeof(other));
	strcpy(other.ws, "/tmp/test_audit.XXXXXX");
	assert_non_null(mkdtemp(other.ws));
	snprintf(other.log, sizeof(other.log), "%s/audit/audit.log",
	    other.ws);
	a = trail_open(&other);
	for (i = 0; i < SCRIPT_LEN; i++)
		assert_int_equal(audit_record(a, &script[i], NULL), 0);
	audit_close(a);
	trail_read(&other);

	/* The same content has the same chain values; only the key differs. */
	assert_string_equal(chain_of(other.lines[3], chain),
	    chain_of(t->lines[3], chain));
	for (i = 0; i < SCRIPT_LEN; i++)
		lines[i] = other.lines[i];
	trail_write(t, lines, SCRIPT_LEN);
	assert_broken(t, NULL, 0, AUDIT_FORGED, 1, 1);
	trail_free_lines(&other);
	nftw(other.ws, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void
published_head_that_differs_is_found(void **state)
{
	struct trail		*t = *state;
	struct audit_head	 head;

	trail_record_script(t);
	assert_int_equal(audit_verify_parse_head("2:0123456789abcdef0123456789"
	    "abcdef0123456789abcdef0123456789abcdef", &head), 0);
	assert_broken(t, &head, 1, AUDIT_REWRITTEN, 2, 2);
}

static void
restarted_trail_continues_its_chain(void **state)
{
	struct trail		*t = *state;
	struct audit		*a;
	struct audit_verdict	 v;
	char			 chain[AUDIT_CHAIN_HEX + 1], prev[80];

	trail_record_script(t);
	a = trail_open(t);
	assert_int_equal(audit_head(a)->ah_seq, 4);
	assert_string_equal(audit_head(a)->ah_chain,
	    chain_of(t->lines[3], chain));
	assert_int_equal(audit_record(a, &script[2], NULL), 0);
	audit_close(a);

	trail_read(t);
	assert_int_equal(t->nlines, 5);
	assert_true(strncmp(t->lines[4], "{\"seq\":5,", 9) == 0);
	snprintf(prev, sizeof(prev), "\"prev\":\"%s\"", chain);
	assert_non_null(strstr(t->lines[4], prev));
	verdict(t, NULL, 0, &v);
	assert_int_equal(v.av_break, AUDIT_INTACT);
	assert_int_equal(v.av_records, 5);
}

static void
broken_trail_stops_admind_naming_the_record(void **state)
{
	struct trail	*t = *state;
	char		 err[AUDIT_ERR_MAX], *at;

	trail_record_script(t);
	assert_non_null(at = strstr(t->lines[1], "wrong password"));
	at[0] = 'W';
	trail_write(t, (const char *const *)t->lines, 4);
	assert_null(audit_open(t->ws, err, sizeof(err)));
	assert_non_null(strstr(err, "broken at record 2 (line 2): edited"));
}

static void
cut_trail_stops_admind(void **state)
{
	struct trail	*t = *state;
	char		 err[AUDIT_ERR_MAX];

	trail_record_script(t);
	trail_write(t, (const char *const *)t->lines, 3);
	assert_null(audit_open(t->ws, err, sizeof(err)));
	assert_non_null(strstr(err, "broken at record 4 (line 4): truncated"));
}

static void
missing_trail_or_key_stops_admind(void **state)
{
	struct trail	*t = *state;
	char		 err[AUDIT_ERR_MAX], key[PATH_MAX], moved[PATH_MAX];

	trail_record_script(t);
	snprintf(key, sizeof(key), "%s/state/audit.key", t->ws);
	snprintf(moved, sizeof(moved), "%s/state/audit.key.moved", t->ws);
	assert_int_equal(rename(key, moved), 0);
	assert_null(audit_open(t->ws, err, sizeof(err)));
	assert_non_null(strstr(err, "audit key"));
	assert_non_null(strstr(err, "is missing"));

	assert_int_equal(rename(moved, key), 0);
	assert_int_equal(unlink(t->log), 0);
	assert_null(audit_open(t->ws, err, sizeof(err)));
	assert_non_null(strstr(err, "audit.log is missing"));
}

static void
pending_action_gets_its_outcome_under_one_event(void **state)
{
	struct trail		*t = *state;
	struct audit		*a = trail_open(t);
	struct audit_entry	 e = script[2];
	char			 id[AUDIT_EVENT_HEX + 1], event[64];

	assert_int_equal(audit_new_event_id(id), 0);
	e.ae_event_id = id;
	e.ae_outcome = AUDIT_PENDING;
	e.ae_result = "relayed to 2 sites";
	assert_int_equal(audit_record(a, &e, NULL), 0);
	e.ae_outcome = AUDIT_OK;
	e.ae_result = "2 replies";
	assert_int_equal(audit_record(a, &e, NULL), 0);
	audit_close(a);

	trail_read(t);
	snprintf(event, sizeof(event), "\"event\":\"%s\"", id);
	assert_non_null(strstr(t->lines[0], event));
	assert_non_null(strstr(t->lines[1], event));
	assert_non_null(strstr(t->lines[0], "\"outcome\":\"pending\""));
	assert_non_null(strstr(t->lines[1], "\"outcome\":\"ok\""));
}

static void
trail_changed_while_open_refuses_records(void **state)
{
	struct trail	*t = *state;
	struct audit	*a = trail_open(t);
	FILE		*f;

	assert_int_equal(audit_record(a, &script[0], NULL), 0);
	assert_non_null(f = fopen(t->log, "a"));
	fputs("{}\n", f);
	fclose(f);
	assert_int_equal(audit_record(a, &script[1], NULL), -1);
	assert_int_equal(audit_record(a, &script[1], NULL), -1);
	audit_close(a);
}

static void
bad_event_id_is_refused(void **state)
{
	struct trail		*t = *state;
	struct audit		*a = trail_open(t);
	struct audit_entry	 e = script[0];

	e.ae_event_id = "not-an-event-id";
	assert_int_equal(audit_record(a, &e, NULL), -1);
	assert_int_equal(audit_head(a)->ah_seq, 0);
	audit_close(a);
}

/*
 * try_records - what admind does once its filter is on: records, and a
 * record refused because the trail changed behind its back. Killed by
 * SIGSYS, or the exit code says what went wrong.
 */
static int
try_records(struct audit *a, const char *log)
{
	char	 id[AUDIT_EVENT_HEX + 1];
	size_t	 i;
	int	 fd;

	sandbox_enter(seccomp_admind_rules, seccomp_admind_nrules);
	for (i = 0; i < SCRIPT_LEN; i++) {
		struct audit_entry	 e = script[i];

		e.ae_event_id = NULL;
		if (audit_record(a, &e, id) == -1)
			return 1;
	}
	if ((fd = open(log, O_WRONLY | O_APPEND)) == -1 ||
	    write(fd, "\n", 1) != 1)
		return 2;
	close(fd);
	if (audit_record(a, &script[0], NULL) != -1)
		return 3;
	return 0;
}

static void
records_are_made_under_admind_seccomp_filter(void **state)
{
	struct trail		*t = *state;
	struct audit		*a = trail_open(t);
	struct audit_verdict	 v;
	pid_t			 pid;
	int			 status;

	fflush(NULL);
	assert_int_not_equal(pid = fork(), -1);
	if (pid == 0)
		_exit(try_records(a, t->log));
	assert_int_equal(waitpid(pid, &status, 0), pid);
	audit_close(a);
	if (WIFSIGNALED(status))
		fail_msg("killed by signal %d", WTERMSIG(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	verdict(t, NULL, 0, &v);
	assert_int_equal(v.av_break, AUDIT_MALFORMED);
	assert_int_equal(v.av_records, SCRIPT_LEN);
}

static void
flaudit_verifies_and_names_the_break(void **state)
{
	struct trail	*t = *state;
	char		 args[PATH_MAX * 2 + 128], out[512], want[256];
	char		 chain[AUDIT_CHAIN_HEX + 1];
	const char	*lines[3];

	trail_record_script(t);
	chain_of(t->lines[3], chain);
	snprintf(args, sizeof(args), "verify -k %s %s", t->pub, t->log);
	assert_int_equal(flaudit(args, out, sizeof(out)), 0);
	snprintf(want, sizeof(want), "audit trail OK: 4 records, head 4 %s",
	    chain);
	assert_string_equal(out, want);

	lines[0] = t->lines[0];
	lines[1] = t->lines[2];
	lines[2] = t->lines[3];
	trail_write(t, lines, 3);
	assert_int_equal(flaudit(args, out, sizeof(out)), 1);
	assert_string_equal(out, "audit trail BROKEN at record 3 (line 2): "
	    "deleted: record 2 is missing before it");

	trail_write(t, (const char *const *)t->lines, 2);
	snprintf(args, sizeof(args), "verify -k %s -H 4:%s %s", t->pub, chain,
	    t->log);
	assert_int_equal(flaudit(args, out, sizeof(out)), 1);
	assert_string_equal(out, "audit trail BROKEN at record 3 (line 3): "
	    "truncated: the trail ends at record 2 but record 4 was "
	    "published");
}

static int
starts_with(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

static void
flaudit_shows_a_table(void **state)
{
	struct trail	*t = *state;
	char		 cmd[PATH_MAX * 3], line[512];
	FILE		*p;
	int		 n = 0;

	trail_record_script(t);
	snprintf(cmd, sizeof(cmd), "%s show %s", flaudit_path, t->log);
	assert_non_null(p = popen(cmd, "r"));
	while (fgets(line, sizeof(line), p) != NULL) {
		if (n == 0)
			assert_true(starts_with(line, "SEQ  TIME"
			    "                  USER               COMMAND"));
		if (n == 2)
			assert_true(starts_with(line, "2    "
			    "2024-05-01T12:00:00Z  admin@example.org  "
			    "_login admin@example.org ***"));
		n++;
	}
	assert_int_equal(WEXITSTATUS(pclose(p)), 0);
	assert_int_equal(n, 5);
}

int
main(int argc, char *argv[])
{
	const struct CMUnitTest tests[] = {
#define T(f)	cmocka_unit_test_setup_teardown(f, setup, teardown)
		T(records_are_the_expected_lines),
		T(files_have_their_modes),
		T(folder_others_could_write_is_refused),
		T(passwords_and_tokens_are_never_recorded),
		T(hostile_text_is_made_safe),
		T(intact_trail_verifies_to_its_head),
		T(edited_byte_is_found_at_its_record),
		T(edited_signature_is_found_at_its_record),
		T(deleted_record_is_found_after_the_gap),
		T(forged_record_is_found_where_inserted),
		T(copied_record_is_found_where_inserted),
		T(swapped_records_are_found_as_reordered),
		T(cut_tail_is_found_against_the_published_head),
		T(incomplete_last_line_is_found),
		T(trail_rewritten_with_another_key_is_found),
		T(published_head_that_differs_is_found),
		T(restarted_trail_continues_its_chain),
		T(broken_trail_stops_admind_naming_the_record),
		T(cut_trail_stops_admind),
		T(missing_trail_or_key_stops_admind),
		T(pending_action_gets_its_outcome_under_one_event),
		T(trail_changed_while_open_refuses_records),
		T(bad_event_id_is_refused),
		T(records_are_made_under_admind_seccomp_filter),
		T(flaudit_verifies_and_names_the_break),
		T(flaudit_shows_a_table),
#undef T
	};
	char	 self[PATH_MAX];

	log_init("test_audit", 0);
	snprintf(self, sizeof(self), "%s", argv[0]);
	snprintf(flaudit_path, sizeof(flaudit_path), "%s/../flaudit",
	    dirname(self));
	if (access(flaudit_path, X_OK) == -1) {
		fprintf(stderr, "%s: %s (make build/flaudit)\n", flaudit_path,
		    strerror(errno));
		return 1;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
