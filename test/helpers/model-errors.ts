import { WedaModelError } from '../../datasources/weda';

/** Awaits a call that must be refused, as `callModel` refuses: a WedaModelError with a request id. Answers it. */
export async function modelRefusal(p: Promise<unknown>): Promise<WedaModelError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(WedaModelError);
    expect(typeof (e as WedaModelError).requestId).toBe('string');
    return e as WedaModelError;
  }
  throw new Error('expected the model store to refuse the call');
}
