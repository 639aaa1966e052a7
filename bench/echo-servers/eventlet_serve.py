# The accept loop of the eventlet benchmark servers (eventlet-echo.py,
# eventlet-http.py): listen on 127.0.0.1:PORT (eventlet's default backlog),
# say 'ready', then give each connection, TCP_NODELAY on, a green thread of
# a GreenPool running handle(sock).
import socket

import eventlet


def serve_forever(port, handle):
    listener = eventlet.listen(('127.0.0.1', port))
    print('ready', flush=True)
    pool = eventlet.GreenPool(10000)
    while True:
        conn, _ = listener.accept()
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        pool.spawn_n(handle, conn)
