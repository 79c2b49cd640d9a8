import { KeyObject, randomBytes } from 'node:crypto';
import { buildNotification } from '../../wxpay';
import { PROBE_SIGNATURE_PREFIX } from '../domain/faults';
import type { OutboxRow } from '../state/outbox';
import type { HttpOutcome } from './post';
import { OutgoingRequest, Transport } from './transport';

export interface HttpTransportDeps {
  apiV3Key: string;
  signingKey: KeyObject;
  /** `Wechatpay-Serial` of notifications: the WeChat Pay public key id or the platform certificate serial (option `notificationSerial`). */
  serial: string;
}

/**
 * The `http` channel, as WeChat Pay notifies (wxpay-v3.md §4): POST the encrypted, signed envelope to the notify
 * URL; HTTP 200/204 is an ack, anything else a failure. Each attempt is freshly encrypted and signed (a real-time
 * Wechatpay-Timestamp, so a retry hours of sandbox time later still passes the receiver's ±300 s check), with the
 * same notification id and create_time.
 */
export class HttpTransport implements Transport {
  constructor(private readonly d: HttpTransportDeps) {}

  request(n: OutboxRow, opts: { probe: boolean }): OutgoingRequest {
    const { body, headers } = buildNotification({
      id: n.id,
      eventType: n.event_type,
      resource: JSON.parse(n.payload) as unknown,
      createTime: n.create_time,
      apiV3Key: this.d.apiV3Key,
      signingKey: this.d.signingKey,
      serial: this.d.serial,
    });
    const sent: Record<string, string> = { ...headers, 'User-Agent': 'Mozilla/4.0' };
    if (opts.probe) sent['Wechatpay-Signature'] = `${PROBE_SIGNATURE_PREFIX}${randomBytes(48).toString('base64')}`;
    return { url: n.url, headers: sent, body };
  }

  verdict(outcome: HttpOutcome): { acked: boolean; error: string | null } {
    return { acked: outcome.statusCode === 200 || outcome.statusCode === 204, error: outcome.error };
  }
}
