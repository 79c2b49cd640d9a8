/**
 * The CloudPay emulation's API (wxpay-v2-cloudpay.md §5): wx-server-sdk's key conversions (§5.1, digit-suffix
 * keys included), `errCode: 0` clobbering WeChat's err_code, business failures resolved rather than thrown, v2
 * error semantics (§1.7), the MD5 paySign (§6), list-shaped refund answers, downloadBill's `{data}` — all on the
 * same state as the v3 API.
 */
import { createHash } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { RunningSandbox, startSandbox } from '../sandbox';
import { createHttpCloudPay } from '../connector/providers/cloudpay-http';
import type { CloudPayApi } from '../connector';
import { camelToSnakeKey, snakeToCamelKey, toCamelCase, toSnakeCase } from '../sandbox/cloudpay/case';
import { v2PaySign, v2Sign } from '../sandbox/cloudpay/v2-sign';
import { control, newOutTradeNo, tempDataDir, v3Request } from './helpers/sandbox-harness';
import { cloudPayInfo } from './helpers/cloudpay-functions';

describe('wx-server-sdk key conversion (§5.1)', () => {
  it('camelCase → snake_case like the SDK, pitfalls included', () => {
    expect(camelToSnakeKey('outTradeNo')).toBe('out_trade_no');
    expect(camelToSnakeKey('subMchId')).toBe('sub_mch_id');
    expect(camelToSnakeKey('SubMchId')).toBe('sub_mch_id'); // no underscore before a first capital
    expect(camelToSnakeKey('subOpenId')).toBe('sub_open_id'); // the classic pitfall: not sub_openid
    expect(camelToSnakeKey('envId')).toBe('env_id');
    expect(camelToSnakeKey('out_trade_no')).toBe('out_trade_no'); // snake_case passes unchanged
    expect(toSnakeCase({ sceneInfo: { storeInfo: { areaCode: '440305' } }, list: [{ goodsId: 1 }] })).toEqual({ scene_info: { store_info: { area_code: '440305' } }, list: [{ goods_id: 1 }] });
  });

  it('snake_case → camelCase leaves an underscore before a digit', () => {
    expect(snakeToCamelKey('refund_status_0')).toBe('refundStatus_0');
    expect(snakeToCamelKey('coupon_refund_id_0_1')).toBe('couponRefundId_0_1');
    expect(snakeToCamelKey('refund_recv_accout_list')).toBe('refundRecvAccoutList');
    expect(toCamelCase({ err_code: 'X', payment: { pay_sign: 'S' }, coupon_type_list: [] })).toEqual({ errCode: 'X', payment: { paySign: 'S' }, couponTypeList: [] });
  });
});

describe('v2 signature (§2, §6 vectors)', () => {
  const v1 = { appid: 'wxd930ea5d5a258f4f', mch_id: '10000100', device_info: '1000', body: 'test', nonce_str: 'ibuaiVcKdpRxkhJA' };
  it('reproduces V1 (MD5), V2 (HMAC-SHA256), D1 (empty value and sign ignored), V5 (paySign)', () => {
    expect(v2Sign(v1, '192006250b4c09247ec02edce69f6a2d')).toBe('9A0A8659F005D6984697E2CA0A9CF3B7');
    expect(v2Sign(v1, '192006250b4c09247ec02edce69f6a2d', 'HMAC-SHA256')).toBe('6A9AE1657590FD6257D693A078E1C3E4BB6BA4DC30B23E0EE2496E54170DACD6');
    expect(v2Sign({ ...v1, attach: '', sign: 'XXX' }, '192006250b4c09247ec02edce69f6a2d')).toBe('9A0A8659F005D6984697E2CA0A9CF3B7');
    expect(v2PaySign({ appId: 'wxd678efh567hg6787', nonceStr: '5K8264ILTKCH16CQ2502SI8ZNMTM67VS', package: 'prepay_id=wx2017033010242291fcfe0db70013231072', signType: 'MD5', timeStamp: '1490840662' }, 'qazwsxedcrfvtgbyhnujmikolp111111'))
      .toBe('22D9B4E54AB1950F51E0649E8810ACD6');
  });
});

