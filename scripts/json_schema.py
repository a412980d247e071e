#!/usr/bin/env python3
"""The JSON Schema of every command's --json output, docs/json-schema.json.

    scripts/json_schema.py > docs/json-schema.json

This file is its source (a schema in a few lines of Python per document);
docs/json.md says the same in words. tests/integration/test_docs.py checks
that the JSON file is what this script prints, that every member named here
is named in docs/json.md, and validates the output of every command on a
live process, a core and a minidump against it. The members of a document
are closed (additionalProperties: false) down to the level json.md
describes: a member the program adds without documenting it fails there."""
import json

A = {"$ref": "#/$defs/address"}
S = {"type": "string"}
I = {"type": "integer"}
B = {"type": "boolean"}
N = {"type": "number"}
NULL = {"type": "null"}
ANY = {}


def ref(name):
    return {"$ref": "#/$defs/" + name}


def arr(items=None):
    return {"type": "array", "items": items} if items is not None else {"type": "array"}


def null(x):
    return {"anyOf": [x, NULL]}


def enum(*v):
    return {"enum": list(v)}


def obj(req, opt=None, open_=False):
    """an object: req always there, opt may be left out"""
    opt = opt or {}
    return {"type": "object", "properties": {**req, **opt}, "required": list(req),
            "additionalProperties": open_}


def free(**props):
    """an object whose members are not all listed (image parts json.md
    describes with "…")"""
    return {"type": "object", "properties": props, "additionalProperties": True}


USAGES = ["image", "mapped", "shareable", "heap", "stack", "private", "system", "reserved", "free"]
STATS = ["rss", "pss", "shared_clean", "shared_dirty", "private_clean", "private_dirty", "referenced",
         "anonymous", "swap", "swap_pss", "locked", "thp"]

defs = {
    "address": {"type": "string", "pattern": "^0x[0-9a-f]+$",
                "description": "an address (or a 64-bit value) as a hex string"},
    "target": obj({"kind": enum("linux-process", "elf-core", "minidump", "windows-process"),
                   "pid": I, "name": null(S), "exe": null(S), "os": S, "arch": S, "bits": enum(32, 64),
                   "page_size": I, "user_top": A},
                  {"signal": free(number=I, name=null(S), code=I, addr=A, sender_pid=I),
                   "exception": obj({"code": A, "addr": A, "tid": I}),
                   "os_version": obj({"major": I, "minor": I, "build": I, "platform_id": I, "product_type": I,
                                      "suite_mask": I, "csd": null(S)},
                                     {"source": enum("systeminfo", "peb", "kuser")})}),
    "summary_row": obj({"size": I, "committed": I, "rss": null(I), "private": null(I), "shared": null(I),
                        "swap": null(I),
                        "blocks": I, "largest": I}, {"usage": enum(*USAGES)}),
    "content": obj({"kind": enum("header", "section", "segment", "directory", "stack", "guard", "tls",
                                 "heap", "sysdata", "code"),
                    "name": S, "addr": A, "size": I},
                   {"tid": I, "module": S, "detail": S}),
    "pages": obj({"present": I, "swapped": null(I), "exclusive": I, "shared": I, "mapcount_known": B,
                  "runs": arr(obj({"addr": A, "count": I, "flags": arr(S), "kpageflags": A},
                                  {"mapcount": I, "prot": S, "protect_flags": arr(S)}))}),
    "region": obj({"base": A, "size": I, "state": enum("commit", "reserve", "free"), "prot": null(S),
                   "type": enum("image", "mapped", "private", "shareable", "special", "none"),
                   "usage": enum(*USAGES), "path": null(S), "offset": A, "contents": arr(ref("content"))},
                  {"deleted": B, "dumped": I, "from_file": B, "protect_flags": arr(S), "alloc_base": A,
                   "alloc_protect": S, "inode": I, "dev": S, "thp_eligible": null(B), "pages": ref("pages"),
                   "vma_continues": B, "bpm_debugger": I, "private": I, "shared": I,
                   # null: a Windows working set does not say
                   **{k: I if k in ("rss", "locked") else null(I) for k in STATS}}),
    "allocation": obj({"base": A, "size": I, "usage": enum(*USAGES), "details": null(S),
                       "regions": arr(ref("region"))},
                      {"grouping": null(enum("exact", "heuristic"))}),
    "module": obj({"name": S, "path": null(S), "base": A, "size": I, "format": enum("elf", "pe"),
                   "bits": I, "build_id": null(S), "sources": arr(enum("loader", "regions", "manual", "peb_ldr")),
                   "load_bias": A},
                  {"type": S, "entry": A, "deleted": B, "dynamic": A, "link_map": A, "loader_name": S,
                   "symbols": null(S)}),
    "stack": obj({"base": A, "size": I}, {"used": null(I), "top": A, "high_water": I, "guard": A, "guard_size": I}),
    "thread": obj({"tid": I, "name": null(S), "state": S, "main": B, "pc": null(A), "sp": null(A),
                   "stack": null(ref("stack"))},
                  {"pc_symbol": S, "tls": null(A)}),
    "frame": obj({"pc": A, "sp": A, "return_address": null(A), "symbol": S, "module": null(S),
                  "function": null(S), "method": enum("registers", "cfi", "pdata", "fp", "scan", "seh")},
                 {"file": S, "line": I, "signal": B, "mangled": S}),
    "thread_detail": obj({"tid": I, "name": null(S), "state": S, "main": B, "pc": null(A), "sp": null(A),
                          "stack": null(ref("stack")), "tls": null(A), "start": null(A),
                          "start_symbol": null(S), "frames": arr(ref("frame"))},
                         {"fp": A, "registers": {"type": "object", "additionalProperties": A},
                          "start_source": S, "unwind_note": S, "pc_symbol": S, "tracer": I,
                          "exception_context": B,
                          "seh": obj({"complete": B, "found_by": enum("teb", "stack"),
                                      "records": arr(obj({"addr": A, "next": A, "handler": A,
                                                          "handler_symbol": S}))})}),
    "string_at": obj({"addr": A, "value": S}),
    "hole": obj({"addr": A, "size": I}),
    "short_region": obj({"base": A, "size": I, "prot": null(S), "state": S, "usage": S, "path": null(S)}),
    "bins": obj({"count": I, "bytes": I}),
    "struct": obj({"addr": A, "struct": S, "size": I,
                   "fields": arr(obj({"addr": A, "offset": I, "name": S,
                                      "type": enum("u8", "u16", "u32", "u64", "i32", "word", "ptr", "cstr",
                                                   "bytes", "wstr", "wchars"),
                                      "value": {"anyOf": [A, I, S]}},
                                     {"index": I, "points_to": S, "string": S}))}),
}

