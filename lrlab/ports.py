"""Free local TCP ports: where ``lrlab lab`` and the browser bench start a Jupyter server."""
from __future__ import annotations

import socket


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def free_port(start: int = 8888, tries: int = 100) -> int:
    """The first port from ``start`` that can be bound on 127.0.0.1."""
    for port in range(start, start + tries):
        if port_is_free(port):
            return port
    raise ValueError(f"port: no free port in {start}..{start + tries - 1}; pass --port N")
