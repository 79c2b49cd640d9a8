/**
 * Process settings for running `@cloudbase/node-sdk` against the loopback emulator, all undone by `restore()`:
 * - `TENCENTCLOUD=true`: the SDK skips its metadata.tencentyun.com probe (weda.md §4.4);
 * - the emulator's CA is trusted by https.globalAgent (stores are opened with keepalive:false so the SDK
 *   uses that agent; certificate checks stay on, no NODE_TLS_REJECT_UNAUTHORIZED);
 * - a DNS guard: every `dns.lookup` is recorded and any non-loopback name fails with ENOTFOUND, so nothing
 *   can reach the real cloud and the tests can assert that nothing tried (`lookups` stays empty).
 */
import dns from 'node:dns';
import { trustCa } from './cloudbase-emulator';

export interface SdkEnv {
  /** Non-loopback host names the process tried to resolve while the guard was on (all were refused). */
  lookups: string[];
  restore(): void;
}

const LOOPBACK_NAMES = new Set(['localhost', '127.0.0.1', '::1']);

export function useCloudbaseSdkEnv(caPem: string): SdkEnv {
  const prevTencentCloud = process.env.TENCENTCLOUD;
  process.env.TENCENTCLOUD = 'true';
  const untrust = trustCa(caPem);
  const lookups: string[] = [];
  const original = dns.lookup;
  const guarded = ((hostname: string, ...rest: unknown[]) => {
    const cb = rest[rest.length - 1] as (err: NodeJS.ErrnoException | null, ...a: unknown[]) => void;
    // Loopback names (a server's listen('127.0.0.1') looks its host up too) resolve as usual.
    if (LOOPBACK_NAMES.has(hostname)) return (original as (...a: unknown[]) => void)(hostname, ...rest);
    lookups.push(hostname);
    const err: NodeJS.ErrnoException = Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname} (blocked by the test DNS guard)`), { code: 'ENOTFOUND', hostname });
    process.nextTick(() => cb(err));
    return undefined;
  }) as unknown as typeof dns.lookup;
  dns.lookup = guarded;
  return {
    lookups,
    restore() {
      dns.lookup = original;
      untrust();
      if (prevTencentCloud === undefined) delete process.env.TENCENTCLOUD;
      else process.env.TENCENTCLOUD = prevTencentCloud;
    },
  };
}
