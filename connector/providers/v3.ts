import { chinaTimeToRfc3339, buildJsapiPayment, isPayError, KeyInput, PayError, WechatpayVerifier } from '../../wxpay';
import type {
  UnifiedOrderInput, UnifiedOrderOutput, QueryOrderInput, QueryOrderOutput, CloseOrderInput, CloseOrderOutput, RefundInput,
  RefundOutput, QueryRefundInput, QueryRefundOutput, DownloadBillInput, DownloadBillOutput, V3Transaction,
} from '../../schemas/types.generated';
import { billPage, isoBillDate, plainBill, sha1Checked, type OpenBillRequest } from '../bill';
import { paidOrderNotClosable } from '../errors';
import { compact } from './output';
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
  /** Overrides the refund notification URL configured on the merchant platform (wxpay-v3.md §1.4). */
  refundNotifyUrl?: string;
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
      ...(input.timeExpire ? { time_expire: chinaTimeToRfc3339(input.timeExpire) ?? input.timeExpire } : {}),
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
    const t = (await this.client.request<V3Transaction>('GET', path, undefined, { notFound: 'ORDER_NOT_EXIST' })).data;
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

  /** 204 on success and re-entrant (wxpay-v3.md §1.3); a paid order answers ORDER_PAID: refund it instead. */
  async closeOrder(input: CloseOrderInput): Promise<CloseOrderOutput> {
    try {
      await this.client.request('POST', `/v3/pay/transactions/out-trade-no/${encodeURIComponent(input.outTradeNo)}/close`, { mchid: this.s.mchid });
    } catch (err) {
      throw isPayError(err, 'ORDER_PAID') ? paidOrderNotClosable(err) : err;
    }
    return { outTradeNo: input.outTradeNo, closed: true };
  }

  async refund(input: RefundInput): Promise<RefundOutput> {
    const body = {
      ...(input.transactionId ? { transaction_id: input.transactionId } : { out_trade_no: input.outTradeNo }),
      out_refund_no: input.outRefundNo,
      ...(input.refundDesc ? { reason: input.refundDesc } : {}),
      ...(this.s.refundNotifyUrl ? { notify_url: this.s.refundNotifyUrl } : {}),
      amount: { refund: input.refundFee, total: input.totalFee, currency: 'CNY' },
    };
    const { data } = await this.client.request<V3Refund>('POST', '/v3/refund/domestic/refunds', body, { notFound: 'ORDER_NOT_EXIST' });
    return refundOutput(data);
  }

  async queryRefund(input: QueryRefundInput): Promise<QueryRefundOutput> {
    const { data } = await this.client.request<V3Refund>('GET', `/v3/refund/domestic/refunds/${encodeURIComponent(input.outRefundNo)}`, undefined, { notFound: 'REFUND_NOT_EXIST' });
    return refundOutput(data);
  }

  /** One page of the day's bill, read from {@link V3Provider.openBill} (connector/bill.ts says why pages). */
  async downloadBill(input: DownloadBillInput): Promise<DownloadBillOutput> {
    const billDate = isoBillDate(input.billDate);
    return billPage(await this.openBill({ billDate, billType: input.billType ?? 'ALL' }), { ...input, billDate });
  }

  /**
   * Two steps (wxpay-v3.md §1.6–1.7): tradebill (asked gzip) → {hash_value, download_url}; the signed download
   * answers unsigned bytes, decompressed as they arrive (when they are gzip) and hashed: the stream throws
   * BILL_HASH_MISMATCH at its end when the SHA-1 of the plain bill is not hash_value.
   */
  async openBill(req: OpenBillRequest): Promise<AsyncIterable<Buffer>> {
    const { data } = await this.client.request<{ hash_type: string; hash_value: string; download_url: string }>(
      'GET', `/v3/bill/tradebill?bill_date=${req.billDate}&bill_type=${req.billType}&tar_type=GZIP`);
    // Asking again will not change the hash type: unlike a mismatch, not retryable.
    if (data.hash_type !== 'SHA1') throw new PayError({ code: 'BILL_HASH_MISMATCH', message: `unsupported bill hash type ${data.hash_type}`, retryable: false });
    return sha1Checked(plainBill(await this.client.downloadStream(data.download_url)), data.hash_value);
  }
}

interface V3Refund {
  refund_id: string; out_refund_no: string; transaction_id?: string; out_trade_no: string; channel?: string;
  user_received_account?: string; success_time?: string; create_time?: string; status: RefundOutput['status'];
  amount: { total: number; refund: number; payer_refund?: number };
}

function refundOutput(r: V3Refund): RefundOutput {
  return compact({
    outRefundNo: r.out_refund_no,
    refundId: r.refund_id,
    outTradeNo: r.out_trade_no,
    transactionId: r.transaction_id,
    status: r.status,
    refundFee: r.amount.refund,
    totalFee: r.amount.total,
    payerRefund: r.amount.payer_refund,
    createTime: r.create_time,
    successTime: r.success_time,
    channel: r.channel,
    userReceivedAccount: r.user_received_account,
  }) as RefundOutput;
}
