import { createHash } from 'node:crypto';

/**
 * CloudPay runs WeChat Pay's service-provider (服务商) mode: responses and events carry the *Cloud service
 * provider's* appid / mch_id, the merchant's go in sub_appid / sub_mch_id (wxpay-v2-cloudpay.md §5.3). These are
 * the values of Tencent's own example; connectors must compare subMchId / subAppid, never these.
 */
export const PROVIDER_APPID = 'wxd2565e6a04246fd1';
export const PROVIDER_MCHID = '1800780001';

/**
 * The payer when a call names none: CloudPay fills sub_openid from the calling mini-program user's context
 * (§5.2). Over the sandbox's HTTP surface the context is the `X-WX-OPENID` header (as WeChat Cloud Run passes it),
 * else this doc-sample openid.
 */
export const CONTEXT_OPENID = 'oUpF8uMuAJO_M2pxb1Q9zNjWeS6o';

/**
 * The payer's openid under the *provider's* appid (the event's `openid`, §5.4): WeChat assigns a different openid
 * per appid; the sandbox derives a stable one from the mini-program openid so repeated payments agree.
 */
export function providerOpenid(subOpenid: string): string {
  return `oP${createHash('sha256').update(`cloudpay-provider:${subOpenid}`).digest('base64url').slice(0, 26)}`;
}
