/**
 * loop.getaddrinfo / loop.getnameinfo against the system resolver, with the
 * results Python's socket module gives on Linux (checked against CPython on
 * glibc): /etc/hosts names, numeric hosts, service names, flags and errors.
 */
import { expect } from 'chai';
import {
  AF_INET,
  AF_INET6,
  AF_UNIX,
  AI_CANONNAME,
  AI_NUMERICHOST,
  AI_NUMERICSERV,
  AI_PASSIVE,
  AI_V4MAPPED,
  CancelledError,
  EAI_ADDRFAMILY,
  EAI_BADFLAGS,
  EAI_FAMILY,
  EAI_NONAME,
  EAI_SERVICE,
  EAI_SOCKTYPE,
  GaiError,
  getRunningLoop,
  GreenloopError,
  IPPROTO_TCP,
  IPPROTO_UDP,
  isFuture,
  NI_DGRAM,
  NI_NAMEREQD,
  NI_NUMERICHOST,
  NI_NUMERICSERV,
  RuntimeError,
  sleep,
  SOCK_DGRAM,
  SOCK_RAW,
  SOCK_STREAM,
  ValueError,
  newEventLoop,
  type AddrInfo,
  type GetaddrinfoOptions,
  type PortSpec,
  type SockAddr,
} from '../../src/loop/index.js';
import { parseServices } from '../../src/loop/services.js';
import { checkFdLeaks, runInLoop } from '../helpers.js';

function getaddrinfo(host: string | null, port: PortSpec, options?: GetaddrinfoOptions): Promise<AddrInfo[]> {
  return runInLoop(() => getRunningLoop().getaddrinfo(host, port, options));
}

async function failure(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected a failure');
}

async function gaiFailure(promise: Promise<unknown>, errno: number, code: string): Promise<GaiError> {
  const error = await failure(promise);
  expect(error).to.be.instanceOf(GaiError);
  expect((error as GaiError).errno).to.equal(errno);
  expect((error as GaiError).code).to.equal(code);
  return error as GaiError;
}

