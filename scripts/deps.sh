#!/bin/sh
# Install the Debian packages vmatlas needs, if any are missing.
#   scripts/deps.sh build   what building needs
#   scripts/deps.sh test    what the tests need as well
#   scripts/deps.sh fuzz    what the fuzzers need (clang, libFuzzer)
#   scripts/deps.sh wine32  Wine's 32-bit side (wine32:i386), for the
#                           Windows tests' 32-bit programs (WoW64); they
#                           skip without it, so a failure here is not one
#                           of the build's
# As root it runs apt-get; otherwise it uses sudo when there is one.
set -eu

build_pkgs="gcc make pkg-config libc6-dev libdw-dev libelf-dev liblzma-dev libzstd-dev libxxhash-dev libzydis-dev libiberty-dev libncurses-dev"
test_pkgs="g++ python3 util-linux procps binutils gcc-multilib xz-utils elfutils gdb libc6-dbg libjemalloc2
           gcc-mingw-w64-x86-64 gcc-mingw-w64-i686 g++-mingw-w64-x86-64 g++-mingw-w64-i686 wine64 python3-pefile pev zsh man-db groff-base busybox-static tmux"
# the Windows build's libraries, built from Debian's source packages by
# scripts/win_deps.sh (apt-get source --download-only, tar, patch)
test_pkgs="$test_pkgs libzycore-dev patch debian-archive-keyring"
fuzz_pkgs="clang-14 libclang-rt-14-dev"
# the report's browser tests (tests/integration/test_report.py)
test_pkgs="$test_pkgs chromium"

case "${1:-build}" in
wine32)
	dpkg-query -W -f='${Status}' wine32:i386 2>/dev/null | grep -q "install ok installed" && exit 0
	if [ "$(id -u)" = 0 ]; then run=""; elif command -v sudo >/dev/null 2>&1; then run="sudo"; else
		echo "vmatlas: wine32 is missing; as root run: dpkg --add-architecture i386 && apt-get update && apt-get install wine32:i386" >&2
		exit 1
	fi
	echo "vmatlas: installing wine32:i386" >&2
	export DEBIAN_FRONTEND=noninteractive
	added=""
	dpkg --print-foreign-architectures | grep -qx i386 || { $run dpkg --add-architecture i386 && added=1; }
	if $run apt-get update -qq >/dev/null && $run apt-get install -y -qq --no-install-recommends wine32:i386 >/dev/null; then
		exit 0
	fi
	echo "vmatlas: wine32:i386 could not be installed: the Windows tests' 32-bit arrangements will skip" >&2
	# an i386 index that failed must not break later apt-get runs
	[ -n "$added" ] && $run dpkg --remove-architecture i386 2>/dev/null && $run apt-get update -qq >/dev/null
	exit 1 ;;
build) want="$build_pkgs" ;;
test) want="$build_pkgs $test_pkgs" ;;
fuzz) want="$fuzz_pkgs" ;;
*) echo "usage: $0 build|test|fuzz|wine32" >&2; exit 2 ;;
esac

missing=""
for p in $want; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing="$missing $p"
	fi
done
[ -z "$missing" ] && exit 0

if ! command -v apt-get >/dev/null 2>&1; then
	echo "vmatlas: missing packages:$missing (and no apt-get to install them)" >&2
	exit 1
fi
if [ "$(id -u)" = 0 ]; then
	run=""
elif command -v sudo >/dev/null 2>&1; then
	run="sudo"
else
	echo "vmatlas: missing packages:$missing; as root run: apt-get install$missing" >&2
	exit 1
fi
echo "vmatlas: installing$missing" >&2
export DEBIAN_FRONTEND=noninteractive
$run apt-get update -qq >/dev/null
# shellcheck disable=SC2086
$run apt-get install -y -qq --no-install-recommends $missing >/dev/null
