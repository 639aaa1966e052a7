# eventlet's green echo server: a green thread per connection (GreenPool),
# recv(65536) and sendall until the peer closes, TCP_NODELAY on. The legacy
# style a green service migrates from; the benchmarks run it when the
# shared anchor servers are not beside the repository.
#
#   python3 bench/echo-servers/eventlet-echo.py PORT
import sys

from eventlet_serve import serve_forever


def handle(sock):
    while True:
        data = sock.recv(65536)
        if not data:
            break
        sock.sendall(data)
    sock.close()


serve_forever(int(sys.argv[1]), handle)
