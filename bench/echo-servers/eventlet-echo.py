# eventlet's green echo server: a green thread per connection (GreenPool),
# recv(65536) and sendall until the peer closes, TCP_NODELAY on. The legacy
# style a green service migrates from; the benchmarks run it when the
# shared anchor servers are not beside the repository.
#
#   python3 bench/echo-servers/eventlet-echo.py PORT
import socket
import sys

import eventlet

port = int(sys.argv[1])


def handle(sock):
    while True:
        data = sock.recv(65536)
        if not data:
            break
        sock.sendall(data)
    sock.close()


listener = eventlet.listen(('127.0.0.1', port))
print('ready', flush=True)
pool = eventlet.GreenPool(10000)
while True:
    conn, _ = listener.accept()
    conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    pool.spawn_n(handle, conn)
