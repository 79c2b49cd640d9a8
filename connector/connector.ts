import { MAX_JSON_NESTING, nestsDeeperThan, PayError } from '../wxpay';
import { MANIFEST, findMethod, MethodName, MethodRow } from './manifest';
import { callProvider, PaymentProvider, ProviderMethodName, ProviderMethodTypes } from './providers/provider';
import { DEFAULT_RETRY, RetryPolicy, withRetry } from './retry';
import { callServer, ModelsPort, recordClosedOrder, ServerContext, ServerMethodTypes } from './server-methods';
import { assertValid, findProblems } from '../schemas/validate';

export interface Connector {
  readonly provider: PaymentProvider;
  /** Validates the input (nothing is sent when it is invalid), calls the backend, checks the output shape. */
  call(methodName: string, params: unknown): Promise<unknown>;
}

export interface ConnectorOptions {
  retry?: RetryPolicy;
  /** The data models, for the methods answered on the server (checkout, requestRefund); without it they answer CONFIG_ERROR. */
  models?: ModelsPort;
  /** The business clock for what the server methods write (default Date.now; the dev server passes the sandbox's). */
  now?: () => number;
}

export function createConnector(provider: PaymentProvider, opts: ConnectorOptions = {}): Connector {
  const retry = opts.retry ?? DEFAULT_RETRY;
  const connector: Connector = {
    provider,
    async call(methodName, params) {
      const method = findMethod(methodName);
      if (!method) {
        throw new PayError({ code: 'PARAM_ERROR', message: `unknown method "${methodName}"; methods: ${MANIFEST.map((m) => m.name).join(', ')}`, detail: { field: 'methodName', issue: 'unknown' } });
      }
      const input = params === undefined || params === null ? {} : copyOfInput(method.name, params);
      assertValid(method.input, input, method.name);
      const output = await dispatch(method, input);
      // Same output whichever backend runs: a provider that drifts from the schema is a bug, said loudly.
      const problems = findProblems(method.output, output);
      if (problems.length) {
        throw new PayError({ code: 'SYSTEM_ERROR', message: `${method.name} (${provider.kind}) returned an output that breaks its schema: ${problems[0]!.message}`, retryable: false, detail: { field: problems[0]!.field, issue: problems[0]!.rule } });
      }
      return output;
    },
  };

  /**
   * Runs a row by its target. The input has passed the row's input schema, so it is that method's input type.
   * Provider calls are retried with the same input; a server method is not (it writes rows), its payment
   * calls are, through `connector.call`.
   */
  async function dispatch(row: MethodRow, input: unknown): Promise<unknown> {
    switch (row.target) {
      case 'provider': {
        const output = await withRetry(retry, () => callProvider(provider, row.name, input as ProviderMethodTypes[typeof row.name]['input']));
        // A closed order says so in the orders model too, so the app and the payer can tell it from a payable one.
        if (row.name === 'closeOrder' && opts.models) await recordClosedOrder(serverContext(row.name), (input as ProviderMethodTypes['closeOrder']['input']).outTradeNo);
        return output;
      }
      case 'server': return callServer(serverContext(row.name), row.name, input as ServerMethodTypes[typeof row.name]['input']);
    }
  }

  function serverContext(methodName: MethodName): ServerContext {
    if (!opts.models) {
      throw new PayError({ code: 'CONFIG_ERROR', message: `${methodName} runs on the server against the data models, and this connector was created without them (createConnector(provider, { models }))`, detail: { field: 'models', issue: 'required for server methods' } });
    }
    return {
      models: opts.models,
      provider: viaConnector,
      now: opts.now ?? Date.now,
    };
  }

  /** A provider method as any caller reaches it: validated, retried, its output checked (the output schema makes the cast true). */
  async function viaConnector<N extends ProviderMethodName>(name: N, input: ProviderMethodTypes[N]['input']): Promise<ProviderMethodTypes[N]['output']> {
    return (await connector.call(name, input)) as ProviderMethodTypes[N]['output'];
  }

  return connector;
}

/**
 * A copy of the caller's params for validation to fill defaults into. Input nested past any method's shape is
 * refused before the recursive copy could run out of stack on it; what is not data (a function) is refused too.
 */
function copyOfInput(methodName: string, params: unknown): unknown {
  if (nestsDeeperThan(params, MAX_JSON_NESTING)) {
    throw new PayError({ code: 'PARAM_ERROR', retryable: false, message: `${methodName}: the input nests objects or arrays deeper than ${MAX_JSON_NESTING} levels; a method's input is one flat object`, detail: { field: '(input)', issue: `must nest at most ${MAX_JSON_NESTING} levels` } });
  }
  try {
    return structuredClone(params);
  } catch (err) {
    throw new PayError({ code: 'PARAM_ERROR', retryable: false, message: `${methodName}: the input must be JSON data (${(err as Error).message})`, detail: { field: '(input)', issue: 'must be JSON data' } });
  }
}

export type { MethodName };
