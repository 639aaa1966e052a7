// A green chat server keeping its state at module level (fixture for the migration report).
import { spawn, type socket } from 'greenloop/green';
import { login } from './sessions.js';

let connections = 0;
const participants = new Set<socket.Socket>();
const CONFIG = { port: 3001 };
const history: string[] = [];
history.push('started');
export const stats = { lines: 0 };

export function handle(conn: socket.Socket, name: string): void {
  connections += 1;
  participants.add(conn);
  stats.lines++;
  login(name);
}

export function shadowed(history: string[]): void {
  history.push('a parameter, not the module-level list');
}

spawn(handle, CONFIG as never, 'guest');

export function connectionCount(): number {
  return connections;
}
