/* The whole PEB, TEB and KUSER_SHARED_DATA, and the loader's structures,
 * as Windows 10/11's public symbols lay them out (Wine keeps the same
 * offsets). Each table names every member; padding falls out of the
 * alignment (layouts.c places them), nested structures are flattened as
 * "Outer.Inner". */
#include "layouts_win.h"

#define F(n, t) { n, VM_F_##t, 1, NULL }
#define A(n, t, c) { n, VM_F_##t, c, NULL }
#define S(n, sub, c) { n, VM_F_STRUCT, c, sub }
#define END { NULL, VM_F_U8, 0, NULL }

/* a UNICODE_STRING, flattened; as a structure it starts word-aligned */
#define UNICODE_STRING(n) { "", VM_F_ALIGN, 1, NULL }, F(n ".Length", U16), F(n ".MaximumLength", U16), \
	F(n ".Buffer", WSTR)
#define LIST_ENTRY(n) F(n ".Flink", PTR), F(n ".Blink", PTR)
#define CLIENT_ID(n) F(n ".UniqueProcess", WORD), F(n ".UniqueThread", WORD)
#define KSYSTEM_TIME(n) F(n ".LowPart", U32), F(n ".High1Time", I32), F(n ".High2Time", I32)

/* ---- PEB ---- */

#define PEB_FIELDS(GDI_HANDLE_BUFFER)                                                                  \
	F("InheritedAddressSpace", U8), F("ReadImageFileExecOptions", U8), F("BeingDebugged", U8),      \
	F("BitField", U8), F("Mutant", PTR), F("ImageBaseAddress", PTR), F("Ldr", PTR),                \
	F("ProcessParameters", PTR), F("SubSystemData", PTR), F("ProcessHeap", PTR),                  \
	F("FastPebLock", PTR), F("AtlThunkSListPtr", PTR), F("IFEOKey", PTR),                         \
	F("CrossProcessFlags", U32), F("KernelCallbackTable", PTR), F("SystemReserved", U32),          \
	F("AtlThunkSListPtr32", U32), F("ApiSetMap", PTR), F("TlsExpansionCounter", U32),              \
	F("TlsBitmap", PTR), A("TlsBitmapBits", U32, 2), F("ReadOnlySharedMemoryBase", PTR),           \
	F("SharedData", PTR), F("ReadOnlyStaticServerData", PTR), F("AnsiCodePageData", PTR),          \
	F("OemCodePageData", PTR), F("UnicodeCaseTableData", PTR), F("NumberOfProcessors", U32),       \
	F("NtGlobalFlag", U32), F("CriticalSectionTimeout", U64), F("HeapSegmentReserve", WORD),       \
	F("HeapSegmentCommit", WORD), F("HeapDeCommitTotalFreeThreshold", WORD),                      \
	F("HeapDeCommitFreeBlockThreshold", WORD), F("NumberOfHeaps", U32),                           \
	F("MaximumNumberOfHeaps", U32), F("ProcessHeaps", PTR), F("GdiSharedHandleTable", PTR),        \
	F("ProcessStarterHelper", PTR), F("GdiDCAttributeList", U32), F("LoaderLock", PTR),            \
	F("OSMajorVersion", U32), F("OSMinorVersion", U32), F("OSBuildNumber", U16),                   \
	F("OSCSDVersion", U16), F("OSPlatformId", U32), F("ImageSubsystem", U32),                     \
	F("ImageSubsystemMajorVersion", U32), F("ImageSubsystemMinorVersion", U32),                   \
	F("ActiveProcessAffinityMask", WORD), A("GdiHandleBuffer", U32, GDI_HANDLE_BUFFER),            \
	F("PostProcessInitRoutine", PTR), F("TlsExpansionBitmap", PTR),                                \
	A("TlsExpansionBitmapBits", U32, 32), F("SessionId", U32), F("AppCompatFlags", U64),           \
	F("AppCompatFlagsUser", U64), F("pShimData", PTR), F("AppCompatInfo", PTR),                    \
	UNICODE_STRING("CSDVersion"), F("ActivationContextData", PTR),                                 \
	F("ProcessAssemblyStorageMap", PTR), F("SystemDefaultActivationContextData", PTR),            \
	F("SystemAssemblyStorageMap", PTR), F("MinimumStackCommit", WORD), A("SparePointers", PTR, 2), \
	F("PatchLoaderData", PTR), F("ChpeV2ProcessInfo", PTR), F("AppModelFeatureState", U32),        \
	A("SpareUlongs", U32, 2), F("ActiveCodePage", U16), F("OemCodePage", U16),                     \
	F("UseCaseMapping", U16), F("UnusedNlsField", U16), F("WerRegistrationData", PTR),            \
	F("WerShipAssertPtr", PTR), F("EcCodeBitMap", PTR), F("pImageHeaderHash", PTR),               \
	F("TracingFlags", U32), F("CsrServerReadOnlySharedMemoryBase", U64),                           \
	F("TppWorkerpListLock", WORD), LIST_ENTRY("TppWorkerpList"),                                  \
	A("WaitOnAddressHashTable", PTR, 128), F("TelemetryCoverageHeader", PTR),                      \
	F("CloudFileFlags", U32), F("CloudFileDiagFlags", U32), F("PlaceholderCompatibilityMode", U8), \
	A("PlaceholderCompatibilityModeReserved", U8, 7), F("LeapSecondData", PTR),                   \
	F("LeapSecondFlags", U32), F("NtGlobalFlag2", U32), END

