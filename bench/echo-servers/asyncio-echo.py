# asyncio's echo server, on asyncio's own loop or on uvloop, with streams
# (read(65536), write, drain) or a Protocol (data_received writes back),
# TCP_NODELAY on. The benchmarks run it when the shared anchor servers are
# not beside the repository.
#
#   python3 bench/echo-servers/asyncio-echo.py PORT [asyncio|uvloop] [streams|proto]
import asyncio
import socket
import sys

port = int(sys.argv[1])
flavour = sys.argv[2] if len(sys.argv) > 2 else 'asyncio'
kind = sys.argv[3] if len(sys.argv) > 3 else 'streams'
if flavour == 'uvloop':
    import uvloop

    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())


def no_delay(transport):
    transport.get_extra_info('socket').setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


async def handle(reader, writer):
    no_delay(writer.transport)
    while True:
        data = await reader.read(65536)
        if not data:
            break
        writer.write(data)
        await writer.drain()
    writer.close()


class Echo(asyncio.Protocol):
    def connection_made(self, transport):
        self.transport = transport
        no_delay(transport)

    def data_received(self, data):
        self.transport.write(data)


async def main():
    if kind == 'proto':
        server = await asyncio.get_running_loop().create_server(Echo, '127.0.0.1', port)
    else:
        server = await asyncio.start_server(handle, '127.0.0.1', port)
    print('ready', flush=True)
    async with server:
        await server.serve_forever()


asyncio.run(main())
