/**
 * A compact map from a key (an order or refund number) to an amount, a status and a seen-flag, for a million keys in
 * tens of MB: the keys' bytes in blocks of 1 MiB, everything else in typed arrays, open addressing by FNV-1a.
 * A bill row is looked up by the bytes of its field, so matching a row allocates nothing. Each entry keeps the top
 * byte of its hash: a probe passes all but 1 in 256 other keys on one comparison instead of comparing their bytes
 * (order numbers of one shop share long prefixes); a byte, not the whole hash, to keep a million keys ~3 MB smaller.
 */

const EMPTY_SLOT = 0;
/** Not read from the global `Math` on every byte (slow where the global object is intercepted, e.g. vm contexts). */
const imul = Math.imul;
const MAX_KEY_BYTES = 255;
/** Keys are written into blocks of 2^KEY_BLOCK_BITS bytes, none across two; an entry's keyStart is block·2^bits + offset. */
const KEY_BLOCK_BITS = 20;
const KEY_BLOCK_BYTES = 1 << KEY_BLOCK_BITS;
const KEY_OFFSET_MASK = KEY_BLOCK_BYTES - 1;

function fnv1a(b: Uint8Array, start: number, end: number): number {
  let h = 0x811c9dc5;
  for (let i = start; i < end; i++) h = imul(h ^ b[i]!, 0x01000193);
  return h >>> 0;
}

/**
 * Writes `key` as UTF-8 at `at`; answers its length in bytes. ASCII (every order and refund number: wxpay-v3.md
 * §1.1, §1.4) is copied a char at a time, which for a short key is several times cheaper than a `Buffer.write`.
 */
function writeKey(b: Buffer, at: number, key: string): number {
  const n = key.length;
  for (let i = 0; i < n; i++) {
    const c = key.charCodeAt(i);
    if (c > 0x7f) return b.write(key, at, 'utf8');
    b[at + i] = c;
  }
  return n;
}

export class KeyIndex {
  size = 0;
  /** Fen: order and refund amounts are at most 2^31 − 1 (schemas/models), one Int32 each. */
  amount: Int32Array;
  status: Uint8Array;
  seen: Uint8Array;
  /**
   * The keys' bytes. Full blocks are kept as they are and a new one is added: a buffer grown by copying left each old
   * copy to the collector, ~15 MB of garbage at a million keys.
   */
  private blocks: Buffer[] = [Buffer.allocUnsafe(KEY_BLOCK_BYTES)];
  /** Bytes used in the last block. */
  private blockUsed = 0;
  private keyStart: Int32Array;
  private keyLength: Uint8Array;
  /** The top byte of each key's hash. */
  private tag: Uint8Array;
  /** Slot → entry + 1 (0 = empty); the table is kept at most half full. */
  private slots: Int32Array;

  constructor(capacity = 1024) {
    this.amount = new Int32Array(capacity);
    this.status = new Uint8Array(capacity);
    this.seen = new Uint8Array(capacity);
    this.keyStart = new Int32Array(capacity);
    this.keyLength = new Uint8Array(capacity);
    this.tag = new Uint8Array(capacity);
    this.slots = new Int32Array(capacity * 2);
  }

