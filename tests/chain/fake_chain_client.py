"""A fake chain client for the chain tests: JSON-RPC over HTTP on 127.0.0.1, in a thread."""

from __future__ import annotations

import errno
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# The ports these tests may use (8545 belongs to the shared dev chain).
PORTS = range(18600, 18700)


class FakeChainClient:
    """Answers each JSON-RPC method from `answers` (a result, or an `RpcError`) and records calls.

    Unknown methods get geth's "method not found" error, -32601.
    """

    def __init__(self, answers: dict):
        self.answers = dict(answers)
        self.calls: list[tuple[str, list]] = []
        self._server = bind(self._handler())
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    def _answer(self, request: dict) -> dict:
        method, params = request["method"], request.get("params", [])
        self.calls.append((method, params))
        reply = {"jsonrpc": "2.0", "id": request["id"]}
        if method not in self.answers:
            return {**reply, "error": {"code": -32601, "message": f"the method {method} does not exist/is not available"}}
        answer = self.answers[method]
        if isinstance(answer, RpcError):
            return {**reply, "error": {"code": answer.code, "message": answer.message}}
        return {**reply, "result": answer}

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                reply = json.dumps(fake._answer(body)).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args):
                pass

        return Handler


class RpcError:
    """A JSON-RPC error the fake answers with."""

    def __init__(self, code: int, message: str):
        self.code, self.message = code, message


def bind(handler) -> ThreadingHTTPServer:
    for port in PORTS:
        try:
            return ThreadingHTTPServer(("127.0.0.1", port), handler)
        except OSError as error:
            if error.errno != errno.EADDRINUSE:
                raise
    raise RuntimeError(f"no free port in {PORTS.start}-{PORTS.stop - 1}")
