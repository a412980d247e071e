#!/bin/sh
# scripts/win_deps.sh ARCH (win64 or win32): the libraries the Windows build
# needs and Debian builds no mingw-w64 package of, built with mingw-w64 from
# Debian's *source* packages (their own code, none copied into vmatlas):
#   Zydis    zydis     the debugger's disassembler (with libzycore-dev's headers)
#   zstd     libzstd   snapshots and scan files, compressed as on Linux
#   lzma     xz-utils  liblzma's .xz decoder, for MiniDebugInfo
#   tre      tre       POSIX regcomp/regexec (leftmost-longest, as glibc's)
# into build/win-deps/ARCH/{include,lib}. The sources are fetched once with
# `apt-get source --download-only` (a private sources file and list
# directory: the system's apt state is not touched) into build/win-deps/src,
# then Debian's patches are applied. A library that cannot be had (not
# root, no network, a build error) is said in one line and left out: the
# Makefile then uses the stand-in in src/base/win/nolib/ or leaves the
# feature out. build/win-deps/ARCH/.done (read by the Makefile) lists what
# was built. Remove build/win-deps/ARCH to try again.
set -u
arch=${1:-}
case "$arch" in
win64) host=x86_64-w64-mingw32 ;;
win32) host=i686-w64-mingw32 ;;
*) echo "usage: $0 win64|win32" >&2; exit 2 ;;
esac
cc=$host-gcc
ar=$host-ar
top=$(pwd)
src=$top/build/win-deps/src
out=$top/build/win-deps/$arch
jobs=${WIN_DEPS_JOBS:-2}
cflags="-O2 -w"
mkdir -p "$src" "$out"
rm -rf "$out/include" "$out/lib" "$out/obj"
mkdir -p "$out/include" "$out/lib" "$out/obj"
say() { echo "win_deps ($arch): $*" >&2; }

