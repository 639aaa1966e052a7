// Nothing green imports this module: its state is not reported.
let counter = 0;
export const seen = new Set<string>();

export function count(name: string): number {
  seen.add(name);
  return ++counter;
}
