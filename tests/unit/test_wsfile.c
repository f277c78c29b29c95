/*
 * test_wsfile - the shell-like commands on a fixture workspace made in a
 * temporary folder, with fixed modes and times: exact outputs of ls, cat,
 * head, tail and grep, and every refusal, each with out left empty.
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <fcntl.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "wsfile.h"

#define T0	1700000000	/* 2023-11-14T22:13:20Z */

#define NOTES	"alpha\nBeta\n\n\n\tgamma\nbeta gamma\n"

struct fixture {
	char	 root[64];
	char	 err[WSFILE_ERR_MAX];
};

static struct fixture	*fx;

/* put - a file under the root with its content, mode and times */
static void
put(const char *name, const char *text, size_t len, mode_t mode,
    time_t mtime, time_t atime)
{
	struct timespec	 ts[2] = { { atime, 0 }, { mtime, 0 } };
	char		 path[256];
	int		 fd;

	snprintf(path, sizeof(path), "%s/%s", fx->root, name);
	assert_true((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600))
	    != -1);
	assert_int_equal(write(fd, text, len), (ssize_t)len);
	assert_int_equal(fchmod(fd, mode), 0);
	assert_int_equal(futimens(fd, ts), 0);
	close(fd);
}

static void
folder(const char *name)
{
	char	 path[256];

	snprintf(path, sizeof(path), "%s/%s", fx->root, name);
	assert_int_equal(mkdir(path, 0755), 0);
}

static void
link_to(const char *name, const char *target)
{
	char	 path[256];

	snprintf(path, sizeof(path), "%s/%s", fx->root, name);
	assert_int_equal(symlink(target, path), 0);
}

static int
setup(void **state)
{
	if ((fx = calloc(1, sizeof(*fx))) == NULL)
		return -1;
	strcpy(fx->root, "/tmp/test_wsfile.XXXXXX");
	if (mkdtemp(fx->root) == NULL)
		return -1;
	put("notes.txt", NOTES, strlen(NOTES), 0644, T0, T0);
	put(".hidden.txt", "x\n", 2, 0644, T0, T0);
	put("data.csv", "x,y\n1,2\n", 8, 0644, T0, T0);
	put("image.bin", "\0\1", 2, 0644, T0, T0);
	put("odd.txt", "ok\x1b[31m\xff\xc3\xa9\n", 11, 0644, T0, T0);
	folder("dir.log");
	folder("models");
	put("models/round_1.json", "{\"round\": 1}\n", 13, 0644, T0, T0);
	put("models/round_2.json", "{\"round\": 2, \"sites\": 3}\n", 26, 0600,
	    T0 + 3600, T0 + 7200);
	folder("tree");
	folder("tree/sub");
	put("tree/a.txt", "a\n", 2, 0644, T0, T0);
	put("tree/sub/b.txt", "b\n", 2, 0644, T0, T0);
	link_to("escape.txt", "/etc/hostname");
	link_to("etc", "/etc");
	*state = fx;
	return 0;
}

static int
remove_one(const char *path, const struct stat *st, int flag,
    struct FTW *ftw)
{
	return remove(path);
}

static int
teardown(void **state)
{
	nftw(fx->root, remove_one, 16, FTW_DEPTH | FTW_PHYS);
	free(fx);
	return 0;
}

/* run - a command line that must succeed with exactly want */
static void
run(const char *line, const char *want)
{
	struct wsfile_out	 out;

	fx->err[0] = '\0';
	if (wsfile_run_line(fx->root, line, strlen(line), &out, fx->err,
	    sizeof(fx->err)) == -1)
		fail_msg("%s: %s", line, fx->err);
	assert_string_equal(out.text, want);
	assert_int_equal(out.len, strlen(want));
	wsfile_out_free(&out);
}

