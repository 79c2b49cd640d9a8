/** Public option / result types of the sandbox (DESIGN.md "Sandbox (contract)"); re-exported by index.ts. */
import type { SandboxCore } from './core';
import type { Payments } from './payments';

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
  /**
   * PROCESSING refunds settle as SUCCESS (and REFUND.SUCCESS is sent) this many sandbox seconds after creation.
   * Default 5; `null` or 0 = only by `POST /sandbox/refunds/{out_refund_no}/settle` (or the console).
   */
  refundSettleSeconds?: number | null;
  /**
   * The refund notify URL "configured on the merchant platform": where REFUND.* goes when a refund request has no
   * `notify_url`. Default: the order's `notify_url`.
   */
  refundNotifyUrl?: string;
  /**
   * Which platform key id notifications carry in `Wechatpay-Serial` — the WeChat Pay public key id (`PUB_KEY_ID_…`,
   * default) or the platform certificate serial — and which one signs a response whose request's `Wechatpay-Serial`
   * names neither (a request naming one of them always gets that one, wxpay-v3.md §3).
   */
  notificationSerial?: 'publicKey' | 'certificate';
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
  /**
   * The state and clock behind the HTTP API, for in-process façades (the CloudPay emulation): use it with the domain
   * functions of payments.ts (`payments`), refunds.ts and bills.ts, and listen to `core.events`.
   */
  core: SandboxCore;
  payments: Payments;
  close(): Promise<void>;
}

/** WeChat Pay's notification retry schedule: 15s,15s,30s,3m,10m,20m,30m,30m,30m,60m,3h,3h,3h,6h,6h (wxpay-v3.md §4). */
export const WECHAT_RETRY_SCHEDULE_SECONDS: readonly number[] = Object.freeze([15, 15, 30, 180, 600, 1200, 1800, 1800, 1800, 3600, 10800, 10800, 10800, 21600, 21600]);

/** Answer-within limit for a notification (wxpay-v3.md §4). */
export const NOTIFY_TIMEOUT_MS = 5000;

/** Sandbox seconds after which a PROCESSING refund settles as SUCCESS by itself, unless configured otherwise. */
export const DEFAULT_REFUND_SETTLE_SECONDS = 5;