const vm_field_desc win_peb32_f[] = { PEB_FIELDS(34) };
const vm_field_desc win_peb64_f[] = { PEB_FIELDS(60) };

/* ---- TEB ---- */

#define TEB_HEAD                                                                                       \
	F("NtTib.ExceptionList", PTR), F("NtTib.StackBase", PTR), F("NtTib.StackLimit", PTR),          \
	F("NtTib.SubSystemTib", PTR), F("NtTib.FiberData", PTR), F("NtTib.ArbitraryUserPointer", PTR), \
	F("NtTib.Self", PTR), F("EnvironmentPointer", PTR), CLIENT_ID("ClientId"),                    \
	F("ActiveRpcHandle", PTR), F("ThreadLocalStoragePointer", PTR),                                \
	F("ProcessEnvironmentBlock", PTR), F("LastErrorValue", U32),                                   \
	F("CountOfOwnedCriticalSections", U32), F("CsrClientThread", PTR), F("Win32ThreadInfo", PTR),  \
	A("User32Reserved", U32, 26), A("UserReserved", U32, 5), F("WOW32Reserved", PTR),              \
	F("CurrentLocale", U32), F("FpSoftwareStatusRegister", U32),                                   \
	A("ReservedForDebuggerInstrumentation", PTR, 16)
#define TEB_PLACEHOLDER                                                                                \
	F("PlaceholderCompatibilityMode", U8), F("PlaceholderHydrationAlwaysExplicit", U8),            \
	A("PlaceholderReserved", U8, 10), F("ProxiedProcessId", U32),                                  \
	F("ActivationStack.ActiveFrame", PTR), LIST_ENTRY("ActivationStack.FrameListCache"),           \
	F("ActivationStack.Flags", U32), F("ActivationStack.NextCookieSequenceNumber", U32),           \
	F("ActivationStack.StackId", U32), { "", VM_F_ALIGN, 1, NULL },                                \
	A("WorkingOnBehalfTicket", U8, 8), F("ExceptionCode", I32),                                    \
	F("ActivationContextStackPointer", PTR), F("InstrumentationCallbackSp", WORD),                 \
	F("InstrumentationCallbackPreviousPc", WORD), F("InstrumentationCallbackPreviousSp", WORD)
#define TEB_GDI                                                                                        \
	F("GdiTebBatch.Offset", U32), F("GdiTebBatch.HDC", WORD), A("GdiTebBatch.Buffer", U32, 310),   \
	CLIENT_ID("RealClientId"), F("GdiCachedProcessHandle", PTR), F("GdiClientPID", U32),           \
	F("GdiClientTID", U32), F("GdiThreadLocalInfo", PTR), A("Win32ClientInfo", WORD, 62),          \
	A("glDispatchTable", PTR, 233), A("glReserved1", WORD, 29), F("glReserved2", PTR),             \
	F("glSectionInfo", PTR), F("glSection", PTR), F("glTable", PTR), F("glCurrentRC", PTR),        \
	F("glContext", PTR), F("LastStatusValue", U32), UNICODE_STRING("StaticUnicodeString"),         \
	A("StaticUnicodeBuffer", WCHARS, 261), F("DeallocationStack", PTR), A("TlsSlots", PTR, 64),    \
	LIST_ENTRY("TlsLinks"), F("Vdm", PTR), F("ReservedForNtRpc", PTR),                             \
	A("DbgSsReserved", PTR, 2), F("HardErrorMode", U32)
