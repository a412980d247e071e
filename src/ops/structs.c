/* The structure tables, and the one decoder. */
#include "vmatlas/structs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/utf16.h"
#include "base/util.h"
#include "vmatlas/env.h"
#include "vmatlas/error.h"

#define F(n, t) { n, VM_F_##t, 1 }
#define A(n, t, c) { n, VM_F_##t, c }
#define END { NULL, VM_F_U8, 0 }

static const vm_field_desc link_map_f[] = {
	F("l_addr", WORD), F("l_name", CSTR), F("l_ld", PTR), F("l_next", PTR), F("l_prev", PTR), END,
};
static const vm_field_desc r_debug_f[] = {
	F("r_version", I32), F("r_map", PTR), F("r_brk", PTR), F("r_state", I32), F("r_ldbase", PTR), END,
};
static const vm_field_desc malloc_chunk_f[] = {
	F("mchunk_prev_size", WORD), F("mchunk_size", WORD), F("fd", PTR), F("bk", PTR),
	F("fd_nextsize", PTR), F("bk_nextsize", PTR), END,
};
static const vm_field_desc ehdr64_f[] = {
	A("e_ident", CHARS, 16), F("e_type", U16), F("e_machine", U16), F("e_version", U32),
	F("e_entry", U64), F("e_phoff", U64), F("e_shoff", U64), F("e_flags", U32),
	F("e_ehsize", U16), F("e_phentsize", U16), F("e_phnum", U16), F("e_shentsize", U16),
	F("e_shnum", U16), F("e_shstrndx", U16), END,
};
static const vm_field_desc ehdr32_f[] = {
	A("e_ident", CHARS, 16), F("e_type", U16), F("e_machine", U16), F("e_version", U32),
	F("e_entry", U32), F("e_phoff", U32), F("e_shoff", U32), F("e_flags", U32),
	F("e_ehsize", U16), F("e_phentsize", U16), F("e_phnum", U16), F("e_shentsize", U16),
	F("e_shnum", U16), F("e_shstrndx", U16), END,
};
static const vm_field_desc phdr64_f[] = {
	F("p_type", U32), F("p_flags", U32), F("p_offset", U64), F("p_vaddr", U64),
	F("p_paddr", U64), F("p_filesz", U64), F("p_memsz", U64), F("p_align", U64), END,
};
static const vm_field_desc phdr32_f[] = {
	F("p_type", U32), F("p_offset", U32), F("p_vaddr", U32), F("p_paddr", U32),
	F("p_filesz", U32), F("p_memsz", U32), F("p_flags", U32), F("p_align", U32), END,
};
static const vm_field_desc shdr64_f[] = {
	F("sh_name", U32), F("sh_type", U32), F("sh_flags", U64), F("sh_addr", U64),
	F("sh_offset", U64), F("sh_size", U64), F("sh_link", U32), F("sh_info", U32),
	F("sh_addralign", U64), F("sh_entsize", U64), END,
};
static const vm_field_desc shdr32_f[] = {
	F("sh_name", U32), F("sh_type", U32), F("sh_flags", U32), F("sh_addr", U32),
	F("sh_offset", U32), F("sh_size", U32), F("sh_link", U32), F("sh_info", U32),
	F("sh_addralign", U32), F("sh_entsize", U32), END,
};
static const vm_field_desc dyn_f[] = { F("d_tag", WORD), F("d_val", WORD), END };
static const vm_field_desc sym64_f[] = {
	F("st_name", U32), F("st_info", U8), F("st_other", U8), F("st_shndx", U16),
	F("st_value", U64), F("st_size", U64), END,
};
static const vm_field_desc sym32_f[] = {
	F("st_name", U32), F("st_value", U32), F("st_size", U32), F("st_info", U8),
	F("st_other", U8), F("st_shndx", U16), END,
};

/* Windows (winternl.h and the public symbols' layouts); the first fields,
 * those a reader of a dump wants */
