// No green import, but the green chat server imports it: green threads load it too.
import { hit } from './util/cache.js';

export const sessions = new Map<string, number>();

export function login(name: string): void {
  sessions.set(name, Date.now());
  hit();
}