/* refused - a command line refused with a reason holding why */
static void
refused_len(const char *line, size_t len, const char *why)
{
	struct wsfile_out	 out;

	fx->err[0] = '\0';
	assert_int_equal(wsfile_run_line(fx->root, line, len, &out, fx->err,
	    sizeof(fx->err)), -1);
	assert_null(out.text);
	assert_int_equal(out.len, 0);
	if (strstr(fx->err, why) == NULL)
		fail_msg("%s: \"%s\" does not say \"%s\"", line, fx->err, why);
}

static void
refused(const char *line, const char *why)
{
	refused_len(line, strlen(line), why);
}

static void
test_pwd_prints_the_root(void **state)
{
	char	 want[128];

	snprintf(want, sizeof(want), "%s\n", fx->root);
	run("pwd", want);
}

static void
test_ls_sorts_by_name_without_hidden(void **state)
{
	run("ls", "data.csv\ndir.log\nescape.txt\netc\nimage.bin\nmodels\n"
	    "notes.txt\nodd.txt\ntree\n");
}

static void
test_ls_a_shows_hidden_names(void **state)
{
	run("ls -a tree", "a.txt\nsub\n");
	run("ls -a", ".hidden.txt\ndata.csv\ndir.log\nescape.txt\netc\n"
	    "image.bin\nmodels\nnotes.txt\nodd.txt\ntree\n");
}

static void
test_ls_l_shows_mode_size_time_name(void **state)
{
	run("ls -l models",
	    "-rw-r--r-- 13 2023-11-14T22:13:20Z round_1.json\n"
	    "-rw------- 26 2023-11-14T23:13:20Z round_2.json\n");
}

static void
test_ls_t_sorts_newest_first(void **state)
{
	run("ls -lt models",
	    "-rw------- 26 2023-11-14T23:13:20Z round_2.json\n"
	    "-rw-r--r-- 13 2023-11-14T22:13:20Z round_1.json\n");
}

static void
test_ls_S_sorts_largest_first(void **state)
{
	run("ls -S models/", "round_2.json\nround_1.json\n");
}

static void
test_ls_u_uses_the_access_time(void **state)
{
	run("ls -u models", "round_2.json\nround_1.json\n");
	run("ls -lu ./models",
	    "-rw-r--r-- 13 2023-11-14T22:13:20Z round_1.json\n"
	    "-rw------- 26 2023-11-15T00:13:20Z round_2.json\n");
}

static void
test_ls_R_goes_down_into_folders(void **state)
{
	run("ls -R tree", "tree:\na.txt\nsub\n\ntree/sub:\nb.txt\n");
}

static void
test_ls_shows_a_link_as_itself(void **state)
{
	run("ls etc", "etc\n");
	run("ls -l models/round_1.json",
	    "-rw-r--r-- 13 2023-11-14T22:13:20Z models/round_1.json\n");
}

static void
test_cat_n_numbers_every_line(void **state)
{
	run("cat -n notes.txt", "     1\talpha\n     2\tBeta\n     3\t\n"
	    "     4\t\n     5\t\tgamma\n     6\tbeta gamma\n");
}

static void
test_cat_bsT(void **state)
{
	run("cat -bsT notes.txt", "     1\talpha\n     2\tBeta\n\n"
	    "     3\t^Igamma\n     4\tbeta gamma\n");
	run("cat notes.txt", NOTES);
}

static void
test_cat_shows_control_bytes_and_bad_utf8_as_question_marks(void **state)
{
	run("cat odd.txt", "ok?[31m?\xc3\xa9\n");
}

static void
test_head_n_2(void **state)
{
	run("head -n 2 notes.txt", "alpha\nBeta\n");
	run("head -n2 notes.txt", "alpha\nBeta\n");
	run("head notes.txt", NOTES);
	run("head -c 3 notes.txt", "alp");
}

static void
test_tail_c_5(void **state)
{
	run("tail -c 5 notes.txt", "amma\n");
	run("tail -c 500 data.csv", "x,y\n1,2\n");
}