#define UNICODE_STRING(n) F(n ".Length", U16), F(n ".MaximumLength", U16), F(n ".Buffer", WSTR)
static const vm_field_desc teb_f[] = {
	F("NtTib.ExceptionList", PTR), F("NtTib.StackBase", PTR), F("NtTib.StackLimit", PTR),
	F("NtTib.SubSystemTib", PTR), F("NtTib.FiberData", PTR), F("NtTib.ArbitraryUserPointer", PTR),
	F("NtTib.Self", PTR), F("EnvironmentPointer", PTR), F("ClientId.UniqueProcess", WORD),
	F("ClientId.UniqueThread", WORD), F("ActiveRpcHandle", PTR), F("ThreadLocalStoragePointer", PTR),
	F("ProcessEnvironmentBlock", PTR), F("LastErrorValue", U32), END,
};
#define PEB_HEAD                                                                                  \
	F("InheritedAddressSpace", U8), F("ReadImageFileExecOptions", U8), F("BeingDebugged", U8), \
	F("BitField", U8), F("Mutant", PTR), F("ImageBaseAddress", PTR), F("Ldr", PTR),           \
	F("ProcessParameters", PTR), F("SubSystemData", PTR), F("ProcessHeap", PTR),             \
	F("FastPebLock", PTR), F("AtlThunkSListPtr", PTR), F("IFEOKey", PTR),                    \
	F("CrossProcessFlags", U32), F("KernelCallbackTable", PTR), F("SystemReserved", U32),     \
	F("AtlThunkSListPtr32", U32), F("ApiSetMap", PTR), F("TlsExpansionCounter", U32),         \
	F("TlsBitmap", PTR), A("TlsBitmapBits", U32, 2), F("ReadOnlySharedMemoryBase", PTR),      \
	F("SharedData", PTR), F("ReadOnlyStaticServerData", PTR), F("AnsiCodePageData", PTR),     \
	F("OemCodePageData", PTR), F("UnicodeCaseTableData", PTR), F("NumberOfProcessors", U32),  \
	F("NtGlobalFlag", U32)
#define PEB_TAIL                                                                                  \
	F("CriticalSectionTimeout", U64), F("HeapSegmentReserve", WORD), F("HeapSegmentCommit", WORD), \
	F("HeapDeCommitTotalFreeThreshold", WORD), F("HeapDeCommitFreeBlockThreshold", WORD),      \
	F("NumberOfHeaps", U32), F("MaximumNumberOfHeaps", U32), F("ProcessHeaps", PTR), END
static const vm_field_desc peb64_f[] = { PEB_HEAD, PEB_TAIL };
static const vm_field_desc peb32_f[] = { PEB_HEAD, F("(padding)", PAD4), PEB_TAIL };
static const vm_field_desc process_parameters_f[] = {
	F("MaximumLength", U32), F("Length", U32), F("Flags", U32), F("DebugFlags", U32),
	F("ConsoleHandle", PTR), F("ConsoleFlags", U32), F("StandardInput", PTR), F("StandardOutput", PTR),
	F("StandardError", PTR), UNICODE_STRING("CurrentDirectory.DosPath"), F("CurrentDirectory.Handle", PTR),
	UNICODE_STRING("DllPath"), UNICODE_STRING("ImagePathName"), UNICODE_STRING("CommandLine"),
	F("Environment", PTR), END,
};
static const vm_field_desc kuser_shared_data_f[] = {
	F("TickCountLowDeprecated", U32), F("TickCountMultiplier", U32), F("InterruptTime.LowPart", U32),
	F("InterruptTime.High1Time", I32), F("InterruptTime.High2Time", I32), F("SystemTime.LowPart", U32),
	F("SystemTime.High1Time", I32), F("SystemTime.High2Time", I32), F("TimeZoneBias.LowPart", U32),
	F("TimeZoneBias.High1Time", I32), F("TimeZoneBias.High2Time", I32), F("ImageNumberLow", U16),
	F("ImageNumberHigh", U16), A("NtSystemRoot", WCHARS, 260), F("MaxStackTraceDepth", U32),
	F("CryptoExponent", U32), F("TimeZoneId", U32), F("LargePageMinimum", U32),
	F("AitSamplingValue", U32), F("AppCompatFlag", U32), F("RNGSeedVersion", U64),
	F("GlobalValidationRunlevel", U32), F("TimeZoneBiasStamp", I32), F("NtBuildNumber", U32),
	F("NtProductType", U32), F("ProductTypeIsValid", U8), F("Reserved0", U8),
	F("NativeProcessorArchitecture", U16), F("NtMajorVersion", U32), F("NtMinorVersion", U32), END,
};

