import { PayError } from '../wxpay';
import { MANIFEST, findMethod, MethodName, MethodRow } from './manifest';
import { callProvider, PaymentProvider, ProviderMethodTypes } from './providers/provider';
import { DEFAULT_RETRY, RetryPolicy, withRetry } from './retry';
import { assertValid, findProblems } from '../schemas/validate';

export interface Connector {
  readonly provider: PaymentProvider;
  /** Validates the input (nothing is sent when it is invalid), calls the backend, checks the output shape. */
  call(methodName: string, params: unknown): Promise<unknown>;
}

export function createConnector(provider: PaymentProvider, opts: { retry?: RetryPolicy } = {}): Connector {
  const retry = opts.retry ?? DEFAULT_RETRY;
  return {
    provider,
    async call(methodName, params) {
      const method = findMethod(methodName);
      if (!method) {
        throw new PayError({ code: 'PARAM_ERROR', message: `unknown method "${methodName}"; methods: ${MANIFEST.map((m) => m.name).join(', ')}`, detail: { field: 'methodName', issue: 'unknown' } });
      }
      const input = params === undefined || params === null ? {} : structuredClone(params);
      assertValid(method.input, input, method.name);
      const output = await withRetry(retry, () => dispatch(method, provider, input));
      // Same output whichever backend runs: a provider that drifts from the schema is a bug, said loudly.
      const problems = findProblems(method.output, output);
      if (problems.length) {
        throw new PayError({ code: 'SYSTEM_ERROR', message: `${method.name} (${provider.kind}) returned an output that breaks its schema: ${problems[0]!.message}`, retryable: false, detail: { field: problems[0]!.field, issue: problems[0]!.rule } });
      }
      return output;
    },
  };
}

/** Runs a row by its target. The input has passed the row's input schema, so it is that method's input type. */
function dispatch(row: MethodRow, provider: PaymentProvider, input: unknown): Promise<unknown> {
  switch (row.target) {
    case 'provider': return callProvider(provider, row.name, input as ProviderMethodTypes[typeof row.name]['input']);
  }
}

export type { MethodName };
