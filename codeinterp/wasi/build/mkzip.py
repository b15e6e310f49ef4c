"""mkzip.py writes a deterministic, stored (uncompressed) zip of .pyc files.

usage: mkzip.py stdlib OUT.zip LIBDIR SYSCONFIGDIR
       mkzip.py site   OUT.zip DISTPACKAGES

Run it with the CPython 3.11 that matches the guest (the native build python):
the bytecode must carry the guest's magic number. Code objects are compiled with
guest paths as file names so tracebacks show /usr/local/lib/..., and written as
unchecked hash-based pycs so no time stamp enters the output.
"""
import importlib.util
import os
import sys
import zipfile
from importlib._bootstrap_external import _code_to_hash_pyc

STDLIB_GUEST = "/usr/local/lib/python3.11"
SITE_GUEST = "/usr/local/lib/python3/dist-packages"

# Never useful to model-written code in a sandbox without Tk, pip or processes.
STDLIB_SKIP_TOP = {
    "test", "idlelib", "tkinter", "turtledemo", "ensurepip", "distutils",
    "lib2to3", "venv", "turtle.py", "site-packages", "__phello__",
}
SKIP_PARTS = {"test", "tests", "benchmarks", "__pycache__"}


def pyc(path, guest_name):
    with open(path, "rb") as f:
        src = f.read()
    try:
        code = compile(src, guest_name, "exec", dont_inherit=True, optimize=0)
    except SyntaxError as e:
        print(f"mkzip: skip {path}: {e}", file=sys.stderr)
        return None
    return bytes(_code_to_hash_pyc(code, importlib.util.source_hash(src), checked=False))


def walk(root, top_filter):
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        rel = os.path.relpath(dirpath, root)
        parts = [] if rel == "." else rel.split(os.sep)
        if parts and (not top_filter(parts[0]) or SKIP_PARTS.intersection(parts)):
            dirnames[:] = []
            continue
        dirnames.sort()
        for fn in sorted(filenames):
            if not fn.endswith(".py"):
                continue
            if not parts and not top_filter(fn):
                continue
            out.append("/".join(parts + [fn]))
    return out


def write(zpath, entries):
    with zipfile.ZipFile(zpath, "w", zipfile.ZIP_STORED) as z:
        for name, data in sorted(entries.items()):
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.create_system = 3
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_STORED
            z.writestr(info, data)


def main():
    kind, zpath = sys.argv[1], sys.argv[2]
    entries = {}
    if kind == "stdlib":
        libdir, sysconfdir = sys.argv[3], sys.argv[4]
        for rel in walk(libdir, lambda top: top not in STDLIB_SKIP_TOP):
            data = pyc(os.path.join(libdir, rel), f"{STDLIB_GUEST}/{rel}")
            if data is not None:
                entries[rel[:-3] + ".pyc"] = data
        found = [fn for fn in sorted(os.listdir(sysconfdir)) if fn.startswith("_sysconfigdata_") and fn.endswith(".py")]
        if not found:
            sys.exit("mkzip: no _sysconfigdata_*.py in " + sysconfdir)
        data = pyc(os.path.join(sysconfdir, found[0]), f"{STDLIB_GUEST}/{found[0]}")
        # The build names it _sysconfigdata__wasi_wasm32-wasi; Debian's sysconfig
        # patch looks for _sysconfigdata__wasm32-wasi: ship both.
        entries[found[0][:-3] + ".pyc"] = data
        entries["_sysconfigdata__wasm32-wasi.pyc"] = data
        # An empty sitecustomize stops site.py from searching every path entry for one.
        entries["sitecustomize.pyc"] = pyc(os.devnull, f"{STDLIB_GUEST}/sitecustomize.py")
    elif kind == "site":
        root = sys.argv[3]
        keep = {"sympy", "mpmath", "isympy.py"}
        for rel in walk(root, lambda top: top in keep):
            data = pyc(os.path.join(root, rel), f"{SITE_GUEST}/{rel}")
            if data is not None:
                entries[rel[:-3] + ".pyc"] = data
    else:
        sys.exit("mkzip: unknown kind " + kind)
    write(zpath, entries)
    print(f"mkzip: {zpath}: {len(entries)} modules")


if __name__ == "__main__":
    main()