static void
test_tail_n(void **state)
{
	run("tail -n 2 notes.txt", "\tgamma\nbeta gamma\n");
	run("tail -n 0 notes.txt", "");
	run("tail notes.txt", NOTES);
}

static void
test_grep_n_i(void **state)
{
	run("grep -n -i beta notes.txt", "2:Beta\n6:beta gamma\n");
	run("grep -ni BETA notes.txt", "2:Beta\n6:beta gamma\n");
}

static void
test_grep_b_gives_byte_offsets(void **state)
{
	run("grep -b gamma notes.txt", "13:\tgamma\n20:beta gamma\n");
}

static void
test_grep_pattern_is_a_regular_expression(void **state)
{
	run("grep -n 'a$' notes.txt", "1:alpha\n2:Beta\n5:\tgamma\n"
	    "6:beta gamma\n");
	run("grep -n a$ notes.txt", "1:alpha\n2:Beta\n5:\tgamma\n"
	    "6:beta gamma\n");
	run("grep \"^(alpha|Beta)$\" notes.txt", "alpha\nBeta\n");
	run("grep '\\d' data.csv", "1,2\n");
	run("grep nothing notes.txt", "");
}

static void
test_output_is_capped_at_a_line_end(void **state)
{
	struct wsfile_out	 out;
	char			 line[101], *text;
	size_t			 i, len = 20000 * 100;
	const char		*note = "[output truncated: more than 1048576 "
				    "bytes]\n";

	memset(line, 'x', 99);
	line[99] = '\n';
	assert_non_null(text = malloc(len));
	for (i = 0; i < len; i += 100)
		memcpy(text + i, line, 100);
	put("big.log", text, len, 0644, T0, T0);
	free(text);

	assert_int_equal(wsfile_run_line(fx->root, "cat big.log", 11, &out,
	    fx->err, sizeof(fx->err)), 0);
	assert_true(out.truncated);
	assert_int_equal(out.len, 1048500 + strlen(note));
	assert_string_equal(out.text + 1048500, note);
	assert_int_equal(out.text[1048499], '\n');
	wsfile_out_free(&out);
	snprintf(line, sizeof(line), "%s/big.log", fx->root);
	assert_int_equal(unlink(line), 0);
}

static void
test_refuses_dotdot(void **state)
{
	refused("cat ../notes.txt", "'..' is not accepted");
	refused("cat models/../notes.txt", "'..' is not accepted");
	refused("ls ..", "'..' is not accepted");
}

static void
test_refuses_absolute_paths(void **state)
{
	refused("cat /etc/hostname.txt", "absolute paths are not accepted");
	refused("ls /", "absolute paths are not accepted");
}

static void
test_refuses_a_symlink_out_of_the_root(void **state)
{
	refused("cat escape.txt", "is a symbolic link, and links are not "
	    "followed");
	refused("ls etc/ssl", "is a symbolic link, and links are not "
	    "followed");
}

static void
test_refuses_command_substitution(void **state)
{
	const char	*argv[] = { "cat", "$(id).txt" };
	struct wsfile_out out;

	refused("cat $(id)", "'$(' is shell syntax");
	refused("cat $(id)", "these commands run no shell");
	assert_int_equal(wsfile_run(fx->root, argv, 2, &out, fx->err,
	    sizeof(fx->err)), -1);
	assert_non_null(strstr(fx->err, "'$' is shell syntax"));
	assert_null(out.text);
}

static void
test_refuses_a_command_list(void **state)
{
	refused("cat notes.txt; id", "';' is shell syntax");
	refused("cat notes.txt | grep a", "'|' is shell syntax");
	refused("cat notes.txt > x.txt", "'>' is shell syntax");
	refused("cat notes.txt && id", "'&' is shell syntax");
}

static void
test_refuses_a_backquote(void **state)
{
	refused("cat `id`", "'`' is shell syntax");
	refused("cat '`id`.txt'", "'`' is shell syntax");
}

