/**
 * The six `cloud.cloudPay` APIs (wxpay-v2-cloudpay.md §5): the names the CloudPay SDK exposes, which the
 * connector's CloudPay backend calls and the sandbox's CloudPay emulation answers. Listed once, here.
 */
export const CLOUDPAY_API_NAMES = ['unifiedOrder', 'queryOrder', 'closeOrder', 'refund', 'queryRefund', 'downloadBill'] as const;
export type CloudPayApiName = (typeof CLOUDPAY_API_NAMES)[number];

export function isCloudPayApiName(name: string): name is CloudPayApiName {
  return (CLOUDPAY_API_NAMES as readonly string[]).includes(name);
}
