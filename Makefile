# vmatlas — `make` builds build/vmatlas; `make check` runs every test;
# `make check SANITIZE=1` runs them again under ASan+UBSan (in build/san).

CC       ?= cc
SANITIZE ?= 0
BUILD    ?= build
ifeq ($(SANITIZE),1)
BUILD    := build/san
SANFLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
endif
# `make tsan`: the commands that read from several threads, under TSan
ifeq ($(SANITIZE),thread)
BUILD    := build/tsan
SANFLAGS := -fsanitize=thread -fno-omit-frame-pointer
endif

OPT      ?= -O2 -g
Q        := $(if $(V),,@)
WARN     := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wformat=2 -Wvla
CPPFLAGS += -Iinclude -Isrc -D_GNU_SOURCE
CFLAGS   += -std=c11 $(OPT) $(WARN) $(SANFLAGS) -MMD -MP
LDFLAGS  += $(SANFLAGS)
# libthread_db (loaded on first use) calls back into our proc_service
# functions: link and export them. zstd, xxhash and libiberty (the C++
# demangler) are linked statically:
# each shared library costs every command time to load (bench/README.md).
PS_EXPORT := -Wl,-u,ps_pglobal_lookup -Wl,--export-dynamic-symbol=ps_*
LDLIBS   += $(PS_EXPORT) -ldw -lelf -llzma -lZydis -Wl,-Bstatic -lzstd -lxxhash -liberty -Wl,-Bdynamic -pthread

LIB_DIRS := base model formats target target/linux target/elfcore target/minidump \
            symbols threads heap process annotate pipeline ops debug
