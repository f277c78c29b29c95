# flserver: build, test and demo.
#
#   make            build every program into build/
#   make demo       a real federated training run (installs what is missing)
#   make check      every test: unit, protocol, end to end, the bad-input
#                   catalog, a sanitizer build, valgrind, fuzz smoke runs
#   make fuzz       each libFuzzer target for FUZZ_SECONDS (300)
#   make install    install into DESTDIR/PREFIX
#
# Sources are picked up by folder: every .c in common/ goes into
# libflcommon.a, every .c in a daemon's folder into that daemon, and every
# tests/unit/test_*.c becomes one cmocka program.

PREFIX	?= /usr/local
B	:= build

CC	?= cc
HARDEN	:= -fstack-protector-strong -D_FORTIFY_SOURCE=2 -fPIE \
	   -fstack-clash-protection -fcf-protection
WARN	:= -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
	   -Wmissing-prototypes -Wformat=2 -Wformat-security -Wvla \
	   -Wpointer-arith -Wno-unused-parameter
OPT	?= -O2 -g
# Sanitizer builds (make sanitize, make fuzz) set these, in their own B.
SANITIZE	?=
CFLAGS_EXTRA	?=
CFLAGS	+= -std=c11 -D_GNU_SOURCE $(OPT) $(SANITIZE) \
	   $(WARN) $(HARDEN) $(CFLAGS_EXTRA) -I$(B)/proto -Icommon
LDFLAGS	+= -pie -Wl,-z,relro,-z,now -Wl,-z,noexecstack -Wl,--as-needed \
	   $(SANITIZE)

PKGS_COMMON	:= libprotobuf-c libzmq jansson libpcre2-8 libarchive \
		   libcrypto libseccomp libcap-ng
PKGS_GRPC	:= grpc gpr libssl libcrypto
LIBS_COMMON	= $(shell pkg-config --libs $(PKGS_COMMON)) -lm
LIBS_GRPC	= $(shell pkg-config --libs $(PKGS_GRPC))
CFLAGS_PKGS	= $(shell pkg-config --cflags $(PKGS_COMMON) $(PKGS_GRPC) cmocka)

DEPS_STAMP	:= $(B)/.deps-installed
PROTOS		:= federated admin envelope
# Objects live apart from the programs: build/aggd is a program, so its
# objects cannot be in a folder of that name.
OBJ		:= $(B)/obj
PROTO_C		:= $(PROTOS:%=$(B)/proto/%.pb-c.c) \
		   $(B)/proto/google/protobuf/timestamp.pb-c.c
PROTO_O		:= $(PROTO_C:.c=.o)