#define TEB_TAIL1                                                                                      \
	A("ActivityId", CHARS, 16), F("SubProcessTag", PTR), F("PerflibData", PTR),                    \
	F("EtwTraceData", PTR), F("WinSockData", PTR), F("GdiBatchCount", U32),                        \
	F("CurrentIdealProcessor", U32), F("GuaranteedStackBytes", U32), F("ReservedForPerf", PTR),    \
	F("ReservedForOle", PTR), F("WaitingOnLoaderLock", U32), F("SavedPriorityState", PTR),         \
	F("ReservedForCodeCoverage", WORD), F("ThreadPoolData", PTR), F("TlsExpansionSlots", PTR)
#define TEB_TAIL2                                                                                      \
	F("MuiGeneration", U32), F("IsImpersonating", U32), F("NlsCache", PTR), F("pShimData", PTR),   \
	F("HeapData", U32), F("CurrentTransactionHandle", PTR), F("ActiveFrame", PTR),                 \
	F("FlsData", PTR), F("PreferredLanguages", PTR), F("UserPrefLanguages", PTR),                  \
	F("MergedPrefLanguages", PTR), F("MuiImpersonation", U32), F("CrossTebFlags", U16),            \
	F("SameTebFlags", U16), F("TxnScopeEnterCallback", PTR), F("TxnScopeExitCallback", PTR),       \
	F("TxnScopeContext", PTR), F("LockCount", U32), F("WowTebOffset", I32),                        \
	F("ResourceRetValue", PTR), F("ReservedForWdf", PTR), F("ReservedForCrt", U64),                \
	A("EffectiveContainerId", CHARS, 16), END

/* x86: SystemReserved1[26], spare bytes before TxFsContext, 9
 * Instrumentation slots, no backing store */
const vm_field_desc win_teb32_f[] = {
	TEB_HEAD, A("SystemReserved1", PTR, 26), TEB_PLACEHOLDER, F("InstrumentationCallbackDisabled", U8),
	A("SpareBytes", U8, 23), F("TxFsContext", U32), TEB_GDI, A("Instrumentation", PTR, 9), TEB_TAIL1,
	TEB_TAIL2,
};
const vm_field_desc win_teb64_f[] = {
	TEB_HEAD, A("SystemReserved1", PTR, 30), TEB_PLACEHOLDER, F("TxFsContext", U32),
	F("InstrumentationCallbackDisabled", U8), F("UnalignedLoadStoreExceptions", U8), TEB_GDI,
	A("Instrumentation", PTR, 11), TEB_TAIL1, F("DeallocationBStore", PTR), F("BStoreLimit", PTR), TEB_TAIL2,
};

/* ---- the process parameters and the loader's lists ---- */

/* RTL_DRIVE_LETTER_CURDIR: the CurrentDirectores array's element */
static const vm_field_desc drive_curdir_f[] = {
	F("Flags", U16), F("Length", U16), F("TimeStamp", U32), F("DosPath.Length", U16),
	F("DosPath.MaximumLength", U16), F("DosPath.Buffer", PTR), END,
};
const vm_field_desc win_process_parameters_f[] = {
	F("MaximumLength", U32), F("Length", U32), F("Flags", U32), F("DebugFlags", U32),
	F("ConsoleHandle", PTR), F("ConsoleFlags", U32), F("StandardInput", PTR), F("StandardOutput", PTR),
	F("StandardError", PTR), UNICODE_STRING("CurrentDirectory.DosPath"), F("CurrentDirectory.Handle", PTR),
	UNICODE_STRING("DllPath"), UNICODE_STRING("ImagePathName"), UNICODE_STRING("CommandLine"),
	F("Environment", PTR), F("StartingX", U32), F("StartingY", U32), F("CountX", U32),
	F("CountY", U32), F("CountCharsX", U32), F("CountCharsY", U32), F("FillAttribute", U32),
	F("WindowFlags", U32), F("ShowWindowFlags", U32), UNICODE_STRING("WindowTitle"),
	UNICODE_STRING("DesktopInfo"), UNICODE_STRING("ShellInfo"), UNICODE_STRING("RuntimeData"),
	S("CurrentDirectores", drive_curdir_f, 32), F("EnvironmentSize", WORD), END,
};
const vm_field_desc win_peb_ldr_data_f[] = {
	F("Length", U32), F("Initialized", U8), F("SsHandle", PTR), LIST_ENTRY("InLoadOrderModuleList"),
	LIST_ENTRY("InMemoryOrderModuleList"), LIST_ENTRY("InInitializationOrderModuleList"), END,
};
const vm_field_desc win_ldr_data_table_entry_f[] = {
	LIST_ENTRY("InLoadOrderLinks"), LIST_ENTRY("InMemoryOrderLinks"),
	LIST_ENTRY("InInitializationOrderLinks"), F("DllBase", PTR), F("EntryPoint", PTR),
	F("SizeOfImage", U32), UNICODE_STRING("FullDllName"), UNICODE_STRING("BaseDllName"), END,
};

