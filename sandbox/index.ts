/**
 * The local WeChat Pay v3 sandbox (DESIGN.md "Sandbox (contract)"): a signed, stateful double of the v3 API
 * that standard SDKs cannot tell from the real thing. Uses `wxpay/` for the protocol, never `connector/`.
 */
export type { SandboxOptions, SandboxReadyInfo, RunningSandbox } from './options';
export { WECHAT_RETRY_SCHEDULE_SECONDS } from './options';
export { startSandbox } from './server';
