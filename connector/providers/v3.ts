import { buildJsapiPayment, KeyInput, PayError, WechatpayVerifier } from '../../wxpay';
import type {
  UnifiedOrderInput, UnifiedOrderOutput, QueryOrderInput, QueryOrderOutput, CloseOrderOutput, RefundOutput,
  QueryRefundOutput, DownloadBillOutput, V3Transaction,
} from '../../schemas/types.generated';
import { PaymentProvider } from './provider';
import { V3Client } from './v3-client';

export interface V3ProviderSettings {
  baseUrl: string;
  appid: string;
  mchid: string;
  merchantSerialNo: string;
  privateKey: KeyInput;
  /** WeChat Pay public keys by `PUB_KEY_ID_…` and/or platform certificate serial. */
  platformKeys: Record<string, KeyInput>;
  notifyUrl: string;
  timeoutMs: number;
  fetch?: typeof fetch;
}

/** WeChat Pay APIv3 direct merchant. Field mapping per wxpay-v3.md §7 (CloudPay camelCase ↔ v3 snake_case). */
export class V3Provider implements PaymentProvider {
  readonly kind = 'v3' as const;
  private readonly client: V3Client;

  constructor(private readonly s: V3ProviderSettings) {
    const ids = Object.keys(s.platformKeys);
    this.client = new V3Client({
      baseUrl: s.baseUrl,
      signer: { mchid: s.mchid, serialNo: s.merchantSerialNo, privateKey: s.privateKey },
      verifier: new WechatpayVerifier({ keys: s.platformKeys }),
      // Prefer the public key id: certificates are being retired (wxpay-v3.md §3).
      ...(ids.length ? { preferredPlatformSerial: ids.find((id) => id.startsWith('PUB_KEY_ID_')) ?? ids[0]! } : {}),
      timeoutMs: s.timeoutMs,
      ...(s.fetch ? { fetch: s.fetch } : {}),
    });
  }

  async unifiedOrder(input: UnifiedOrderInput): Promise<UnifiedOrderOutput> {
    if (!input.openid) {
      // v3 JSAPI has no calling-user context to fill the payer from (wxpay-v3.md §1.1: 268501013).
      throw new PayError({ code: 'PARAM_ERROR', message: 'openid is required by the v3 backend (JSAPI payer.openid)', detail: { field: 'openid', issue: 'required' } });
    }
    const body = {
      appid: this.s.appid,
      mchid: this.s.mchid,
      description: input.body,
      out_trade_no: input.outTradeNo,
      ...(input.timeExpire ? { time_expire: toRfc3339(input.timeExpire) } : {}),
      ...(input.attach !== undefined ? { attach: input.attach } : {}),
      notify_url: this.s.notifyUrl,
      ...(input.goodsTag ? { goods_tag: input.goodsTag } : {}),
      amount: { total: input.totalFee, currency: 'CNY' },
      payer: { openid: input.openid },
      ...(input.spbillCreateIp ? { scene_info: { payer_client_ip: input.spbillCreateIp } } : {}),
    };
    const res = await this.client.request<{ prepay_id: string }>('POST', '/v3/pay/transactions/jsapi', body);
    const prepayId = res.data.prepay_id;
    return { outTradeNo: input.outTradeNo, prepayId, payment: buildJsapiPayment({ appId: this.s.appid, prepayId, privateKey: this.s.privateKey }) };
  }

  async queryOrder(input: QueryOrderInput): Promise<QueryOrderOutput> {
    const mchid = encodeURIComponent(this.s.mchid);
    const path = input.outTradeNo
      ? `/v3/pay/transactions/out-trade-no/${encodeURIComponent(input.outTradeNo)}?mchid=${mchid}`
      : `/v3/pay/transactions/id/${encodeURIComponent(input.transactionId!)}?mchid=${mchid}`;
    const { data: t } = await this.client.request<V3Transaction>('GET', path);
    return compact({
      outTradeNo: t.out_trade_no,
      transactionId: t.transaction_id,
      tradeState: t.trade_state,
      tradeStateDesc: t.trade_state_desc,
      totalFee: t.amount.total,
      payerTotal: t.amount.payer_total,
      openid: t.payer?.openid,
      successTime: t.success_time,
      attach: t.attach,
      tradeType: t.trade_type,
      bankType: t.bank_type,
    }) as QueryOrderOutput;
  }

  async closeOrder(): Promise<CloseOrderOutput> { throw notYet('closeOrder'); }
  async refund(): Promise<RefundOutput> { throw notYet('refund'); }
  async queryRefund(): Promise<QueryRefundOutput> { throw notYet('queryRefund'); }
  async downloadBill(): Promise<DownloadBillOutput> { throw notYet('downloadBill'); }
}

function notYet(method: string): PayError {
  return new PayError({ code: 'NOT_IMPLEMENTED', message: `${method} is not implemented by the v3 backend yet`, retryable: false });
}

/** CloudPay's yyyyMMddHHmmss is China time; v3 wants RFC 3339 with the offset (wxpay-v3.md §7). */
function toRfc3339(t: string): string {
  const m = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})$/.exec(t);
  return m ? `${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}+08:00` : t;
}

/** Drops undefined values: outputs are closed schemas, and v3 may omit null-valued keys (wxpay-v3.md §0). */
export function compact<T extends Record<string, unknown>>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}
