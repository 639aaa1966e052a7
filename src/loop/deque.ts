/**
 * A FIFO queue with O(1) push and shift, used for the loop's ready queue and
 * for waiter lists. A plain array's shift() is O(n) once it grows large.
 */
export class Deque<T> {
  private buffer: (T | undefined)[] = new Array(16);
  private head = 0;
  private count = 0;

  get length(): number {
    return this.count;
  }

  push(item: T): void {
    if (this.count === this.buffer.length) this.grow();
    this.buffer[(this.head + this.count) & (this.buffer.length - 1)] = item;
    this.count++;
  }

  /** Puts an item at the front (LIFO use). */
  unshift(item: T): void {
    if (this.count === this.buffer.length) this.grow();
    this.head = (this.head - 1) & (this.buffer.length - 1);
    this.buffer[this.head] = item;
    this.count++;
  }

  shift(): T | undefined {
    if (this.count === 0) return undefined;
    const item = this.buffer[this.head];
    this.buffer[this.head] = undefined;
    this.head = (this.head + 1) & (this.buffer.length - 1);
    this.count--;
    return item;
  }

  pop(): T | undefined {
    if (this.count === 0) return undefined;
    const index = (this.head + this.count - 1) & (this.buffer.length - 1);
    const item = this.buffer[index];
    this.buffer[index] = undefined;
    this.count--;
    return item;
  }

  peek(): T | undefined {
    return this.count === 0 ? undefined : this.buffer[this.head];
  }

  /** Removes the first item equal to `item`; returns whether one was found. */
  remove(item: T): boolean {
    const mask = this.buffer.length - 1;
    for (let i = 0; i < this.count; i++) {
      if (this.buffer[(this.head + i) & mask] !== item) continue;
      for (let j = i; j < this.count - 1; j++) {
        this.buffer[(this.head + j) & mask] = this.buffer[(this.head + j + 1) & mask];
      }
      this.buffer[(this.head + this.count - 1) & mask] = undefined;
      this.count--;
      return true;
    }
    return false;
  }

  clear(): void {
    this.buffer = new Array(16);
    this.head = 0;
    this.count = 0;
  }

  *[Symbol.iterator](): IterableIterator<T> {
    const mask = this.buffer.length - 1;
    for (let i = 0; i < this.count; i++) yield this.buffer[(this.head + i) & mask] as T;
  }

  private grow(): void {
    const old = this.buffer;
    const next: (T | undefined)[] = new Array(old.length * 2);
    for (let i = 0; i < this.count; i++) next[i] = old[(this.head + i) & (old.length - 1)];
    this.buffer = next;
    this.head = 0;
  }
}
