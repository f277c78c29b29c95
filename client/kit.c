/*
 * kit - read a site's startup kit.
 *
 * fed_client.json has Clara's shape:
 *   {"servers": [{"name": PROJECT, "service": {"target": "HOST:PORT",
 *     "options": [["grpc.max_send_message_length", N], ...]}}],
 *    "client": {"ssl_private_key": ..., "ssl_cert": ..., "ssl_root_cert": ...}}
 * File names are relative to the kit's folder. A private key that group
 * or others may read is refused, as the daemons refuse theirs.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "kit.h"
#include "log.h"

#define KIT_NAME_MAX	255

/* kit_path - name resolved against the kit's folder */
static char *
kit_path(const char *dir, const char *name)
{
	char	*path;

	if (name[0] == '/')
		return strdup(name);
	if (asprintf(&path, "%s/%s", dir, name) == -1)
		return NULL;
	return path;
}

/* kit_read_file - a whole small regular file, NUL-terminated */
static char *
kit_read_file(const char *path, int secret, char err[KIT_ERR_MAX])
{
	struct stat	 st;
	char		*buf = NULL;
	ssize_t		 n;
	size_t		 off = 0;
	int		 fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) == -1) {
		snprintf(err, KIT_ERR_MAX, "%s: %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) == -1) {
		snprintf(err, KIT_ERR_MAX, "%s: %s", path, strerror(errno));
		goto fail;
	}
	if (!S_ISREG(st.st_mode) || st.st_size <= 0 ||
	    st.st_size > KIT_FILE_MAX) {
		snprintf(err, KIT_ERR_MAX, "%s: not a regular file of 1 byte "
		    "to %d bytes", path, KIT_FILE_MAX);
		goto fail;
	}
	if (secret && (st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
		snprintf(err, KIT_ERR_MAX, "%s: private key is accessible by "
		    "group or others (mode %03o); chmod 600 it", path,
		    (unsigned)(st.st_mode & 0777));
		goto fail;
	}
	if ((buf = malloc((size_t)st.st_size + 1)) == NULL) {
		snprintf(err, KIT_ERR_MAX, "%s: %s", path, strerror(errno));
		goto fail;
	}
	while (off < (size_t)st.st_size) {
		n = read(fd, buf + off, (size_t)st.st_size - off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			snprintf(err, KIT_ERR_MAX, "%s: %s", path,
			    n == 0 ? "file shrank while read" :
			    strerror(errno));
			goto fail;
		}
		off += (size_t)n;
	}
	buf[off] = '\0';
	close(fd);
	return buf;

 fail:
	if (buf != NULL) {
		explicit_bzero(buf, off);
		free(buf);
	}
	close(fd);
	return NULL;
}

/* kit_string - a string member, or def when absent; NULL when wrong */
static const char *
kit_string(json_t *obj, const char *key, const char *def, const char *where,
    char err[KIT_ERR_MAX])
{
	json_t	*v;

	if ((v = json_object_get(obj, key)) == NULL) {
		if (def == NULL)
			snprintf(err, KIT_ERR_MAX, "%s: \"%s\" is missing",
			    where, key);
		return def;
	}
	if (!json_is_string(v) || json_string_length(v) == 0 ||
	    strlen(json_string_value(v)) != json_string_length(v)) {
		snprintf(err, KIT_ERR_MAX, "%s: \"%s\" must be a non-empty "
		    "string", where, key);
		return NULL;
	}
	return json_string_value(v);
}

/* kit_option - one [name, value] pair of service.options */
static int
kit_option(json_t *pair, struct kit *k, const char *where,
    char err[KIT_ERR_MAX])
{
	const char	*name;
	json_int_t	 v;

	if (!json_is_array(pair) || json_array_size(pair) != 2 ||
	    !json_is_string(json_array_get(pair, 0))) {
		snprintf(err, KIT_ERR_MAX, "%s: service.options must hold "
		    "[name, value] pairs", where);
		return -1;
	}
	name = json_string_value(json_array_get(pair, 0));
	if (strcmp(name, "grpc.max_send_message_length") != 0 &&
	    strcmp(name, "grpc.max_receive_message_length") != 0) {
		log_warnx("%s: ignoring unknown service option \"%s\"", where,
		    name);
		return 0;
	}
	if (!json_is_integer(json_array_get(pair, 1)) ||
	    (v = json_integer_value(json_array_get(pair, 1))) < 1 ||
	    v > INT_MAX) {
		snprintf(err, KIT_ERR_MAX, "%s: service option \"%s\" must be "
		    "an integer from 1 to %d", where, name, INT_MAX);
		return -1;
	}
	if (strcmp(name, "grpc.max_send_message_length") == 0)
		k->max_send = (int)v;
	else
		k->max_receive = (int)v;
	return 0;
}

/* kit_server - servers[0]: the project's name and the training port */
static int
kit_server(json_t *root, struct kit *k, const char *where,
    char err[KIT_ERR_MAX])
{
	json_t		*srv, *svc, *opts;
	const char	*s;
	size_t		 i;

	srv = json_array_get(json_object_get(root, "servers"), 0);
	if (!json_is_object(srv)) {
		snprintf(err, KIT_ERR_MAX, "%s: \"servers\" must be a list "
		    "holding one server object", where);
		return -1;
	}
	if ((s = kit_string(srv, "name", NULL, where, err)) == NULL ||
	    (k->project = strdup(s)) == NULL)
		return -1;
	if (!json_is_object(svc = json_object_get(srv, "service"))) {
		snprintf(err, KIT_ERR_MAX, "%s: server \"service\" must be an "
		    "object", where);
		return -1;
	}
	if ((s = kit_string(svc, "target", NULL, where, err)) == NULL ||
	    (k->target = strdup(s)) == NULL)
		return -1;
	if ((opts = json_object_get(svc, "options")) == NULL)
		return 0;
	if (!json_is_array(opts)) {
		snprintf(err, KIT_ERR_MAX, "%s: service.options must be a "
		    "list", where);
		return -1;
	}
	for (i = 0; i < json_array_size(opts); i++)
		if (kit_option(json_array_get(opts, i), k, where, err) == -1)
			return -1;
	return 0;
}

/* kit_credentials - the PEM files that "client" names */
static int
kit_credentials(json_t *root, const char *dir, struct kit *k,
    const char *where, char err[KIT_ERR_MAX])
{
	static const struct {
		const char	*key, *def;
		size_t		 off;
		int		 secret;
	} files[] = {
		{ "ssl_root_cert", "rootCA.pem", offsetof(struct kit, root_pem),
		    0 },
		{ "ssl_cert", "client.crt", offsetof(struct kit, cert_pem), 0 },
		{ "ssl_private_key", "client.key",
		    offsetof(struct kit, key_pem), 1 },
	};
	json_t		*client;
	const char	*name;
	char		*path, **slot;
	size_t		 i;

	if ((client = json_object_get(root, "client")) != NULL &&
	    !json_is_object(client)) {
		snprintf(err, KIT_ERR_MAX, "%s: \"client\" must be an object",
		    where);
		return -1;
	}
	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		if ((name = kit_string(client, files[i].key, files[i].def,
		    where, err)) == NULL)
			return -1;
		if ((path = kit_path(dir, name)) == NULL) {
			snprintf(err, KIT_ERR_MAX, "%s", strerror(errno));
			return -1;
		}
		slot = (char **)((char *)k + files[i].off);
		*slot = kit_read_file(path, files[i].secret, err);
		free(path);
		if (*slot == NULL)
			return -1;
	}
	return 0;
}

