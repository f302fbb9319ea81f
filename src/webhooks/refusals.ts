import type { CodeOf } from '../refusal';

/** What webhooks refuse. */
export const WebhookRefusal = {
  /** A URL that is not https to a public address (in production), or carries credentials. */
  InvalidUrl: 'invalid_webhook_url',
  /** A redelivery to a disabled endpoint: enable it first. */
  EndpointDisabled: 'webhook_endpoint_disabled',
  /** A redelivery with no enabled endpoint subscribed to the event's type. */
  NoEndpoint: 'no_webhook_endpoint',
} as const;
export type WebhookRefusalCode = CodeOf<typeof WebhookRefusal>;
