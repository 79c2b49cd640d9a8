/**
 * The `callbacks` section of the configuration. Its type is generated from its JSON Schema
 * (schemas/deploy/callbacks.json), the one description of the section.
 */
export type { CallbackOptions } from '../../schemas/types.generated';

export const DEFAULT_RECONCILE_SCHEDULE = '0 */5 * * * * *';
