/* Names for the numbers in PE and COFF headers (winnt.h's, without the
 * IMAGE_ prefixes). */
#include <stdio.h>
#include <string.h>

#include "vmatlas/pe.h"

const char *pe_machine_name(uint16_t m)
{
	switch (m) {
	case 0: return "UNKNOWN";
	case 0x14c: return "I386";
	case 0x166: return "R4000";
	case 0x1c0: return "ARM";
	case 0x1c2: return "THUMB";
	case 0x1c4: return "ARMNT";
	case 0x1f0: return "POWERPC";
	case 0x1f1: return "POWERPCFP";
	case 0x200: return "IA64";
	case 0x5032: return "RISCV32";
	case 0x5064: return "RISCV64";
	case 0x6232: return "LOONGARCH32";
	case 0x6264: return "LOONGARCH64";
	case 0x8664: return "AMD64";
	case 0x9041: return "M32R";
	case 0xa641: return "ARM64EC";
	case 0xa64e: return "ARM64X";
	case 0xaa64: return "ARM64";
	case 0xebc: return "EBC";
	default: return "?";
	}
}

const char *pe_subsystem_name(uint16_t s)
{
	static const char *const n[] = { "UNKNOWN", "NATIVE", "WINDOWS_GUI", "WINDOWS_CUI", "?", "OS2_CUI", "?",
					 "POSIX_CUI", "NATIVE_WINDOWS", "WINDOWS_CE_GUI", "EFI_APPLICATION",
					 "EFI_BOOT_SERVICE_DRIVER", "EFI_RUNTIME_DRIVER", "EFI_ROM", "XBOX", "?",
					 "WINDOWS_BOOT_APPLICATION" };
	return s < sizeof n / sizeof n[0] ? n[s] : "?";
}

const char *pe_dir_name(int i)
{
	static const char *const n[PE_NUM_DIRS] = { "EXPORT", "IMPORT", "RESOURCE", "EXCEPTION", "SECURITY",
						    "BASERELOC", "DEBUG", "ARCHITECTURE", "GLOBALPTR", "TLS",
						    "LOAD_CONFIG", "BOUND_IMPORT", "IAT", "DELAY_IMPORT",
						    "COM_DESCRIPTOR", "RESERVED" };
	return i >= 0 && i < PE_NUM_DIRS ? n[i] : "?";
}

static const char *flags(uint64_t v, const char *const *names, int nbits, char *buf, size_t n)
{
	size_t at = 0;
	buf[0] = 0;
	for (int i = 0; i < nbits && at < n; i++) {
		if (!(v >> i & 1))
			continue;
		char hex[16];
		const char *name = names[i];
		if (!name) {
			snprintf(hex, sizeof hex, "0x%llx", 1ull << i);
			name = hex;
		}
		int w = snprintf(buf + at, n - at, "%s%s", at ? "|" : "", name);
		if (w < 0)
			break;
		at += (size_t)w;
	}
	return buf;
}

const char *pe_file_flags(uint16_t c, char *buf, size_t n)
{
	static const char *const names[16] = { "RELOCS_STRIPPED", "EXECUTABLE_IMAGE", "LINE_NUMS_STRIPPED",
					       "LOCAL_SYMS_STRIPPED", "AGGRESIVE_WS_TRIM", "LARGE_ADDRESS_AWARE",
					       NULL, "BYTES_REVERSED_LO", "32BIT_MACHINE", "DEBUG_STRIPPED",
					       "REMOVABLE_RUN_FROM_SWAP", "NET_RUN_FROM_SWAP", "SYSTEM", "DLL",
					       "UP_SYSTEM_ONLY", "BYTES_REVERSED_HI" };
	return flags(c, names, 16, buf, n);
}

const char *pe_dll_flags(uint16_t c, char *buf, size_t n)
{
	static const char *const names[16] = { NULL, NULL, NULL, NULL, NULL, "HIGH_ENTROPY_VA", "DYNAMIC_BASE",
					       "FORCE_INTEGRITY", "NX_COMPAT", "NO_ISOLATION", "NO_SEH", "NO_BIND",
					       "APPCONTAINER", "WDM_DRIVER", "GUARD_CF", "TERMINAL_SERVER_AWARE" };
	return flags(c, names, 16, buf, n);
}

const char *pe_section_flags(uint32_t c, char *buf, size_t n)
{
	static const char *const names[32] = {
		NULL, NULL, NULL, "TYPE_NO_PAD", NULL, "CNT_CODE", "CNT_INITIALIZED_DATA",
		"CNT_UNINITIALIZED_DATA", "LNK_OTHER", "LNK_INFO", NULL, "LNK_REMOVE", "LNK_COMDAT", NULL, NULL,
		"GPREL", NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, "LNK_NRELOC_OVFL", "MEM_DISCARDABLE",
		"MEM_NOT_CACHED", "MEM_NOT_PAGED", "MEM_SHARED", "MEM_EXECUTE", "MEM_READ", "MEM_WRITE" };
	/* bits 20-23 are the alignment, a number */
	size_t at = 0;
	uint32_t align = c >> 20 & 0xf;
	flags(c & ~0x00f00000u, names, 32, buf, n);
	at = strlen(buf);
	if (align && at < n)
		snprintf(buf + at, n - at, "%sALIGN_%uBYTES", at ? "|" : "", 1u << (align - 1));
	return buf;
}

