/**
 * A Fenwick (binary indexed) tree over 0/1 flags: "how many live rows before row i" and "which
 * row is the k-th live one" in O(log n). It is what keeps `total` of an ID-range filter and the
 * pages of a keyset scan cheap on a queue of a million rows.
 */
export class Fenwick {
  private tree: Int32Array;
  private top: number;

  constructor(size: number) {
    this.tree = new Int32Array(size + 1);
    this.top = highestPowerOfTwo(size);
  }

  get size(): number {
    return this.tree.length - 1;
  }

  /** Rebuilds in O(n) from `count` flags, `isSet(i)` telling whether row i counts. */
  static build(size: number, count: number, isSet: (i: number) => boolean): Fenwick {
    const fenwick = new Fenwick(size);
    const tree = fenwick.tree;
    for (let i = 0; i < count; i++) if (isSet(i)) tree[i + 1] = 1;
    for (let i = 1; i <= size; i++) {
      const parent = i + (i & -i);
      if (parent <= size) tree[parent]! += tree[i]!;
    }
    return fenwick;
  }

  add(index: number, delta: number): void {
    const tree = this.tree;
    for (let i = index + 1; i < tree.length; i += i & -i) tree[i]! += delta;
  }

  /** Sum of flags of rows [0, end). */
  prefix(end: number): number {
    let sum = 0;
    const tree = this.tree;
    for (let i = Math.min(end, tree.length - 1); i > 0; i -= i & -i) sum += tree[i]!;
    return sum;
  }

  /** Index of the k-th set row (k from 1), or -1 when fewer than k rows are set. */
  select(k: number): number {
    if (k <= 0) return -1;
    const tree = this.tree;
    let pos = 0;
    let rest = k;
    for (let step = this.top; step > 0; step >>= 1) {
      const next = pos + step;
      if (next < tree.length && tree[next]! < rest) {
        pos = next;
        rest -= tree[next]!;
      }
    }
    return pos + 1 < tree.length ? pos : -1;
  }
}

function highestPowerOfTwo(n: number): number {
  let p = 1;
  while (p * 2 <= n) p *= 2;
  return n === 0 ? 0 : p;
}