static void
test_refuses_a_nul_byte(void **state)
{
	refused_len("cat notes.txt\0.bin", 18, "a NUL byte is not accepted");
}

static void
test_refuses_other_extensions(void **state)
{
	refused("cat image.bin", "only .txt .log .json .csv .sh .config and "
	    ".py files may be read");
	refused("grep x models", "only .txt");
}

static void
test_refuses_two_files(void **state)
{
	refused("cat notes.txt data.csv", "cat: one file per command");
	refused("grep a notes.txt data.csv", "grep: a pattern and one file "
	    "per command");
	refused("ls models tree", "ls: at most one path per command");
}

static void
test_refuses_a_missing_file(void **state)
{
	refused("cat missing.txt", "cat: 'missing.txt': No such file or "
	    "directory");
	refused("ls nowhere/x", "No such file or directory");
}

static void
test_refuses_a_directory_given_to_cat(void **state)
{
	refused("cat dir.log", "cat: 'dir.log' is a directory");
}

static void
test_refuses_wildcards_and_odd_names(void **state)
{
	refused("cat *.txt", "wildcards are not expanded");
	refused("cat 'a b.txt'", "a space is not accepted in a name");
	refused("cat no\xc3\xa9.txt", "the byte 0xc3 is not accepted");
}

static void
test_refuses_bad_commands_and_options(void **state)
{
	refused("rm notes.txt", "unknown command 'rm'");
	refused("ls -x", "ls: unknown option -x; ls takes -a -l -R -S -t -u");
	refused("head -n ten notes.txt", "-n wants a count");
	refused("head -c 1 -n 1 notes.txt", "-c and -n cannot be given "
	    "together");
	refused("pwd x", "pwd: no arguments");
	refused("", "an empty command");
	refused("cat 'notes.txt", "a quote (') is not closed");
	refused("cat notes.txt\n", "control characters");
}

static void
test_refuses_a_bad_or_long_pattern(void **state)
{
	char	 line[WSFILE_PATTERN_MAX + 32];

	refused("grep '(' notes.txt", "grep: the pattern is not valid");
	memset(line, 'a', sizeof(line));
	memcpy(line, "grep ", 5);
	strcpy(line + 5 + WSFILE_PATTERN_MAX + 1, " notes.txt");
	refused(line, "a pattern is at most 512 bytes");
}

#define T(test)	cmocka_unit_test(test)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_pwd_prints_the_root),
		T(test_ls_sorts_by_name_without_hidden),
		T(test_ls_a_shows_hidden_names),
		T(test_ls_l_shows_mode_size_time_name),
		T(test_ls_t_sorts_newest_first),
		T(test_ls_S_sorts_largest_first),
		T(test_ls_u_uses_the_access_time),
		T(test_ls_R_goes_down_into_folders),
		T(test_ls_shows_a_link_as_itself),
		T(test_cat_n_numbers_every_line),
		T(test_cat_bsT),
		T(test_cat_shows_control_bytes_and_bad_utf8_as_question_marks),
		T(test_head_n_2),
		T(test_tail_c_5),
		T(test_tail_n),
		T(test_grep_n_i),
		T(test_grep_b_gives_byte_offsets),
		T(test_grep_pattern_is_a_regular_expression),
		T(test_output_is_capped_at_a_line_end),
		T(test_refuses_dotdot),
		T(test_refuses_absolute_paths),
		T(test_refuses_a_symlink_out_of_the_root),
		T(test_refuses_command_substitution),
		T(test_refuses_a_command_list),
		T(test_refuses_a_backquote),
		T(test_refuses_a_nul_byte),
		T(test_refuses_other_extensions),
		T(test_refuses_two_files),
		T(test_refuses_a_missing_file),
		T(test_refuses_a_directory_given_to_cat),
		T(test_refuses_wildcards_and_odd_names),
		T(test_refuses_bad_commands_and_options),
		T(test_refuses_a_bad_or_long_pattern),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
