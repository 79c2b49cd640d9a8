import { KeyInput } from './keys';
import { createNonce, rsaSign, unixSeconds } from './rsa';

/** What `wx.requestPayment` takes (wxpay-v3.md §5, wxpay-v2-cloudpay.md §6). */
export interface RequestPaymentParams {
  timeStamp: string;
  nonceStr: string;
  package: string;
  signType: 'RSA' | 'MD5' | 'HMAC-SHA256';
  paySign: string;
}

/**
 * v3 mini-program / JSAPI paySign: SHA256withRSA over `appId\ntimeStamp\nnonceStr\npackage\n` with the merchant
 * API private key; appId is the mini-program AppID of the order (signed, not passed to wx.requestPayment).
 */
export function jsapiPaySign(p: { appId: string; timeStamp: string; nonceStr: string; package: string; privateKey: KeyInput }): string {
  return rsaSign(`${p.appId}\n${p.timeStamp}\n${p.nonceStr}\n${p.package}\n`, p.privateKey);
}

export function buildJsapiPayment(p: { appId: string; prepayId: string; privateKey: KeyInput; now?: number; nonceStr?: string }): RequestPaymentParams {
  const timeStamp = String(unixSeconds(p.now));
  const nonceStr = p.nonceStr ?? createNonce();
  const pkg = `prepay_id=${p.prepayId}`;
  return { timeStamp, nonceStr, package: pkg, signType: 'RSA', paySign: jsapiPaySign({ appId: p.appId, timeStamp, nonceStr, package: pkg, privateKey: p.privateKey }) };
}