/* kit_name_ok - a CN we are willing to put in requests and logs */
static int
kit_name_ok(const unsigned char *s, int len)
{
	int	 i;

	if (len < 1 || len > KIT_NAME_MAX)
		return 0;
	for (i = 0; i < len; i++)
		if (s[i] <= 0x20 || s[i] >= 0x7f)
			return 0;
	return 1;
}

char *
kit_cert_cn(const char *pem, char err[KIT_ERR_MAX])
{
	BIO		*bio;
	X509		*x509 = NULL;
	X509_NAME	*subject;
	X509_NAME_ENTRY	*entry;
	unsigned char	*utf8 = NULL;
	char		*cn = NULL;
	int		 i, len;

	if ((bio = BIO_new_mem_buf(pem, -1)) == NULL ||
	    (x509 = PEM_read_bio_X509(bio, NULL, NULL, NULL)) == NULL) {
		snprintf(err, KIT_ERR_MAX, "not a PEM certificate");
		goto done;
	}
	subject = X509_get_subject_name(x509);
	if ((i = X509_NAME_get_index_by_NID(subject, NID_commonName,
	    -1)) < 0 || X509_NAME_get_index_by_NID(subject, NID_commonName,
	    i) >= 0) {
		snprintf(err, KIT_ERR_MAX, "the certificate's subject must "
		    "have exactly one CN");
		goto done;
	}
	entry = X509_NAME_get_entry(subject, i);
	len = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(entry));
	if (len < 0 || !kit_name_ok(utf8, len)) {
		snprintf(err, KIT_ERR_MAX, "the certificate's CN must be 1 to "
		    "%d printable ASCII characters without spaces",
		    KIT_NAME_MAX);
		goto done;
	}
	if ((cn = strndup((char *)utf8, (size_t)len)) == NULL)
		snprintf(err, KIT_ERR_MAX, "%s", strerror(errno));

 done:
	OPENSSL_free(utf8);
	X509_free(x509);
	BIO_free(bio);
	return cn;
}

