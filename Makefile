# sirt - security incident intake.  Plain GNU make; libraries via pkg-config.
#
#   make                 build build/sirt
#   make check           unit + end-to-end tests
#   make asan            the same tests under ASan + UBSan (build-asan/)
#   make valgrind        the CLI end-to-end tests under valgrind memcheck
#   make fuzz            build and run the libFuzzer targets (clang)
#   make bench           benchmarks
#   make demo            ingest contrib/demo into ./var and list the cases
#   make deps            install the Debian packages (root)
#   make install         PREFIX=/usr/local DESTDIR=

VERSION   := 0.1.0
PREFIX    ?= /usr/local
BINDIR    ?= $(PREFIX)/bin
MANDIR    ?= $(PREFIX)/share/man
DATADIR   ?= $(PREFIX)/share/sirt
SYSCONFDIR?= /etc
BUILD     ?= build
CC        ?= cc

PKGS      := libetpan gpgme libpcre2-8 sqlite3 libcurl gnutls jansson inih libxml-2.0
# libetpan's .pc carries Debian's build-time -specs flags: keep only -l/-L.
PKG_CFLAGS:= $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS  := $(filter -l% -L% -pthread,$(shell pkg-config --libs $(PKGS) 2>/dev/null))
# The prefilter: Intel's Hyperscan (5.4.2 at most).  Vectorscan, the
# fork that also installs libhs (5.4.3 on), misses matches in 5.4.9
# (see INSTALL): without it, sirt runs every pattern in PCRE2.
HS_OK     := $(shell pkg-config --max-version=5.4.2 libhs 2>/dev/null && echo yes)
HS_CFLAGS := $(if $(HS_OK),$(shell pkg-config --cflags libhs 2>/dev/null))
HS_LIBS   := $(if $(HS_OK),$(shell pkg-config --libs libhs 2>/dev/null))
ifneq ($(HS_LIBS),)
PKG_CFLAGS += $(HS_CFLAGS) -DSIRT_HAVE_HYPERSCAN=1
PKG_LIBS   += $(HS_LIBS) -lstdc++ -lm
endif

# The allocator: sirt allocates and frees a few hundred small blocks
# per message (libetpan, libxml2, its own); jemalloc does that in 11%
# less time per message than glibc's malloc (make bench, same run).
# Linked into the programs only, and not under the sanitizers, which
# bring their own.  Without libjemalloc-dev, glibc's malloc is used.
ifneq ($(SANITIZE),1)
ALLOC_LIBS:= $(shell pkg-config --libs jemalloc 2>/dev/null)
endif

WARN      := -Wall -Wextra -Werror -Wshadow -Wvla -Wformat=2 -Wno-unused-parameter \
             -Wstrict-prototypes -Wmissing-prototypes
CFLAGS    ?= -O2 -g
ALL_CFLAGS = -std=c11 -D_GNU_SOURCE -DSIRT_VERSION='"$(VERSION)"' \
             -DSIRT_DATADIR='"$(DATADIR)"' -Iinclude $(PKG_CFLAGS) $(WARN) $(CFLAGS) \
             $(SAN_FLAGS) -MMD -MP
LDLIBS    += $(PKG_LIBS) -lm

ifeq ($(SANITIZE),1)
SAN_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
endif