describe('loop.getaddrinfo', () => {
  checkFdLeaks();

  it('resolves /etc/hosts names to one entry per socket type, as glibc', async () => {
    const infos = await getaddrinfo('localhost', 80);
    const v4 = infos.filter(([family]) => family === AF_INET);
    expect(v4.slice(0, 3)).to.deep.equal([
      [AF_INET, SOCK_STREAM, IPPROTO_TCP, '', ['127.0.0.1', 80]],
      [AF_INET, SOCK_DGRAM, IPPROTO_UDP, '', ['127.0.0.1', 80]],
      [AF_INET, SOCK_RAW, 0, '', ['127.0.0.1', 80]],
    ]);
  });

  it('narrows by type, proto and family', async () => {
    expect(await getaddrinfo('localhost', 53, { type: SOCK_DGRAM, family: AF_INET })).to.deep.equal([
      [AF_INET, SOCK_DGRAM, IPPROTO_UDP, '', ['127.0.0.1', 53]],
    ]);
    expect(await getaddrinfo('127.0.0.1', 53, { proto: IPPROTO_TCP })).to.deep.equal([
      [AF_INET, SOCK_STREAM, IPPROTO_TCP, '', ['127.0.0.1', 53]],
    ]);
  });

  it('returns numeric hosts without a lookup, IPv6 with flowinfo and scope id', async () => {
    expect(await getaddrinfo('0:0::1', '8080', { type: SOCK_STREAM })).to.deep.equal([
      [AF_INET6, SOCK_STREAM, IPPROTO_TCP, '', ['::1', 8080, 0, 0]],
    ]);
    const [[, , , , linkLocal]] = await getaddrinfo('fe80::1%1', 80, { type: SOCK_DGRAM });
    expect(linkLocal).to.deep.equal(['fe80::1', 80, 0, 1]);
  });

  it('maps a null host to loopback, or to the wildcard with AI_PASSIVE', async () => {
    const hosts = (infos: AddrInfo[]): string[] => infos.map(([, , , , sockaddr]) => sockaddr[0]);
    expect(hosts(await getaddrinfo(null, 80, { type: SOCK_STREAM }))).to.deep.equal(['::1', '127.0.0.1']);
    expect(hosts(await getaddrinfo(null, 80, { type: SOCK_STREAM, flags: AI_PASSIVE }))).to.deep.equal([
      '0.0.0.0',
      '::',
    ]);
    expect(hosts(await getaddrinfo(null, 80, { type: SOCK_STREAM, family: AF_INET }))).to.deep.equal(['127.0.0.1']);
  });

  it('looks service names up for the protocols they are registered for', async () => {
    expect(await getaddrinfo('127.0.0.1', 'http')).to.deep.equal([
      [AF_INET, SOCK_STREAM, IPPROTO_TCP, '', ['127.0.0.1', 80]],
    ]);
    expect(await getaddrinfo('127.0.0.1', 'domain')).to.deep.equal([
      [AF_INET, SOCK_STREAM, IPPROTO_TCP, '', ['127.0.0.1', 53]],
      [AF_INET, SOCK_DGRAM, IPPROTO_UDP, '', ['127.0.0.1', 53]],
    ]);
    await gaiFailure(getaddrinfo('127.0.0.1', 'ntp', { type: SOCK_STREAM }), EAI_SERVICE, 'EAI_SERVICE');
    await gaiFailure(getaddrinfo('127.0.0.1', 'no-such-service'), EAI_SERVICE, 'EAI_SERVICE');
    await gaiFailure(getaddrinfo('127.0.0.1', 'http', { flags: AI_NUMERICSERV }), EAI_NONAME, 'ENOTFOUND');
  });

  it('fills in the canonical name of the first entry with AI_CANONNAME', async () => {
    const infos = await getaddrinfo('localhost', 80, { family: AF_INET, flags: AI_CANONNAME });
    expect(infos.map(([, , , canonname]) => canonname)).to.deep.equal(['localhost', '', '']);
  });

  it('applies the family to numeric hosts as glibc (AI_V4MAPPED, EAI_ADDRFAMILY)', async () => {
    expect(await getaddrinfo('127.0.0.1', 80, { family: AF_INET6, type: SOCK_STREAM, flags: AI_V4MAPPED })).to.deep.equal(
      [[AF_INET6, SOCK_STREAM, IPPROTO_TCP, '', ['::ffff:127.0.0.1', 80, 0, 0]]],
    );
    await gaiFailure(getaddrinfo('::1', 80, { family: AF_INET }), EAI_ADDRFAMILY, 'EAI_ADDRFAMILY');
  });

  it('fails with a GaiError for unknown and non-numeric hosts', async () => {
    const error = await gaiFailure(getaddrinfo('no-such-host.invalid', 80), EAI_NONAME, 'ENOTFOUND');
    expect(error).to.be.instanceOf(GreenloopError);
    expect(error.name).to.equal('GaiError');
    expect(error.hostname).to.equal('no-such-host.invalid');
    expect(error.message).to.match(/no-such-host\.invalid.*Name or service not known/);
    await gaiFailure(getaddrinfo('localhost', 80, { flags: AI_NUMERICHOST }), EAI_NONAME, 'ENOTFOUND');
    await gaiFailure(getaddrinfo('', 80), EAI_NONAME, 'ENOTFOUND');
    await gaiFailure(getaddrinfo(null, null), EAI_NONAME, 'ENOTFOUND');
  });

  it('rejects bad arguments, naming what was wrong', async () => {
    const cases: Array<[() => Promise<unknown>, new (...args: never[]) => Error, RegExp]> = [
      [() => getaddrinfo(42 as unknown as string, 80), TypeError, /host must be a string or null/],
      [() => getaddrinfo('localhost', {} as unknown as number), TypeError, /port must be a number, a string or null/],
      [() => getaddrinfo('localhost', 70000), ValueError, /port must be an integer in 0\.\.65535, got 70000/],
      [() => getaddrinfo('localhost', -1), ValueError, /port must be an integer/],
      [() => getaddrinfo('localhost', '99999'), ValueError, /port must be an integer/],
      [() => getaddrinfo('localhost', 80, { family: 'inet' as unknown as number }), TypeError, /family must be an integer/],
    ];
    for (const [call, errorClass, message] of cases) {
      const error = await failure(call());
      expect(error).to.be.instanceOf(errorClass);
      expect(error.message).to.match(message);
    }
    await gaiFailure(getaddrinfo('localhost', 80, { family: AF_UNIX }), EAI_FAMILY, 'EAI_FAMILY');
    await gaiFailure(getaddrinfo('localhost', 80, { type: 99 }), EAI_SOCKTYPE, 'EAI_SOCKTYPE');
    await gaiFailure(getaddrinfo('localhost', 80, { type: SOCK_STREAM, proto: IPPROTO_UDP }), EAI_SOCKTYPE, 'EAI_SOCKTYPE');
    await gaiFailure(getaddrinfo('localhost', 80, { flags: 0x12345 }), EAI_BADFLAGS, 'EAI_BADFLAGS');
  });

  it('returns a loop Future that a task cancel stops waiting for', async () => {
    await runInLoop(async () => {
      const loop = getRunningLoop();
      expect(isFuture(loop.getaddrinfo('localhost', 80))).to.equal(true);
      const task = loop.createTask(() => loop.getaddrinfo('localhost', 80));
      await sleep(0);
      task.cancel();
      expect(await failure(Promise.resolve(task))).to.be.instanceOf(CancelledError);
    });
  });

  it('throws a RuntimeError at once on a closed loop', () => {
    const loop = newEventLoop();
    loop.close();
    expect(() => loop.getaddrinfo('localhost', 80)).to.throw(RuntimeError, /closed/);
    expect(() => loop.getnameinfo(['127.0.0.1', 80])).to.throw(RuntimeError, /closed/);
  });
});