# ---- fetching (once for both architectures: under a lock)
apt_opts() {
	echo "-o Dir::Etc::SourceList=$src/apt/src.sources -o Dir::Etc::SourceParts=/dev/null" \
	     "-o Dir::State::Lists=$src/apt/lists -o Dir::Cache::pkgcache= -o Dir::Cache::srcpkgcache=" \
	     "-o Acquire::Retries=1 -o Acquire::http::Timeout=20"
}
apt_ready=""
fetch() { # fetch PKG: leaves PKG's files in $src/PKG/ (cached)
	[ -f "$src/$1/.fetched" ] && return 0
	if [ "$(id -u)" != 0 ]; then
		echo "not root (apt-get update needs it)"
		return 1
	fi
	if [ -z "$apt_ready" ]; then
		mkdir -p "$src/apt/lists/partial"
		printf 'Types: deb-src\nURIs: http://deb.debian.org/debian\nSuites: bookworm\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
			>"$src/apt/src.sources"
		# shellcheck disable=SC2046
		if ! apt-get $(apt_opts) update -qq >"$src/apt/update.log" 2>&1; then
			echo "apt-get update of the source index failed (no network?)"
			return 1
		fi
		apt_ready=1
	fi
	rm -rf "$src/$1" && mkdir -p "$src/$1"
	# shellcheck disable=SC2046
	if ! (cd "$src/$1" && apt-get $(apt_opts) source --download-only "$1" >download.log 2>&1); then
		echo "apt-get source $1 failed (no network?)"
		return 1
	fi
	touch "$src/$1/.fetched"
}
unpack() { # unpack PKG: the patched tree in $src/PKG/tree (once)
	d=$src/$1
	[ -f "$d/.unpacked" ] && return 0
	rm -rf "$d/tree" "$d/x" && mkdir -p "$d/x"
	orig=$(ls "$d"/*.orig.tar.* 2>/dev/null | grep -v '\.asc$' | head -1)
	[ -n "$orig" ] || { echo "no upstream tarball for $1"; return 1; }
	tar xf "$orig" -C "$d/x" || { echo "cannot unpack $orig"; return 1; }
	mv "$d/x"/* "$d/tree" && rmdir "$d/x"
	# Debian's patches (quilt series), as dpkg-source would apply them
	deb=$(ls "$d"/*.debian.tar.* 2>/dev/null | head -1)
	if [ -n "$deb" ]; then
		tar xf "$deb" -C "$d/tree" || { echo "cannot unpack $deb"; return 1; }
		if [ -f "$d/tree/debian/patches/series" ]; then
			for p in $(sed 's/#.*//' "$d/tree/debian/patches/series"); do
				patch -d "$d/tree" -p1 -s -N --no-backup-if-mismatch <"$d/tree/debian/patches/$p" >/dev/null ||
					{ echo "Debian patch $p of $1 does not apply"; return 1; }
			done
		fi
	fi
	touch "$d/.unpacked"
}
get() { # get PKG under the lock; prints why not on failure
	(
		command -v flock >/dev/null && flock 9
		fetch "$1" && unpack "$1"
	) 9>"$src/.lock"
}

# ---- compiling: FILES into lib$name.a, $jobs at a time
compile() { # compile NAME FLAGS FILE...
	name=$1 flags=$2
	shift 2
	o=$out/obj/$name
	mkdir -p "$o"
	# shellcheck disable=SC2086
	printf '%s\n' "$@" | xargs -P "$jobs" -I{} sh -c \
		'f={}; b=$(basename "$f" .c); exec '"$cc $cflags $flags"' -c "$f" -o "'"$o"'/$b.o"' || return 1
	rm -f "$out/lib/lib$name.a"
	$ar rcs "$out/lib/lib$name.a" "$o"/*.o
}

build_Zydis() {
	[ -d /usr/include/Zycore ] || { echo "no /usr/include/Zycore (libzycore-dev)"; return 1; }
	get zydis || return 1
	t=$src/zydis/tree
	cp -r /usr/include/Zycore "$out/include/" && cp -r "$t/include/Zydis" "$out/include/" || return 1
	set --
	for f in Decoder DecoderData Disassembler Formatter FormatterATT FormatterBase FormatterBuffer \
		FormatterIntel MetaInfo Mnemonic Register Segment SharedData String Utils Zydis; do
		set -- "$@" "$t/src/$f.c"
	done
	compile Zydis "-DZYDIS_STATIC_BUILD -DZYCORE_STATIC_BUILD -I$out/include -I$t/src" "$@"
}

build_zstd() {
	get libzstd || return 1
	t=$src/libzstd/tree/lib
	cp "$t/zstd.h" "$t/zstd_errors.h" "$out/include/" || return 1
	# shellcheck disable=SC2046
	compile zstd "-DZSTD_DISABLE_ASM -DZSTD_LEGACY_SUPPORT=0 -I$t -I$t/common" \
		$(ls "$t"/common/*.c "$t"/compress/*.c "$t"/decompress/*.c)
}

build_lzma() {
	get xz-utils || return 1
	t=$src/xz-utils/tree/src
	l=$t/liblzma
	# the decoder only (.xz and the filters xz may use); what configure
	# would find on mingw-w64
	case "$arch" in win64) szt=8 ;; *) szt=4 ;; esac
	mkdir -p "$out/obj/lzma-cfg"
	cat >"$out/obj/lzma-cfg/config.h" <<EOF
#define HAVE_STDBOOL_H 1
#define HAVE__BOOL 1
#define HAVE_STDINT_H 1
#define HAVE_INTTYPES_H 1
#define HAVE_LIMITS_H 1
#define HAVE_STRING_H 1
#define HAVE_STDLIB_H 1
#define SIZEOF_SIZE_T $szt
#define HAVE_CHECK_CRC32 1
#define HAVE_CHECK_CRC64 1
#define HAVE_CHECK_SHA256 1
#define HAVE_DECODERS 1
#define HAVE_DECODER_LZMA1 1
#define HAVE_DECODER_LZMA2 1
#define HAVE_DECODER_DELTA 1
#define HAVE_DECODER_X86 1
#define HAVE_DECODER_POWERPC 1
#define HAVE_DECODER_IA64 1
#define HAVE_DECODER_ARM 1
#define HAVE_DECODER_ARMTHUMB 1
#define HAVE_DECODER_ARM64 1
#define HAVE_DECODER_SPARC 1
#define TUKLIB_FAST_UNALIGNED_ACCESS 1
#define PACKAGE_NAME "XZ Utils"
#define PACKAGE_URL "https://tukaani.org/xz/"
EOF
	mkdir -p "$out/include/lzma"
	cp "$l/api/lzma.h" "$out/include/" && cp "$l"/api/lzma/*.h "$out/include/lzma/" || return 1
	set --
	for f in common/common common/block_util common/block_decoder common/block_header_decoder \
		common/filter_common common/filter_decoder common/filter_flags_decoder common/index \
		common/index_hash common/stream_decoder common/stream_flags_common \
		common/stream_flags_decoder common/vli_decoder common/vli_size check/check check/crc32_fast \
		check/crc32_table check/crc64_fast check/crc64_table check/sha256 lz/lz_decoder \
		lzma/lzma_decoder lzma/lzma2_decoder delta/delta_common delta/delta_decoder \
		simple/simple_coder simple/simple_decoder simple/x86 simple/powerpc simple/ia64 simple/arm \
		simple/armthumb simple/arm64 simple/sparc; do
		set -- "$@" "$l/$f.c"
	done
	inc=""
	for d in api common check lz lzma rangecoder delta simple; do inc="$inc -I$l/$d"; done
	compile lzma "-std=gnu99 -DHAVE_CONFIG_H -DLZMA_API_STATIC -I$out/obj/lzma-cfg -I$t/common $inc" "$@"
}

build_tre() {
	get tre || return 1
	t=$src/tre/tree/lib
	# byte strings only (the search hands it printable ASCII runs): no wide
	# or multibyte characters, no approximate matching
	cat >"$out/include/tre-config.h" <<EOF
#define HAVE_SYS_TYPES_H 1
#define TRE_VERSION "0.8.0"
#define TRE_VERSION_1 0
#define TRE_VERSION_2 8
#define TRE_VERSION_3 0
EOF
	mkdir -p "$out/obj/tre-cfg"
	cat >"$out/obj/tre-cfg/config.h" <<EOF
#define HAVE_STDLIB_H 1
#define HAVE_STRING_H 1
#define HAVE_SYS_TYPES_H 1
#define HAVE_MALLOC_H 1
#define HAVE_ISASCII 1
#define HAVE_ISBLANK 1
#define STDC_HEADERS 1
#define TRE_REGEX_T_FIELD value
#define NDEBUG 1
EOF
	cp "$t/tre.h" "$t/regex.h" "$out/include/" || return 1
	set --
	for f in regcomp regerror regexec tre-ast tre-compile tre-match-backtrack tre-match-parallel \
		tre-mem tre-parse tre-stack xmalloc; do
		set -- "$@" "$t/$f.c"
	done
	compile tre "-DHAVE_CONFIG_H -I$out/obj/tre-cfg -I$out/include -I$t" "$@"
}

if ! command -v "$cc" >/dev/null; then
	say "no $cc: nothing built"
	have=""
else
	have=""
	start=$(date +%s)
	for lib in Zydis zstd lzma tre; do
		log=$top/build/win-deps/$arch-$lib.log
		if build_$lib >"$log" 2>&1; then
			have="$have $lib"
		else
			rm -f "$out/lib/lib$lib.a"
			say "$lib not built, left out of the Windows build: $(tail -1 "$log") ($log)"
		fi
	done
	say "built:${have:- nothing} in $(($(date +%s) - start)) s"
fi
rm -rf "$out/obj"
printf '# scripts/win_deps.sh %s: the libraries in build/win-deps/%s/lib\nWIN_HAVE_%s :=%s\n' \
	"$arch" "$arch" "$arch" "$have" >"$out/.done"
