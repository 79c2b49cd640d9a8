import { Readable } from 'node:stream';
import { chinaTimeToRfc3339, CloudPayApiName, createNonce, isPayError, parseWechatTime, PayError, toChinaCompact } from '../../wxpay';
import type {
  UnifiedOrderInput, UnifiedOrderOutput, QueryOrderInput, QueryOrderOutput, CloseOrderInput, CloseOrderOutput,
  RefundInput, RefundOutput, QueryRefundInput, QueryRefundOutput, DownloadBillInput, DownloadBillOutput,
} from '../../schemas/types.generated';
import { billPage, gunzipStream, isGzip, isoBillDate, type OpenBillRequest } from '../bill';
import { cloudPayFailure, paidOrderNotClosable } from '../errors';
import { compact } from './output';
import { PaymentProvider } from './provider';

/**
 * `cloud.cloudPay` from wx-server-sdk (a Proxy; no typings ship with it, wxpay-v2-cloudpay.md §5.1), or the
 * sandbox's emulation locally. Business failures resolve with returnCode/resultCode FAIL; only transport
 * failures reject.
 */
export type CloudPayApi = Record<CloudPayApiName, (params: Record<string, unknown>) => Promise<Record<string, unknown>>>;

export interface CloudPaySettings {
  cloudPay: CloudPayApi;
  /** The merchant number, in CloudPay's service-provider mode (wxpay-v2-cloudpay.md §5.2). */
  subMchId: string;
  /** The mini-program AppID; sent as subAppid with subOpenid when the payer's openid is given. */
  appid?: string;
  /** CloudBase environment whose functions receive the callbacks. */
  envId: string;
  payCallbackFunction: string;
  refundCallbackFunction?: string;
}

/** CloudPay = v2 wrapped in camelCase JSON, with no certificates (wxpay-v2-cloudpay.md §5). */
export class CloudPayProvider implements PaymentProvider {
  readonly kind = 'cloudpay' as const;

  constructor(private readonly s: CloudPaySettings) {}

  private async call(api: CloudPayApiName, params: Record<string, unknown>): Promise<Record<string, unknown>> {
    let result: Record<string, unknown>;
    try {
      result = await this.s.cloudPay[api]({ subMchId: this.s.subMchId, nonceStr: createNonce(32), ...params });
    } catch (err) {
      // A thrown CloudSDKError is a transport/platform failure, not a business answer: safe to retry.
      throw new PayError({ code: 'SYSTEM_ERROR', message: `CloudPay ${api} call failed: ${(err as Error).message}`, retryable: true, cause: err });
    }
    if (!result || result.returnCode !== 'SUCCESS' || (result.resultCode !== undefined && result.resultCode !== 'SUCCESS')) {
      // downloadBill answers {data} on success — text, or a Buffer when asked gzip — with no returnCode (§5.1, §5.3).
      if (api === 'downloadBill' && result && (typeof result.data === 'string' || Buffer.isBuffer(result.data)) && result.returnCode === undefined) return result;
      throw cloudPayFailure(api, result ?? {});
    }
    return result;
  }

  async unifiedOrder(input: UnifiedOrderInput): Promise<UnifiedOrderOutput> {
    const r = await this.call('unifiedOrder', compact({
      functionName: this.s.payCallbackFunction,
      envId: this.s.envId,
      body: input.body,
      outTradeNo: input.outTradeNo,
      totalFee: input.totalFee,
      // Required by v2; the payer's IP is not known to a server-side flow, so loopback is the documented stand-in.
      spbillCreateIp: input.spbillCreateIp ?? '127.0.0.1',
      tradeType: 'JSAPI',
      // Without openid CloudPay fills the payer from the calling user's context (§5.2).
      ...(input.openid ? { subOpenid: input.openid, ...(this.s.appid ? { subAppid: this.s.appid } : {}) } : {}),
      attach: input.attach,
      timeExpire: input.timeExpire ? toChinaCompact(parseWechatTime(input.timeExpire)!) : undefined,
      goodsTag: input.goodsTag,
    }));
    const payment = r.payment as UnifiedOrderOutput['payment'] | undefined;
    if (!payment || typeof r.prepayId !== 'string') throw new PayError({ code: 'SYSTEM_ERROR', message: 'CloudPay unifiedOrder answered SUCCESS without prepayId/payment', retryable: false });
    return { outTradeNo: input.outTradeNo, prepayId: r.prepayId, payment };
  }

  async queryOrder(input: QueryOrderInput): Promise<QueryOrderOutput> {
    const r = await this.call('queryOrder', input.outTradeNo ? { outTradeNo: input.outTradeNo } : { transactionId: input.transactionId });
    return compact({
      outTradeNo: String(r.outTradeNo ?? input.outTradeNo),
      transactionId: r.transactionId as string | undefined,
      tradeState: r.tradeState as QueryOrderOutput['tradeState'],
      tradeStateDesc: r.tradeStateDesc as string | undefined,
      totalFee: Number(r.totalFee ?? 0),
      payerTotal: r.cashFee === undefined ? undefined : Number(r.cashFee),
      // subOpenid is the payer under the mini-program; openid is under the provider's appid (§5.4).
      openid: (r.subOpenid ?? r.openid) as string | undefined,
      successTime: typeof r.timeEnd === 'string' && r.timeEnd ? (chinaTimeToRfc3339(r.timeEnd) ?? r.timeEnd) : undefined,
      attach: r.attach as string | undefined,
      tradeType: r.tradeType as string | undefined,
      bankType: r.bankType as string | undefined,
    }) as QueryOrderOutput;
  }

