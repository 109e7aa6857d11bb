# Impuls build. Plain make + pkg-config; `make run` and `make test` are the
# two commands a new user needs (see README.md).

CC      ?= cc
PKGS    := libevent libevent_openssl openssl jansson sqlite3 libseccomp libarchive nettle libnftables
CFLAGS  ?= -O2 -g
CFLAGS  += -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wno-unused-parameter -Wno-format-truncation \
           -Isrc $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
LDLIBS  += $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lm

# Debian packages the build, the tests and the benchmarks need (QEMU too:
# the e2e suite checks what a daemon says of the microVM backend, which
# depends on whether QEMU is there, before test-microvm would install it).
DEB_PKGS := build-essential clang libclang-rt-14-dev pkg-config libevent-dev libjansson-dev libsqlite3-dev \
            libseccomp-dev libarchive-dev nettle-dev libssl-dev libcmocka-dev libnftables-dev nftables \
            curl jq openssl iproute2 systemd groff-base python3 python3-pytest python3-pip nodejs golang-go mono-complete \
            bubblewrap wrk awscli \
            autoconf automake libtool cmake gnuplot-nox nginx docker.io docker-compose debootstrap \
            qemu-system-x86 cpio squashfs-tools prometheus chromium fonts-dejavu-core

SRC      := $(sort $(wildcard src/*/*.c))
LIB_SRC  := $(filter-out src/cli/main.c,$(SRC))
OBJ      := $(patsubst src/%.c,build/obj/%.o,$(SRC))
LIB_OBJ  := $(patsubst src/%.c,build/obj/%.o,$(LIB_SRC))

# Unit tests link the library objects built with sanitizers.
SAN      := -fsanitize=address,undefined -fno-omit-frame-pointer
TEST_SRC := $(sort $(wildcard tests/unit/test_*.c))
TEST_BIN := $(patsubst tests/unit/%.c,build/test/%,$(TEST_SRC))
SAN_OBJ  := $(patsubst src/%.c,build/san/%.o,$(LIB_SRC))

ADDR     ?= 127.0.0.1:8080
ROUTER   ?= 127.0.0.1:8081
DATA_DIR ?= var
AUTH     ?=

CSHARP_RUNTIME := runtimes/csharp/lib/ImpulsBootstrap.exe
CSHARP_CORE    := runtimes/csharp/lib/Amazon.Lambda.Core.dll

.PHONY: all deps build run test unit e2e e2e-asan bench clean fuzz fuzz-smoke soak soak-smoke test-cgroup2 test-microvm microvm-guest test-docker install uninstall

all: build

# Keep the objects of every build variant between runs.
.SECONDARY:

deps:
	@sh scripts/deps.sh $(DEB_PKGS)

build: build/impuls build/libimpuls-zygote.so build/python-bytecode.stamp $(CSHARP_RUNTIME)

# The C# runtime (runtimes/csharp): our Amazon.Lambda.Core, which every C#
# function is compiled against, and the bootstrap that runs it under Mono.
# Skipped without Mono (runtime csharp then says it is not installed).
$(CSHARP_CORE): runtimes/csharp/Amazon.Lambda.Core.cs runtimes/csharp/Json.cs
	@mkdir -p $(dir $@)
	@if command -v mcs >/dev/null; then echo "  MCS     $@"; mcs -nologo -target:library -optimize+ -out:$@ $^; \
	 else echo "  SKIP    $@ (no mcs: the csharp runtime needs Debian's mono-complete)"; fi
$(CSHARP_RUNTIME): runtimes/csharp/Bootstrap.cs $(CSHARP_CORE)
	@if command -v mcs >/dev/null; then echo "  MCS     $@"; mcs -nologo -optimize+ -r:$(CSHARP_CORE) -out:$@ $<; fi

# The Python runtime's bytecode, read by every Python instance (the runtimes
# dir is read-only in the sandbox, so nothing there can write it).
build/python-bytecode.stamp: $(wildcard runtimes/python/*.py)
	@mkdir -p build
	@/usr/bin/python3 -m compileall -q runtimes/python
	@touch $@

build/impuls: $(OBJ)
	@echo "  LD      $@"
	@$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

# The Python zygote's library (src/sandbox/zygote.c): the sandbox's init
# code, loaded with ctypes by runtimes/python/zygote.py; the daemon finds it
# next to its own binary. Never built with sanitizers: it runs in python3.
ZYGOTE_SRC := $(addprefix src/sandbox/,zygote.c init.c rootfs.c seccomp.c privileges.c spawn_util.c)
build/libimpuls-zygote.so: $(ZYGOTE_SRC) $(wildcard src/*/*.h)
	@echo "  LD      $@"
	@$(CC) $(CFLAGS) -fPIC -shared -Wl,-z,defs -o $@ $(ZYGOTE_SRC) $(shell pkg-config --libs libseccomp)

build/obj/%.o: src/%.c $(wildcard src/*/*.h)
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	@$(CC) $(CFLAGS) -c -o $@ $<

build/san/%.o: src/%.c $(wildcard src/*/*.h)
	@mkdir -p $(dir $@)
	@echo "  CC-SAN  $<"
	@$(CC) $(CFLAGS) -O1 $(SAN) -c -o $@ $<

# The daemon with the counting for /metrics compiled out: the reference of
# make bench's metrics row (bench/metrics.py).
NOMETRICS_OBJ := $(patsubst src/%.c,build/nometrics/%.o,$(SRC))
build/nometrics/%.o: src/%.c $(wildcard src/*/*.h)
	@mkdir -p $(dir $@)
	@echo "  CC-NOM  $<"
	@$(CC) $(CFLAGS) -DIMPULS_NO_METRICS -c -o $@ $<

build/impuls-nometrics: $(NOMETRICS_OBJ)
	@echo "  LD      $@"
	@$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

# The daemon itself with sanitizers, for the e2e suite (make e2e-asan).
build/impuls-asan: $(SAN_OBJ) build/san/cli/main.o
	@echo "  LD      $@"
	@$(CC) $(CFLAGS) -O1 $(SAN) -o $@ $^ $(LDLIBS)

build/test/%: tests/unit/%.c $(SAN_OBJ)
	@mkdir -p $(dir $@)
	@echo "  LD      $@"
	@$(CC) $(CFLAGS) -O1 $(SAN) -o $@ $^ $(LDLIBS) $(shell pkg-config --libs cmocka)

run: deps build microvm-guest
	ADDR=$(ADDR) ROUTER=$(ROUTER) DATA_DIR=$(DATA_DIR) AUTH=$(AUTH) exec sh scripts/run.sh

unit: $(TEST_BIN)
	@sh scripts/check-layers.sh
	@sh scripts/run-unit.sh $(TEST_BIN)

# The suites that drive the real daemon over HTTP (tests/conftest.py).
DAEMON_SUITES := $(wildcard tests/e2e tests/hostile tests/badinput tests/faults)

e2e: build/impuls build/libimpuls-zygote.so build/python-bytecode.stamp $(CSHARP_RUNTIME)
	/usr/bin/python3 -m pytest -q -p no:cacheprovider --durations=12 $(DAEMON_SUITES)

e2e-asan: build/impuls-asan build/libimpuls-zygote.so build/python-bytecode.stamp $(CSHARP_RUNTIME)
	IMPULS_BIN=$(CURDIR)/build/impuls-asan ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 \
	  /usr/bin/python3 -m pytest -q -p no:cacheprovider --durations=12 -m "not once" $(DAEMON_SUITES)

# Unit tests (sanitizers), then the e2e suite against the release daemon and
# again against the daemon built with ASan/UBSan (but the tests marked once:
# slow for a reason other than the daemon's code).
test: deps
	@$(MAKE) --no-print-directory build unit
	@$(MAKE) --no-print-directory e2e
	@$(MAKE) --no-print-directory e2e-asan
	@$(MAKE) --no-print-directory fuzz-smoke
	@$(MAKE) --no-print-directory soak-smoke
	@$(MAKE) --no-print-directory test-cgroup2
	@$(MAKE) --no-print-directory test-microvm
	@$(MAKE) --no-print-directory test-docker

# libFuzzer targets (fuzz/): `make fuzz` runs each for FUZZ_SECONDS; the smoke
# run in `make test` is short and also replays every saved input.
FUZZ_TARGETS := route fn_spec zip runtime_response multipart vm_channel schedule_expr
FUZZ_SECONDS ?= 60
FUZZ_SAN     := -fsanitize=address,undefined -fno-omit-frame-pointer
FUZZ_OBJ     := $(patsubst src/%.c,build/fuzz/obj/%.o,$(LIB_SRC))
FUZZ_BIN     := $(patsubst %,build/fuzz/fuzz_%,$(FUZZ_TARGETS))

build/fuzz/obj/%.o: src/%.c $(wildcard src/*/*.h)
	@mkdir -p $(dir $@)
	@echo "  CC-FUZZ $<"
	@clang $(CFLAGS) -Wno-unknown-warning-option -Wno-missing-field-initializers -O1 $(FUZZ_SAN) -fsanitize=fuzzer-no-link -c -o $@ $<

build/fuzz/fuzz_%: fuzz/fuzz_%.c $(FUZZ_OBJ)
	@echo "  LD      $@"
	@clang $(CFLAGS) -Wno-unknown-warning-option -Wno-missing-field-initializers -O1 $(FUZZ_SAN) -fsanitize=fuzzer -o $@ $^ $(LDLIBS)

fuzz: $(FUZZ_BIN)
	@sh scripts/fuzz.sh $(FUZZ_SECONDS) $(FUZZ_TARGETS)

fuzz-smoke: $(FUZZ_BIN)
	@sh scripts/fuzz.sh 5 $(FUZZ_TARGETS)

bench: deps build
	sh bench/run.sh

# The sandbox on a cgroup v2 kernel under QEMU (about 15 s once the kernel is
# downloaded and cached in build/cgroup2/).
test-cgroup2: deps
	PKGS="$(PKGS)" sh scripts/test-cgroup2.sh

# The guest of isolation "microvm" in build/microvm/ (kernel downloaded once;
# the runtimes disk remade when Node, Python or runtimes/ change).
microvm-guest:
	@sh scripts/microvm-guest.sh

# The microVM guest (scripts/microvm-guest.sh: Debian's kernel, guest/init.c)
# booted under QEMU's microvm machine, its channel to the host checked; then
# the daemon's functions with isolation "microvm"; then core cases of the e2e
# suite again with every function in a VM (tests/conftest.py,
# IMPULS_E2E_ISOLATION), but for HTTP-server functions (refused on microvm).
# Once, not under ASan.
MICROVM_E2E := tests/e2e/test_invoke.py tests/e2e/test_functions_api.py tests/e2e/test_provided.py
MICROVM_E2E_NOT := http_server or command_reaches or command_of or missing_executable
test-microvm: deps build
	/usr/bin/python3 -m pytest -q -p no:cacheprovider tests/microvm
	IMPULS_E2E_ISOLATION=microvm /usr/bin/python3 -m pytest -q -p no:cacheprovider -k "not ($(MICROVM_E2E_NOT))" \
	  $(MICROVM_E2E)

# Impuls in Docker Compose (docs/docker.md): the base image made from Debian's
# packages (cached in build/docker/), both compose profiles, the README's commands.
# Starts dockerd for the run if none answers; skipped where none can run.
test-docker: deps build
	/usr/bin/python3 -m pytest -q -p no:cacheprovider tests/docker

# bench/soak.py: mixed functions at 80 % of their warm maximum for
# SOAK_SECONDS (600); no unexpected answer, and the daemon's RSS, fds,
# cgroups, mounts and instances flat. make test runs it for 60 s.
soak: deps build
	/usr/bin/python3 bench/soak.py

soak-smoke: build
	SOAK_SECONDS=60 SOAK_UPDATE_S=20 /usr/bin/python3 bench/soak.py

# make install [PREFIX=/usr/local] [DESTDIR=] [UNITDIR=/etc/systemd/system]:
# the binary, the runtimes (with Python's bytecode), the zygote's library, the
# systemd unit and the man page. make uninstall removes exactly those.
PREFIX  ?= /usr/local
UNITDIR ?= /etc/systemd/system
BINDIR  := $(PREFIX)/bin
INSTALLED := $(DESTDIR)$(BINDIR)/impuls $(DESTDIR)$(PREFIX)/lib/impuls $(DESTDIR)$(PREFIX)/share/impuls \
             $(DESTDIR)$(UNITDIR)/impuls.service $(DESTDIR)$(PREFIX)/share/man/man8/impuls.8

install: build
	install -d -m 0755 $(DESTDIR)$(BINDIR) $(DESTDIR)$(PREFIX)/lib/impuls $(DESTDIR)$(PREFIX)/share/impuls \
	  $(DESTDIR)$(UNITDIR) $(DESTDIR)$(PREFIX)/share/man/man8
	install -m 0755 build/impuls $(DESTDIR)$(BINDIR)/impuls
	install -m 0644 build/libimpuls-zygote.so $(DESTDIR)$(PREFIX)/lib/impuls/libimpuls-zygote.so
	rm -rf $(DESTDIR)$(PREFIX)/share/impuls/runtimes
	cp -R runtimes $(DESTDIR)$(PREFIX)/share/impuls/runtimes
	chmod -R u=rwX,go=rX $(DESTDIR)$(PREFIX)/share/impuls/runtimes
	rm -rf $(DESTDIR)$(PREFIX)/share/impuls/console
	cp -R console $(DESTDIR)$(PREFIX)/share/impuls/console
	chmod -R u=rwX,go=rX $(DESTDIR)$(PREFIX)/share/impuls/console
	sed 's|@BINDIR@|$(BINDIR)|g' dist/impuls.service.in > $(DESTDIR)$(UNITDIR)/impuls.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/impuls.service
	install -m 0644 dist/impuls.8 $(DESTDIR)$(PREFIX)/share/man/man8/impuls.8

uninstall:
	rm -rf $(INSTALLED)

clean:
	rm -rf build
