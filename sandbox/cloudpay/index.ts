import { CLOUDPAY_API_NAMES, createNonce } from '../../wxpay';
import type { Bills } from '../domain/bills';
import type { SandboxClock } from '../domain/clock';
import { SandboxError } from '../domain/errors';
import type { DomainEvents } from '../domain/events';
import { newCloudPayCallbackId } from '../domain/ids';
import type { Merchant } from '../domain/merchant';
import type { Payments } from '../domain/payments';
import type { Refunds } from '../domain/refunds';
import type { SandboxState } from '../state';
import type { CloudPaySettings, FunctionRow } from '../state/cloudpay';
import { cloudFunctionUri } from '../state/outbox';
import type { RefundRow } from '../state/refunds';
import type { TransactionRow } from '../state/transactions';
import { CloudPayBackend, v3Equivalent } from './api';
import { toCamelCase, toSnakeCase } from './case';
import { paymentEvent, refundEvent } from './events';
import { PROVIDER_APPID, PROVIDER_MCHID } from './format';

export interface CloudPayDeps {
  state: Pick<SandboxState, 'transactions' | 'refunds' | 'cloudpay' | 'outbox' | 'faults'>;
  clock: SandboxClock;
  merchant: Merchant;
  payments: Payments;
  refunds: Refunds;
  bills: Bills;
  events: DomainEvents;
  /** Called once a callback has been queued: the outbox should look now. */
  wake: () => void;
  log: (line: string) => void;
}

/** An answer of `POST /cloudpay/{api}`: what the SDK resolves (200), or the error it would throw (4xx/5xx). */
export interface CloudPayAnswer {
  status: number;
  body: Record<string, unknown>;
}

type ApiFault = 'SYSTEM_ERROR' | 'FREQUENCY_LIMITED' | 'NOT_ENOUGH';

/**
 * The CloudPay emulation (wxpay-v2-cloudpay.md §5) on the sandbox's shared state: the six `cloud.cloudPay` APIs,
 * answered as wx-server-sdk resolves them, and the callbacks as cloud functions. Orders and refunds CloudPay places
 * carry no v3 notify URL; when one is paid or settled (whoever drove it: control API, console, auto-settlement)
 * the domain events make CloudPay queue the camelCase event, on the outbox's `cloud-function` channel, for the
 * function named at unifiedOrder / refund. The merchant is the sandbox merchant in CloudPay's service-provider mode.
 */
export class CloudPay {
  /** The sandbox's APIv2 key (32 chars, wxpay-v2-cloudpay.md §0 "Key"): signs CloudPay answers and the MD5 paySign. Made once, kept. */
  readonly v2Key: string;
  private readonly backend: CloudPayBackend;
  private readonly onPaid = (t: TransactionRow): void => this.paid(t);
  private readonly onSettled = (r: RefundRow): void => this.settled(r);

  constructor(private readonly d: CloudPayDeps) {
    this.v2Key = d.state.cloudpay.v2Key(() => createNonce(32));
    this.backend = new CloudPayBackend({ state: d.state, clock: d.clock, merchant: d.merchant, payments: d.payments, refunds: d.refunds, bills: d.bills, v2Key: this.v2Key });
    d.events.on('transaction.paid', this.onPaid);
    d.events.on('refund.settled', this.onSettled);
  }

  /** Stops listening (call before closing the database). */
  close(): void {
    this.d.events.off('transaction.paid', this.onPaid);
    this.d.events.off('refund.settled', this.onSettled);
  }

  /**
   * One `cloud.cloudPay.<api>(params)` call, reshaped by the SDK's rules (wxpay-v2-cloudpay.md §5.1): params in
   * camelCase or snake_case (snake_cased as the SDK does), the result camelCased with `errCode: 0` and
   * `errMsg: 'cloudPay.<api>:ok'` — business failures included; a platform failure is an error answer.
   */
  async call(api: string, bodyText: string, openid?: string): Promise<CloudPayAnswer> {
    let params: unknown;
    try {
      params = bodyText.trim() === '' ? {} : JSON.parse(bodyText);
    } catch (err) {
      return { status: 400, body: platformError('INVALID_PARAM', `request data is not JSON: ${(err as Error).message}`) };
    }
    if (typeof params !== 'object' || params === null || Array.isArray(params)) return { status: 400, body: platformError('INVALID_PARAM', 'request data must be a JSON object') };
    const snake = toSnakeCase<Record<string, unknown>>(params);
    const raw = this.backend.call(api, snake, { ...(openid ? { openid } : {}), fault: await this.fault(api, snake) });
    if (!raw) return { status: 404, body: platformError('INVALID_API', `cloudPay.${api} is not an API the sandbox emulates (${CLOUDPAY_API_NAMES.join(', ')})`) };
    this.d.log(`cloudpay ${api} → ${raw.kind === 'bill' ? 'bill' : `${String(raw.body.return_code)}/${String(raw.body.result_code ?? '-')}${raw.body.err_code ? ` ${String(raw.body.err_code)}` : ''}`}`);
    // A non-JSON reply (a bill) becomes {data}; JSON is camelCased, then errCode/errMsg overwrite (clobber) its own.
    const result = raw.kind === 'bill' ? { data: raw.data } : toCamelCase<Record<string, unknown>>(raw.body);
    return { status: 200, body: { ...result, errCode: 0, errMsg: `cloudPay.${api}:ok` } };
  }