describe('CloudPay APIs on the sandbox', () => {
  let sandbox: RunningSandbox;
  let data: ReturnType<typeof tempDataDir>;
  let cloudPay: CloudPayApi;
  let mchid: string;
  let v2Key: string;

  beforeAll(async () => {
    data = tempDataDir();
    sandbox = await startSandbox({ dataDir: data.dir, refundSettleSeconds: null });
    cloudPay = createHttpCloudPay(sandbox.baseUrl);
    mchid = sandbox.info.merchant.mchid;
    v2Key = (await cloudPayInfo(sandbox.info)).v2Key;
  });

  afterAll(async () => {
    await sandbox?.close();
    data?.remove();
  });

  const order = (outTradeNo: string, extra: Record<string, unknown> = {}) => ({
    subMchId: mchid, envId: 'test-env', functionName: 'payCallback', body: '微搭贴纸', outTradeNo, totalFee: 100, spbillCreateIp: '127.0.0.1', ...extra,
  });
  const pay = (outTradeNo: string) => control(sandbox.info, 'POST', `/sandbox/transactions/${outTradeNo}/pay`, { result: 'SUCCESS' });
  const v3Query = (outTradeNo: string) => v3Request(sandbox.info, 'GET', `/v3/pay/transactions/out-trade-no/${outTradeNo}?mchid=${mchid}`);

  it('unifiedOrder answers the SDK shape: provider ids, the merchant in subMchId, a payment with an MD5 paySign', async () => {
    const no = newOutTradeNo('CPU');
    const r = await cloudPay.unifiedOrder(order(no, { attach: 'cart=7' }));
    expect(r).toMatchObject({
      returnCode: 'SUCCESS', returnMsg: 'OK', resultCode: 'SUCCESS', tradeType: 'JSAPI',
      appid: 'wxd2565e6a04246fd1', mchId: '1800780001', subMchId: mchid, subAppid: sandbox.info.merchant.appid,
      errCode: 0, errMsg: 'cloudPay.unifiedOrder:ok',
    });
    expect(r.prepayId).toMatch(/^wx\d{14}[0-9a-f]{20}$/);
    const payment = r.payment as Record<string, string>;
    expect(Object.keys(payment).sort()).toEqual(['appId', 'nonceStr', 'package', 'paySign', 'signType', 'timeStamp']);
    expect(payment).toMatchObject({ appId: sandbox.info.merchant.appid, package: `prepay_id=${r.prepayId}`, signType: 'MD5' });
    expect(payment.timeStamp).toMatch(/^\d{10}$/);
    expect(payment.paySign).toBe(v2PaySign({ appId: payment.appId!, nonceStr: payment.nonceStr!, package: payment.package!, signType: 'MD5', timeStamp: payment.timeStamp! }, v2Key));
    // the answer's own v2 sign covers its flat v2 fields (snake_case, as CloudPay received them)
    const { sign, payment: _p, errCode: _c, errMsg: _m, ...camel } = r;
    expect(sign).toBe(v2Sign(toSnakeCase(camel), v2Key));
  });

  it('accepts snake_case params too, and the caller context (X-WX-OPENID) as the payer', async () => {
    const no = newOutTradeNo('CPS');
    const asUser = createHttpCloudPay(sandbox.baseUrl, { openid: 'o-context-user-0000000000001' });
    const r = await asUser.unifiedOrder({ sub_mch_id: mchid, env_id: 'test-env', function_name: 'payCallback', body: 'x', out_trade_no: no, total_fee: 1, spbill_create_ip: '127.0.0.1' });
    expect(r).toMatchObject({ returnCode: 'SUCCESS', resultCode: 'SUCCESS' });
    await pay(no);
    expect((await v3Query(no)).json.payer).toEqual({ openid: 'o-context-user-0000000000001' });
    // subOpenid beats the context
    const no2 = newOutTradeNo('CPS');
    await asUser.unifiedOrder(order(no2, { subOpenid: 'o-explicit-payer-00000000001', subAppid: sandbox.info.merchant.appid }));
    await pay(no2);
    expect((await v3Query(no2)).json.payer).toEqual({ openid: 'o-explicit-payer-00000000001' });
  });

  it("GET /sandbox/transactions?prepay_id= finds a CloudPay order from its payment's package", async () => {
    const no = newOutTradeNo('CPP');
    const r = await cloudPay.unifiedOrder(order(no));
    const prepayId = String((r.payment as Record<string, string>).package).replace(/^prepay_id=/, '');
    expect(prepayId).toBe(r.prepayId);
    const found = (await control(sandbox.info, 'GET', `/sandbox/transactions?prepay_id=${encodeURIComponent(prepayId)}`)).json.transactions as any[];
    expect(found.map((t) => t.out_trade_no)).toEqual([no]);
    expect(found[0]).toMatchObject({ trade_state: 'NOTPAY', amount: { total: 100 }, _sandbox: { notify_url: '' } });
  });

  it('shares state with v3: a CloudPay order is a v3 order and the other way round', async () => {
    const no = newOutTradeNo('CPX');
    await cloudPay.unifiedOrder(order(no));
    const before = await v3Query(no);
    expect(before.status).toBe(200);
    expect(before.json).toMatchObject({ out_trade_no: no, trade_state: 'NOTPAY', amount: { total: 100 } });

    const q0 = await cloudPay.queryOrder({ subMchId: mchid, outTradeNo: no });
    expect(q0).toMatchObject({ returnCode: 'SUCCESS', resultCode: 'SUCCESS', tradeState: 'NOTPAY', tradeStateDesc: '订单未支付', totalFee: 100, outTradeNo: no, errCode: 0 });
    expect(q0).not.toHaveProperty('transactionId');

    await pay(no);
    const v3 = (await v3Query(no)).json;
    const q1 = await cloudPay.queryOrder({ subMchId: mchid, transactionId: v3.transaction_id });
    expect(q1).toMatchObject({
      tradeState: 'SUCCESS', tradeStateDesc: '支付成功', transactionId: v3.transaction_id, outTradeNo: no, totalFee: 100, cashFee: 100, feeType: 'CNY',
      tradeType: 'JSAPI', bankType: 'OTHERS', subOpenid: v3.payer.openid, subMchId: mchid, errMsg: 'cloudPay.queryOrder:ok',
    });
    expect(q1.timeEnd).toBe(v3.success_time.slice(0, 19).replace(/\D/g, '')); // yyyyMMddHHmmss, Beijing time
    expect(typeof q1.totalFee).toBe('number'); // JSON numbers, not v2 XML strings

    // a v3 order, seen and closed through CloudPay
    const v3No = newOutTradeNo('V3X');
    const created = await v3Request(sandbox.info, 'POST', '/v3/pay/transactions/jsapi', {
      appid: sandbox.info.merchant.appid, mchid, description: 'v3 order', out_trade_no: v3No, notify_url: 'https://example.com/notify', amount: { total: 5, currency: 'CNY' }, payer: { openid: 'o-v3-payer' },
    });
    expect(created.status).toBe(200);
    expect(await cloudPay.queryOrder({ subMchId: mchid, outTradeNo: v3No })).toMatchObject({ tradeState: 'NOTPAY', totalFee: 5 });
    expect(await cloudPay.closeOrder({ subMchId: mchid, outTradeNo: v3No })).toMatchObject({ returnCode: 'SUCCESS', resultCode: 'SUCCESS', errCode: 0, errMsg: 'cloudPay.closeOrder:ok' });
    expect((await v3Query(v3No)).json.trade_state).toBe('CLOSED');
  });

  it('business failures resolve with errCode 0 (WeChat err_code clobbered), only errCodeDes tells', async () => {
    const no = newOutTradeNo('CPF');
    await cloudPay.unifiedOrder(order(no));

    const changed = await cloudPay.unifiedOrder(order(no, { totalFee: 200 }));
    expect(changed).toMatchObject({ returnCode: 'SUCCESS', resultCode: 'FAIL', errCode: 0, errCodeDes: '201 商户订单号重复', errMsg: 'cloudPay.unifiedOrder:ok' });

    const again = await cloudPay.unifiedOrder(order(no)); // same params: re-entry gives a fresh prepay_id
    expect(again).toMatchObject({ resultCode: 'SUCCESS' });

    await pay(no);
    expect(await cloudPay.unifiedOrder(order(no))).toMatchObject({ resultCode: 'FAIL', errCode: 0, errCodeDes: '该订单已支付' });
    expect(await cloudPay.closeOrder({ subMchId: mchid, outTradeNo: no })).toMatchObject({ resultCode: 'FAIL', errCode: 0, errCodeDes: '该订单已支付' });

    const closed = newOutTradeNo('CPC');
    await cloudPay.unifiedOrder(order(closed));
    expect(await cloudPay.closeOrder({ subMchId: mchid, outTradeNo: closed })).toMatchObject({ resultCode: 'SUCCESS', resultMsg: 'OK' });
    expect(await cloudPay.closeOrder({ subMchId: mchid, outTradeNo: closed })).toMatchObject({ resultCode: 'FAIL', errCode: 0, errCodeDes: '订单已关闭，无法重复关闭' });
    expect(await cloudPay.unifiedOrder(order(closed))).toMatchObject({ resultCode: 'FAIL', errCodeDes: '该订单已关闭' });
    expect(await cloudPay.queryOrder({ subMchId: mchid, outTradeNo: closed })).toMatchObject({ resultCode: 'SUCCESS', tradeState: 'CLOSED', tradeStateDesc: '订单已关闭' });

    expect(await cloudPay.queryOrder({ subMchId: mchid, outTradeNo: 'NO_SUCH_ORDER_1' })).toMatchObject({ returnCode: 'SUCCESS', resultCode: 'FAIL', errCode: 0, errCodeDes: '订单不存在' });
    expect(await cloudPay.closeOrder({ subMchId: mchid, outTradeNo: 'NO_SUCH_ORDER_1' })).toMatchObject({ resultCode: 'FAIL', errCodeDes: '订单不存在' });
  });

  it('protocol failures: returnCode FAIL with returnMsg only — sub_mch_id, sub_appid, required callback function', async () => {
    const no = newOutTradeNo('CPP');
    const { subMchId: _s, ...noSub } = order(no);
    expect(await cloudPay.unifiedOrder(noSub)).toEqual({ returnCode: 'FAIL', returnMsg: '受理机构必须传入sub_mch_id', errCode: 0, errMsg: 'cloudPay.unifiedOrder:ok' });
    expect(await cloudPay.unifiedOrder(order(no, { subMchId: '1230000109' }))).toMatchObject({ returnCode: 'FAIL', returnMsg: '特约子商户商户号未授权服务商的产品权限' });
    expect(await cloudPay.unifiedOrder(order(no, { subAppid: 'wx0000000000000000' }))).toMatchObject({ returnCode: 'FAIL', returnMsg: 'sub_mch_id与sub_appid不匹配' });
    expect(await cloudPay.unifiedOrder(order(no, { subAppid: { not: 'a string' } }))).toMatchObject({ returnCode: 'SUCCESS', resultCode: 'FAIL', errCodeDes: expect.stringContaining('sub_appid') });
    expect(await cloudPay.unifiedOrder(order(no, { functionName: undefined }))).toMatchObject({ returnCode: 'SUCCESS', resultCode: 'FAIL', errCodeDes: '缺少参数function_name' });
    expect(await cloudPay.unifiedOrder(order(no, { envId: '' }))).toMatchObject({ resultCode: 'FAIL', errCodeDes: '缺少参数env_id' });
    expect(await cloudPay.unifiedOrder(order(no, { totalFee: 0 }))).toMatchObject({ resultCode: 'FAIL', errCodeDes: expect.stringContaining('total_fee') });
    expect(await cloudPay.unifiedOrder(order('abc'))).toMatchObject({ resultCode: 'FAIL', errCodeDes: expect.stringContaining('out_trade_no') });
    expect(await cloudPay.refund({ subMchId: mchid, outTradeNo: no, outRefundNo: 'R1', totalFee: 1, refundFee: 1 })).toMatchObject({ resultCode: 'FAIL', errCodeDes: '缺少参数env_id' });
    expect((await v3Query(no)).status).toBe(404); // nothing was created
  });

  it('transport failures reject (like a thrown CloudSDKError); business ones never do', async () => {
    const res = await fetch(`${sandbox.baseUrl}/cloudpay/profitSharing`, { method: 'POST', body: '{}' });
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ errCode: -1, errMsg: expect.stringContaining('INVALID_API') });
    const bad = await fetch(`${sandbox.baseUrl}/cloudpay/queryOrder`, { method: 'POST', body: '[1,2]' });
    expect(bad.status).toBe(400);
    const down = createHttpCloudPay('http://127.0.0.1:1');
    await expect(down.queryOrder({ subMchId: mchid, outTradeNo: 'X1234567' })).rejects.toMatchObject({ name: 'CloudSDKError', errCode: -1 });
  });

  it('API faults reach CloudPay on the v3 path of the same operation: SYSTEMERROR, NOTENOUGH, FREQUENCY_LIMITED', async () => {
    const no = newOutTradeNo('CPQ');
    await cloudPay.unifiedOrder(order(no));
    expect((await control(sandbox.info, 'POST', '/sandbox/faults', { kind: 'SYSTEM_ERROR', path: '/v3/pay/transactions/out-trade-no/' })).status).toBe(200);
    expect(await cloudPay.queryOrder({ subMchId: mchid, outTradeNo: no })).toMatchObject({ returnCode: 'SUCCESS', resultCode: 'FAIL', errCode: 0, errCodeDes: '系统超时' });
    expect(await cloudPay.queryOrder({ subMchId: mchid, outTradeNo: no })).toMatchObject({ resultCode: 'SUCCESS' }); // count 1: consumed

    await pay(no);
    await control(sandbox.info, 'POST', '/sandbox/faults', { kind: 'NOT_ENOUGH', path: '/v3/refund/' });
    const refund = { subMchId: mchid, envId: 'test-env', functionName: 'refundCallback', outTradeNo: no, outRefundNo: `${no}R`, totalFee: 100, refundFee: 10 };
    expect(await cloudPay.refund(refund)).toMatchObject({ resultCode: 'FAIL', errCode: 0, errCodeDes: '基本账户余额不足，请充值后重新发起' });
    await control(sandbox.info, 'POST', '/sandbox/faults', { kind: 'FREQUENCY_LIMITED', path: '/v3/refund/' });
    expect(await cloudPay.refund(refund)).toMatchObject({ resultCode: 'FAIL', errCodeDes: '频率限制' });
    expect(await cloudPay.refund(refund)).toMatchObject({ resultCode: 'SUCCESS' }); // retried with the same out_refund_no
  });

  it('refund: accepted, list-shaped coupon fields, idempotent per outRefundNo, v2 errors; visible to v3', async () => {
    const no = newOutTradeNo('CPR');
    await cloudPay.unifiedOrder(order(no));
    const unpaid = { subMchId: mchid, envId: 'test-env', functionName: 'refundCallback', outTradeNo: no, outRefundNo: `${no}-1`, totalFee: 100, refundFee: 30, refundDesc: '退货' };
    expect(await cloudPay.refund(unpaid)).toMatchObject({ resultCode: 'FAIL', errCode: 0, errCodeDes: '订单不存在，只有支付成功的订单才能退款' });
    await pay(no);

    const r = await cloudPay.refund(unpaid);
    expect(r).toMatchObject({
      returnCode: 'SUCCESS', resultCode: 'SUCCESS', outTradeNo: no, outRefundNo: `${no}-1`, refundFee: 30, totalFee: 100, cashFee: 100, cashRefundFee: 30,
      couponRefundFee: 0, couponRefundCount: 0, couponTypeList: [], couponRefundIdList: [], couponRefundFeeList: [], errCode: 0, errMsg: 'cloudPay.refund:ok',
    });
    expect(r.refundId).toMatch(/^\d{29}$/);
    expect(await cloudPay.refund(unpaid)).toMatchObject({ resultCode: 'SUCCESS', refundId: r.refundId }); // same out_refund_no, same amounts
    expect(await cloudPay.refund({ ...unpaid, refundFee: 31 })).toMatchObject({ resultCode: 'FAIL', errCode: 0, errCodeDes: '订单金额或退款金额与之前请求不一致,请核实后再试' });
    expect(await cloudPay.refund({ ...unpaid, outRefundNo: `${no}-2`, refundFee: 71 })).toMatchObject({ resultCode: 'FAIL', errCodeDes: '累计退款金额大于支付金额' });
    expect(await cloudPay.refund({ ...unpaid, outRefundNo: `${no}-3`, refundFee: 70 })).toMatchObject({ resultCode: 'SUCCESS' });
    expect(await cloudPay.refund({ ...unpaid, outRefundNo: `${no}-4`, refundFee: 1 })).toMatchObject({ resultCode: 'FAIL', errCodeDes: '订单已全额退款' });

    const v3 = await v3Request(sandbox.info, 'GET', `/v3/refund/domestic/refunds/${no}-1`);
    expect(v3.status).toBe(200);
    expect(v3.json).toMatchObject({ refund_id: r.refundId, status: 'PROCESSING', amount: { refund: 30, total: 100 } });
    expect(await cloudPay.queryOrder({ subMchId: mchid, outTradeNo: no })).toMatchObject({ tradeState: 'REFUND', tradeStateDesc: '转入退款' });
  });

  it('queryRefund is list-shaped; by order it also carries indexed fields (refund_status_0 → refundStatus_0)', async () => {
    const no = newOutTradeNo('CPL');
    await cloudPay.unifiedOrder(order(no));
    await pay(no);
    const base = { subMchId: mchid, envId: 'test-env', functionName: 'refundCallback', outTradeNo: no, totalFee: 100 };
    const r1 = await cloudPay.refund({ ...base, outRefundNo: `${no}-a`, refundFee: 40 });
    await cloudPay.refund({ ...base, outRefundNo: `${no}-b`, refundFee: 20 });
    await control(sandbox.info, 'POST', `/sandbox/refunds/${no}-a/settle`, { status: 'SUCCESS' });
    await control(sandbox.info, 'POST', `/sandbox/refunds/${no}-b/settle`, { status: 'ABNORMAL' });

    const one = await cloudPay.queryRefund({ subMchId: mchid, outRefundNo: `${no}-a` });
    expect(one).toMatchObject({
      returnCode: 'SUCCESS', resultCode: 'SUCCESS', outTradeNo: no, totalFee: 100, cashFee: 100, refundCount: 1,
      outRefundNoList: [`${no}-a`], refundIdList: [r1.refundId], refundFeeList: [40], refundStatusList: ['SUCCESS'], refundChannel: ['ORIGINAL'],
      refundRecvAccoutList: ['支付用户零钱'], errCode: 0, errMsg: 'cloudPay.queryRefund:ok',
    });
    expect((one.refundSuccessTimeList as string[])[0]).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/);
    expect(one).not.toHaveProperty('refundStatus_0');
    expect(await cloudPay.queryRefund({ subMchId: mchid, refundId: r1.refundId })).toMatchObject({ outRefundNoList: [`${no}-a`] });

    const all = await cloudPay.queryRefund({ subMchId: mchid, outTradeNo: no });
    expect(all).toMatchObject({
      totalRefundCount: 2, refundCount: 2, outRefundNoList: [`${no}-a`, `${no}-b`], refundStatusList: ['SUCCESS', 'CHANGE'],
      outRefundNo_0: `${no}-a`, refundStatus_0: 'SUCCESS', refundFee_0: 40, outRefundNo_1: `${no}-b`, refundStatus_1: 'CHANGE', refundFee_1: 20,
    });
    expect(all.refundSuccessTime_0).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/);
    expect(all).not.toHaveProperty('refundSuccessTime_1');

    // The behaviour developers report: refundCount 1 but empty lists (a setting)
    await control(sandbox.info, 'POST', '/sandbox/cloudpay/settings', { emptyRefundLists: true });
    try {
      expect(await cloudPay.queryRefund({ subMchId: mchid, outRefundNo: `${no}-a` })).toMatchObject({ resultCode: 'SUCCESS', refundCount: 1, refundStatusList: [], outRefundNoList: [] });
    } finally {
      await control(sandbox.info, 'POST', '/sandbox/cloudpay/settings', { emptyRefundLists: false });
    }
    expect(await cloudPay.queryRefund({ subMchId: mchid, outRefundNo: 'NO_SUCH_REFUND' })).toMatchObject({ resultCode: 'FAIL', errCode: 0, errCodeDes: '退款订单查询失败' });
  });

  it('closeOrder within 5 minutes: accepted by default, SYSTEMERROR when so configured (§7)', async () => {
    await control(sandbox.info, 'POST', '/sandbox/cloudpay/settings', { earlyClose: 'SYSTEMERROR' });
    try {
      const no = newOutTradeNo('CPE');
      await cloudPay.unifiedOrder(order(no));
      expect(await cloudPay.closeOrder({ subMchId: mchid, outTradeNo: no })).toMatchObject({ resultCode: 'FAIL', errCode: 0, errCodeDes: expect.stringContaining('5分钟') });
      expect((await v3Query(no)).json.trade_state).toBe('NOTPAY');
    } finally {
      await control(sandbox.info, 'POST', '/sandbox/cloudpay/settings', { earlyClose: 'accept' });
    }
  });
});