static const char *const names[] = {
	"auxv", "link_map", "r_debug", "malloc_chunk", "malloc_state", "heap_info",
	"tcache_perthread_struct", "ehdr", "phdr", "shdr", "dyn", "sym",
	"peb", "teb", "process_parameters", "kuser_shared_data", NULL,
};

const char *const *vm_struct_names(void)
{
	return names;
}

bool vm_struct_known(const char *name)
{
	for (size_t i = 0; names[i]; i++)
		if (strcmp(names[i], name) == 0)
			return true;
	return false;
}

static int version_number(const char *v)
{
	int a = 0, b = 0;
	if (!v || sscanf(v, "%d.%d", &a, &b) != 2)
		return 299;
	return a * 100 + b;
}

/* glibc's structures, by version and word size */
static size_t glibc_fields(const char *name, int bits, int ver, vm_field_desc *out)
{
	size_t n = 0;
#define ADD(nm, t, c) (out[n++] = (vm_field_desc){ nm, VM_F_##t, c })
	if (!strcmp(name, "malloc_state")) {
		ADD("mutex", I32, 1);
		ADD("flags", I32, 1);
		if (ver >= 227)
			ADD("have_fastchunks", I32, 1);
		ADD("fastbinsY", PTR, bits == 64 ? 10 : 11);
		ADD("top", PTR, 1);
		ADD("last_remainder", PTR, 1);
		ADD("bins", PTR, 254);
		ADD("binmap", U32, 4);
		ADD("next", PTR, 1);
		ADD("next_free", PTR, 1);
		ADD("attached_threads", WORD, 1);
		ADD("system_mem", WORD, 1);
		ADD("max_system_mem", WORD, 1);
	} else if (!strcmp(name, "heap_info")) {
		ADD("ar_ptr", PTR, 1);
		ADD("prev", PTR, 1);
		ADD("size", WORD, 1);
		ADD("mprotect_size", WORD, 1);
		if (ver >= 235)
			ADD("pagesize", WORD, 1);
	} else if (!strcmp(name, "tcache_perthread_struct")) {
		if (ver >= 230)
			ADD("counts", U16, 64);
		else
			ADD("counts", U8, 64);
		ADD("entries", PTR, 64);
	}
#undef ADD
	out[n] = (vm_field_desc){ NULL, VM_F_U8, 0 };
	return n;
}

static size_t type_size(vm_ftype t, int bits)
{
	switch (t) {
	case VM_F_U8: case VM_F_CHARS: return 1;
	case VM_F_U16: case VM_F_WCHARS: return 2;
	case VM_F_U32: case VM_F_I32: case VM_F_PAD4: return 4;
	case VM_F_U64: return 8;
	default: return bits == 32 ? 4 : 8;
	}
}

/* C alignment: i386 aligns 8-byte members to 4 */
static size_t type_align(vm_ftype t, int bits)
{
	size_t s = type_size(t, bits), w = bits == 32 ? 4 : 8;
	return s < w ? s : w;
}