  /** `GET /sandbox/cloudpay`: who the merchant is to CloudPay, its key, settings and functions. */
  info(): Record<string, unknown> {
    return {
      subMchId: this.d.merchant.mchid,
      subAppid: this.d.merchant.appid,
      provider: { appid: PROVIDER_APPID, mchId: PROVIDER_MCHID },
      v2Key: this.v2Key,
      settings: this.settings(),
      functions: this.functions(),
      apis: `POST /cloudpay/{${CLOUDPAY_API_NAMES.join('|')}}`,
    };
  }

  /** Registers (or moves) a cloud function: invoking (envId, functionName) = POSTing the event to `url`. */
  registerFunction(envId: string, functionName: string, url: string): Record<string, unknown> {
    this.d.state.cloudpay.registerFunction(envId, functionName, url, this.d.clock.now());
    this.d.wake(); // callbacks waiting for this function still wait for their retry time
    return functionView(this.d.state.cloudpay.findFunction(envId, functionName)!);
  }

  functions(): Record<string, unknown>[] {
    return this.d.state.cloudpay.listFunctions().map(functionView);
  }

  deleteFunction(envId: string, functionName: string): void {
    if (!this.d.state.cloudpay.deleteFunction(envId, functionName)) throw new SandboxError(404, 'NOT_FOUND', `no function ${functionName} in env ${envId}`);
  }

  settings(): CloudPaySettings {
    return this.d.state.cloudpay.settings();
  }

  saveSettings(s: CloudPaySettings): void {
    this.d.state.cloudpay.saveSettings(s);
  }

  /**
   * API faults (`POST /sandbox/faults`) reach CloudPay too: CloudPay rides on the same WeChat Pay, so a fault whose
   * path prefix matches the v3 path of the same operation (unifiedOrder ↔ POST /v3/pay/transactions/jsapi, refund ↔
   * POST /v3/refund/domestic/refunds, …) is consumed here. LATENCY delays the answer; SYSTEM_ERROR,
   * FREQUENCY_LIMITED and NOT_ENOUGH become the v2 failures SYSTEMERROR, FREQUENCY_LIMITED and NOTENOUGH.
   */
  private async fault(api: string, params: Record<string, unknown>): Promise<ApiFault | undefined> {
    const { faults } = this.d.state;
    if (faults.empty()) return undefined;
    const v3 = v3Equivalent(api, params);
    if (!v3) return undefined;
    const latency = faults.takeHttp(['LATENCY'], v3.method, v3.path);
    if (latency?.ms) await new Promise((r) => setTimeout(r, latency.ms!));
    const f = faults.takeHttp(['SYSTEM_ERROR', 'FREQUENCY_LIMITED', 'NOT_ENOUGH'], v3.method, v3.path);
    return f ? (f.kind as ApiFault) : undefined;
  }

  private paid(t: TransactionRow): void {
    const order = this.d.state.cloudpay.findOrder(t.mchid, t.out_trade_no);
    if (!order) return; // not a CloudPay order: v3 notifies it
    this.enqueue('CLOUDPAY.PAYMENT', order.env_id, order.function_name, paymentEvent(t), t.out_trade_no);
  }

  private settled(r: RefundRow): void {
    const refund = this.d.state.cloudpay.findRefund(r.mchid, r.out_refund_no);
    if (!refund) return;
    this.enqueue('CLOUDPAY.REFUND', refund.env_id, refund.function_name, refundEvent(r), r.out_trade_no, r.out_refund_no);
  }

  private enqueue(eventType: string, envId: string, functionName: string, event: Record<string, unknown>, outTradeNo: string, outRefundNo?: string): void {
    this.d.state.outbox.enqueue({
      id: newCloudPayCallbackId(),
      channel: 'cloud-function',
      eventType,
      url: cloudFunctionUri(envId, functionName),
      outTradeNo,
      ...(outRefundNo !== undefined ? { outRefundNo } : {}),
      payload: event,
      createTime: this.d.clock.nowRfc3339(),
      createdAt: this.d.clock.now(),
    });
    this.d.wake();
  }
}

/** The error shape of a thrown CloudSDKError (`errCode`, `errMsg`), carried over HTTP to the client, which rejects. */
export function platformError(code: string, message: string): Record<string, unknown> {
  return { errCode: -1, errMsg: `${code}: ${message}`, code, message };
}

function functionView(f: FunctionRow): Record<string, unknown> {
  return { envId: f.env_id, functionName: f.function_name, url: f.url };
}
