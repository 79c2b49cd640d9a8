/**
 * One error vocabulary, one HTTP status per code whichever backend runs: the same failure from v3 and from
 * CloudPay has the same code and status, in the dev server's answer and in the connector function's; the
 * platform's own code is kept in detail.platformCode; unknown platform codes become PLATFORM_ERROR.
 */
import { connectorFunctionHandler, cloudPayFailure, MANIFEST, v3Failure, vocabularyCode } from '../connector';
import { httpStatusFor, isPayError, PAY_ERROR_CODES, PayError } from '../wxpay';
import { startTestDev, newOrderNo, TestDev } from './helpers/dev';

describe.each(['v3', 'cloudpay'] as const)('%s backend', (provider) => {
  let t: TestDev;
  beforeAll(async () => { t = await startTestDev({ seedGoods: false, provider }); });
  afterAll(async () => { await t?.close(); });

  const fn = () => connectorFunctionHandler(t.dev.connector);
  const paidOrder = async () => {
    const outTradeNo = newOrderNo(provider === 'v3' ? 'EV' : 'EC');
    expect((await t.connector('unifiedOrder', { body: 'x', outTradeNo, totalFee: 100, openid: 'o-err' })).status).toBe(200);
    expect((await t.post(`${t.dev.info.baseUrl}/sandbox/transactions/${outTradeNo}/pay`, { result: 'SUCCESS' })).status).toBe(200);
    return outTradeNo;
  };

  it('runs the backend it says', () => {
    expect(t.dev.connector.provider.kind).toBe(provider);
  });

  it('ORDER_NOT_EXIST is 404, from the dev server and the connector function', async () => {
    const outTradeNo = newOrderNo('EN');
    const http = await t.connector('queryOrder', { outTradeNo });
    expect([http.status, http.body.code]).toEqual([404, 'ORDER_NOT_EXIST']);
    expect(await fn()({ method: 'queryOrder', params: { outTradeNo } })).toMatchObject({ ok: false, error: { code: 'ORDER_NOT_EXIST', status: 404, retryable: false } });
  });

  it('closeOrder on a paid order is ORDER_PAID 409, "refund it instead"', async () => {
    const outTradeNo = await paidOrder();
    const http = await t.connector('closeOrder', { outTradeNo });
    expect(http.status).toBe(409);
    expect(http.body).toMatchObject({ code: 'ORDER_PAID', message: 'the order is already paid and cannot be closed; refund it instead', detail: { field: 'outTradeNo', issue: 'paid' }, retryable: false });
    expect(await fn()({ method: 'closeOrder', params: { outTradeNo } })).toMatchObject({ ok: false, error: { code: 'ORDER_PAID', status: 409 } });
  });

  it('REFUND_NOT_EXIST is 404; PARAM_ERROR is 400', async () => {
    const http = await t.connector('queryRefund', { outRefundNo: newOrderNo('ER') });
    expect([http.status, http.body.code]).toEqual([404, 'REFUND_NOT_EXIST']);
    const bad = await t.connector('queryRefund', { outRefundNo: 'no spaces' });
    expect([bad.status, bad.body.code]).toEqual([400, 'PARAM_ERROR']);
    expect(await fn()({ method: 'queryRefund', params: {} })).toMatchObject({ ok: false, error: { code: 'PARAM_ERROR', status: 400 } });
  });

  if (provider === 'cloudpay') {
    it('CloudPay messages say the business failure only: no stray "· OK" from returnMsg', async () => {
      const outTradeNo = newOrderNo('EM');
      const http = await t.connector('queryOrder', { outTradeNo });
      expect(http.body.message).toBe('CloudPay queryOrder failed: 订单不存在');
      expect(http.body.detail).toMatchObject({ platformCode: '订单不存在', returnCode: 'SUCCESS', resultCode: 'FAIL' });
      const paid = await t.connector('closeOrder', { outTradeNo: await paidOrder() });
      expect(paid.body.detail.platformCode).toBe('该订单已支付');
      for (const m of [http.body.message, paid.body.message]) expect(m).not.toMatch(/·|\bOK$/);
    });
  }
});

describe('cloudPayFailure', () => {
  it('takes a business failure from errCodeDes and a protocol failure from returnMsg', () => {
    const business = cloudPayFailure('refund', { returnCode: 'SUCCESS', returnMsg: 'OK', resultCode: 'FAIL', errCode: 0, errCodeDes: '基本账户余额不足，请充值后重新发起' });
    expect(business).toMatchObject({ code: 'NOT_ENOUGH', message: 'CloudPay refund failed: 基本账户余额不足，请充值后重新发起', retryable: false });
    const protocol = cloudPayFailure('unifiedOrder', { returnCode: 'FAIL', returnMsg: '特约子商户商户号未授权服务商的产品权限', errCode: 0 });
    expect(protocol).toMatchObject({ code: 'NO_AUTH', message: 'CloudPay unifiedOrder failed: 特约子商户商户号未授权服务商的产品权限' });
  });

  it("keeps downloadBill's error_code, and classifies 20002 as NO_STATEMENT_EXIST", () => {
    const e = cloudPayFailure('downloadBill', { returnCode: 'FAIL', returnMsg: 'No Bill Exist', errorCode: '20002', errCode: 0, errMsg: 'cloudPay.downloadBill:ok' });
    expect(e).toMatchObject({ code: 'NO_STATEMENT_EXIST', message: 'CloudPay downloadBill failed: No Bill Exist (error_code 20002)', detail: { platformCode: 'No Bill Exist' } });
    expect(httpStatusFor(e.code)).toBe(404);
  });

  it('an unclassified text is PLATFORM_ERROR with the text kept, not retried', () => {
    const e = cloudPayFailure('queryOrder', { returnCode: 'SUCCESS', returnMsg: 'OK', resultCode: 'FAIL', errCodeDes: '闻所未闻' });
    expect(e).toMatchObject({ code: 'PLATFORM_ERROR', retryable: false, detail: { platformCode: '闻所未闻' } });
  });
});

