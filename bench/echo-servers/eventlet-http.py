# eventlet answering the HTTP-style shape of bench/echo-client.mjs: a green
# thread per connection reads line-based requests (ended by an empty line)
# through makefile and answers each with a status line, Content-Length and
# BODY bytes. The legacy style a green HTTP service migrates from.
#
#   python3 bench/echo-servers/eventlet-http.py PORT [BODY=4096]
import sys

from eventlet_serve import serve_forever

port = int(sys.argv[1])
body = int(sys.argv[2]) if len(sys.argv) > 2 else 4096
reply = b'HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n' % body + b'x' * body


def handle(sock):
    reader = sock.makefile('rb')
    while True:
        line = reader.readline()
        if not line:
            break
        if line == b'\r\n':
            sock.sendall(reply)
    sock.close()


serve_forever(port, handle)