LIB_SRC   := $(filter-out src/main.c,$(wildcard src/*.c))
LIB_OBJ   := $(LIB_SRC:src/%.c=$(BUILD)/obj/%.o)
MAIN_OBJ  := $(BUILD)/obj/main.o
LIB       := $(BUILD)/libsirt.a
BIN       := $(BUILD)/sirt
UNIT_SRC  := $(wildcard tests/unit/test_*.c)
UNIT_BIN  := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)

.PHONY: all check unit e2e asan valgrind fuzz bench demo deps install clean tidy

all: $(BIN)

$(BUILD)/obj/%.o: src/%.c
	@mkdir -p $(@D)
	@echo "  CC      $<"
	@$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(LIB): $(LIB_OBJ)
	@rm -f $@
	$(AR) rcs $@ $^

$(BIN): $(MAIN_OBJ) $(LIB)
	$(CC) $(ALL_CFLAGS) -o $@ $(MAIN_OBJ) $(LIB) $(LDLIBS) $(ALLOC_LIBS)

$(BUILD)/tests/%: tests/unit/%.c $(LIB)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(LIB) $(LDLIBS) $(shell pkg-config --libs cmocka)

check: $(BIN) $(UNIT_BIN)
	BUILD=$(BUILD) tests/run-tests.sh

unit: $(UNIT_BIN)
	BUILD=$(BUILD) tests/run-tests.sh unit

e2e: $(BIN)
	BUILD=$(BUILD) tests/run-tests.sh e2e

asan:
	$(MAKE) BUILD=build-asan SANITIZE=1 CFLAGS="-O1 -g" check

# The CLI paths under valgrind memcheck (a leak or error fails the test).
VALGRIND_TESTS ?= ingest set maildir mbox demo retriage terminal triage_cli
valgrind: $(BIN)
	@for t in $(VALGRIND_TESTS); do \
	    BUILD=$(BUILD) SIRT_VALGRIND=1 tests/run-tests.sh e2e "$$t" || exit 1; done

FUZZ_SRC  := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_TIME ?= 60
fuzz:
	$(MAKE) BUILD=build-fuzz CC=clang SAN_FLAGS="-fsanitize=fuzzer-no-link,address,undefined" \
	    CFLAGS="-O1 -g" build-fuzz/libsirt.a
	@mkdir -p build-fuzz/fuzz
	@for f in $(FUZZ_SRC); do \
	    n=$$(basename $$f .c); \
	    clang -std=c11 -D_GNU_SOURCE -Iinclude $(PKG_CFLAGS) -O1 -g \
	      -fsanitize=fuzzer,address,undefined -o build-fuzz/fuzz/$$n $$f \
	      build-fuzz/libsirt.a $(LDLIBS) || exit 1; \
	done
	tests/fuzz/run.sh build-fuzz/fuzz $(FUZZ_TIME)

bench: $(BIN) $(BUILD)/bench_triage
	BUILD=$(BUILD) tests/bench/run.sh

$(BUILD)/bench_triage: tests/bench/bench_triage.c $(LIB)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(LIB) $(LDLIBS) $(ALLOC_LIBS)

# The embedded default: the demo mailbox is delivered into ./var/mail (a
# Maildir) and polled; re-running it adds nothing (the SHA-256 dedupes).
# The published demo SIRT key goes into ./var/gnupg so the signed and the
# encrypted demo reports open (DEMO ONLY: never use that key for mail).
demo: $(BIN)
	$(BIN) init
	@if [ ! -d var/gnupg ]; then mkdir -p -m 0700 var/gnupg && \
	    gpg --homedir var/gnupg --batch --quiet --import contrib/demo/demo-sirt-key.asc; fi
	@mkdir -p var/mail/new var/mail/cur var/mail/tmp
	cp contrib/demo/new/* var/mail/new/
	$(BIN) poll --once
	$(BIN) cases

deps:
	contrib/install-deps.sh

install: $(BIN)
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5 \
	    $(DESTDIR)$(DATADIR)/rules
	install -m 0755 $(BIN) $(DESTDIR)$(BINDIR)/sirt
	install -m 0644 contrib/man/*.1 $(DESTDIR)$(MANDIR)/man1/
	-install -m 0644 contrib/man/*.5 $(DESTDIR)$(MANDIR)/man5/ 2>/dev/null
	-install -m 0644 rules/* $(DESTDIR)$(DATADIR)/rules/ 2>/dev/null

clean:
	rm -rf build build-asan build-fuzz

-include $(LIB_OBJ:.o=.d) $(MAIN_OBJ:.o=.d)
