import { Bills, checkBillType } from '../domain/bills';
import { paramError, SandboxError } from '../domain/errors';
import { Payments } from '../domain/payments';
import { canonicalJson, validateJsapiPrepay, validateNativePrepay } from '../domain/prepay-validation';
import { Refunds, validateRefundRequest } from '../domain/refunds';
import { refundResource } from '../domain/resources';
import { parseJsonBody } from './body';
import { RouteRequest, Router } from './router';

/** What v3 handlers get besides the request: the domain and the authenticated merchant. */
export interface V3Context {
  payments: Payments;
  refunds: Refunds;
  bills: Bills;
  /** The mchid of the verified Authorization header. */
  mchid: string;
  /** `http://host:port` the client reached us at (download_url points back there). */
  baseUrl: string;
  /** Body of `GET /v3/certificates`. */
  certificates: () => unknown;
}

/** The WeChat Pay v3 endpoints the sandbox implements (wxpay-v3.md §1, §3). */
export function v3Router(): Router<V3Context> {
  return new Router<V3Context>()
    // §1.1 JSAPI / mini-program prepay
    .add('POST', '/v3/pay/transactions/jsapi', (req, ctx) => {
      const body = parseJsonBody(req.body);
      const prepay = validateJsapiPrepay(body);
      return { status: 200, body: ctx.payments.prepay(prepay, canonicalJson(body)) };
    })
    // Native prepay (trade_type NATIVE, §1.2): the JSAPI order without payer, answered `{"code_url": …}` (§6 V4)
    .add('POST', '/v3/pay/transactions/native', (req, ctx) => {
      const body = parseJsonBody(req.body);
      return { status: 200, body: ctx.payments.prepayNative(validateNativePrepay(body), canonicalJson(body)) };
    })
    // §1.2 query by out_trade_no (unpaid and paid orders)
    .add('GET', '/v3/pay/transactions/out-trade-no/:out_trade_no', (req, ctx) => ({
      status: 200,
      body: ctx.payments.queryByOutTradeNo(requiredMchidQuery(req), req.params.out_trade_no!),
    }))
    // §1.2 query by transaction_id (paid orders only)
    .add('GET', '/v3/pay/transactions/id/:transaction_id', (req, ctx) => ({
      status: 200,
      body: ctx.payments.queryByTransactionId(requiredMchidQuery(req), req.params.transaction_id!),
    }))
    // §1.3 close: 204 with an empty (but signed) body, re-entrant
    .add('POST', '/v3/pay/transactions/out-trade-no/:out_trade_no/close', (req, ctx) => {
      const body = parseJsonBody(req.body);
      const mchid = typeof body === 'object' && body !== null ? (body as Record<string, unknown>).mchid : undefined;
      if (typeof mchid !== 'string' || mchid === '') throw paramError('/mchid', 'is required');
      ctx.payments.close(mchid, req.params.out_trade_no!);
      return { status: 204 };
    })
    // §1.4 refund create: the Refund object, PROCESSING; idempotent per out_refund_no
    .add('POST', '/v3/refund/domestic/refunds', (req, ctx) => {
      const input = validateRefundRequest(parseJsonBody(req.body));
      return { status: 200, body: refundResource(ctx.refunds.create({ ...input, mchid: ctx.mchid }).refund) };
    })
    // §1.5 refund query
    .add('GET', '/v3/refund/domestic/refunds/:out_refund_no', (req, ctx) => ({
      status: 200,
      body: refundResource(ctx.refunds.get(req.params.out_refund_no!, ctx.mchid)),
    }))
    // §1.6 trade bill → hash + download_url
    .add('GET', '/v3/bill/tradebill', (req, ctx) => {
      const billDate = req.query.get('bill_date');
      if (!billDate) throw paramError('bill_date', 'is required', 'query');
      const billType = checkBillType(req.query.get('bill_type'));
      const tarType = req.query.get('tar_type');
      if (tarType !== null && tarType !== 'GZIP') throw paramError('tar_type', 'must be GZIP or absent', 'query', tarType);
      return { status: 200, body: ctx.bills.request({ billDate, billType, gzip: tarType === 'GZIP', baseUrl: ctx.baseUrl, mchid: ctx.mchid }) };
    })
    // §1.7 bill download: the request is signed, the answer is the raw file, unsigned
    .add('GET', '/v3/billdownload/file', (req, ctx) => {
      const { body, size, gzip } = ctx.bills.download(req.query.get('token'), ctx.mchid);
      return {
        status: 200,
        unsignedRaw: body,
        headers: gzip ? { 'Content-Type': 'application/octet-stream' } : { 'Content-Type': 'text/plain; charset=utf-8', ...(size !== undefined ? { 'Content-Length': String(size) } : {}) },
      };
    })
    // §3 platform certificates (certificate mode): signed with the certificate unless the request asked otherwise
    .add('GET', '/v3/certificates', (_req, ctx) => ({ status: 200, body: ctx.certificates(), defaultSerial: 'certificate' }));
}

/** Both query endpoints require `?mchid=` (§1.2); its equality with the signer is checked by auth.ts. */
function requiredMchidQuery(req: RouteRequest): string {
  const mchid = req.query.get('mchid');
  if (!mchid) throw paramError('mchid', 'is required', 'query');
  return mchid;
}

/** The v3 error body of an injected HTTP fault. */
export function faultError(kind: 'SYSTEM_ERROR' | 'FREQUENCY_LIMITED' | 'NOT_ENOUGH', status: number, message: string): SandboxError {
  return new SandboxError(status, kind, message); // no sandbox-specific detail: indistinguishable from the real answer
}