describe('loop.getnameinfo', () => {
  checkFdLeaks();

  function getnameinfo(sockaddr: SockAddr, flags?: number): Promise<[string, string]> {
    return runInLoop(() => getRunningLoop().getnameinfo(sockaddr, flags));
  }

  it('names hosts from /etc/hosts and services from /etc/services', async () => {
    expect(await getnameinfo(['127.0.0.1', 80])).to.deep.equal(['localhost', 'http']);
    expect(await getnameinfo(['127.0.0.1', 80], NI_NUMERICHOST)).to.deep.equal(['127.0.0.1', 'http']);
    expect(await getnameinfo(['127.0.0.1', 80], NI_NUMERICSERV)).to.deep.equal(['localhost', '80']);
    expect(await getnameinfo(['127.0.0.1', 123], NI_DGRAM | NI_NUMERICHOST)).to.deep.equal(['127.0.0.1', 'ntp']);
    expect(await getnameinfo(['127.0.0.1', 5], NI_NUMERICHOST)).to.deep.equal(['127.0.0.1', '5']);
  });

  it('gives the numeric host when it has no name, unless NI_NAMEREQD', async () => {
    // TEST-NET-1 (RFC 5737): no name anywhere.
    expect(await getnameinfo(['192.0.2.1', 22])).to.deep.equal(['192.0.2.1', 'ssh']);
    await gaiFailure(getnameinfo(['192.0.2.1', 22], NI_NAMEREQD), EAI_NONAME, 'ENOTFOUND');
  });

  it('accepts IPv6 four-item addresses', async () => {
    expect(await getnameinfo(['::1', 80, 0, 0], NI_NUMERICHOST)).to.deep.equal(['::1', 'http']);
  });

  it('rejects names, bad shapes, ports and flags', async () => {
    await gaiFailure(getnameinfo(['localhost', 80]), EAI_NONAME, 'ENOTFOUND');
    await gaiFailure(getnameinfo(['127.0.0.1', 80], 0x1000), EAI_BADFLAGS, 'EAI_BADFLAGS');
    expect(await failure(getnameinfo(['127.0.0.1'] as unknown as SockAddr))).to.be.instanceOf(TypeError);
    expect(await failure(getnameinfo(['127.0.0.1', 80, 0, 0]))).to.be.instanceOf(TypeError);
    const error = await failure(getnameinfo(['127.0.0.1', 70000]));
    expect(error).to.be.instanceOf(ValueError);
    expect(error.message).to.match(/port/);
  });
});

describe('the services table', () => {
  it('maps names and aliases to ports per protocol, and ports back to the first name', () => {
    const table = parseServices('http 80/tcp www # web\nhttp-alt 80/tcp\ndomain 53/udp\n# only a comment\nbad line\n');
    expect(table.port('http', 'tcp')).to.equal(80);
    expect(table.port('www', 'tcp')).to.equal(80);
    expect(table.port('http', 'udp')).to.equal(undefined);
    expect(table.port('domain', 'udp')).to.equal(53);
    expect(table.name(80, 'tcp')).to.equal('http');
    expect(table.name(53, 'tcp')).to.equal(undefined);
  });
});
