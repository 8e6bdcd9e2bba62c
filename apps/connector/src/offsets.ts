// Which offset may be committed: per partition, the last offset such that it and every offset
// before it (of those handed out) has been delivered. Messages of one partition arrive in
// offset order but may finish in any order; committing past an unfinished one would lose it.
// The watermark keeps each message's payload until it is passed, so no other index is needed.

export class PartitionWatermark<T = undefined> {
  #pending: { offset: bigint; payload: T }[] = [];
  #head = 0;
  #done = new Set<bigint>();

  /** A message was handed out for delivery (in offset order). */
  track(offset: bigint, payload: T): void {
    this.#pending.push({ offset, payload });
  }

  /**
   * A message was delivered. If the watermark moved, returns the last contiguous delivered
   * entry (the one to commit); everything up to it is forgotten.
   */
  complete(offset: bigint): { offset: bigint; payload: T } | undefined {
    this.#done.add(offset);
    let last: { offset: bigint; payload: T } | undefined;
    for (;;) {
      const next = this.#pending[this.#head];
      if (!next || !this.#done.has(next.offset)) break;
      this.#done.delete(next.offset);
      last = next;
      this.#head++;
    }
    if (this.#head > 1024) {
      this.#pending = this.#pending.slice(this.#head);
      this.#head = 0;
    }
    return last;
  }

  get inflight(): number {
    return this.#pending.length - this.#head;
  }
}
