/** The WeChat Pay protocol core, on node:crypto only. Shared by the connector and the sandbox; imports nothing of the product. */
export * from './errors';
export * from './keys';
export * from './rsa';
export * from './auth';
export * from './verifier';
export * from './aead';
export * from './paysign';
export * from './notification';
export * from './time';
export * from './bill';
export * from './cloudpay-apis';
export * from './json-depth';
export * from './bill-stream';