COMMON_O	:= $(patsubst %.c,$(OBJ)/%.o,$(wildcard common/*.c))
NETD_O		:= $(patsubst %.c,$(OBJ)/%.o,$(wildcard netd/*.c))
AGGD_O		:= $(patsubst %.c,$(OBJ)/%.o,$(wildcard aggd/*.c))
ADMIND_O	:= $(patsubst %.c,$(OBJ)/%.o,$(wildcard admind/*.c))
CLIENT_O	:= $(patsubst %.c,$(OBJ)/%.o,$(wildcard client/*.c))
FLADMIN_O	:= $(patsubst %.c,$(OBJ)/%.o,$(wildcard tools/fladmin*.c))
UNIT_SRC	:= $(wildcard tests/unit/test_*.c)
UNIT_BIN	:= $(patsubst tests/unit/%.c,$(B)/tests/%,$(UNIT_SRC))

# Each daemon minus its main(), so unit tests can link its modules.
AGGD_LIB_O	:= $(filter-out $(OBJ)/aggd/aggd.o,$(AGGD_O))
ADMIND_LIB_O	:= $(filter-out $(OBJ)/admind/admind.o,$(ADMIND_O))
NETD_LIB_O	:= $(filter-out $(OBJ)/netd/netd.o,$(NETD_O))

PROGRAMS	:= $(B)/netd $(B)/aggd $(B)/admind $(B)/flsite $(B)/fladmin \
		   $(B)/flaudit

all: $(PROGRAMS) $(B)/py/federated_pb2.py

$(DEPS_STAMP): packaging/install-deps
	@mkdir -p $(B)
	sh packaging/install-deps
	@touch $@

deps: $(DEPS_STAMP)

# Generated code: protoc-c for C, grpc_tools for the Python tests.
# The C side calls grpc core by method path and needs no service stubs;
# protoc-c's would not even compile ("Register" becomes the C keyword
# "register"), so services are cut from the copy that protoc-c reads.
# Messages are untouched, so the wire format is the same.
$(B)/proto/%.pb-c.c $(B)/proto/%.pb-c.h: proto/%.proto | $(DEPS_STAMP)
	@mkdir -p $(B)/proto $(B)/proto-c
	sed '/^service /,/^}/d' $< > $(B)/proto-c/$*.proto
	protoc-c -I$(B)/proto-c -I/usr/include --c_out=$(B)/proto \
	    $(B)/proto-c/$*.proto

$(B)/proto/google/protobuf/timestamp.pb-c.c: | $(DEPS_STAMP)
	@mkdir -p $(B)/proto
	protoc-c -I/usr/include --c_out=$(B)/proto \
	    /usr/include/google/protobuf/timestamp.proto

$(B)/py/federated_pb2.py: $(PROTOS:%=proto/%.proto) | $(DEPS_STAMP)
	@mkdir -p $(B)/py
	/usr/bin/python3 -m grpc_tools.protoc -Iproto --python_out=$(B)/py \
	    --grpc_python_out=$(B)/py $(PROTOS:%=proto/%.proto)

# Generated code is not ours to warn about.
$(PROTO_O): %.o: %.c
	$(CC) -std=c11 $(OPT) $(SANITIZE) $(HARDEN) -I$(B)/proto -c $< -o $@

$(OBJ)/%.o: %.c $(PROTO_C) | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(CFLAGS_PKGS) -MMD -MP -c $< -o $@

$(B)/libflcommon.a: $(COMMON_O) $(PROTO_O)
	ar rcs $@ $^

# Each daemon's seccomp allowlist, linked into that daemon only.
$(B)/netd: $(NETD_O) $(OBJ)/policy/seccomp_netd.o $(B)/libflcommon.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS_GRPC) $(LIBS_COMMON) -lpthread

$(B)/aggd: $(AGGD_O) $(OBJ)/policy/seccomp_aggd.o $(B)/libflcommon.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS_COMMON)

$(B)/admind: $(ADMIND_O) $(OBJ)/policy/seccomp_admind.o \
    $(B)/libflcommon.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS_COMMON)

$(B)/flsite: $(CLIENT_O) $(B)/libflcommon.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS_GRPC) $(LIBS_COMMON) -lpthread

# The admin console: OpenSSL for TLS, libedit for the prompt.
$(B)/fladmin: $(FLADMIN_O) $(B)/libflcommon.a
	$(CC) $(LDFLAGS) -o $@ $^ $(shell pkg-config --libs libedit libssl) \
	    $(LIBS_COMMON)

# The auditor's offline check of admind's audit trail; its test runs it.
$(B)/flaudit: $(OBJ)/tools/flaudit.o $(B)/libflcommon.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS_COMMON)

$(B)/tests/test_audit: $(B)/flaudit

$(B)/tests/%: tests/unit/%.c $(AGGD_LIB_O) $(ADMIND_LIB_O) \
    $(B)/libflcommon.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(CFLAGS_PKGS) $(LDFLAGS) -o $@ $< \
	    $(AGGD_LIB_O) $(ADMIND_LIB_O) $(B)/libflcommon.a \
	    $(shell pkg-config --libs cmocka) $(LIBS_COMMON)

unit: $(UNIT_BIN)
	@set -e; for t in $(UNIT_BIN); do echo "== $$t"; $$t; done

# libFuzzer targets, built by make fuzz into build/fuzz (B=build/fuzz).
FUZZ_SRC	:= $(wildcard tests/fuzz/fuzz_*.c)
FUZZERS		:= $(patsubst tests/fuzz/%.c,$(B)/fuzzers/%,$(FUZZ_SRC))
FUZZ_SECONDS	?= 300
SAN_FLAGS	:= -fsanitize=address,undefined -fno-sanitize-recover=all \
		   -fno-omit-frame-pointer
# clang checks vprintf-style wrappers, and counts "x += y" as no use of
# x, where gcc does not: gcc's verdict stands.
CLANG_WARN	:= -Wno-format-nonliteral -Wno-unused-but-set-variable
FUZZ_MAKE	= $(MAKE) B=build/fuzz CC=clang OPT="-O1 -g" \
		  SANITIZE="-fsanitize=fuzzer-no-link $(SAN_FLAGS)" \
		  CFLAGS_EXTRA="$(CLANG_WARN)"

$(B)/fuzzers/%: tests/fuzz/%.c $(AGGD_LIB_O) $(ADMIND_LIB_O) \
    $(B)/libflcommon.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(CFLAGS_PKGS) $(LDFLAGS) -fsanitize=fuzzer -o $@ $< \
	    $(AGGD_LIB_O) $(ADMIND_LIB_O) $(B)/libflcommon.a $(LIBS_COMMON)

fuzzers: $(FUZZERS)

fuzz:
	+$(FUZZ_MAKE) fuzzers
	sh tests/fuzz/run-fuzzers build/fuzz $(FUZZ_SECONDS)

# A few seconds each: a target that no longer builds or crashes at once.
fuzz-smoke:
	+$(FUZZ_MAKE) fuzzers
	sh tests/fuzz/run-fuzzers build/fuzz 5

# make sanitize: everything again with ASan and UBSan into build/asan,
# seccomp filters off (sanitizers need calls no allowlist grants); then
# the unit tests and the protocol tests' end-to-end scenario against the
# sanitized daemons, any sanitizer report failing the run.
ASAN_MAKE	= $(MAKE) B=build/asan CC=clang OPT="-O1 -g" \
		  SANITIZE="$(SAN_FLAGS)" \
		  CFLAGS_EXTRA="$(CLANG_WARN) -DFL_NO_SECCOMP"

unit-programs: $(UNIT_BIN)

sanitize: users
	+$(ASAN_MAKE) all unit-programs
	sh tests/sanitize/run-sanitized build/asan

# Every unit test program under valgrind: an error or a definite leak
# fails it. valgrind knows no seccomp(2), and a filter would kill its own
# calls: the programs are built again into build/valgrind without one.
VG_TESTS	:= $(UNIT_SRC:tests/unit/%.c=build/valgrind/tests/%)

valgrind:
	+$(MAKE) B=build/valgrind OPT="-O1 -g" CFLAGS_EXTRA=-DFL_NO_SECCOMP \
	    unit-programs
	@set -e; for t in $(VG_TESTS); do echo "== valgrind $$t"; \
	    valgrind -q --error-exitcode=1 --leak-check=full \
	    --errors-for-leak-kinds=definite \
	    --suppressions=tests/sanitize/valgrind.supp $$t; done

# Started by root, the daemons become the appliance's users: make them.
users: $(DEPS_STAMP)
	@if [ "$$(id -u)" -eq 0 ]; then sh packaging/create-users; fi

protocol: all users
	cd tests/protocol && /usr/bin/python3 -m pytest -q -p no:cacheprovider

# The systemd units' exposure, and the programs' hardening.
units: all
	sh tests/units/check-units.sh
	sh tests/units/check-hardening.sh

# The sanitizer, valgrind and fuzzing runs come one after the other, after
# the rest: each builds its own copy and loads both cores.
check: all unit units protocol
	+$(MAKE) sanitize
	+$(MAKE) valgrind
	+$(MAKE) fuzz-smoke

demo: all users
	/usr/bin/python3 examples/demo.py

# Benchmarks: each starts its own daemons and prints its figures.
bench: all
	@set -e; for b in bench/*.py; do echo "== $$b"; \
	    /usr/bin/python3 $$b; done

install: all
	install -d $(DESTDIR)$(PREFIX)/sbin $(DESTDIR)$(PREFIX)/bin
	install -m 0755 $(B)/netd $(B)/aggd $(B)/admind $(DESTDIR)$(PREFIX)/sbin
	install -m 0755 $(B)/flsite $(B)/fladmin $(B)/flaudit \
	    tools/flprovision packaging/flserverctl $(DESTDIR)$(PREFIX)/bin
	install -d $(DESTDIR)$(PREFIX)/share/flserver
	install -m 0644 policy/authorization.json \
	    $(DESTDIR)$(PREFIX)/share/flserver
	install -m 0755 packaging/create-users $(DESTDIR)$(PREFIX)/share/flserver

clean:
	rm -rf $(B)

.PHONY: all deps users unit units protocol check demo bench install clean \
	fuzzers fuzz fuzz-smoke unit-programs sanitize valgrind
.DELETE_ON_ERROR:

-include $(shell find $(B) -name '*.d' 2>/dev/null)
