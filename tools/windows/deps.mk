# deps.mk: builds the third-party libraries UltraDict needs (Abseil, zstd,
# GoogleTest, xxhash header) with mingw-w64 into $(CACHE). Sources come from
# Debian (apt-get source abseil libzstd, see fetch_sources in run_tests.sh;
# /usr/src/googletest); nothing here is ever copied into the repository.
# Driven by tools/windows/run_tests.sh, which names the source trees it
# fetched (ABSL_SRC, ZSTD_SRC, with a trailing slash); run by hand, the first
# $(CACHE)/src/abseil-*/ and libzstd-*/ are used.
#
#   make -f tools/windows/deps.mk CACHE=/root/.cache/ultradict-mingw -j2

CACHE ?= $(HOME)/.cache/ultradict-mingw
CXX := x86_64-w64-mingw32-g++-posix
CC := x86_64-w64-mingw32-gcc-posix
AR := x86_64-w64-mingw32-ar
ABSL_SRC ?= $(firstword $(wildcard $(CACHE)/src/abseil-*/))
ZSTD_SRC ?= $(firstword $(wildcard $(CACHE)/src/libzstd-*/))
ifeq ($(strip $(ABSL_SRC)),)
$(error no Abseil source: run tools/windows/run_tests.sh, or set ABSL_SRC)
endif
ifeq ($(strip $(ZSTD_SRC)),)
$(error no zstd source: run tools/windows/run_tests.sh, or set ZSTD_SRC)
endif
GTEST_SRC := /usr/src/googletest
OBJ := $(CACHE)/obj
LIB := $(CACHE)/lib
INC := $(CACHE)/include

# Abseil: every library .cc of the parts the engine and tests use (status
# pulls in cord, which pulls in synchronization, time and debugging).
ABSL_DIRS := base container debugging hash numeric profiling status strings \
             synchronization time types
ABSL_ALL := $(foreach d,$(ABSL_DIRS),$(shell find $(ABSL_SRC)absl/$(d) -name '*.cc'))
ABSL_CC := $(filter-out %_test.cc %_benchmark.cc %_testing.cc %test_util.cc \
             %test_helpers.cc %test_instance_tracker.cc %_test_common.cc \
             %/mocking_bit_gen.cc %/gaussian_distribution_gentables.cc \
             %/print_hash_of.cc %/exception_safety_testing.cc \
             %/scoped_set_env.cc %/pretty_function.cc %/symbolize_darwin.inc \
             %/hashtablez_sampler_force_weak_definition.cc %/benchmarks.cc \
             %/gentables.cc %/failure_signal_handler.cc %/leak_check_disable.cc \
             %/atomic_hook_test_helper.cc %/generate_real.cc \
             %/spinlock_test_common.cc %/cordz_test_helpers.cc \
             %/inline_variable_test_a.cc %/inline_variable_test_b.cc,$(ABSL_ALL))
ABSL_OBJ := $(patsubst $(ABSL_SRC)%.cc,$(OBJ)/absl/%.o,$(ABSL_CC))

ZSTD_C := $(wildcard $(ZSTD_SRC)lib/common/*.c $(ZSTD_SRC)lib/compress/*.c \
                     $(ZSTD_SRC)lib/decompress/*.c)
ZSTD_OBJ := $(patsubst $(ZSTD_SRC)%.c,$(OBJ)/zstd/%.o,$(ZSTD_C))

GTEST_OBJ := $(OBJ)/gtest/gtest-all.o $(OBJ)/gtest/gmock-all.o $(OBJ)/gtest/gtest_main.o

all: $(LIB)/libabsl.a $(LIB)/libzstd.a $(LIB)/libgtest.a $(LIB)/libgtest_main.a \
     $(INC)/xxhash.h $(INC)/zstd.h $(INC)/absl

$(OBJ)/absl/%.o: $(ABSL_SRC)%.cc
	@mkdir -p $(dir $@)
	$(CXX) -std=c++17 -O1 -w -I$(ABSL_SRC) -c $< -o $@

$(LIB)/libabsl.a: $(ABSL_OBJ)
	@mkdir -p $(LIB) $(INC)
	rm -f $@ && $(AR) rcs $@ $^

# Abseil's headers are used in place, through a link.
$(INC)/absl:
	@mkdir -p $(INC)
	ln -sfn $(ABSL_SRC)absl $@

$(OBJ)/zstd/%.o: $(ZSTD_SRC)%.c
	@mkdir -p $(dir $@)
	$(CC) -O2 -w -DZSTD_DISABLE_ASM -DZSTD_MULTITHREAD=0 -I$(ZSTD_SRC)lib \
	  -I$(ZSTD_SRC)lib/common -c $< -o $@

$(LIB)/libzstd.a: $(ZSTD_OBJ)
	@mkdir -p $(LIB)
	rm -f $@ && $(AR) rcs $@ $^

$(INC)/zstd.h: $(ZSTD_SRC)lib/zstd.h
	@mkdir -p $(INC)
	cp $(ZSTD_SRC)lib/zstd.h $(ZSTD_SRC)lib/zstd_errors.h $(INC)/

# xxhash is header-only (used with XXH_INLINE_ALL): Debian's header.
$(INC)/xxhash.h: /usr/include/xxhash.h
	@mkdir -p $(INC)
	cp $< $@

GTEST_FLAGS := -std=c++17 -O1 -w -I$(GTEST_SRC)/googletest/include \
  -I$(GTEST_SRC)/googletest -I$(GTEST_SRC)/googlemock/include -I$(GTEST_SRC)/googlemock

$(OBJ)/gtest/gtest-all.o: $(GTEST_SRC)/googletest/src/gtest-all.cc
	@mkdir -p $(dir $@)
	$(CXX) $(GTEST_FLAGS) -c $< -o $@
$(OBJ)/gtest/gmock-all.o: $(GTEST_SRC)/googlemock/src/gmock-all.cc
	@mkdir -p $(dir $@)
	$(CXX) $(GTEST_FLAGS) -c $< -o $@
$(OBJ)/gtest/gtest_main.o: $(GTEST_SRC)/googletest/src/gtest_main.cc
	@mkdir -p $(dir $@)
	$(CXX) $(GTEST_FLAGS) -c $< -o $@

$(LIB)/libgtest.a: $(OBJ)/gtest/gtest-all.o $(OBJ)/gtest/gmock-all.o
	@mkdir -p $(LIB) $(INC)
	rm -f $@ && $(AR) rcs $@ $^
	cp -r $(GTEST_SRC)/googletest/include/gtest $(GTEST_SRC)/googlemock/include/gmock $(INC)/

$(LIB)/libgtest_main.a: $(OBJ)/gtest/gtest_main.o
	@mkdir -p $(LIB)
	rm -f $@ && $(AR) rcs $@ $^

.DELETE_ON_ERROR:
.PHONY: all
