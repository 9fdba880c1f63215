"""The DApp's web server inside the node: werkzeug's threaded server, one thread per request, so a
browser's live stream never blocks another page."""

from __future__ import annotations

import logging
import threading

from werkzeug.serving import make_server

log = logging.getLogger(__name__)


class DappServer:
    """`serve()` blocks until `stop()`; the node runs it as its `dapp` part."""

    def __init__(self, app, host: str, port: int, tls: tuple[str, str] | None = None):
        self.server = make_server(host, port, app, threaded=True, ssl_context=tls)
        self.server.daemon_threads = True  # an open live stream must not hold the node at stop
        scheme = "https" if tls else "http"
        self.url = f"{scheme}://{host if host not in ('0.0.0.0', '::') else 'localhost'}:{self.server.server_port}"

    def serve(self) -> None:
        log.info("DApp at %s", self.url)
        self.server.serve_forever(poll_interval=0.5)

    def stop(self) -> None:
        threading.Thread(target=self.server.shutdown, daemon=True).start()

    def close(self) -> None:
        self.server.server_close()
