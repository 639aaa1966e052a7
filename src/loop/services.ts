/**
 * The services database (getservbyname/getservbyport): which port a service
 * name such as 'http' or 'domain' means for TCP and UDP, and back.
 *
 * Node has no binding for it, so greenloop reads `/etc/services` (the file
 * glibc reads) once, on first use, and keeps it. Where that file is missing
 * (minimal containers), a small table of well-known services stands in.
 */
import { readFile } from 'node:fs/promises';

export type ServiceProtocol = 'tcp' | 'udp';

export interface ServiceTable {
  /** The port of service `name` (or one of its aliases) over `protocol`. */
  port(name: string, protocol: ServiceProtocol): number | undefined;
  /** The official name of the service on `port` over `protocol`. */
  name(port: number, protocol: ServiceProtocol): string | undefined;
}

const SERVICES_PATH = '/etc/services';

/** Used when /etc/services cannot be read: `name port/protocol aliases...` lines. */
const WELL_KNOWN_SERVICES = `
echo 7/tcp
echo 7/udp
discard 9/tcp
discard 9/udp
daytime 13/tcp
daytime 13/udp
ftp-data 20/tcp
ftp 21/tcp
ssh 22/tcp
telnet 23/tcp
smtp 25/tcp mail
domain 53/tcp
domain 53/udp
tftp 69/udp
http 80/tcp www
pop3 110/tcp pop-3
ntp 123/udp
imap2 143/tcp imap
snmp 161/udp
ldap 389/tcp
https 443/tcp
syslog 514/udp
submission 587/tcp
imaps 993/tcp
pop3s 995/tcp
`;

let loading: Promise<ServiceTable> | null = null;

/** The services table, read on first call and shared afterwards. */
export function loadServices(): Promise<ServiceTable> {
  loading ??= readFile(SERVICES_PATH, 'utf8').then(
    (text) => parseServices(text),
    () => parseServices(WELL_KNOWN_SERVICES),
  );
  return loading;
}

/** Parses the `/etc/services` format: `name port/protocol [aliases...] [# comment]`. */
export function parseServices(text: string): ServiceTable {
  const ports = new Map<string, number>();
  const names = new Map<string, string>();
  for (const rawLine of text.split('\n')) {
    const fields = rawLine.replace(/#.*/, '').trim().split(/\s+/);
    if (fields.length < 2) continue;
    const match = /^(\d+)\/(tcp|udp)$/.exec(fields[1] as string);
    if (match === null) continue;
    const port = Number(match[1]);
    const protocol = match[2] as ServiceProtocol;
    const [name, , ...aliases] = fields as [string, string, ...string[]];
    // The first line for a port or a name wins, as in getservbyport/getservbyname.
    if (!names.has(`${port}/${protocol}`)) names.set(`${port}/${protocol}`, name);
    for (const alias of [name, ...aliases]) {
      if (!ports.has(`${alias}/${protocol}`)) ports.set(`${alias}/${protocol}`, port);
    }
  }
  return {
    port: (name, protocol) => ports.get(`${name}/${protocol}`),
    name: (port, protocol) => names.get(`${port}/${protocol}`),
  };
}