static void push(vm_decoded *d, const char *name, int index, uint64_t off, vm_ftype type,
		 uint64_t value, char *text)
{
	vm_decoded_field *f = ARRAY_PUSH(d->f, d->n, d->cap);
	f->name = name;
	f->index = index;
	f->offset = off;
	f->type = type;
	f->value = value;
	f->text = text;
}

/* a NUL-terminated UTF-16 string at addr, bounded */
static char *read_wstr(vm_target *t, uint64_t addr)
{
	uint8_t buf[1024];
	if (!addr)
		return NULL;
	ssize_t n = vm_read(t, addr, buf, sizeof buf);
	if (n <= 1)
		return NULL;
	size_t units = 0;
	while (units < (size_t)n / 2 && (buf[2 * units] || buf[2 * units + 1]))
		units++;
	return utf16le_to_utf8(buf, units);
}

static char *read_cstr(vm_target *t, uint64_t addr)
{
	char buf[512];
	if (!addr)
		return NULL;
	ssize_t n = vm_read(t, addr, buf, sizeof buf - 1);
	if (n <= 0)
		return NULL;
	buf[n] = 0;
	return xstrndup(buf, strnlen(buf, (size_t)n));
}

/* decode one structure from buf (already read) */
static uint64_t decode_one(vm_target *t, int bits, const vm_field_desc *fd, const uint8_t *buf,
			   size_t len, uint64_t base, vm_decoded *d)
{
	uint64_t off = 0;
	size_t maxalign = 1;
	for (; fd->name; fd++) {
		size_t sz = type_size(fd->type, bits), al = type_align(fd->type, bits);
		unsigned count = fd->count ? fd->count : 1;
		if (al > maxalign)
			maxalign = al;
		off = (off + al - 1) / al * al;
		if (fd->type == VM_F_PAD4) {
			off += 4;
			continue;
		}
		if (fd->type == VM_F_WCHARS) {
			size_t units = 0;
			while (units < count && off + 2 * units + 1 < len &&
			       (buf[off + 2 * units] || buf[off + 2 * units + 1]))
				units++;
			push(d, fd->name, -1, base + off, fd->type, 0, utf16le_to_utf8(buf + off, units));
			off += 2 * (uint64_t)count;
			continue;
		}
		if (fd->type == VM_F_CHARS) {
			char *hex = xmalloc(2 * (size_t)count + 1);
			for (unsigned i = 0; i < count; i++)
				snprintf(hex + 2 * i, 3, "%02x", off + i < len ? buf[off + i] : 0);
			push(d, fd->name, -1, base + off, fd->type, 0, hex);
			off += count;
			continue;
		}
		for (unsigned i = 0; i < count; i++) {
			uint64_t v = 0;
			if (off + sz <= len)
				memcpy(&v, buf + off, sz); /* the target's byte order is ours */
			if (fd->type == VM_F_I32)
				v = (uint64_t)(int64_t)(int32_t)(uint32_t)v;
			char *text = fd->type == VM_F_CSTR ? read_cstr(t, v) : fd->type == VM_F_WSTR ? read_wstr(t, v) : NULL;
			push(d, fd->name, count > 1 ? (int)i : -1, base + off, fd->type, v, text);
			off += sz;
		}
	}
	return (off + maxalign - 1) / maxalign * maxalign;
}

static const vm_field_desc *fixed_fields(const char *name, int bits, const uint8_t *ident)
{
	bool b64 = bits == 64;
	if (!strcmp(name, "ehdr")) /* the header says its own class */
		b64 = ident ? ident[4] == 2 : b64;
	if (!strcmp(name, "link_map")) return link_map_f;
	if (!strcmp(name, "r_debug")) return r_debug_f;
	if (!strcmp(name, "malloc_chunk")) return malloc_chunk_f;
	if (!strcmp(name, "ehdr")) return b64 ? ehdr64_f : ehdr32_f;
	if (!strcmp(name, "phdr")) return b64 ? phdr64_f : phdr32_f;
	if (!strcmp(name, "shdr")) return b64 ? shdr64_f : shdr32_f;
	if (!strcmp(name, "dyn")) return dyn_f;
	if (!strcmp(name, "sym")) return b64 ? sym64_f : sym32_f;
	if (!strcmp(name, "teb")) return teb_f;
	if (!strcmp(name, "peb")) return b64 ? peb64_f : peb32_f;
	if (!strcmp(name, "process_parameters")) return process_parameters_f;
	if (!strcmp(name, "kuser_shared_data")) return kuser_shared_data_f;
	return NULL;
}

