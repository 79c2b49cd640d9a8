import { paramError } from './errors';
import { parseJsonBody } from './http-util';
import { Payments } from './payments';
import { canonicalJson, validateJsapiPrepay } from './prepay-validation';
import { RouteRequest, Router } from './router';

/** What v3 handlers get besides the request: the state machine and the authenticated merchant. */
export interface V3Context {
  payments: Payments;
  /** The mchid of the verified Authorization header. */
  mchid: string;
}

/** The WeChat Pay v3 endpoints of this cut (wxpay-v3.md §1.1–1.3). Refunds and bills join in issue 4. */
export function v3Router(): Router<V3Context> {
  return new Router<V3Context>()
    // §1.1 JSAPI / mini-program prepay
    .add('POST', '/v3/pay/transactions/jsapi', (req, ctx) => {
      const body = parseJsonBody(req.body);
      const prepay = validateJsapiPrepay(body);
      return { status: 200, body: ctx.payments.prepay(prepay, canonicalJson(body)) };
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
    });
}

/** Both query endpoints require `?mchid=` (§1.2); its equality with the signer is checked by auth.ts. */
function requiredMchidQuery(req: RouteRequest): string {
  const mchid = req.query.get('mchid');
  if (!mchid) throw paramError('mchid', 'is required', 'query');
  return mchid;
}