docs = {
    "map": obj({"target": ref("target"), "frozen": B, "incomplete": B, "warnings": arr(S),
                "summary": arr(ref("summary_row")), "total": ref("summary_row"),
                "allocations": arr(ref("allocation")), "modules": arr(ref("module")),
                "threads": arr(ref("thread"))}),
    "modules": obj({"modules": arr(ref("module"))}),
    "sym": arr({"anyOf": [
        obj({"addr": A, "module": null(S), "symbol": null(S), "offset": I, "text": S},
            {"file": S, "line": I, "mangled": S, "alias_of": A,
             "region": null(obj({"base": A, "size": I, "usage": S, "path": null(S)}))}),
        obj({"input": S, "error": S, "text": S})]}),
    "exports": arr(obj({"module": S, "name": S, "version": null(S), "addr": null(A), "size": I, "kind": S,
                        "bind": S, "exported": B, "forwarder": null(S)}, {"default_version": B, "mangled": S})),
    "threads": obj({"thread_db": null(S), "threads": arr(ref("thread_detail"))}),
    "heap": {"anyOf": [
        obj({"allocator": enum("glibc"), "version": null(S), "main_arena": A,
             "main_arena_source": enum("symbol", "scan"), "tcache_source": null(enum("thread_db", "tls", "scan")),
             "arenas": arr(obj({"id": I, "addr": A, "main": B, "top": A, "top_size": I, "system_mem": I,
                                "in_use": I, "in_use_chunks": I, "free": I, "free_chunks": I,
                                "largest_free": I, "fragmentation": N,
                                "bins": obj({k: ref("bins") for k in ("tcache", "fastbin", "unsorted",
                                                                      "small", "large", "none")})})),
             "heaps": arr(obj({"kind": enum("brk", "heap", "mmapped"), "id": I, "base": A, "size": I,
                               "arena": null(A), "in_use_chunks": I, "free_chunks": I, "in_use": I,
                               "free": I, "cut_short": B},
                              {"chunks": arr(obj({"addr": A, "user": A, "size": I, "usable": I,
                                                  "state": enum("used", "free", "top"), "bin": null(S)},
                                                 {"bin_index": I, "fd": A, "bk": A}))})),
             "mmapped": obj({"count": I, "bytes": I}),
             "problems": arr(obj({"addr": A, "what": S}))}),
        obj({"allocator": enum("nt"), "layout": S, "process_heap": null(A),
             "heaps": arr(obj({"id": I, "addr": A, "process": B, "source": enum("peb", "peb-list", "heap-list", "scan"),
                               "flags": I, "segments": I, "large_blocks": I, "large_bytes": I, "committed": I,
                               "reserved": I, "in_use": I, "in_use_blocks": I, "free": I, "free_blocks": I,
                               "largest_free": I, "walked": B, "note": null(S),
                               "front_end": null(enum("none", "lookaside", "lfh")), "lfh_user_blocks": I,
                               "lfh_blocks": I, "lfh_busy": I})),
             "segments": arr(obj({"kind": enum("segment", "large"), "heap": I, "heap_addr": A, "base": A, "size": I,
                                  "committed": I, "in_use_blocks": I, "free_blocks": I, "in_use": I, "free": I,
                                  "cut_short": B},
                                 {"blocks": arr(obj({"addr": A, "user": A, "size": I, "user_size": I,
                                                     "state": enum("busy", "free"),
                                                     "lfh": null(obj({"subsegment": A, "bucket": I, "block_size": I,
                                                                      "blocks": I, "busy": I}))}))})),
             "problems": arr(obj({"addr": A, "what": S}))})]},
    "env": {"anyOf": [
        obj({"exe": null(S), "cwd": null(S), "argv": arr(ref("string_at")), "envp": arr(ref("string_at")),
             "environ": obj({"valid": B}, {"variable": A, "array": A, "live": arr(ref("string_at")),
                                            "added": arr(S), "changed": arr(obj({"live": S, "initial": S})),
                                            "removed": arr(S), "note": S}),
             "auxv": arr(obj({"type": I, "name": S, "value": A}, {"string": S})),
             "link_map": arr(obj({"addr": A, "l_addr": A, "l_ld": A, "name": S, "module": null(S)})),
             "vdso": arr(obj({"name": S, "addr": A, "size": I}))},
            {"area_overwritten": B, "area_now": S}),
        obj({"exe": null(S)},
            {"peb": obj({"addr": null(A), "teb": null(A), "BeingDebugged": null(I), "ImageBaseAddress": null(A),
                         "Ldr": null(A), "ProcessParameters": null(A), "ProcessHeap": null(A),
                         "NumberOfHeaps": null(I), "ProcessHeaps": null(A)}),
             "loader_list_note": S,
             "handle_list": arr(obj({"handle": A, "type": null(S), "name": null(S), "attributes": I,
                                     "granted_access": I, "handle_count": I, "pointer_count": I})),
             "command_line": null(S), "image_path": null(S), "current_directory": null(S),
             "environment_block": null(A), "environment": arr(ref("string_at")), "heaps": arr(A),
             "loader_list": arr(obj({"entry": A, "base": A, "size": I, "entry_point": A, "full_name": null(S),
                                     "base_name": null(S)})),
             "handles": I,
             "unloaded_modules": arr(obj({"base": A, "size": I, "path": null(S)})),
             "note": null(S)})]},
    "view": {"anyOf": [
        obj({"addr": A, "len": I, "unit": S, "bytes": S},
            {"values": arr(obj({"addr": A, "value": A}, {"points_to": S})), "unreadable_from": A}),
        ref("struct"),
        arr(ref("struct"))]},
    "whatis": arr(obj({"addr": A, "region": null(obj({"base": A, "size": I, "state": S, "prot": null(S), "type": S,
                                                       "usage": S, "path": null(S)})), "free_gap": null(B),
                       "allocation": null(obj({"base": A, "size": I, "usage": S, "details": null(S)})),
                       "module": null(S), "contents": arr(ref("content")),
                       "heap": null(obj({"chunk": A, "user": A, "size": I, "state": S, "bin": null(S),
                                         "arena": null(I), "mmapped": B},
                                        {"allocator": enum("nt"), "heap_addr": A, "user_size": I,
                                         "lfh": null(obj({"subsegment": A, "bucket": I, "block_size": I,
                                                          "blocks": I, "busy": I}))})),
                       "thread": null(obj({"tid": I, "name": null(S), "in_use": B},
                                          {"frame": obj({"index": I, "pc": A, "sp": A, "symbol": S,
                                                         "method": S}),
                                           "seh_record": obj({"index": I, "addr": A, "handler": A})})),
                       "object": null(obj({"class": S, "addr": A, "vtable": A}))},
                      {"symbol": S})),
    "search": obj({"pattern": S,
                   "hits": arr(obj({"addr": A, "region": obj({"base": A, "size": I, "path": null(S)}),
                                    "usage": S}, {"symbol": S, "len": I})),
                   "scanned": I, "total": I, "seconds": N, "truncated": B, "holes": arr(ref("hole"))}),
    "ps": obj({"processes": arr(obj({"pid": I, "ppid": I, "name": null(S), "exe": null(S), "user": null(S),
                                     "bits": null(I)}))}),
    "dump": obj({"file": S, "format": enum("raw", "elf"), "addr": A, "size": I, "written": I,
                 "holes": arr(ref("hole"))}),
    "snapshot": obj({"file": S, "bytes": I, "regions": I, "data": B}),
    "report": obj({"file": S, "bytes": I, "regions": I, "allocations": I}),
    "capture": obj({"file": S, "bytes": I, "memory": I, "segments": I, "threads": I, "unreadable": I,
                    "private_only": B}),
    "diff": obj({"regions": obj({"added": arr(ref("short_region")), "removed": arr(ref("short_region")),
                                 "changed": arr(obj({"before": ref("short_region"),
                                                     "after": ref("short_region"),
                                                     "what": arr(enum("resized", "reprotected", "state",
                                                                      "path"))}))}),
                 "modules": obj({"added": arr(obj({"name": S, "path": null(S), "base": A})),
                                 "removed": arr(obj({"name": S, "path": null(S), "base": A}))}),
                 "threads": obj({"added": arr(obj({"tid": I, "name": null(S)})),
                                 "removed": arr(obj({"tid": I, "name": null(S)}))}),
                 "heaps": obj({"arenas": arr(obj({"addr": A, "in_use": arr(null(I)), "chunks": arr(null(I)),
                                                  "system_mem": arr(null(I))}))},
                              {"allocated": arr(ref("hole")), "freed": arr(ref("hole"))}),
                 "pages_changed": null(arr(obj({"addr": A, "size": I, "region": A, "usage": S,
                                                "path": null(S)})))}),
    "scan": obj({"file": S, "type": S, "pid": I, "round": I, "before": I, "candidates": I, "unreadable": I,
                 "shown": arr(obj({"addr": A, "value": null(S)},
                                  {"previous": S, "region": A, "usage": S, "symbol": S}))}),
    "track": {"anyOf": [
        obj({"soft_dirty": B, "soft_dirty_detail": S, "uffd_wp_async": B, "uffd_detail": S,
             "method": null(enum("soft-dirty", "uffd-wp"))}),
        obj({"state": S, "method": enum("soft-dirty", "uffd-wp"), "pid": I, "seconds": N, "stopped": B,
             "tracked": obj({"ranges": I, "bytes": I}),
             "skipped": arr(obj({"addr": A, "size": I, "why": S})), "written_bytes": I,
             "written": arr(obj({"addr": A, "size": I}, {"region": A, "usage": S, "path": null(S)}))})]},
    "image": {"anyOf": [
        obj({"format": enum("pe"), "bits": I, "machine": S, "timestamp": I, "entry_rva": A, "image_base": A,
             "subsystem": S, "dll": B, "warnings": null(S)},
            {"headers": free(optional_header=free()),
             "sections": arr(ref("pe_section")),
             "directories": arr(obj({"name": S, "rva": A, "size": I, "section": null(S)})),
             "imports": arr(free(functions=arr(free()))), "delay_imports": arr(free(functions=arr(free()))),
             "bound_imports": arr(free()), "exports": null(free(entries=arr(free()))),
             "relocations": null(free(blocks=arr(free()))), "resources": arr(free()), "debug": arr(free()),
             "tls": null(free()), "load_config": null(free()), "exceptions": null(free()),
             "rich": null(free()), "overlay": null(obj({"offset": I, "size": I})),
             "symbols": arr(ref("coff_symbol"))}),
        obj({"format": enum("coff"), "machine": S, "warnings": null(S)},
            {"headers": free(),
             "sections": arr(ref("pe_section")),
             "symbols": arr(ref("coff_symbol"))}),
        obj({"format": enum("archive"), "members": arr(obj({"name": S, "offset": I, "size": I, "index": B},
                                                            {"import_dll": S, "import_symbol": S})),
             "warnings": null(S)}),
        obj({"format": enum("elf"), "bits": I, "endian": S, "type": S, "machine": S, "entry": A,
             "warnings": null(S)},
            {"header": free(), "segments": arr(free()), "sections": arr(free()), "dynamic": arr(free()),
             "dynsym_count": I,
             "relocations": arr(obj({"section": S}, {"entries": I,
                                                     "relocs": arr(obj({"offset": A, "type": I, "sym": I},
                                                                       {"addend": I}))})),
             "versions": ANY,
             "notes": arr(obj({"owner": S, "type": I, "size": I, "where": null(S)}, {"desc": S})),
             "build_id": null(S), "symtabs": arr(obj({"section": S, "count": I}, {"symbols": arr(free())}))})]},
}

