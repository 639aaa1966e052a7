// Imported by sessions.ts, so green threads load it as well.
// eslint-disable-next-line no-var -- a var on purpose: the report flags it
export var hits = 0;

export function hit(): void {
  hits++;
}