int
kit_load(const char *dir, struct kit *k, char err[KIT_ERR_MAX])
{
	json_error_t	 jerr;
	json_t		*root;
	char		*path, cnerr[KIT_ERR_MAX];
	int		 rc = -1;

	memset(k, 0, sizeof(*k));
	k->max_send = k->max_receive = KIT_DEFAULT_MESSAGE_MAX;
	if ((path = kit_path(dir, "fed_client.json")) == NULL) {
		snprintf(err, KIT_ERR_MAX, "%s", strerror(errno));
		return -1;
	}
	if ((root = json_load_file(path, JSON_REJECT_DUPLICATES,
	    &jerr)) == NULL) {
		if (jerr.line > 0)
			snprintf(err, KIT_ERR_MAX, "%s: line %d: %s", path,
			    jerr.line, jerr.text);
		else
			snprintf(err, KIT_ERR_MAX, "%s", jerr.text);
		goto done;
	}
	if (!json_is_object(root)) {
		snprintf(err, KIT_ERR_MAX, "%s: not a JSON object", path);
		goto done;
	}
	if (kit_server(root, k, path, err) == -1 ||
	    kit_credentials(root, dir, k, path, err) == -1)
		goto done;
	if ((k->site = kit_cert_cn(k->cert_pem, cnerr)) == NULL) {
		snprintf(err, KIT_ERR_MAX, "%.80s: site certificate: %.400s",
		    dir, cnerr);
		goto done;
	}
	rc = 0;

 done:
	json_decref(root);
	free(path);
	if (rc == -1)
		kit_free(k);
	return rc;
}

void
kit_free(struct kit *k)
{
	if (k == NULL)
		return;
	if (k->key_pem != NULL)
		explicit_bzero(k->key_pem, strlen(k->key_pem));
	free(k->key_pem);
	free(k->cert_pem);
	free(k->root_pem);
	free(k->site);
	free(k->target);
	free(k->project);
	memset(k, 0, sizeof(*k));
}
