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
rm -rf "${out:?}/include" "${out:?}/lib" "${out:?}/obj"
mkdir -p "$out/include" "$out/lib" "$out/obj"
say() { echo "win_deps ($arch): $*" >&2; }

# ---- fetching (once for both architectures: under a lock)
apt_opts() {
	echo "-o Dir::Etc::SourceList=$src/apt/src.sources -o Dir::Etc::SourceParts=/dev/null" \
	     "-o Dir::State::Lists=$src/apt/lists -o Dir::Cache::pkgcache= -o Dir::Cache::srcpkgcache=" \
	     "-o Acquire::Retries=1 -o Acquire::http::Timeout=20"
}
offline=""
fetch() { # fetch PKG: PKG's files in $src/PKG/ (cached), or why not on stdout
	[ -f "$src/$1/.fetched" ] && return 0
	if [ -n "$offline" ]; then
		echo "$offline"
		return 1
	fi
	if [ "$(id -u)" != 0 ]; then
		offline="not root (apt-get update needs it)"
		echo "$offline"
		return 1
	fi
	if [ ! -f "$src/apt/.updated" ]; then
		mkdir -p "$src/apt/lists/partial"
		printf 'Types: deb-src\nURIs: http://deb.debian.org/debian\nSuites: bookworm\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
			>"$src/apt/src.sources"
		# shellcheck disable=SC2046
		# a failed download is only a warning to apt-get update: look
		# for the index itself
		if ! apt-get $(apt_opts) update -qq >"$src/apt/update.log" 2>&1 ||
			[ -z "$(find "$src/apt/lists" -maxdepth 1 -name '*_Sources*')" ]; then
			offline="apt-get update of Debian's source index failed (no network?)"
			echo "$offline"
			return 1
		fi
		touch "$src/apt/.updated"
	fi
	rm -rf "${src:?}/$1" && mkdir -p "$src/$1"
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
	orig=""
	for f in "$d"/*.orig.tar.*; do
		case "$f" in *.asc) ;; *) [ -f "$f" ] && orig=$f ;; esac
	done
	[ -n "$orig" ] || { echo "no upstream tarball for $1"; return 1; }
	tar xf "$orig" -C "$d/x" || { echo "cannot unpack $orig"; return 1; }
	mv "$d/x"/* "$d/tree" && rmdir "$d/x"
	# Debian's patches (quilt series), as dpkg-source would apply them
	deb=""
	for f in "$d"/*.debian.tar.*; do [ -f "$f" ] && deb=$f; done
	if [ -n "$deb" ]; then
		tar xf "$deb" -C "$d/tree" || { echo "cannot unpack $deb"; return 1; }
		if [ -f "$d/tree/debian/patches/series" ]; then
			sed 's/#.*//' "$d/tree/debian/patches/series" | while read -r p _; do
				[ -n "$p" ] || continue
				patch -d "$d/tree" -p1 -s -N --no-backup-if-mismatch <"$d/tree/debian/patches/$p" >/dev/null ||
					{ echo "Debian patch $p of $1 does not apply"; exit 1; }
			done || return 1
		fi
	fi
	touch "$d/.unpacked"
}
get() { # get PKG: fetched and unpacked by the locked step below, or why not
	[ -f "$src/$1/.unpacked" ] && return 0
	cat "$out/why-$1" 2>/dev/null || echo "$1 was not fetched"
	return 1
}
fetch_all() { # every package, under a lock: the other architecture's run may be at it
	(
		command -v flock >/dev/null && flock 9
		for pkg in zydis libzstd xz-utils tre; do
			fetch "$pkg" >"$out/why-$pkg" 2>&1 && unpack "$pkg" >"$out/why-$pkg" 2>&1
		done
	) 9>"$src/.lock"
}

# ---- compiling: FILES into lib$name.a, $jobs at a time
compile() { # compile NAME FLAGS FILE...
	name=$1 flags=$2
	shift 2
	o=$out/obj/$name
	mkdir -p "$o"
	# shellcheck disable=SC2016
	printf '%s\n' "$@" | CC="$cc $cflags $flags" O="$o" xargs -P "$jobs" -n 1 \
		sh -c '$CC -c "$1" -o "$O/$(basename "$1" .c).o"' sh || return 1
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

have=""
missing=""
why=""
start=$(date +%s)
if ! command -v "$cc" >/dev/null; then
	missing="Zydis zstd lzma tre"
	why="no $cc"
else
	fetch_all
	for lib in Zydis zstd lzma tre; do
		log=$top/build/win-deps/$arch-$lib.log
		if build_$lib >"$log" 2>&1; then
			have="$have $lib"
		else
			rm -f "$out/lib/lib$lib.a"
			missing="$missing $lib"
			[ -n "$why" ] || why="$(tail -1 "$log") (build/win-deps/$arch-$lib.log)"
		fi
	done
fi
if [ -n "$missing" ]; then
	say "not built:$missing: $why; the Windows build goes without them"
else
	say "built:$have in $(($(date +%s) - start)) s"
fi
rm -rf "$out/obj" "$out"/why-*
printf '# scripts/win_deps.sh %s: the libraries in build/win-deps/%s/lib\nWIN_HAVE_%s :=%s\n' \
	"$arch" "$arch" "$arch" "$have" >"$out/.done"
