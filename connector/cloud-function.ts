import { httpStatusFor, isPayError, PayError, PayErrorCode } from '../wxpay';
import { Connector } from './connector';

/**
 * What the connector cloud function answers; the exported callee unwraps it (export.ts). `status` is the
 * code's one HTTP status (httpStatusFor), the same whichever backend ran.
 */
export type ConnectorFunctionResult = { ok: true; data: unknown } | { ok: false; error: ConnectorFunctionError };

export interface ConnectorFunctionError {
  code: PayErrorCode;
  message: string;
  detail?: unknown;
  requestId?: string;
  retryable: boolean;
  status: number;
}

/**
 * The connector cloud function's body: `{ method, params }` in, `{ ok, data | error }` out. Errors are
 * answered, not thrown, so the caller gets the code/field/rule instead of a generic function failure.
 */
export function connectorFunctionHandler(connector: Pick<Connector, 'call'>) {
  return async (event: { method?: unknown; params?: unknown }): Promise<ConnectorFunctionResult> => {
    try {
      if (typeof event?.method !== 'string') {
        throw new PayError({ code: 'PARAM_ERROR', message: 'method must be a string naming a connector method', detail: { field: 'method', issue: 'required' } });
      }
      return { ok: true, data: await connector.call(event.method, event.params) };
    } catch (err) {
      const e = isPayError(err) ? err : new PayError({ code: 'SYSTEM_ERROR', message: (err as Error).message ?? String(err), retryable: false });
      return { ok: false, error: { ...(e.toJSON() as Omit<ConnectorFunctionError, 'status'>), status: httpStatusFor(e.code) } };
    }
  };
}