LIB_SRC  := $(sort $(foreach d,$(LIB_DIRS),$(wildcard src/$(d)/*.c)))
CLI_SRC  := $(sort $(wildcard src/cli/*.c))
# the HTML report: a front end beside cli, its CSS and script built in
CLI_SRC  += $(sort $(wildcard src/report/*.c))
# the terminal UI (src/tui), linked into the tool and the unit tests; the
# command line (cmd_tui.c) calls it. ncurses is linked statically, as zstd:
# two more shared libraries would cost every command ~80 us to load.
TUI_SRC  := $(sort $(wildcard src/tui/*.c))
CURSES_LIBS := -Wl,-Bstatic $(shell pkg-config --libs ncursesw 2>/dev/null || echo -lncursesw -ltinfo) -Wl,-Bdynamic
UNIT_SRC := $(sort $(wildcard tests/unit/*.c))
FIXTURES := $(patsubst tests/fixtures/%.c,$(BUILD)/fixtures/%,$(wildcard tests/fixtures/*.c)) \
            $(patsubst tests/fixtures/%.cpp,$(BUILD)/fixtures/%,$(wildcard tests/fixtures/*.cpp)) \
            $(BUILD)/fixtures/layout32 $(BUILD)/fixtures/stacks32 $(BUILD)/fixtures/stacks-static \
            $(BUILD)/fixtures/heapfix32 $(BUILD)/fixtures/layout_truth32 $(BUILD)/fixtures/heapfix-nopie \
            $(BUILD)/fixtures/heapfix-static $(BUILD)/fixtures/heapfix-static-stripped $(BUILD)/fixtures/dbgfix32 \
            $(patsubst tests/fixtures/libs/%.c,$(BUILD)/fixtures/lib%.so,$(wildcard tests/fixtures/libs/*.c)) \
            $(BUILD)/fixtures/libmanual2.so $(BUILD)/fixtures/variants/modfix-mini \
            $(BUILD)/fixtures/win/pedll.dll

LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/obj/%.o)
CLI_OBJ  := $(CLI_SRC:%.c=$(BUILD)/obj/%.o) $(TUI_SRC:%.c=$(BUILD)/obj/%.o)
UNIT_OBJ := $(UNIT_SRC:%.c=$(BUILD)/obj/%.o)

.SECONDARY:
.PHONY: windows all deps test-deps fuzz-deps check demo fixtures clean fuzz layers torture tsan docs install uninstall
all: $(BUILD)/vmatlas docs

# the man page and the shell completions, made from the command table
# (vmatlas --dump-commands); rewritten only when their text changes
GEN_DOCS := docs/vmatlas.1 docs/completions/vmatlas.bash docs/completions/_vmatlas
docs: $(BUILD)/docs.stamp
$(BUILD)/docs.stamp: $(BUILD)/vmatlas scripts/gen_docs.py README.md
	@$(if $(Q),echo "  GEN     $(GEN_DOCS)")
	$(Q)scripts/gen_docs.py $(BUILD)/vmatlas docs
	@touch $@

# make install PREFIX=/usr/local DESTDIR=/tmp/stage; make uninstall (same ones)
PREFIX      ?= /usr/local
BINDIR      ?= $(PREFIX)/bin
MANDIR      ?= $(PREFIX)/share/man
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
ZSHCOMPDIR  ?= $(PREFIX)/share/zsh/site-functions
INSTALL     ?= install
install: $(BUILD)/vmatlas docs
	$(INSTALL) -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(BASHCOMPDIR) $(DESTDIR)$(ZSHCOMPDIR)
	$(INSTALL) -m 755 $(BUILD)/vmatlas $(DESTDIR)$(BINDIR)/vmatlas
	$(INSTALL) -m 644 docs/vmatlas.1 $(DESTDIR)$(MANDIR)/man1/vmatlas.1
	$(INSTALL) -m 644 docs/completions/vmatlas.bash $(DESTDIR)$(BASHCOMPDIR)/vmatlas
	$(INSTALL) -m 644 docs/completions/_vmatlas $(DESTDIR)$(ZSHCOMPDIR)/_vmatlas

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/vmatlas $(DESTDIR)$(MANDIR)/man1/vmatlas.1 \
		$(DESTDIR)$(BASHCOMPDIR)/vmatlas $(DESTDIR)$(ZSHCOMPDIR)/_vmatlas

deps:
	@scripts/deps.sh build

test-deps:
	@scripts/deps.sh test

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) -c $< -o $@

$(BUILD)/libvmatlas.a: $(LIB_OBJ)
	@rm -f $@
	$(Q)$(AR) rcs $@ $^

$(BUILD)/vmatlas: $(CLI_OBJ) $(BUILD)/libvmatlas.a
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(CC) $(LDFLAGS) $^ $(CURSES_LIBS) $(LDLIBS) -o $@

# the command line's tables and driver are unit-tested too
$(BUILD)/unit-tests: $(UNIT_OBJ) $(filter-out %/cli/main.o,$(CLI_OBJ)) $(BUILD)/libvmatlas.a
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(CC) $(LDFLAGS) $^ $(CURSES_LIBS) $(LDLIBS) -o $@

# fixtures are plain programs (no sanitizer): they are the targets
$(BUILD)/fixtures/%: tests/fixtures/%.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) -std=c11 -D_GNU_SOURCE -O1 -g -Wall -Wextra -Werror $< -o $@ -pthread

# linked with libvisible.so (a library with line info, called through the
# PLT), found next to it
$(BUILD)/fixtures/stepfix: tests/fixtures/stepfix.c $(BUILD)/fixtures/libvisible.so
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) -std=c11 -D_GNU_SOURCE -O1 -g -Wall -Wextra -Werror $< -o $@ -L$(BUILD)/fixtures -lvisible \
		-Wl,-rpath,'$$ORIGIN'

# the same layout as a 32-bit program (gcc-multilib)
$(BUILD)/fixtures/%32: tests/fixtures/%.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC -m32 $<")
	$(Q)$(CC) -m32 -std=c11 -D_GNU_SOURCE -O1 -g -Wall -Wextra -Werror $< -o $@ -pthread

$(BUILD)/fixtures/%: tests/fixtures/%.cpp
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CXX     $<")
	$(Q)$(CXX) -std=c++17 -O1 -g -Wall -Wextra -Werror $< -o $@

# C++ without RTTI: vtables with no typeinfo
$(BUILD)/fixtures/cppnorti: tests/fixtures/cppnorti.cpp
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CXX     $<")
	$(Q)$(CXX) -std=c++17 -fno-rtti -O1 -g -Wall -Wextra -Werror $< -o $@

# a statically linked program
$(BUILD)/fixtures/%-static: tests/fixtures/%.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC -static $<")
	$(Q)$(CC) -static -std=c11 -D_GNU_SOURCE -O1 -g -Wall -Wextra -Werror $< -o $@ -pthread

# ... and stripped, as distributions ship them (busybox-static)
$(BUILD)/fixtures/%-static-stripped: $(BUILD)/fixtures/%-static
	@$(if $(Q),echo "  STRIP   $@")
	$(Q)strip -o $@ $<

# a position-dependent executable: its .bss tail is a mapping of its own
# below a randomized brk heap
$(BUILD)/fixtures/%-nopie: tests/fixtures/%.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC -no-pie $<")
	$(Q)$(CC) -no-pie -fno-pie -std=c11 -D_GNU_SOURCE -O1 -g -Wall -Wextra -Werror $< -o $@ -pthread

# shared libraries for the module tests; the hand-mapped ones need no
# relocation, so no start files or libc
$(BUILD)/fixtures/lib%.so: tests/fixtures/libs/%.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $@")
	$(Q)$(CC) -shared -fPIC -O1 -g -Wall -Wextra -Werror $(if $(findstring manual,$*),-nostdlib) $< -o $@

$(BUILD)/fixtures/libmanual2.so: tests/fixtures/libs/manual.c
	@$(if $(Q),echo "  CC      $@")
	$(Q)$(CC) -shared -fPIC -O1 -g -Wall -Wextra -Werror -nostdlib -DSECOND $< -o $@

# stripped variants of modfix: with a debug link, and with MiniDebugInfo
$(BUILD)/fixtures/variants/modfix-mini: $(BUILD)/fixtures/modfix tests/fixtures/variants.sh \
		$(patsubst tests/fixtures/libs/%.c,$(BUILD)/fixtures/lib%.so,$(wildcard tests/fixtures/libs/*.c)) \
		$(BUILD)/fixtures/libmanual2.so
	@$(if $(Q),echo "  STRIP   $(dir $@)")
	$(Q)tests/fixtures/variants.sh $< $(dir $@)

# Windows fixtures (mingw-w64); without it the tests that need them skip
$(BUILD)/fixtures/win/pedll.dll: tests/fixtures/win/build.sh tests/fixtures/win/pedll.c tests/fixtures/win/pedll.def \
		tests/fixtures/win/pedll.rc tests/fixtures/win/dumpfix.c tests/fixtures/win/heapfix.c
	@$(if $(Q),echo "  MINGW   $(dir $@)")
	$(Q)if command -v x86_64-w64-mingw32-gcc >/dev/null && command -v i686-w64-mingw32-gcc >/dev/null; then \
		tests/fixtures/win/build.sh $(dir $@); else echo "  (no mingw-w64: Windows fixtures skipped)"; fi

$(BUILD)/obj/src/report/assets.o build/win64/obj/src/report/assets.o build/win32/obj/src/report/assets.o: \
		src/report/report.css src/report/report.js

# ---- the Windows build: `make windows` cross-builds build/win64/vmatlas.exe
# (and build/win32/vmatlas.exe) with mingw-w64. It has the formats, the
# model, the minidump and ELF core backends, the live Windows backend
# (target/windows), the debugger and the commands that need no ELF
# library: Debian has no mingw-w64 builds of elfutils or ncurses, so the
# files that use them are left out here, not #ifdef'd. base/win/ holds the
# POSIX names the rest uses (compat.h is included first in every file),
# its own mman header, and a curses over the console API for the tui and
# the debugger's CPU window (curses.h). Zydis, zstd, liblzma and TRE (POSIX
# regex) are built for mingw-w64 from Debian's source packages by
# scripts/win_deps.sh into build/win-deps/ARCH; build/win-deps/ARCH/.done
# says which it could build (WIN_HAVE_ARCH), and for one it could not (no
# root, no network) the stand-in in nolib/ is used instead; without Zydis
# the debugger (its decoder is the memory breakpoints' too) is left out
# and `vmatlas debug` says why.
WIN_DIRS    := base base/win model formats target target/minidump target/elfcore target/windows \
               symbols symbols/win threads threads/win heap process annotate pipeline ops debug \
               tui tui/win report
# (base/osfile.c is POSIX's whose-is-this-file: base/win/osfile.c stands in)
WIN_EXCLUDE := src/base/osfile.c src/symbols/lines.c src/symbols/demangle.c src/symbols/native_none.c \
               src/threads/unwind.c src/threads/threaddb.c src/tui/cpu_watch.c \
               src/cli/cmd_track.c src/base/console.c
WIN_SRC     := $(filter-out $(WIN_EXCLUDE),$(sort $(foreach d,$(WIN_DIRS),$(wildcard src/$(d)/*.c))) \
               $(sort $(wildcard src/cli/*.c)))
# $(call win_src,ARCH): WIN_SRC with the stand-ins for what ARCH lacks
win_has      = $(filter $(1),$(WIN_HAVE_$(2)))
WIN_DEBUGGER = $(wildcard src/debug/*.c src/tui/cpu_*.c src/tui/win/cpu_*.c) src/cli/cmd_debug.c
win_src      = $(filter-out $(if $(call win_has,lzma,$(1)),,src/symbols/minidebug.c) \
                            $(if $(call win_has,Zydis,$(1)),,$(WIN_DEBUGGER)),$(WIN_SRC)) \
               $(if $(call win_has,lzma,$(1)),,src/symbols/win/nolib/minidebug_none.c) \
               $(if $(call win_has,zstd,$(1)),,src/base/win/nolib/zstd_raw.c) \
               $(if $(call win_has,tre,$(1)),,src/base/win/nolib/regex_none.c)
# $(arch) is set per target below
WIN_DEPS     = build/win-deps/$(arch)
WIN_CPPFLAGS = -Iinclude -Isrc -Isrc/base/win -include base/win/compat.h -D_FILE_OFFSET_BITS=64 \
               -D__USE_MINGW_ANSI_STDIO=1 -D_WIN32_WINNT=0x0601 -DXXHASH_SYSTEM_HEADER='"/usr/include/xxhash.h"' \
               -I$(WIN_DEPS)/include -Isrc/base/win/nolib -DZYDIS_STATIC_BUILD -DZYCORE_STATIC_BUILD -DLZMA_API_STATIC \
               $(if $(call win_has,Zydis,$(arch)),,-DVMATLAS_NO_DEBUGGER)
# -Wno-format: mingw's gcc checks format(printf) against msvcrt's printf
# (no %z); the C runtime used is mingw's own (__USE_MINGW_ANSI_STDIO),
# which has it, and the Linux build checks the same formats
WIN_CFLAGS  := -std=c11 -O2 $(WARN) -Wno-format -MMD -MP
WIN_LIBS     = -L$(WIN_DEPS)/lib $(addprefix -l,$(WIN_HAVE_$(arch))) -static -lstdc++ -lpsapi -ldbghelp -lntdll -lpthread
# C++ in the Windows build: only the demangler's wrapper (symbols/win/demangle_cxx.cpp)
WIN_CXX_SRC := $(sort $(wildcard src/symbols/win/*.cpp))
WIN_OBJ      = $(patsubst %.c,build/$(1)/obj/%.o,$(call win_src,$(1))) $(WIN_CXX_SRC:%.cpp=build/$(1)/obj/%.o)
WIN_ARCHS   := win64 $(if $(shell command -v i686-w64-mingw32-g++),win32)
# the fixtures of the live tests, for each bitness: the 32-bit ones run
# as WoW64 processes under wine64 (with Debian's wine32), read by either
# build (tests/integration/winlive.py: VMATLAS_WINARCH, VMATLAS_WINFIX)
WIN_FIXTURES := livefix heaplive symfix dbgwin privfile ctrlgrp
windows: $(foreach a,$(WIN_ARCHS),build/$(a)/vmatlas.exe $(WIN_FIXTURES:%=build/$(a)/fixtures/%.exe))
WIN_CC_win64 := x86_64-w64-mingw32-gcc
WIN_CC_win32 := i686-w64-mingw32-gcc
WIN_CXX_win64 := x86_64-w64-mingw32-g++
WIN_CXX_win32 := i686-w64-mingw32-g++

build/win64/%: arch = win64
build/win32/%: arch = win32
# what scripts/win_deps.sh built, read only when a goal builds for Windows
# (make remakes it first, then reads it)
ifneq ($(filter windows check build/win%,$(MAKECMDGOALS)),)
ifneq ($(shell command -v x86_64-w64-mingw32-gcc),)
-include $(WIN_ARCHS:%=build/win-deps/%/.done)
endif
endif
build/win-deps/%/.done: scripts/win_deps.sh
	@$(if $(Q),echo "  WINDEPS $*")
	$(Q)scripts/win_deps.sh $*

build/win64/obj/%.o: %.c build/win-deps/win64/.done
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  MINGW64 $<")
	$(Q)x86_64-w64-mingw32-gcc $(WIN_CPPFLAGS) $(WIN_CFLAGS) -c $< -o $@

build/win32/obj/%.o: %.c build/win-deps/win32/.done
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  MINGW32 $<")
	$(Q)i686-w64-mingw32-gcc $(WIN_CPPFLAGS) $(WIN_CFLAGS) -c $< -o $@

WIN_CXXFLAGS := -std=c++17 -O2 -Wall -Wextra -Werror -fno-exceptions -fno-rtti -MMD -MP
build/win64/obj/%.o: %.cpp
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  MINGW64 $<")
	$(Q)x86_64-w64-mingw32-g++ $(WIN_CXXFLAGS) -c $< -o $@

build/win32/obj/%.o: %.cpp
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  MINGW32 $<")
	$(Q)i686-w64-mingw32-g++ $(WIN_CXXFLAGS) -c $< -o $@

# the live backend's fixtures (test_winlive.py, test_winheap.py), the
# debugger's (test_windbg.py) and the sender of Ctrl-Break to a process
# group (test_winint.py), one set per bitness
define win_fixture_rules
build/$(1)/fixtures/livefix.exe build/$(1)/fixtures/heaplive.exe: build/$(1)/fixtures/%.exe: tests/fixtures/win/%.c
	@mkdir -p $$(dir $$@)
	@$$(if $$(Q),echo "  MINGW   $$@")
	$$(Q)$$(WIN_CC_$(1)) -O1 -Wall -Wextra -Werror $$< -o $$@ -lpsapi
build/$(1)/fixtures/dbgwin.exe build/$(1)/fixtures/ctrlgrp.exe: build/$(1)/fixtures/%.exe: tests/fixtures/win/%.c
	@mkdir -p $$(dir $$@)
	@$$(if $$(Q),echo "  MINGW   $$@")
	$$(Q)$$(WIN_CC_$(1)) -O1 -Wall -Wextra -Werror $$< -o $$@
endef
$(foreach a,$(WIN_ARCHS),$(eval $(call win_fixture_rules,$(a))))

# owner-only output files (tests/integration/test_winlive_more.py): the
# Windows build's own files that make and check them, linked in
PRIVFILE_SRC := src/base/win/private_file.c src/base/win/replace.c src/base/win/osfile.c src/base/util.c
$(WIN_ARCHS:%=build/%/fixtures/privfile.exe): tests/fixtures/win/privfile.c $(PRIVFILE_SRC) src/base/win/private_file.h src/base/win/compat.h \
		src/base/osfile.h
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  MINGW   $@")
	$(Q)$(WIN_CC_$(arch)) -O1 -Wall -Wextra -Werror -Isrc -Isrc/base/win -include base/win/compat.h \
		-D_FILE_OFFSET_BITS=64 $< $(PRIVFILE_SRC) -o $@ -ladvapi32

# symbols and stacks (tests/integration/test_winsym.py): -gdwarf-4, as Wine
# 8's dbghelp reads DWARF 2 to 4 only (gcc 12 writes 5 by default)
$(WIN_ARCHS:%=build/%/fixtures/symfix.exe): tests/fixtures/win/symfix.c tests/fixtures/win/symcpp.cpp
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  MINGW   $@")
	$(Q)$(WIN_CC_$(arch)) -O1 -gdwarf-4 -fno-optimize-sibling-calls -Wall -Wextra -Werror -c $< -o $@.o
	$(Q)$(WIN_CXX_$(arch)) -O1 -gdwarf-4 -Wall -Wextra -Werror -c tests/fixtures/win/symcpp.cpp -o $@.cpp.o
	$(Q)$(WIN_CXX_$(arch)) -static $@.o $@.cpp.o -o $@
	@rm -f $@.o $@.cpp.o

build/win64/vmatlas.exe: $(call WIN_OBJ,win64)
	@$(if $(Q),echo "  LINK    $@")
	$(Q)x86_64-w64-mingw32-gcc $^ $(WIN_LIBS) -o $@

build/win32/vmatlas.exe: $(call WIN_OBJ,win32)
	@$(if $(Q),echo "  LINK    $@")
	$(Q)i686-w64-mingw32-gcc $^ $(WIN_LIBS) -o $@


fixtures: $(FIXTURES)

# no call or include from a lower layer to a higher one (src/README.md)
layers: $(BUILD)/libvmatlas.a $(CLI_OBJ)
	@scripts/layers.py $(BUILD)

# the Windows build too, where mingw-w64 is (scripts/deps.sh test installs
# it): tests/integration/test_winlive.py runs it under Wine
WIN_CHECK := $(if $(shell command -v x86_64-w64-mingw32-g++),windows)
check: test-deps $(BUILD)/vmatlas docs $(BUILD)/unit-tests $(FIXTURES) $(WIN_CHECK)
	@scripts/layers.py $(BUILD)
	@tests/run.sh $(BUILD)

demo: deps $(BUILD)/vmatlas $(BUILD)/fixtures/layout
	$(BUILD)/vmatlas map --run 300 -- $(BUILD)/fixtures/layout --quiet

# mutated real and seed files through every command that reads files,
# each run bounded in time and memory (tests/torture.py)
TORTURE_SECONDS ?= 120
TORTURE_SEED ?= $(shell date +%s)
torture: $(BUILD)/vmatlas $(FIXTURES)
	@tests/torture.py --seconds $(TORTURE_SECONDS) --seed $(TORTURE_SEED) $(BUILD)

# snapshot --data and search (several threads reading one target) on a
# live process, cores and minidumps under ThreadSanitizer (tests/tsan.py)
tsan:
	@$(MAKE) --no-print-directory SANITIZE=thread build/tsan/vmatlas build/tsan/fixtures/layout
	@tests/tsan.py build/tsan

# libFuzzer harnesses (clang), each run for FUZZ_SECONDS
FUZZ_CC      ?= clang-14
FUZZ_SECONDS ?= 60
FUZZ_FLAGS   := -std=c11 -O1 -g -fsanitize=fuzzer-no-link,address,undefined \
                -fno-sanitize-recover=all -Iinclude -Isrc -D_GNU_SOURCE -MMD -MP
FUZZ_LIB_OBJ := $(LIB_SRC:%.c=build/fuzz/obj/%.o)
FUZZERS      := $(patsubst tests/fuzz/%.c,build/fuzz/%,$(wildcard tests/fuzz/fuzz_*.c))

$(FUZZ_LIB_OBJ): build/fuzz/obj/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  FUZZCC  $<")
	$(Q)$(FUZZ_CC) $(FUZZ_FLAGS) -c $< -o $@

$(FUZZERS): build/fuzz/%: tests/fuzz/%.c $(FUZZ_LIB_OBJ)
	@$(if $(Q),echo "  FUZZLD  $@")
	$(Q)$(FUZZ_CC) $(FUZZ_FLAGS) -fsanitize=fuzzer $^ -o $@ $(PS_EXPORT) -ldw -lelf -llzma -lZydis -lzstd -lxxhash -liberty -pthread

fuzz-deps:
	@scripts/deps.sh fuzz

fuzz: fuzz-deps $(FUZZERS) $(FIXTURES)
	@tests/fuzz/run.sh $(FUZZ_SECONDS) $(FUZZERS)

# keeps the sources scripts/win_deps.sh downloaded (build/win-deps/src)
clean:
	rm -rf $(filter-out build/win-deps,$(wildcard build/*)) $(wildcard build/win-deps/win*)

-include $(shell find $(BUILD)/obj build/fuzz/obj build/win64/obj build/win32/obj -name '*.d' 2>/dev/null)