describe('CloudPay downloadBill', () => {
  let sandbox: RunningSandbox;
  let data: ReturnType<typeof tempDataDir>;

  beforeAll(async () => {
    data = tempDataDir();
    sandbox = await startSandbox({ dataDir: data.dir, refundSettleSeconds: null });
  });
  afterAll(async () => {
    await sandbox?.close();
    data?.remove();
  });

  it('answers {data: CSV text} (or gzip bytes), the same file as the v3 trade bill; No Bill Exist → errorCode 20002', async () => {
    const cloudPay = createHttpCloudPay(sandbox.baseUrl);
    const mchid = sandbox.info.merchant.mchid;
    const no = newOutTradeNo('CPB');
    await cloudPay.unifiedOrder({ subMchId: mchid, envId: 'e', functionName: 'f', body: '账单测试', outTradeNo: no, totalFee: 123, spbillCreateIp: '127.0.0.1' });
    const paid = (await control(sandbox.info, 'POST', `/sandbox/transactions/${no}/pay`, { result: 'SUCCESS' })).json;
    const day = paid.success_time.slice(0, 10) as string; // China-time date of the payment
    const billDate = day.replace(/-/g, '');
    expect(await cloudPay.downloadBill({ subMchId: mchid, billDate, billType: 'ALL' })).toEqual({ returnCode: 'FAIL', returnMsg: 'Bill Creating', errCode: 0, errMsg: 'cloudPay.downloadBill:ok' });
    await control(sandbox.info, 'POST', '/sandbox/clock/advance', { seconds: 86_400 });

    const text = await cloudPay.downloadBill({ subMchId: mchid, billDate, billType: 'ALL' });
    expect(Object.keys(text).sort()).toEqual(['data', 'errCode', 'errMsg']);
    expect(text).toMatchObject({ errCode: 0, errMsg: 'cloudPay.downloadBill:ok' });
    const csv = text.data as string;
    expect(typeof csv).toBe('string');
    expect(csv.replace(/^\uFEFF/, '').split('\r\n')[0]).toMatch(/^交易时间,公众账号ID,商户号/);
    expect(csv).toContain(`\`${no},`);
    expect(csv).toContain('`1.23,');

    const gz = await cloudPay.downloadBill({ sub_mch_id: mchid, bill_date: billDate, tar_type: 'GZIP' });
    expect(Buffer.isBuffer(gz.data)).toBe(true);
    expect(gunzipSync(gz.data as Buffer).toString('utf8')).toBe(csv);

    const v3 = await v3Request(sandbox.info, 'GET', `/v3/bill/tradebill?bill_date=${day}`);
    expect(v3.status).toBe(200);
    expect(v3.json.hash_value).toBe(createHash('sha1').update(Buffer.from(csv, 'utf8')).digest('hex'));

    const [y, m, d] = day.split('-').map(Number) as [number, number, number];
    const dayBefore = new Date(Date.UTC(y, m - 1, d - 1)).toISOString().slice(0, 10).replace(/-/g, '');
    expect(await cloudPay.downloadBill({ subMchId: mchid, billDate: dayBefore })).toEqual({ returnCode: 'FAIL', returnMsg: 'No Bill Exist', errorCode: '20002', errCode: 0, errMsg: 'cloudPay.downloadBill:ok' });
    expect(await cloudPay.downloadBill({ subMchId: mchid, billDate: day })).toMatchObject({ returnCode: 'FAIL', returnMsg: 'data format error' });
    expect(await cloudPay.downloadBill({ subMchId: mchid, billDate, billType: 'RECHARGE_REFUND' })).toMatchObject({ returnCode: 'FAIL', returnMsg: 'invalid bill_type' });
  });
});
