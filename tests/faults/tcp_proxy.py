"""A TCP proxy in front of PostgreSQL that a test can take down and bring back: while down it
cuts every open connection and hangs up on new ones (as a failed-over or unplugged database
server does), counting how often it was knocked on."""

import contextlib
import socket
import threading


class OutageProxy:
    def __init__(self, target_host: str, target_port: int):
        self.target = (target_host, target_port)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._lock = threading.Lock()
        self._open: set[socket.socket] = set()
        self._down = threading.Event()
        self._closed = threading.Event()
        self.refused = 0
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def down(self) -> None:
        with self._lock:
            self._down.set()
            for sock in self._open:
                _close(sock)
            self._open.clear()

    def up(self) -> None:
        self._down.clear()

    def close(self) -> None:
        self._closed.set()
        self.down()
        _close(self._listener)
        self._thread.join(timeout=5)

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                downstream, _ = self._listener.accept()
            except OSError:
                return
            if self._down.is_set():
                with self._lock:
                    self.refused += 1
                _close(downstream)
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                _close(downstream)
                continue
            upstream.settimeout(None)
            with self._lock:
                if self._down.is_set():  # went down while this one was connecting
                    self.refused += 1
                    _close(downstream)
                    _close(upstream)
                    continue
                self._open.update((downstream, upstream))
            for source, sink in ((downstream, upstream), (upstream, downstream)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            with self._lock:
                self._open.discard(source)
                self._open.discard(sink)
            _close(source)
            _close(sink)


def _close(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    sock.close()
