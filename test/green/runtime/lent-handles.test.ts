/**
 * The hub's count of handles lent to workers (lent-handles.ts): an object
 * stays reachable by id while any worker may hold it, and its owner hears
 * exactly once when none does.
 */
import { expect } from 'chai';
import { HandleTable } from '../../../src/green/runtime/lent-handles.js';
import type { WorkerSlot } from '../../../src/green/runtime/pool.js';

/** The part of a worker slot the table keeps its counts in. */
function slot(): WorkerSlot {
  return { handles: new Map() } as unknown as WorkerSlot;
}

let tables = 0;
function table(): { table: HandleTable; unheld: number[] } {
  const unheld: number[] = [];
  return { table: new HandleTable(`test-${++tables}`, (id) => unheld.push(id)), unheld };
}

describe('runtime: HandleTable', () => {
  it('holds an id while any worker still holds one of the copies lent to it', () => {
    const { table: handles, unheld } = table();
    const [a, b] = [slot(), slot()];
    handles.lend(a, 7);
    handles.lend(a, 7);
    handles.lend(b, 7);
    handles.release(a, 7, 2);
    expect([handles.isHeld(7), unheld]).to.deep.equal([true, []]);
    handles.release(b, 7, 1);
    expect([handles.isHeld(7), unheld]).to.deep.equal([false, [7]]);
  });

  it('tells the owner once, however often a worker over-releases', () => {
    const { table: handles, unheld } = table();
    const a = slot();
    handles.lend(a, 1);
    handles.release(a, 1, 5);
    handles.release(a, 1, 1);
    expect(unheld).to.deep.equal([1]);
  });

  it('ignores a release from a worker that was never lent the id', () => {
    const { table: handles, unheld } = table();
    const [a, b] = [slot(), slot()];
    handles.lend(a, 3);
    handles.release(b, 3, 1);
    expect([handles.isHeld(3), unheld]).to.deep.equal([true, []]);
  });

  it('counts nothing for a value sent to no worker (the hub itself)', () => {
    const { table: handles } = table();
    handles.lend(null, 9);
    expect(handles.isHeld(9)).to.equal(false);
  });

  it('keeps each kind of handle apart in a worker', () => {
    const first = table();
    const second = table();
    const a = slot();
    first.table.lend(a, 1);
    second.table.lend(a, 1);
    first.table.release(a, 1, 1);
    expect([first.unheld, second.unheld, second.table.isHeld(1)]).to.deep.equal([[1], [], true]);
  });
});
