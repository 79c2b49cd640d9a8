/**
 * The reconciliation's key index (reconcile/key-index.ts) must answer exactly what a Map would: every key added is
 * found by its bytes and by its text, with its own amount and status; a key added twice keeps its first entry; a key
 * never added is not found — through its growths, across its 1 MiB key blocks, for keys of one shop that share long
 * prefixes (and so probe past each other), for non-ASCII keys and for keys whose hashes collide in the table.
 */
import { KeyIndex } from '../reconcile/key-index';
import { random } from './helpers/seeded-random';

function keyOf(next: (n: number) => number, i: number): string {
  switch (next(4)) {
    case 0: return `DAY${String(i).padStart(12, '0')}`; // one shop's numbers: a long shared prefix
    case 1: return `R${i}-${'x'.repeat(next(40))}`; // lengths vary
    case 2: return `单号${i}é`; // UTF-8 beyond ASCII
    default: return `${i.toString(36)}_${next(1_000_000)}`;
  }
}

test('200,000 keys from a capacity of 16: every one found with its values, duplicates refused, strangers absent', () => {
  const next = random(4242);
  const index = new KeyIndex(16);
  const expected = new Map<string, { e: number; amount: number; status: number }>();
  const wrong: string[] = [];
  const added: string[] = [];
  for (let i = 0; i < 200_000; i++) {
    // One in twenty is a key already added, at any distance back.
    const key = added.length > 0 && next(20) === 0 ? added[next(added.length)]! : keyOf(next, i);
    const amount = next(3) === 0 ? next(100_000) : next(10) === 0 ? -5 : 1 + next(1_000_000);
    const status = 1 + next(4);
    const e = index.add(key, amount, status);
    if (expected.has(key)) {
      if (e !== -1) wrong.push(`${key} added twice: entry ${e}`);
      continue;
    }
    if (e !== expected.size) wrong.push(`${key}: entry ${e}, want ${expected.size}`);
    expected.set(key, { e, amount: amount >= 0 ? amount : -1, status });
    added.push(key);
    if (next(50) === 0 && index.add(key, 7, 3) !== -1) wrong.push(`${key} added again at once`); // the first entry stays
  }
  expect(index.size).toBe(expected.size);
  for (const [key, want] of expected) {
    const bytes = Buffer.from(`,${key},`, 'utf8');
    const byBytes = index.lookup(bytes, 1, bytes.length - 1);
    const byText = index.get(key);
    if (byBytes !== want.e || byText !== want.e || index.key(want.e) !== key || index.amount[want.e] !== want.amount || index.status[want.e] !== want.status) {
      wrong.push(`${key}: entry ${byBytes}/${byText} (want ${want.e}), key ${index.key(want.e)}, amount ${index.amount[want.e]}, status ${index.status[want.e]}`);
    }
  }
  expect(wrong.slice(0, 5)).toEqual([]);
  for (const stranger of ['', 'DAY', 'DAY0000000000000', `DAY${'9'.repeat(12)}`, '单号', 'unknown-key']) {
    if (!expected.has(stranger)) expect(index.get(stranger)).toBe(-1);
  }
});

test('keys whose hashes share a slot are told apart by their bytes', () => {
  // A small table: with 2^11 slots and 1,000 keys, many keys start their probe at the same slot.
  const index = new KeyIndex(1024);
  const keys = Array.from({ length: 1000 }, (_, i) => `ORDER${String(i).padStart(5, '0')}`);
  keys.forEach((k, i) => expect(index.add(k, i, 2)).toBe(i));
  keys.forEach((k, i) => expect(index.get(k)).toBe(i));
  expect(index.get('ORDER01000')).toBe(-1);
});

test('a key longer than 255 bytes is refused by name, nothing added', () => {
  const index = new KeyIndex();
  expect(() => index.add('k'.repeat(256), 1, 1)).toThrow('key longer than 255 bytes');
  expect(index.size).toBe(0);
});