# vmatlas debug --json: a stream, one document a line: a command's result
# or an event (docs/json.md, "vmatlas debug --json")
_frame = obj({"pc": A, "sp": A, "where": S, "file": null(S)}, {"line": I})
_bp_info = obj({"id": I, "kind": enum("break", "watch", "bpm"), "addr": A, "where": S, "expr": S, "enabled": B,
                "temporary": B, "pending": B, "hits": I, "cond": null(S), "log": null(S), "group": null(S)},
               {"len": I, "access": enum("x", "w", "rw", "r"), "slot": I, "pages": B, "fast": B, "uffd": B,
                "guard": B})
_insn = obj({"addr": A, "where": S, "bytes": S, "len": I, "text": S, "pc": B, "breakpoint": B}, {"target": A})
_result = obj({"command": S, "ok": B},
              {"error": S, "id": I, "addr": A, "where": S, "slot": I, "pending": B, "value": A, "signed": I,
               "tid": I, "regs": {"type": "object", "additionalProperties": A},
               "flags": {"type": "object", "additionalProperties": I},
               "unit": S, "values": arr(ANY), "text": S, "insns": arr(_insn), "frames": arr(_frame),
               "breakpoints": arr(_bp_info), "current": I,
               "threads": arr(obj({"tid": I}, {"name": S, "pc": A, "where": S})), "result": enum("detached", "killed", "exited"),
               "help": S, "pages": B,
               "ymm": {"type": "object", "additionalProperties": S},
               "xmm": {"type": "object", "additionalProperties": S},
               "x87": {"type": "object", "additionalProperties": S},
               "slots": arr(obj({"addr": A, "value": A, "name": S, "frame": I, "ret": B})),
               "page_faults": obj({"emulated": I, "stepped": I, "uffd": I}), "bpm_mode": enum("stop", "fast")})
