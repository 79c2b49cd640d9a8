/**
 * Shared by the test/hostile-*.test.ts files: what the store holds (to assert a hostile request changed no order
 * and no refund), signed v3 notifications with any resource or plaintext, and the log lines of refusals.
 */
import { aesGcmEncrypt, createNonce, signResponse, toRfc3339Cst } from '../../wxpay';
import { platformPrivateKey } from './notify';
import type { TestDev } from './dev';

/** Every order and refund record of the dev server's store (envType pre), as the models answer them. */
export async function storedRows(t: TestDev): Promise<{ orders: unknown[]; refunds: unknown[] }> {
  const all = async (name: string) => (await t.dev.weda.callModel({
    name, methodName: 'wedaGetRecordsV2', params: { pageSize: 200, pageNumber: 1, orderBy: [{ createdAt: 'asc' }] }, envType: 'pre',
  })).records as unknown[];
  return { orders: await all('orders'), refunds: await all('refunds') };
}

/** Runs `hostile` and answers what it answered, after checking that no order or refund record changed meanwhile. */
export async function changesNothing<T>(t: TestDev, hostile: () => Promise<T>): Promise<T> {
  const before = await storedRows(t);
  const answer = await hostile();
  expect(await storedRows(t)).toEqual(before);
  return answer;
}

/**
 * A v3 notification signed with the sandbox's platform key (so it verifies), whose resource decrypts to exactly
 * `plaintext` — any text, JSON or not — or whose envelope is `envelope` as given (resource added unless present).
 */
export function signedRaw(t: TestDev, o: { eventType?: string; plaintext: string; envelope?: Record<string, unknown> }): { body: string; headers: Record<string, string> } {
  const nonce = createNonce(12);
  const eventType = o.eventType ?? 'TRANSACTION.SUCCESS';
  const originalType = eventType.startsWith('REFUND.') ? 'refund' : 'transaction';
  const resource = {
    original_type: originalType, algorithm: 'AEAD_AES_256_GCM', associated_data: originalType, nonce,
    ciphertext: aesGcmEncrypt({ key: t.dev.info.merchant.apiV3Key, nonce, associatedData: originalType, plaintext: o.plaintext }),
  };
  const envelope = o.envelope ?? {
    id: `EV-${createNonce(8)}`, create_time: toRfc3339Cst(Date.now()), resource_type: 'encrypt-resource', event_type: eventType, summary: 'x',
  };
  const body = JSON.stringify({ ...envelope, resource: 'resource' in envelope ? envelope.resource : resource });
  const signed = signResponse({ privateKey: platformPrivateKey(t), serial: t.dev.info.platform.publicKeyId, body });
  return { body, headers: { ...signed, 'Content-Type': 'application/json' } };
}

/** POSTs raw bytes to a dev-server function and answers the status and the body text (parsed when JSON). */
export async function post(url: string, body: string | undefined, headers: Record<string, string> = {}): Promise<{ status: number; text: string; json: any }> {
  const res = await fetch(url, { method: 'POST', headers, ...(body !== undefined ? { body } : {}) });
  const text = await res.text();
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: res.status, text, json };
}

/** The parsed log lines that are refusals (`refused: true`). */
export function refusals(lines: string[]): Array<Record<string, any>> {
  return lines.map((l) => { try { return JSON.parse(l) as Record<string, any>; } catch { return {}; } }).filter((l) => l.refused === true);
}
