#!/usr/bin/python3
"""What pefile (Debian's python3-pefile) says of PE files, as one JSON
document per file on stdout, in the shape the image tests compare:
    pefile_truth.py FILE...
Run with /usr/bin/python3: pefile is installed for Debian's Python."""
import json
import sys

import pefile


def rich(pe):
    r = pe.parse_rich_header()
    if not r:
        return None
    ids = r["values"][0::2]
    counts = r["values"][1::2]
    return {"key": int.from_bytes(r["key"], "little"), "checksum": r["checksum"],
            "entries": [[i >> 16, i & 0xffff, c] for i, c in zip(ids, counts)]}


def imports(entries):
    out = []
    for d in entries or []:
        fns = []
        for imp in d.imports:
            if imp.import_by_ordinal:
                fns.append([None, imp.ordinal, None])
            else:
                fns.append([imp.name.decode("latin-1") if imp.name else None, None, imp.hint])
        out.append({"dll": d.dll.decode("latin-1") if d.dll else None, "functions": fns})
    return out


def truth(path):
    pe = pefile.PE(path, fast_load=False)
    doc = {
        "bits": 64 if pe.OPTIONAL_HEADER.Magic == 0x20b else 32,
        "machine": pe.FILE_HEADER.Machine,
        "timestamp": pe.FILE_HEADER.TimeDateStamp,
        "characteristics": pe.FILE_HEADER.Characteristics,
        "entry_rva": pe.OPTIONAL_HEADER.AddressOfEntryPoint,
        "image_base": pe.OPTIONAL_HEADER.ImageBase,
        "subsystem": pe.OPTIONAL_HEADER.Subsystem,
        "dll_characteristics": pe.OPTIONAL_HEADER.DllCharacteristics,
        "size_of_image": pe.OPTIONAL_HEADER.SizeOfImage,
        "checksum": pe.OPTIONAL_HEADER.CheckSum,
        "sections": [{"name": s.Name.rstrip(b"\0").decode("latin-1"), "va": s.VirtualAddress,
                      "vsize": s.Misc_VirtualSize, "raw_offset": s.PointerToRawData,
                      "raw_size": s.SizeOfRawData, "flags": s.Characteristics} for s in pe.sections],
        "directories": [[d.VirtualAddress, d.Size] for d in pe.OPTIONAL_HEADER.DATA_DIRECTORY],
        "imports": imports(getattr(pe, "DIRECTORY_ENTRY_IMPORT", None)),
        "delay_imports": imports(getattr(pe, "DIRECTORY_ENTRY_DELAY_IMPORT", None)),
        "exports": None,
        "relocations": None,
        "resources": [],
        "debug": [],
        "tls_callbacks": None,
        "overlay": pe.get_overlay_data_start_offset(),
        "rich": rich(pe),
    }
    if hasattr(pe, "DIRECTORY_ENTRY_EXPORT"):
        e = pe.DIRECTORY_ENTRY_EXPORT
        doc["exports"] = {
            "dll_name": e.name.decode("latin-1") if e.name else None,
            "base": e.struct.Base,
            "entries": sorted([[s.ordinal, s.name.decode("latin-1") if s.name else None, s.address,
                                s.forwarder.decode("latin-1") if s.forwarder else None] for s in e.symbols],
                              key=lambda x: (x[0], x[1] or "")),
        }
    if hasattr(pe, "DIRECTORY_ENTRY_BASERELOC"):
        total = {}
        for b in pe.DIRECTORY_ENTRY_BASERELOC:
            for e in b.entries:
                total[e.type] = total.get(e.type, 0) + 1
        doc["relocations"] = {"blocks": len(pe.DIRECTORY_ENTRY_BASERELOC), "by_type": total}
    if hasattr(pe, "DIRECTORY_ENTRY_RESOURCE"):
        for t in pe.DIRECTORY_ENTRY_RESOURCE.entries:
            tname = str(t.name) if t.name is not None else None
            for n in getattr(t, "directory", None).entries if hasattr(t, "directory") else []:
                nname = str(n.name) if n.name is not None else None
                for lang in n.directory.entries if hasattr(n, "directory") else []:
                    if hasattr(lang, "data"):
                        doc["resources"].append([t.id if tname is None else tname, n.id if nname is None else nname,
                                                 lang.id, lang.data.struct.OffsetToData, lang.data.struct.Size])
    for d in getattr(pe, "DIRECTORY_ENTRY_DEBUG", []):
        e = {"type": d.struct.Type, "size": d.struct.SizeOfData, "rva": d.struct.AddressOfRawData}
        if d.entry is not None and hasattr(d.entry, "PdbFileName"):
            e["pdb"] = d.entry.PdbFileName.rstrip(b"\0").decode("latin-1")
            if hasattr(d.entry, "Signature_Data1"):
                e["age"] = d.entry.Age
        doc["debug"].append(e)
    if hasattr(pe, "DIRECTORY_ENTRY_TLS"):
        tls = pe.DIRECTORY_ENTRY_TLS.struct
        cbs = []
        if tls.AddressOfCallBacks:
            rva = tls.AddressOfCallBacks - pe.OPTIONAL_HEADER.ImageBase
            w = 8 if doc["bits"] == 64 else 4
            while len(cbs) < 1024:
                v = pe.get_qword_at_rva(rva) if w == 8 else pe.get_dword_at_rva(rva)
                if not v:
                    break
                cbs.append(v)
                rva += w
        doc["tls_callbacks"] = cbs
    return doc


def main():
    for path in sys.argv[1:]:
        print(json.dumps({"path": path, "truth": truth(path)}))


if __name__ == "__main__":
    main()
