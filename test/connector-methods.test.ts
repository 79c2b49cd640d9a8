/**
 * Every connector method on both backends against the sandbox, through real HTTP on 127.0.0.1: the
 * outputs are the same whichever backend runs (only the paySign flavour differs: RSA for v3, MD5 for CloudPay).
 */
import { createConnector, CloudPayProvider, Connector } from '../connector';
import { createHttpCloudPay } from '../connector/providers/cloudpay-http';
import { startTestDev, newOrderNo, TestDev } from './helpers/dev';

let t: TestDev;
const backends: Record<'v3' | 'cloudpay', Connector> = {} as never;

beforeAll(async () => {
  t = await startTestDev({ seedGoods: false });
  backends.v3 = t.dev.connector;
  backends.cloudpay = createConnector(new CloudPayProvider({
    cloudPay: createHttpCloudPay(t.dev.info.baseUrl),
    subMchId: t.dev.info.merchant.mchid,
    appid: t.dev.info.merchant.appid,
    envId: 'local-env',
    payCallbackFunction: 'wxpay-pay-notify',
    refundCallbackFunction: 'wxpay-refund-notify',
  }), { retry: { maxRetries: 0, baseDelayMs: 0 } });
});
afterAll(async () => { await t?.close(); });

const sandboxPay = (no: string) => t.post(`${t.dev.info.baseUrl}/sandbox/transactions/${no}/pay`, { result: 'SUCCESS' });
const settle = (no: string, status: string) => t.post(`${t.dev.info.baseUrl}/sandbox/refunds/${no}/settle`, { status });

describe.each(['v3', 'cloudpay'] as const)('%s', (name) => {
  const c = () => backends[name];
  const order = async (totalFee = 500) => {
    const outTradeNo = newOrderNo(name === 'v3' ? 'V' : 'C');
    const out: any = await c().call('unifiedOrder', { body: '咖啡券', outTradeNo, totalFee, openid: 'o-payer', attach: 'cart=7' });
    return { outTradeNo, out };
  };

  it('unifiedOrder returns the prepay id and wx.requestPayment arguments', async () => {
    const { outTradeNo, out } = await order();
    expect(out.outTradeNo).toBe(outTradeNo);
    expect(out.payment).toMatchObject({ package: `prepay_id=${out.prepayId}`, signType: name === 'v3' ? 'RSA' : 'MD5' });
    expect(out.payment.timeStamp).toMatch(/^\d{10}$/);
    expect(out.payment.paySign.length).toBeGreaterThan(10);
  });

  it('queryOrder follows NOTPAY → SUCCESS, by order number and by transaction id', async () => {
    const { outTradeNo } = await order(1800);
    expect(await c().call('queryOrder', { outTradeNo })).toMatchObject({ outTradeNo, tradeState: 'NOTPAY', totalFee: 1800 });
    await sandboxPay(outTradeNo);
    const paid: any = await c().call('queryOrder', { outTradeNo });
    expect(paid).toMatchObject({ tradeState: 'SUCCESS', totalFee: 1800, payerTotal: 1800, openid: 'o-payer', attach: 'cart=7' });
    expect(paid.successTime).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\+08:00$/);
    expect(await c().call('queryOrder', { transactionId: paid.transactionId })).toMatchObject({ outTradeNo, tradeState: 'SUCCESS' });
  });

  it('queryOrder of an unknown order says ORDER_NOT_EXIST', async () => {
    await expect(c().call('queryOrder', { outTradeNo: newOrderNo('N') })).rejects.toMatchObject({ code: 'ORDER_NOT_EXIST', retryable: false });
  });

  it('closeOrder closes an unpaid order (re-entrant) and refuses a paid one clearly', async () => {
    const { outTradeNo } = await order();
    expect(await c().call('closeOrder', { outTradeNo })).toEqual({ outTradeNo, closed: true });
    expect(await c().call('closeOrder', { outTradeNo })).toEqual({ outTradeNo, closed: true });
    expect(await c().call('queryOrder', { outTradeNo })).toMatchObject({ tradeState: 'CLOSED' });
    const paid = await order();
    await sandboxPay(paid.outTradeNo);
    await expect(c().call('closeOrder', { outTradeNo: paid.outTradeNo })).rejects.toMatchObject({ code: 'ORDER_PAID', message: expect.stringContaining('refund it instead') });
  });

  it('refund is accepted as PROCESSING, idempotent per outRefundNo, and settles to SUCCESS', async () => {
    const { outTradeNo } = await order(1000);
    await sandboxPay(outTradeNo);
    const outRefundNo = `R${outTradeNo}`.slice(0, 32);
    const first: any = await c().call('refund', { outTradeNo, outRefundNo, totalFee: 1000, refundFee: 400, refundDesc: '不想要了' });
    expect(first).toMatchObject({ outRefundNo, outTradeNo, status: 'PROCESSING', refundFee: 400, totalFee: 1000 });
    const again: any = await c().call('refund', { outTradeNo, outRefundNo, totalFee: 1000, refundFee: 400, refundDesc: '不想要了' });
    expect(again.refundId).toBe(first.refundId);
    expect(await c().call('queryRefund', { outRefundNo })).toMatchObject({ outRefundNo, refundId: first.refundId, status: 'PROCESSING', refundFee: 400 });
    expect((await settle(outRefundNo, 'SUCCESS')).status).toBe(200);
    const done: any = await c().call('queryRefund', { outRefundNo });
    expect(done.status).toBe('SUCCESS');
    expect(done.successTime).toMatch(/\+08:00$/);
    expect(await c().call('queryOrder', { outTradeNo })).toMatchObject({ tradeState: 'REFUND' });
  });

  it('refund more than is left is refused; a refund that closes reads CLOSED', async () => {
    const { outTradeNo } = await order(300);
    await sandboxPay(outTradeNo);
    // 200 in progress leaves 100: WeChat Pay refuses 101 (a refundFee above totalFee never leaves the connector).
    const outRefundNo = `Y${outTradeNo}`.slice(0, 32);
    await c().call('refund', { outTradeNo, outRefundNo, totalFee: 300, refundFee: 200 });
    const err: any = await c().call('refund', { outTradeNo, outRefundNo: `X${outTradeNo}`.slice(0, 32), totalFee: 300, refundFee: 101 }).catch((e: unknown) => e);
    expect(['INVALID_REQUEST', 'NOT_ENOUGH']).toContain(err.code);
    await settle(outRefundNo, 'CLOSED');
    expect(await c().call('queryRefund', { outRefundNo })).toMatchObject({ status: 'CLOSED' });
  });

  it('queryRefund of an unknown refund says REFUND_NOT_EXIST', async () => {
    await expect(c().call('queryRefund', { outRefundNo: newOrderNo('NR') })).rejects.toMatchObject({ code: 'REFUND_NOT_EXIST' });
  });
});
