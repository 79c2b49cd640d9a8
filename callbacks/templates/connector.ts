import { header, settingsSection, TemplateValues } from './common';

/** connector: runs the six connector methods for the WeDa connector (`weda-wxpay export connector`). */
export function connectorTemplate(v: TemplateValues): string {
  return `${header(v, '连接器 (connector methods for WeDa)', `
The WeDa connector's methods (统一下单, 查询订单, 关闭订单, 下载交易账单, 申请退款, 查询退款) call this function with
  { method: 'unifiedOrder' | 'queryOrder' | 'closeOrder' | 'downloadBill' | 'refund' | 'queryRefund', params }
and get back { ok: true, data } or { ok: false, error: { code, message, detail, requestId, retryable } }.
Input is validated against the method's JSON Schema before anything is sent to WeChat Pay. The keys and the
payment settings stay here, in the function, never in the app.
`)}${settingsSection(v)}
exports.main = async (event, context) => {
  return wxpay.connectorCall(event, kit);
};
`;
}
