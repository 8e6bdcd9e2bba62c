"""Plinth's Python function runtime: the contract in runtimes/contract/README.md.

Standard library only. Starts generic (warm pool) unless PLINTH_FUNCTION_DIR and
PLINTH_HANDLER are set; POST /_/specialize loads a function into a pooled process.
"""
import importlib
import json
import os
import signal
import sys
import tempfile
import threading
import time
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

PORT = int(os.environ.get("PORT", "8080"))
HOST = os.environ.get("HOST", "0.0.0.0")
DRAIN_SECONDS = float(os.environ.get("PLINTH_DRAIN_SECONDS", "10"))
PACKAGES = ".python_packages"  # a function's installed dependencies, beside its code

state = {"handler": None, "specializing": False, "draining": False, "inflight": 0}
lock = threading.Lock()
idle = threading.Condition(lock)


def log(level, msg, **extra):
    entry = {"time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "level": level, "runtime": "python", "msg": msg}
    entry.update(extra)
    sys.stderr.write(json.dumps(entry) + "\n")
    sys.stderr.flush()


def load(directory, spec):
    """Imports <module>.<function> from directory; returns the load time in ms."""
    t0 = time.perf_counter()
    module_name, _, func_name = spec.rpartition(".")
    if not module_name:
        module_name, func_name = spec, "handle"
    if directory not in sys.path:
        sys.path.insert(0, directory)
    # Installed dependencies beside the code (a build or `plinth dev` puts them there), ahead
    # of anything the interpreter itself has installed.
    packages = os.path.join(directory, PACKAGES)
    if os.path.isdir(packages) and packages not in sys.path:
        sys.path.insert(1, packages)
    module = importlib.import_module(module_name)
    fn = getattr(module, func_name, None)
    if not callable(fn):
        raise ValueError(f"module {module_name} in {directory} has no function {func_name}")
    state["handler"] = fn
    return (time.perf_counter() - t0) * 1000


SPECIALIZE_BODY = 'body needs {"handler": string} and either {"dir": string} or {"files": {relative path: text}}'


def check_files(files):
    """The function's files as sent by the gateway; ValueError names what is wrong with them."""
    if not isinstance(files, dict):
        raise ValueError('"files" must be an object')
    for name, text in files.items():
        if not isinstance(text, str):
            raise ValueError(f'file "{name}" must be text')
        parts = os.path.normpath(name).replace("\\", "/").split("/")
        if not name or os.path.isabs(name) or ".." in parts:
            raise ValueError(f'file name "{name}" must be a relative path inside the function')


def write_files(files):
    """Writes the function's files into a fresh directory of this process's own."""
    directory = tempfile.mkdtemp(prefix="plinth-function-")
    for name, text in files.items():
        path = os.path.join(directory, os.path.normpath(name))
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
    return directory


class FunctionRequest:
    def __init__(self, method, path, query, headers, body):
        self.method, self.path, self.query, self.headers, self.body = method, path, query, headers, body

    def text(self):
        return self.body.decode("utf-8")

    def json(self):
        return json.loads(self.body or b"null")


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):  # access logs belong to the gateway
        pass

    def _send(self, status, body, content_type="application/json", headers=None):
        if isinstance(body, str):
            body = body.encode("utf-8")
        self.send_response(status)
        sent_type = False
        for k, v in (headers or {}).items():
            self.send_header(k, v)
            sent_type = sent_type or k.lower() == "content-type"
        if not sent_type and status != 204:
            self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _body(self):
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()  # the CRLF after each chunk
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _reply(self, result):
        headers, status = None, 200
        if isinstance(result, tuple):
            parts = result
            result, status = parts[0], parts[1]
            headers = parts[2] if len(parts) > 2 else None
        if result is None:
            self._send(204 if status == 200 else status, b"", headers=headers)
        elif isinstance(result, bytes):
            self._send(status, result, "application/octet-stream", headers)
        elif isinstance(result, str):
            self._send(status, result, "text/plain; charset=utf-8", headers)
        else:
            self._send(status, json.dumps(result), "application/json", headers)

    def _handle(self):
        url = urlsplit(self.path)
        if url.path == "/_/health":
            return self._send(200, '{"status":"ok"}')
        if url.path == "/_/ready":
            ready = state["handler"] is not None and not state["draining"]
            return self._send(200 if ready else 503, json.dumps({"ready": ready}))
        if url.path == "/_/specialize" and self.command == "POST":
            body = json.loads(self._body() or b"{}")
            files = body.get("files")
            try:
                if files is not None:
                    check_files(files)
            except ValueError as e:
                return self._send(400, json.dumps({"error": str(e)}))
            if (not isinstance(body.get("dir"), str) and files is None) or not isinstance(body.get("handler"), str):
                return self._send(400, json.dumps({"error": SPECIALIZE_BODY}))
            with lock:
                taken = state["handler"] is not None or state["specializing"]
                state["specializing"] = True
            if taken:
                return self._send(409, '{"error":"already specialized"}')
            # A pooled process was started before the function was known: its env comes now.
            os.environ.update({str(k): str(v) for k, v in (body.get("env") or {}).items()})
            try:
                directory = write_files(files) if files is not None else body["dir"]
                load_ms = load(directory, body["handler"])
            except Exception as e:  # noqa: BLE001 - reported to the caller
                with lock:
                    state["specializing"] = False
                return self._send(500, json.dumps({"error": str(e)}))
            log("info", "specialized", dir=directory, handler=body["handler"], loadMs=load_ms)
            return self._send(200, json.dumps({"loadMs": load_ms}))
        fn = state["handler"]
        if fn is None:
            return self._send(503, '{"error":"function not loaded"}')
        with lock:
            state["inflight"] += 1
        try:
            req = FunctionRequest(self.command, url.path, parse_qs(url.query), dict(self.headers), self._body())
            self._reply(fn(req))
        except Exception as e:  # noqa: BLE001 - the contract answers 500
            log("error", "handler failed", error=str(e), stack=traceback.format_exc())
            self._send(500, json.dumps({"error": str(e)}))
        finally:
            with lock:
                state["inflight"] -= 1
                idle.notify_all()

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_HEAD = _handle


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128


def main():
    directory, spec = os.environ.get("PLINTH_FUNCTION_DIR"), os.environ.get("PLINTH_HANDLER")
    if directory and spec:
        try:
            log("info", "loaded", dir=directory, handler=spec, loadMs=load(directory, spec))
        except Exception as e:  # noqa: BLE001
            log("error", "cannot load function", error=str(e))
            sys.exit(1)
    server = Server((HOST, PORT), Handler)

    def drain(*_):
        state["draining"] = True
        log("info", "draining", inflight=state["inflight"])

        def finish():
            with lock:
                idle.wait_for(lambda: state["inflight"] == 0, timeout=DRAIN_SECONDS)
            server.shutdown()

        threading.Thread(target=finish, daemon=True).start()

    signal.signal(signal.SIGTERM, drain)
    signal.signal(signal.SIGINT, drain)  # Ctrl-C in `plinth dev` reaches the whole process group
    log("info", "listening", host=HOST, port=PORT, pool=state["handler"] is None)
    server.serve_forever()
    server.server_close()


if __name__ == "__main__":
    main()