  /**
   * Adds a key; answers its entry, or -1 when the key is already there (the first one stays). The key is written
   * straight into the key buffer (no Buffer per key: a million of them would be garbage to collect).
   */
  add(key: string, amount: number, status: number): number {
    if (key.length * 3 > MAX_KEY_BYTES && Buffer.byteLength(key) > MAX_KEY_BYTES) throw new Error(`key longer than ${MAX_KEY_BYTES} bytes: ${key.slice(0, 40)}…`);
    if (this.blockUsed + key.length * 3 > KEY_BLOCK_BYTES) {
      this.blocks.push(Buffer.allocUnsafe(KEY_BLOCK_BYTES));
      this.blockUsed = 0;
    }
    const block = this.blocks[this.blocks.length - 1]!;
    const at = this.blockUsed;
    const length = writeKey(block, at, key);
    const h = fnv1a(block, at, at + length);
    const t = h >>> 24;
    if (this.size === this.amount.length) this.grow();
    // One probe: the key's own slot onwards, to the key (already there) or the first free slot (its place).
    const mask = this.slots.length - 1;
    let s = h & mask;
    for (let slot = this.slots[s]!; slot !== EMPTY_SLOT; slot = this.slots[s]!) {
      const other = slot - 1;
      if (this.tag[other] === t && this.keyLength[other] === length && this.sameKey(other, block, at)) return -1;
      s = (s + 1) & mask;
    }
    const e = this.size++;
    this.keyStart[e] = (this.blocks.length - 1) * KEY_BLOCK_BYTES + at;
    this.keyLength[e] = length;
    this.tag[e] = t;
    this.blockUsed += length;
    // An amount no order can have (not an integer of fen within Int32) is kept as one no bill row has: -1.
    this.amount[e] = Number.isInteger(amount) && amount >= 0 && amount <= 0x7fffffff ? amount : -1;
    this.status[e] = status;
    this.slots[s] = e + 1;
    return e;
  }

  /** The entry whose key is `b[start, end)`, or -1. */
  lookup(b: Uint8Array, start: number, end: number): number {
    const h = fnv1a(b, start, end);
    const t = h >>> 24;
    const length = end - start;
    const mask = this.slots.length - 1;
    for (let s = h & mask; ; s = (s + 1) & mask) {
      const slot = this.slots[s]!;
      if (slot === EMPTY_SLOT) return -1;
      const e = slot - 1;
      if (this.tag[e] === t && this.keyLength[e] === length && this.sameKey(e, b, start)) return e;
    }
  }

  get(key: string): number {
    const b = Buffer.from(key, 'utf8');
    return this.lookup(b, 0, b.length);
  }

  key(e: number): string {
    const at = this.keyStart[e]! & KEY_OFFSET_MASK;
    return this.blocks[this.keyStart[e]! >>> KEY_BLOCK_BITS]!.toString('utf8', at, at + this.keyLength[e]!);
  }

  private sameKey(e: number, b: Uint8Array, start: number): boolean {
    const block = this.blocks[this.keyStart[e]! >>> KEY_BLOCK_BITS]!;
    const at = this.keyStart[e]! & KEY_OFFSET_MASK;
    const n = this.keyLength[e]!;
    for (let i = 0; i < n; i++) if (block[at + i] !== b[start + i]) return false;
    return true;
  }

  /**
   * Four times the room at once: each growth leaves the old arrays to the collector, and at a million keys fewer,
   * smaller generations of them waiting there lowered the peak RSS (bench/README.md). The keys are hashed again (the
   * few growths of a run cost less than 4 bytes a key).
   */
  private grow(): void {
    const n = this.amount.length * 4;
    const widen = <T extends Uint8Array | Int32Array | Uint32Array>(a: T, make: (n: number) => T): T => {
      const b = make(n);
      b.set(a);
      return b;
    };
    this.amount = widen(this.amount, (k) => new Int32Array(k));
    this.status = widen(this.status, (k) => new Uint8Array(k));
    this.seen = widen(this.seen, (k) => new Uint8Array(k));
    this.keyStart = widen(this.keyStart, (k) => new Int32Array(k));
    this.keyLength = widen(this.keyLength, (k) => new Uint8Array(k));
    this.tag = widen(this.tag, (k) => new Uint8Array(k));
    const slots = new Int32Array(n * 2);
    const mask = slots.length - 1;
    for (let e = 0; e < this.size; e++) {
      const at = this.keyStart[e]! & KEY_OFFSET_MASK;
      let s = fnv1a(this.blocks[this.keyStart[e]! >>> KEY_BLOCK_BITS]!, at, at + this.keyLength[e]!) & mask;
      while (slots[s] !== EMPTY_SLOT) s = (s + 1) & mask;
      slots[s] = e + 1;
    }
    this.slots = slots;
  }
}
