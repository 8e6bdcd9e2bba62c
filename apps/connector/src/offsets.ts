// Which offset may be committed: per partition, the last offset such that it and every offset
// before it (of those handed out) has been delivered. Messages of one partition arrive in
// offset order but may finish in any order; committing past an unfinished one would lose it.

export class PartitionWatermark {
  #pending: bigint[] = [];
  #head = 0;
  #done = new Set<bigint>();
  #committable: bigint | undefined;

  /** A message was handed out for delivery (in offset order). */
  track(offset: bigint): void {
    this.#pending.push(offset);
  }

  /** A message was delivered; returns the new committable offset if it moved. */
  complete(offset: bigint): bigint | undefined {
    this.#done.add(offset);
    let moved = false;
    while (this.#head < this.#pending.length && this.#done.has(this.#pending[this.#head] as bigint)) {
      const o = this.#pending[this.#head] as bigint;
      this.#done.delete(o);
      this.#committable = o;
      this.#head++;
      moved = true;
    }
    if (this.#head > 1024) {
      this.#pending = this.#pending.slice(this.#head);
      this.#head = 0;
    }
    return moved ? this.#committable : undefined;
  }

  get inflight(): number {
    return this.#pending.length - this.#head;
  }
}
