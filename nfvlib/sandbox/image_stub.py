"""A stand-in for the image service (Glance) that the sandbox's Tacker asks.

Tacker v2's built-in NFVO lists the images tagged with a VNF instance's id
on every scale, heal and terminate, and fails the operation when the
catalog has no ``image`` service. The sandbox has no images, so this server
answers ``GET /`` (the versions document) and ``GET /v2/images`` (an empty
list); ``GET /v2/images/<id>`` is a 404 and anything else a 405.

Run as a script (``python -I image_stub.py --port N``) it serves until
SIGTERM; :class:`ImageStubService` starts and stops it like the other
sandbox services. The script part imports only the standard library.
"""

from __future__ import annotations

import json
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

DEFAULT_PORT = 9292
START_TIMEOUT = 15.0


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def _answer(self, status: int, body: Any) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def do_GET(self) -> None:  # noqa: N802 - http.server's hook name
        path = self.path.split("?", 1)[0].rstrip("/")
        host = self.headers.get("Host") or "127.0.0.1"
        if path in ("", "/versions"):
            self._answer(300 if path == "" else 200, {"versions": [{
                "id": "v2.9", "status": "CURRENT",
                "links": [{"rel": "self", "href": f"http://{host}/v2/"}]}]})
        elif path == "/v2/images":
            self._answer(200, {"images": [], "first": "/v2/images",
                               "schema": "/v2/schemas/images"})
        elif path.startswith("/v2/images/"):
            self._answer(404, {"message": "no such image", "code": 404})
        else:
            self._answer(404, {"message": f"no {path} here", "code": 404})

    do_HEAD = do_GET

    def _refuse(self) -> None:
        self._answer(405, {"message": "this image service is read-only",
                           "code": 405})

    do_POST = do_PUT = do_PATCH = do_DELETE = _refuse

    def log_message(self, fmt: str, *args: Any) -> None:  # keep the log short
        pass


def serve(host: str, port: int) -> None:
    """Serve until the process is terminated."""
    import signal
    import sys

    server = ThreadingHTTPServer((host, port), _Handler)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        server.serve_forever()
    finally:
        server.server_close()


class ImageStubService:
    """The image stand-in with its state directory (``image.pid``, ``image.json``)."""

    def __init__(self, state_dir: Path, host: str = "127.0.0.1") -> None:
        self.state_dir = Path(state_dir)
        self.host = host
        self.pid_file = self.state_dir / "image.pid"
        self.state_file = self.state_dir / "image.json"
        self.log_file = self.state_dir / "image.log"

    @property
    def port(self) -> int | None:
        """The port of the last start."""
        from nfvlib.sandbox import process

        port = (process.read_json(self.state_file).get("port")
                if self.state_dir.exists() else None)
        return port if isinstance(port, int) else None

    @property
    def url(self) -> str:
        """The endpoint to register as the ``image`` service."""
        return f"http://{self.host}:{self.port or DEFAULT_PORT}"

    def start(self) -> dict[str, Any]:
        """Start the stand-in unless it runs and answers; return :meth:`status`."""
        import sys

        from nfvlib.files import private_dir
        from nfvlib.sandbox import process

        private_dir(self.state_dir)
        pid = process.read_pid(self.pid_file)
        if pid is not None and self.port and process.http_answers(self.url + "/v2/images"):
            return self.status()
        process.stop(self.pid_file, timeout=5.0)
        port = process.free_port(self.port or DEFAULT_PORT, self.host)
        process.write_atomic(self.state_file, json.dumps({"port": port}) + "\n")
        pid = process.start_detached(
            [sys.executable, "-I", str(Path(__file__).resolve()),
             "--host", self.host, "--port", str(port)],
            None, self.state_dir, self.log_file, self.pid_file)
        process.wait_http(f"{self.url}/v2/images", START_TIMEOUT, proc_pid=pid)
        return self.status()

    def stop(self) -> bool:
        """Stop the stand-in; True if it was running."""
        from nfvlib.sandbox import process

        if not self.state_dir.exists():
            return False
        return process.stop(self.pid_file, timeout=5.0)

    def status(self) -> dict[str, Any]:
        """``running``, ``pid``, ``url``."""
        from nfvlib.sandbox import process

        pid = process.read_pid(self.pid_file) if self.state_dir.exists() else None
        return {"running": pid is not None, "pid": pid,
                "url": self.url if self.port else None}


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description="Serve an empty image service.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    options = parser.parse_args()
    serve(options.host, options.port)