/* ---- KUSER_SHARED_DATA (0x7ffe0000 in every process; one layout for
 * both word sizes: it has no pointers). Windows 10 20H1's; XState's
 * Features are {Offset, Size} pairs, shown as one 64-bit word each ---- */

const vm_field_desc win_kuser_shared_data_f[] = {
	F("TickCountLowDeprecated", U32), F("TickCountMultiplier", U32), KSYSTEM_TIME("InterruptTime"),
	KSYSTEM_TIME("SystemTime"), KSYSTEM_TIME("TimeZoneBias"), F("ImageNumberLow", U16),
	F("ImageNumberHigh", U16), A("NtSystemRoot", WCHARS, 260), F("MaxStackTraceDepth", U32),
	F("CryptoExponent", U32), F("TimeZoneId", U32), F("LargePageMinimum", U32),
	F("AitSamplingValue", U32), F("AppCompatFlag", U32), F("RNGSeedVersion", U64),
	F("GlobalValidationRunlevel", U32), F("TimeZoneBiasStamp", I32), F("NtBuildNumber", U32),
	F("NtProductType", U32), F("ProductTypeIsValid", U8), F("Reserved0", U8),
	F("NativeProcessorArchitecture", U16), F("NtMajorVersion", U32), F("NtMinorVersion", U32),
	A("ProcessorFeatures", U8, 64), F("Reserved1", U32), F("Reserved3", U32), F("TimeSlip", U32),
	F("AlternativeArchitecture", U32), F("BootId", U32), F("SystemExpirationDate", U64),
	F("SuiteMask", U32), F("KdDebuggerEnabled", U8), F("MitigationPolicies", U8),
	F("CyclesPerYield", U16), F("ActiveConsoleId", U32), F("DismountCount", U32),
	F("ComPlusPackage", U32), F("LastSystemRITEventTickCount", U32), F("NumberOfPhysicalPages", U32),
	F("SafeBootMode", U8), F("VirtualizationFlags", U8), A("Reserved12", U8, 2),
	F("SharedDataFlags", U32), F("DataFlagsPad", U32), F("TestRetInstruction", U64),
	F("QpcFrequency", U64), F("SystemCall", U32), F("Reserved2", U32), A("SystemCallPad", U64, 2),
	KSYSTEM_TIME("TickCount"), F("TickCountPad", U32), F("Cookie", U32), F("CookiePad", U32),
	F("ConsoleSessionForegroundProcessId", U64), F("TimeUpdateLock", U64),
	F("BaselineSystemTimeQpc", U64), F("BaselineInterruptTimeQpc", U64),
	F("QpcSystemTimeIncrement", U64), F("QpcInterruptTimeIncrement", U64),
	F("QpcSystemTimeIncrementShift", U8), F("QpcInterruptTimeIncrementShift", U8),
	F("UnparkedProcessorCount", U16), A("EnclaveFeatureMask", U32, 4), F("TelemetryCoverageRound", U32),
	A("UserModeGlobalLogger", U16, 16), F("ImageFileExecutionOptions", U32), F("LangGenerationCount", U32),
	F("Reserved4", U64), F("InterruptTimeBias", U64), F("QpcBias", U64), F("ActiveProcessorCount", U32),
	F("ActiveGroupCount", U8), F("Reserved9", U8), F("QpcData", U16), F("TimeZoneBiasEffectiveStart", U64),
	F("TimeZoneBiasEffectiveEnd", U64), F("XState.EnabledFeatures", U64),
	F("XState.EnabledVolatileFeatures", U64), F("XState.Size", U32), F("XState.ControlFlags", U32),
	A("XState.Features", U64, 64), F("XState.EnabledSupervisorFeatures", U64),
	F("XState.AlignedFeatures", U64), F("XState.AllFeatureSize", U32), A("XState.AllFeatures", U32, 64),
	F("XState.EnabledUserVisibleSupervisorFeatures", U64), KSYSTEM_TIME("FeatureConfigurationChangeStamp"),
	F("Spare", U32), END,
};