  async closeOrder(input: CloseOrderInput): Promise<CloseOrderOutput> {
    try {
      await this.call('closeOrder', { outTradeNo: input.outTradeNo });
    } catch (err) {
      // v2 answers ORDERCLOSED "订单已关闭，无法重复关闭" to a repeat close; the connector's close is re-entrant
      // (as v3's 204, wxpay-v3.md §1.3), so an already-closed order is the answer asked for.
      if (isPayError(err, 'ORDER_CLOSED')) return { outTradeNo: input.outTradeNo, closed: true };
      throw isPayError(err, 'ORDER_PAID') ? paidOrderNotClosable(err) : err;
    }
    return { outTradeNo: input.outTradeNo, closed: true };
  }

  async refund(input: RefundInput): Promise<RefundOutput> {
    const r = await this.call('refund', compact({
      ...(this.s.refundCallbackFunction ? { functionName: this.s.refundCallbackFunction, envId: this.s.envId } : {}),
      ...(input.transactionId ? { transactionId: input.transactionId } : { outTradeNo: input.outTradeNo }),
      outRefundNo: input.outRefundNo,
      totalFee: input.totalFee,
      refundFee: input.refundFee,
      refundDesc: input.refundDesc,
    }));
    return compact({
      outRefundNo: String(r.outRefundNo ?? input.outRefundNo),
      refundId: String(r.refundId),
      outTradeNo: String(r.outTradeNo ?? input.outTradeNo),
      transactionId: r.transactionId as string | undefined,
      // v2 refund only says "accepted"; the outcome comes by callback or queryRefund.
      status: 'PROCESSING',
      refundFee: Number(r.refundFee ?? input.refundFee),
      totalFee: Number(r.totalFee ?? input.totalFee),
      payerRefund: r.cashRefundFee === undefined ? undefined : Number(r.cashRefundFee),
    }) as RefundOutput;
  }

  /**
   * queryRefund answers list-shaped fields (refundStatusList…), older shapes indexed `refundStatus_0`; the
   * lists are reported empty even with refundCount 1 (§5.3) — then the status is unknown, said so, retryable.
   */
  async queryRefund(input: QueryRefundInput): Promise<QueryRefundOutput> {
    const r = await this.call('queryRefund', { outRefundNo: input.outRefundNo });
    const pick = (list: string, indexed: string, i: number): unknown => {
      const l = r[list];
      if (Array.isArray(l) && l.length > i) return l[i];
      return r[`${indexed}_${i}`];
    };
    const count = Number(r.refundCount ?? 0);
    let i = 0;
    for (let k = 0; k < Math.max(count, 1); k++) if (pick('outRefundNoList', 'outRefundNo', k) === input.outRefundNo) i = k;
    const rawStatus = pick('refundStatusList', 'refundStatus', i);
    if (typeof rawStatus !== 'string') {
      throw new PayError({ code: 'REFUND_STATUS_UNKNOWN', message: `CloudPay queryRefund returned no status for ${input.outRefundNo} (refundCount ${count}); rely on the refund callback or query again` });
    }
    const successTime = pick('refundSuccessTimeList', 'refundSuccessTime', i);
    return compact({
      outRefundNo: input.outRefundNo,
      refundId: String(pick('refundIdList', 'refundId', i) ?? ''),
      outTradeNo: String(r.outTradeNo ?? ''),
      transactionId: r.transactionId as string | undefined,
      status: V2_REFUND_STATUS[rawStatus] ?? 'PROCESSING',
      refundFee: Number(pick('refundFeeList', 'refundFee', i) ?? 0),
      totalFee: Number(r.totalFee ?? 0),
      successTime: typeof successTime === 'string' && successTime ? (chinaTimeToRfc3339(successTime) ?? successTime) : undefined,
      channel: pick('refundChannelList', 'refundChannel', i) as string | undefined,
      userReceivedAccount: pick('refundRecvAccoutList', 'refundRecvAccout', i) as string | undefined,
    }) as QueryRefundOutput;
  }

  /** One page of the day's bill, read from {@link CloudPayProvider.openBill} (connector/bill.ts says why pages). */
  async downloadBill(input: DownloadBillInput): Promise<DownloadBillOutput> {
    const billDate = isoBillDate(input.billDate);
    return billPage(await this.openBill({ billDate, billType: input.billType ?? 'ALL' }), { ...input, billDate });
  }

  /**
   * CloudPay answers the bill itself, whole, in `{data}` (no hash to check) and wants yyyyMMdd (§4, §5.3); asked
   * gzip, it is a Buffer about a tenth of the text's size, decompressed as it is read.
   */
  async openBill(req: OpenBillRequest): Promise<AsyncIterable<Buffer>> {
    const r = await this.call('downloadBill', { billDate: req.billDate.replace(/-/g, ''), billType: req.billType, tarType: 'GZIP' });
    const data = Buffer.isBuffer(r.data) ? r.data : Buffer.from(String(r.data ?? ''), 'utf8');
    return isGzip(data) ? gunzipStream([data]) : Readable.from([data]);
  }
}

/** v2 refund statuses → v3 (wxpay-v3.md §7; CHANGE→ABNORMAL confirmed by WxJava #2737, peers.md §3.9). */
const V2_REFUND_STATUS: Record<string, RefundOutput['status']> = { SUCCESS: 'SUCCESS', REFUNDCLOSE: 'CLOSED', PROCESSING: 'PROCESSING', CHANGE: 'ABNORMAL' };

