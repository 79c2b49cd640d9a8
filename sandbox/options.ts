/** Public option / result types of the sandbox (DESIGN.md "Sandbox (contract)"); re-exported by index.ts. */

export interface SandboxOptions {
  /** Keys + SQLite live here; created if missing. */
  dataDir: string;
  /** Default 0 (ephemeral). */
  port?: number;
  /** Default '127.0.0.1' (loopback only). */
  host?: string;
  /** Seconds between notification retries, measured on the sandbox clock (wxpay-v3.md §4). */
  retryScheduleSeconds?: number[];
  /** Default: silent. */
  log?: (line: string) => void;
  /** A notification attempt slower than this is a failure (wxpay-v3.md §4: 5 s). Tests may shorten it. */
  notifyTimeoutMs?: number;
}

/** Exactly the ready line of DESIGN.md; the CLI prints `JSON.stringify(info)`. */
export interface SandboxReadyInfo {
  event: 'ready';
  baseUrl: string;
  console: string;
  merchant: { mchid: string; appid: string; serialNo: string; privateKeyPath: string; apiV3Key: string };
  platform: { publicKeyId: string; publicKeyPath: string; certSerial: string; certPath: string };
}

export interface RunningSandbox {
  info: SandboxReadyInfo;
  baseUrl: string;
  close(): Promise<void>;
}

/** WeChat Pay's notification retry schedule: 15s,15s,30s,3m,10m,20m,30m,30m,30m,60m,3h,3h,3h,6h,6h (wxpay-v3.md §4). */
export const WECHAT_RETRY_SCHEDULE_SECONDS: readonly number[] = Object.freeze([15, 15, 30, 180, 600, 1200, 1800, 1800, 1800, 3600, 10800, 10800, 10800, 21600, 21600]);

/** Answer-within limit for a notification (wxpay-v3.md §4). */
export const NOTIFY_TIMEOUT_MS = 5000;
