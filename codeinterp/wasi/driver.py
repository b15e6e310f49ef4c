# Hearth's code-interpreter driver: runs inside CPython-for-WASI (or a sandboxed
# host python3) as `python -c <this file>`. It keeps one globals dict, like a
# notebook, and serves exec requests over stdin/stdout:
#   request:  b"<n>\n" + n bytes of UTF-8 Python source
#   response: MARKER + b" <n>\n" + n bytes of JSON {stdout, stderr, error}
# MARKER is a per-session token the host passes in HEARTH_MARKER; bytes the
# code writes straight to fd 1 arrive before it and count as stdout. The token
# is not a secret (code can read it from this frame): the host takes the frame
# that ends the output before this driver's next read of stdin (stream.go).
import sys, os


def _hearth_main():
    import ast, io, json, linecache, traceback

    marker = b"\x00\x01HEARTH:" + os.environ.pop("HEARTH_MARKER").encode()
    limit = int(os.environ.pop("HEARTH_MAX_OUTPUT", "1048576"))
    sys.setrecursionlimit(int(os.environ.pop("HEARTH_RECURSION_LIMIT", "600")))
    try:
        os.chdir(os.environ.get("HOME", "/mnt/data"))
    except OSError:
        pass
    inp = open(0, "rb", closefd=False)
    out = open(1, "wb", buffering=0, closefd=False)

    class Capped(io.TextIOBase):
        """A text stream that keeps the first `limit` characters and counts the rest."""

        def __init__(self, name):
            self.parts, self.kept, self.dropped, self.name = [], 0, 0, name

        encoding = "utf-8"
        errors = "strict"

        def writable(self):
            return True

        def isatty(self):
            return False

        def write(self, s):
            if not isinstance(s, str):
                raise TypeError("write() argument must be str, not " + type(s).__name__)
            room = limit - self.kept
            if room >= len(s):
                self.parts.append(s)
                self.kept += len(s)
            else:
                if room > 0:
                    self.parts.append(s[:room])
                    self.kept += room
                self.dropped += len(s) - max(room, 0)
            return len(s)

        def value(self):
            v = "".join(self.parts)
            if self.dropped:
                v += "\n[output truncated: %d more characters not shown]\n" % self.dropped
            return v

    def send(obj):
        try:
            payload = json.dumps(obj).encode()
        except Exception as e:  # e.g. MemoryError
            payload = json.dumps({"error": "driver: cannot encode result: %r" % (e,)}).encode()
        out.write(marker + b" %d\n" % len(payload) + payload)

    def tb_text(e):
        tb = e.__traceback__
        while tb is not None and tb.tb_frame.f_code.co_filename == "<string>":
            tb = tb.tb_next
        depth, t = 0, tb
        while t is not None:
            depth, t = depth + 1, t.tb_next
        try:
            if depth > 100:  # formatting every frame of a deep recursion takes seconds
                return ("[traceback shortened: %d frames, the last 50 shown]\n" % depth
                        + "".join(traceback.format_exception(type(e), e, tb, limit=-50)))
            return "".join(traceback.format_exception(type(e), e, tb))
        except BaseException:
            return "%s: %s\n" % (type(e).__name__, e)

    g = {"__name__": "__main__", "__builtins__": __builtins__}
    sys.stdin = io.StringIO()
    cell = 0
    send({"ready": True})
    while True:
        line = inp.readline()
        if not line:
            return
        n = int(line)
        src = inp.read(n).decode("utf-8", "replace")
        cell += 1
        fname = "<cell %d>" % cell
        linecache.cache[fname] = (len(src), None, src.splitlines(True), fname)
        so, se = Capped("<stdout>"), Capped("<stderr>")
        sys.stdout, sys.stderr = so, se
        err = ""
        try:
            tree = ast.parse(src, fname, "exec")
            last = None
            if tree.body and isinstance(tree.body[-1], ast.Expr):
                last = ast.Expression(tree.body.pop().value)
            exec(compile(tree, fname, "exec"), g)
            if last is not None:
                v = eval(compile(last, fname, "eval"), g)
                if v is not None:
                    print(repr(v))
        except SystemExit as e:
            if e.code not in (None, 0):
                err = "SystemExit: %s\n" % (e.code,)
        except BaseException as e:
            err = tb_text(e)
        finally:
            sys.stdout, sys.stderr = sys.__stdout__, sys.__stderr__
        if len(err) > limit:
            err = err[: limit // 2] + "\n[... %d characters of the error not shown ...]\n" % (len(err) - limit) + err[-(limit // 2):]
        send({"stdout": so.value(), "stderr": se.value(), "error": err})
        del so, se


_hearth_main()
