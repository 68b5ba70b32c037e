# project.mk: cross-compiles UltraDict (util/, db/, port/port_windows.cc) and
# its Windows test programs with mingw-w64 into $(BUILD). Incremental (-MMD).
# Driven by tools/windows/run_tests.sh; the dependencies come from deps.mk.
#
#   make -f tools/windows/project.mk CACHE=... BUILD=... -j2

CACHE ?= $(HOME)/.cache/ultradict-mingw
BUILD ?= /tmp/ultradict-windows-build
CXX := x86_64-w64-mingw32-g++-posix
AR := x86_64-w64-mingw32-ar

# The engine's flags are those of bazel/copts.bzl.
WARN := -Wall -Wextra -Werror -Wno-unused-parameter
CXXFLAGS := -std=c++17 -O2 -g0 -I. -Iinclude -I$(CACHE)/include -MMD -MP
TEST_WARN := $(WARN) -Wno-sign-compare
LDFLAGS := -static -L$(CACHE)/lib
LIBS := -lgtest -labsl -lzstd -lbcrypt -ladvapi32 -ldbghelp

LIB_SRCS := $(wildcard util/*.cc) $(filter-out db/fault_point.cc,$(wildcard db/*.cc)) \
            port/port_windows.cc
LIB_OBJ := $(patsubst %.cc,$(BUILD)/obj/%.o,$(LIB_SRCS))
# The crash-test variant (fault points compiled in), like //db:db_with_fault_points.
FP_OBJ := $(patsubst %.cc,$(BUILD)/obj-fp/%.o,$(LIB_SRCS) db/fault_point.cc)

# Existing portable tests (gtest_main) and their extra sources.
PORTABLE_TESTS := coding_test checksum_test filename_test log_test snapshot_test \
                  snapshot_scanner_test db_test iterator_test \
                  write_batch_test
db_test_EXTRA := tests/testutil.cc
iterator_test_EXTRA := tests/testutil.cc
# Windows tests (tests/windows/), each with its own main.
WINDOWS_TESTS := port_test multiprocess_test

EXES := $(foreach t,$(PORTABLE_TESTS) $(WINDOWS_TESTS),$(BUILD)/bin/$(t).exe)

all: $(EXES)

$(BUILD)/obj/%.o: %.cc
	@mkdir -p $(dir $@)
	$(CXX) $(CXXFLAGS) $(WARN) -c $< -o $@

$(BUILD)/obj-fp/%.o: %.cc
	@mkdir -p $(dir $@)
	$(CXX) $(CXXFLAGS) $(WARN) -DULTRADICT_FAULT_POINTS -c $< -o $@

$(BUILD)/obj-test/%.o: %.cc
	@mkdir -p $(dir $@)
	$(CXX) $(CXXFLAGS) $(TEST_WARN) -c $< -o $@

$(BUILD)/lib/libultradict.a: $(LIB_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && $(AR) rcs $@ $^

$(BUILD)/lib/libultradict_fp.a: $(FP_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && $(AR) rcs $@ $^

define portable_test
$(BUILD)/bin/$(1).exe: $(BUILD)/obj-test/tests/$(1).o \
    $(patsubst %.cc,$(BUILD)/obj-test/%.o,$($(1)_EXTRA)) $(BUILD)/lib/libultradict.a
	@mkdir -p $$(dir $$@)
	$(CXX) $(LDFLAGS) -o $$@ $$(filter %.o,$$^) $(BUILD)/lib/libultradict.a \
	  -lgtest_main $(LIBS)
endef
$(foreach t,$(PORTABLE_TESTS),$(eval $(call portable_test,$(t))))

define windows_test
$(BUILD)/bin/$(1).exe: $(BUILD)/obj-test/tests/windows/$(1).o $(BUILD)/lib/libultradict_fp.a
	@mkdir -p $$(dir $$@)
	$(CXX) $(LDFLAGS) -o $$@ $$(filter %.o,$$^) $(BUILD)/lib/libultradict_fp.a $(LIBS)
endef
$(foreach t,$(WINDOWS_TESTS),$(eval $(call windows_test,$(t))))

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)

.DELETE_ON_ERROR:
.PHONY: all