const char *pe_reloc_type_name(uint16_t machine, int type)
{
	switch (type) {
	case 0: return "ABSOLUTE";
	case 1: return "HIGH";
	case 2: return "LOW";
	case 3: return "HIGHLOW";
	case 4: return "HIGHADJ";
	case 5: return machine == 0x1c0 || machine == 0x1c4 ? "ARM_MOV32" : machine == 0x5064 ? "RISCV_HIGH20" : "MIPS_JMPADDR";
	case 7: return machine == 0x1c4 ? "THUMB_MOV32" : machine == 0x5064 ? "RISCV_LOW12I" : "7";
	case 8: return machine == 0x5064 ? "RISCV_LOW12S" : "8";
	case 9: return "MIPS_JMPADDR16";
	case 10: return "DIR64";
	default: return "?";
	}
}

const char *pe_resource_type_name(uint32_t t)
{
	static const char *const n[25] = { NULL, "CURSOR", "BITMAP", "ICON", "MENU", "DIALOG", "STRING",
					   "FONTDIR", "FONT", "ACCELERATOR", "RCDATA", "MESSAGETABLE",
					   "GROUP_CURSOR", NULL, "GROUP_ICON", NULL, "VERSION", "DLGINCLUDE", NULL,
					   "PLUGPLAY", "VXD", "ANICURSOR", "ANIICON", "HTML", "MANIFEST" };
	return t < 25 && n[t] ? n[t] : NULL;
}

const char *pe_debug_type_name(uint32_t t)
{
	static const char *const n[] = { "UNKNOWN", "COFF", "CODEVIEW", "FPO", "MISC", "EXCEPTION", "FIXUP",
					 "OMAP_TO_SRC", "OMAP_FROM_SRC", "BORLAND", "RESERVED10", "CLSID",
					 "VC_FEATURE", "POGO", "ILTCG", "MPX", "REPRO", "EMBEDDED_PORTABLE_PDB",
					 "SPGO", "PDBCHECKSUM", "EX_DLLCHARACTERISTICS" };
	return t < sizeof n / sizeof n[0] ? n[t] : "?";
}

const char *pe_storage_class_name(uint8_t c)
{
	switch (c) {
	case 0: return "NULL";
	case 1: return "AUTOMATIC";
	case 2: return "EXTERNAL";
	case 3: return "STATIC";
	case 4: return "REGISTER";
	case 5: return "EXTERNAL_DEF";
	case 6: return "LABEL";
	case 7: return "UNDEFINED_LABEL";
	case 8: return "MEMBER_OF_STRUCT";
	case 9: return "ARGUMENT";
	case 10: return "STRUCT_TAG";
	case 11: return "MEMBER_OF_UNION";
	case 12: return "UNION_TAG";
	case 13: return "TYPE_DEFINITION";
	case 14: return "UNDEFINED_STATIC";
	case 15: return "ENUM_TAG";
	case 16: return "MEMBER_OF_ENUM";
	case 17: return "REGISTER_PARAM";
	case 18: return "BIT_FIELD";
	case 100: return "BLOCK";
	case 101: return "FUNCTION";
	case 102: return "END_OF_STRUCT";
	case 103: return "FILE";
	case 104: return "SECTION";
	case 105: return "WEAK_EXTERNAL";
	case 107: return "CLR_TOKEN";
	case 255: return "END_OF_FUNCTION";
	default: return "?";
	}
}

const char *pe_coff_reloc_name(uint16_t machine, uint16_t type)
{
	if (machine == 0x8664) {
		static const char *const n[] = { "ABSOLUTE", "ADDR64", "ADDR32", "ADDR32NB", "REL32", "REL32_1",
						 "REL32_2", "REL32_3", "REL32_4", "REL32_5", "SECTION", "SECREL",
						 "SECREL7", "TOKEN", "SREL32", "PAIR", "SSPAN32" };
		return type < sizeof n / sizeof n[0] ? n[type] : "?";
	}
	if (machine == 0x14c) {
		switch (type) {
		case 0: return "ABSOLUTE";
		case 1: return "DIR16";
		case 2: return "REL16";
		case 6: return "DIR32";
		case 7: return "DIR32NB";
		case 9: return "SEG12";
		case 10: return "SECTION";
		case 11: return "SECREL";
		case 12: return "TOKEN";
		case 13: return "SECREL7";
		case 20: return "REL32";
		default: return "?";
		}
	}
	if (machine == 0xaa64) {
		static const char *const n[] = { "ABSOLUTE", "ADDR32", "ADDR32NB", "BRANCH26", "PAGEBASE_REL21",
						 "REL21", "PAGEOFFSET_12A", "PAGEOFFSET_12L", "SECREL",
						 "SECREL_LOW12A", "SECREL_HIGH12A", "SECREL_LOW12L", "TOKEN",
						 "SECTION", "ADDR64", "BRANCH19", "BRANCH14", "REL32" };
		return type < sizeof n / sizeof n[0] ? n[type] : "?";
	}
	return "?";
}

void pe_guid_format(const uint8_t g[16], char out[39])
{
	snprintf(out, 39, "{%02X%02X%02X%02X-%02X%02X-%02X%02X-%02X%02X-%02X%02X%02X%02X%02X%02X}", g[3], g[2], g[1],
		 g[0], g[5], g[4], g[7], g[6], g[8], g[9], g[10], g[11], g[12], g[13], g[14], g[15]);
}