_event = obj({"event": enum("breakpoint", "watchpoint", "log", "stopped", "signal", "crash", "thread-start",
                            "thread-exit", "module-load", "module-unload", "fork", "exec", "exit", "return",
                            "interrupt"),
              "tid": I, "stopped": B},
             {"pc": A, "where": S, "file": null(S), "line": I, "id": I, "hits": I, "text": S, "addr": A,
              "len": I, "old": A, "new": A, "signal": S, "signo": I, "si_code": I, "si_code_name": null(S),
              "exception": A, "fault_addr": A, "name": S, "base": A, "child": I, "vfork": B, "followed": B, "exe": null(S), "status": I,
              "value": A, "access": enum("r", "w", "rw", "x"), "pages": B, "insn": S, "old_bytes": S,
              "new_bytes": S})
docs["debug"] = {"anyOf": [_result, _event]}

defs["pe_section"] = obj({"name": S, "va": A, "vsize": I, "raw_offset": I, "raw_size": I, "flags": I,
                         "flags_decoded": S},
                        {"relocations": I, "line_numbers": I,
                         "relocs": arr(obj({"va": A, "symbol": I, "type": S}))})
defs["coff_symbol"] = obj({"index": I, "name": S, "value": I, "section": I, "type": I, "storage_class": S, "aux": I},
                         {"file": S,
                          "section_definition": obj({"length": I, "relocations": I, "line_numbers": I,
                                                     "checksum": I, "comdat_number": I, "comdat_selection": I})})
defs.update(docs)
# vmatlas tui draws on a terminal and prints no JSON: no document matches
defs["tui"] = {"description": "none: 'vmatlas tui' draws on a terminal; --json is a usage error (status 2)",
               "not": {}}
SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": "https://vmatlas.invalid/json-schema.json",
    "title": "vmatlas --json output",
    "description": "One document per command: validate the output of 'vmatlas CMD --json' against "
                   "#/$defs/CMD. Generated by scripts/json_schema.py; described in words in docs/json.md.",
    "anyOf": [ref(c) for c in docs],
    "$defs": defs,
}

if __name__ == "__main__":
    print(json.dumps(SCHEMA, indent=1))
