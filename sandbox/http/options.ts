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
  /**
   * How much of its logs the sandbox keeps: notifications delivered or given up (with their attempts) and logged
   * `/v3/*` requests older than `days` of sandbox time, and beyond `attempts` attempts / `requests` requests
   * (oldest first), are pruned in the background every `everyMs` (and at start). A notification still pending
   * delivery is never pruned. Defaults: 7 days, 50,000 attempts, 100,000 requests, every 60 s.
   */
  retention?: { days?: number; attempts?: number; requests?: number; everyMs?: number };
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
  /** The sandbox clock (ms): what a dev server in the same process follows, exactly and without a request. */
  clock: { now(): number };
  close(): Promise<void>;
}
