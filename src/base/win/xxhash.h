/* xxHash in the Windows build: the system header, every function
 * inline (there is no mingw-w64 build of libxxhash) */
#define XXH_INLINE_ALL
#include XXHASH_SYSTEM_HEADER