describe('v3Failure', () => {
  const body = (o: unknown) => JSON.stringify(o);

  it('keeps v3 codes, maps legacy spellings, and keeps the platform code when it differs', () => {
    expect(v3Failure(400, body({ code: 'INVALID_REQUEST', message: 'm' }), 'rid')).toMatchObject({ code: 'INVALID_REQUEST', message: 'm', requestId: 'rid', httpStatus: 400 });
    expect(v3Failure(400, body({ code: 'INVALID_REQUEST', message: 'm' }), undefined).detail).toBeUndefined();
    const legacy = v3Failure(500, body({ code: 'SYSTEMERROR', message: '系统错误' }), undefined);
    expect(legacy).toMatchObject({ code: 'SYSTEM_ERROR', retryable: true, detail: { platformCode: 'SYSTEMERROR' } });
    expect(vocabularyCode('RATELIMIT_EXCEEDED')).toBe('FREQUENCY_LIMITED');
  });

  it('RESOURCE_NOT_EXISTS means what the endpoint says, else it is PLATFORM_ERROR', () => {
    const raw = body({ code: 'RESOURCE_NOT_EXISTS', message: '退款单不存在' });
    expect(v3Failure(404, raw, undefined, 'REFUND_NOT_EXIST')).toMatchObject({ code: 'REFUND_NOT_EXIST', retryable: false, detail: { platformCode: 'RESOURCE_NOT_EXISTS' } });
    expect(v3Failure(404, raw, undefined, 'ORDER_NOT_EXIST').code).toBe('ORDER_NOT_EXIST');
    expect(v3Failure(404, raw, undefined)).toMatchObject({ code: 'PLATFORM_ERROR', detail: { platformCode: 'RESOURCE_NOT_EXISTS' } });
  });

  it('an unknown code is PLATFORM_ERROR, 502, not retried; a non-JSON answer is judged by its status', () => {
    const e = v3Failure(403, body({ code: 'SOMETHING_NEW', message: '新东西', detail: { field: 'x' } }), undefined);
    expect(e).toMatchObject({ code: 'PLATFORM_ERROR', retryable: false, message: '新东西', detail: { field: 'x', platformCode: 'SOMETHING_NEW' }, httpStatus: 403 });
    expect(httpStatusFor(e.code)).toBe(502);
    expect(v3Failure(503, '<html>', undefined)).toMatchObject({ code: 'SYSTEM_ERROR', retryable: true, message: 'HTTP 503' });
    expect(v3Failure(429, '', undefined)).toMatchObject({ code: 'FREQUENCY_LIMITED', retryable: true });
    expect(v3Failure(404, '<html>', undefined)).toMatchObject({ code: 'PLATFORM_ERROR', retryable: false, message: 'HTTP 404' });
  });
});

describe('the vocabulary', () => {
  it('has one status per code: 4xx for the caller to fix, 5xx for the server side', () => {
    expect(Object.fromEntries((['PARAM_ERROR', 'SIGN_ERROR', 'ORDER_NOT_EXIST', 'REFUND_NOT_EXIST', 'ORDER_PAID', 'ORDER_CLOSED', 'FREQUENCY_LIMITED', 'SYSTEM_ERROR', 'TIMEOUT'] as const).map((c) => [c, httpStatusFor(c)])))
      .toEqual({ PARAM_ERROR: 400, SIGN_ERROR: 401, ORDER_NOT_EXIST: 404, REFUND_NOT_EXIST: 404, ORDER_PAID: 409, ORDER_CLOSED: 409, FREQUENCY_LIMITED: 429, SYSTEM_ERROR: 500, TIMEOUT: 504 });
    for (const [code, row] of Object.entries(PAY_ERROR_CODES)) {
      expect([code, row.status >= 400 && row.status <= 599]).toEqual([code, true]);
      // Retryable means "the same request again can succeed": never a 4xx other than 429.
      if (row.retryable && row.status < 500) expect(code).toBe('FREQUENCY_LIMITED');
    }
  });

  it('isPayError checks the class and, when given, the code', () => {
    const e = new PayError({ code: 'ORDER_PAID', message: 'paid' });
    expect(isPayError(e)).toBe(true);
    expect(isPayError(e, 'ORDER_PAID')).toBe(true);
    expect(isPayError(e, 'ORDER_CLOSED')).toBe(false);
    expect(isPayError(Object.assign(new Error('ORDER_PAID'), { code: 'ORDER_PAID' }), 'ORDER_PAID')).toBe(false);
  });
});

describe('the manifest', () => {
  it('rows are data: a target and a name, no code', () => {
    for (const row of MANIFEST) {
      // The server methods run against the data models; every other method is the payment backend's.
      expect(row.target).toBe(['checkout', 'requestRefund'].includes(row.name) ? 'server' : 'provider');
      expect(Object.values(row).filter((v) => typeof v === 'function')).toEqual([]);
    }
  });
});
