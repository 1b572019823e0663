# advlock_named/Makefile

EXTENSION = advlock_named
EXTVERSION = 1.4
MODULE_big = advlock_named
# src/core is pure C++ (no PostgreSQL header, unit-tested without a
# server); src/glue includes the server's headers and converts at the
# boundary.  .cpp, not .cc: PGXS has JIT bitcode rules for .c and .cpp only.
CORE_SOURCES = \
	src/core/directory_table.cpp \
	src/core/fencing_token.cpp \
	src/core/key_cache.cpp \
	src/core/lease_ledger.cpp \
	src/core/lease_table.cpp \
	src/core/name_key.cpp \
	src/core/name_table.cpp \
	src/core/sha256.cpp
GLUE_SOURCES = \
	src/glue/advlock_named.cpp \
	src/glue/backend_names.cpp \
	src/glue/lease_functions.cpp \
	src/glue/lease_ops.cpp \
	src/glue/lease_tokens.cpp \
	src/glue/ledger_file.cpp \
	src/glue/lock_activity.cpp \
	src/glue/lock_ops.cpp \
	src/glue/lock_status.cpp \
	src/glue/lock_target.cpp \
	src/glue/lock_wait.cpp \
	src/glue/name_directory.cpp \
	src/glue/settings.cpp \
	src/glue/shared_state.cpp \
	src/glue/sql_functions.cpp \
	src/glue/statement_holds.cpp
OBJS = $(CORE_SOURCES:.cpp=.o) $(GLUE_SOURCES:.cpp=.o)
PGFILEDESC = "advlock_named - advisory locks keyed by text names"

# Install scripts share sql/ with the regression inputs; "--" tells them apart.
DATA = $(wildcard sql/$(EXTENSION)--*.sql)

REGRESS = key session_locks xact_locks registry lock_manager bad_input interop timed_locks upgrade \
	limits name_sets sql_ascii nonsuper directory collision failed_statement leases
REGRESS_OPTS = --load-extension=$(EXTENSION)
# The specs that need the shared state (the name directory, leases):
# shared_preload_libraries on 15,
# nothing on 17 and later (tools/run-tests.sh picks).
ISOLATION_BASE = shared_exclusive fair_queue scopes deadlock builtin_interop \
	timed_wait timed_fairness timed_deadlock set_order timed_set_giveback wait_order \
	statement_failure_frees
ISOLATION_DIRECTORY = lock_activity lock_stats lease_queue lease_expiry lease_fence semaphore_queue
ISOLATION = $(ISOLATION_BASE) $(ISOLATION_DIRECTORY)
ISOLATION_OPTS = --load-extension=$(EXTENSION)
TAP_TESTS = 1

# Hidden visibility exports only the entry points, which the glue marks
# (PGXS does this by itself from PostgreSQL 16 on), so calls inside the
# module are direct rather than through the PLT and small ones get inlined.
#
# The module needs nothing from the C++ runtime: no exceptions (an ERROR is
# a longjmp, never a throw), no RTTI, no thread-safe statics (a backend is
# one thread), and no allocation but PostgreSQL's.  So it is linked with the
# C++ driver but --as-needed, and loading it loads no libstdc++ (which a
# server built without ICU would otherwise map and relocate on every new
# connection's first call, about 0.8 ms; see bench/RESULTS.md).
#
# Link-time optimization lets the lock path, which crosses several small
# files (argument, key cache, name table, lock manager call), be inlined
# into one function per SQL entry point: about a sixth fewer of the
# module's own instructions per lock and unlock (bench/RESULTS.md).
PG_CPPFLAGS = -Isrc/core -Isrc/glue
PG_CXXFLAGS = -std=c++17 -Wall -Wextra -Wno-unused-parameter -Wno-register \
	-fvisibility=hidden -fvisibility-inlines-hidden \
	-fno-exceptions -fno-rtti -fno-threadsafe-statics -flto \
	-DADVLOCK_NAMED_VERSION='"$(EXTVERSION)"'
override COMPILER = $(CXX) $(CXXFLAGS)
SHLIB_LINK += -Wl,--as-needed -flto=auto
# pg_config's -z now (full RELRO) stays: binding the ~90 server symbols
# (lookups in the server's table of 9,500, and the page faults on it) costs a
# new backend about 0.1 ms at load, and -z lazy only moved that into the
# first call (issue 13).

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

# JIT bitcode is compiled by clang with BITCODE_CXXFLAGS, which never sees
# PG_CXXFLAGS; this must follow the include, where the variable is defined.
override BITCODE_CXXFLAGS += -std=c++17 -Wno-register

# PGXS tracks no header dependencies; the headers are few, so every object
# depends on all of them.
$(OBJS): $(wildcard src/core/*.hpp src/glue/*.hpp)

EXTRA_CLEAN = results/ output_iso/ tmp_check/ tmp_check_iso/ log/ \
	regression.diffs regression.out test/core_test

# The pure C++ core, tested without a server.
CORE_TESTS = test/core_test.cpp test/directory_table_test.cpp \
	test/lease_table_test.cpp
test/core_test: $(CORE_TESTS) $(CORE_SOURCES) $(wildcard src/core/*.hpp)
	$(CXX) -std=c++17 -Wall -Wextra -O2 -Isrc/core -o $@ $(CORE_TESTS) $(CORE_SOURCES) \
		-lgtest -lgtest_main -pthread

.PHONY: unit-test test test-matrix mutation-test demo bench dist deb
unit-test: test/core_test
	test/core_test

# Build, install, start a throwaway cluster, run every suite, stop it.
test:
	@tools/run-tests.sh

# The regression and isolation suites on each PostgreSQL major (MAJORS="15 17 18").
test-matrix:
	@tools/test-matrix.sh

# Hand mutations of src/ that the suites must kill (test/mutations.txt).
mutation-test:
	@tools/mutation-test.sh

demo:
	@tools/demo.sh

# Named locks against the integer builtins; see bench/RESULTS.md.
bench:
	@bench/run.sh

# The PGXN source distribution: the committed tree (HEAD), not the work tree.
DIST = $(EXTENSION)-$(EXTVERSION).zip
dist:
	git archive --format=zip --prefix=$(EXTENSION)-$(EXTVERSION)/ -o $(DIST) HEAD
	@git diff --quiet HEAD -- || echo "note: $(DIST) has the committed tree, without the uncommitted changes"

# Debian packages postgresql-NN-advlock-named; see tools/build-deb.sh.
deb:
	@tools/build-deb.sh