static int decode_auxv(vm_target *t, int bits, uint64_t addr, vm_decoded *d)
{
	size_t w = bits == 32 ? 4 : 8;
	for (unsigned i = 0; i < 4096; i++) {
		uint64_t type = 0, val = 0;
		if (vm_read_full(t, addr + 2 * w * i, &type, w) < 0 ||
		    vm_read_full(t, addr + 2 * w * i + w, &val, w) < 0)
			return i ? 0 : -1;
		const char *nm = vm_auxv_name(type);
		push(d, nm ? nm : "AT_?", (int)type, addr + 2 * w * i, VM_F_WORD, val,
		     vm_auxv_is_string(type) ? read_cstr(t, val) : NULL);
		d->size += 2 * w;
		if (type == 0)
			break;
	}
	return 0;
}

int vm_struct_decode(vm_target *t, int bits, const char *glibc_version, const char *name,
		     uint64_t addr, unsigned count, vm_decoded *out)
{
	memset(out, 0, sizeof *out);
	out->addr = addr;
	if (!vm_struct_known(name)) {
		vm_seterr("unknown structure '%s'", name);
		return -1;
	}
	for (size_t i = 0; names[i]; i++)
		if (!strcmp(names[i], name))
			out->name = names[i];
	if (!strcmp(name, "auxv")) {
		if (decode_auxv(t, bits, addr, out) < 0) {
			vm_seterr("cannot read an auxiliary vector at 0x%llx", (unsigned long long)addr);
			return -1;
		}
		return 0;
	}
	vm_field_desc dyn[16];
	const vm_field_desc *fd;
	uint8_t ident[16] = { 0 };
	if (!strcmp(name, "ehdr"))
		vm_read(t, addr, ident, sizeof ident);
	fd = fixed_fields(name, bits, ident);
	if (!fd) {
		glibc_fields(name, bits, version_number(glibc_version), dyn);
		fd = dyn;
	}
	/* size of one: decode a zero buffer */
	vm_decoded probe = { 0 };
	uint8_t zero[4096] = { 0 };
	uint64_t one = decode_one(t, bits, fd, zero, 0, 0, &probe);
	vm_decoded_free(&probe);
	if (count == 0)
		count = 1;
	if (count > 65536 || one * count > (16u << 20)) {
		vm_seterr("too many structures (%u)", count);
		return -1;
	}
	size_t len = (size_t)(one * count);
	uint8_t *buf = xmalloc(len);
	ssize_t got = vm_read(t, addr, buf, len);
	if (got < (ssize_t)one) {
		free(buf);
		vm_seterr("cannot read a %s (%llu bytes) at 0x%llx", name, (unsigned long long)one,
			  (unsigned long long)(addr + (uint64_t)(got > 0 ? got : 0)));
		return -1;
	}
	for (unsigned i = 0; i < count && (uint64_t)(i + 1) * one <= (uint64_t)got; i++)
		decode_one(t, bits, fd, buf + i * one, (size_t)one, addr + i * one, out);
	out->size = one * count;
	free(buf);
	return 0;
}

void vm_decoded_free(vm_decoded *d)
{
	for (size_t i = 0; i < d->n; i++)
		free(d->f[i].text);
	free(d->f);
	memset(d, 0, sizeof *d);
}
