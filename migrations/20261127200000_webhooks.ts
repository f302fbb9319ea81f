import type { Knex } from 'knex';

/**
 * Webhooks: a customer's endpoints, the events its transfers and payouts raise (an outbox, written
 * in the same transaction as the status change that causes them), and every delivery attempt.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE webhook_endpoints (
      id                          uuid PRIMARY KEY,
      customer_id                 uuid NOT NULL REFERENCES customers(id),
      url                         text NOT NULL CHECK (length(url) BETWEEN 1 AND 2048),
      -- the event types it receives; '*' for every one
      event_types                 text[] NOT NULL CHECK (cardinality(event_types) >= 1),
      description                 text CHECK (length(description) <= 500),
      -- Standard Webhooks secret (whsec_ + base64): the receiver verifies with it, so it is kept
      secret                      text NOT NULL,
      -- after a rotation the old secret still signs, beside the new one, until it expires
      previous_secret             text,
      previous_secret_expires_at  timestamptz,
      status                      text NOT NULL DEFAULT 'enabled' CHECK (status IN ('enabled', 'disabled')),
      disabled_reason             text,
      disabled_at                 timestamptz,
      -- failed attempts since the last success, and when that was
      failure_streak              integer NOT NULL DEFAULT 0 CHECK (failure_streak >= 0),
      last_success_at             timestamptz,
      created_by_key_id           uuid REFERENCES api_keys(id),
      created_at                  timestamptz NOT NULL DEFAULT now(),
      updated_at                  timestamptz NOT NULL DEFAULT now(),
      deleted_at                  timestamptz,
      CONSTRAINT webhook_endpoints_disabled_has_reason CHECK ((status = 'disabled') = (disabled_at IS NOT NULL))
    );
    CREATE INDEX webhook_endpoints_customer_idx ON webhook_endpoints (customer_id, created_at DESC) WHERE deleted_at IS NULL;

    CREATE TABLE webhook_events (
      id             uuid PRIMARY KEY,
      customer_id    uuid NOT NULL REFERENCES customers(id),
      type           text NOT NULL,
      resource_type  text NOT NULL CHECK (resource_type IN ('transfer', 'payout')),
      resource_id    uuid NOT NULL REFERENCES transfers(id),
      -- the body POSTed to endpoints: {id, type, created_at, data}, the resource as this customer's GET returns it
      payload        jsonb NOT NULL,
      created_at     timestamptz NOT NULL DEFAULT now(),
      -- set once a delivery has been started for every endpoint subscribed at the time
      dispatched_at  timestamptz,
      -- each status change raises its event once per customer, however often its step runs
      CONSTRAINT webhook_events_once UNIQUE (resource_id, type, customer_id)
    );
    CREATE INDEX webhook_events_undispatched_idx ON webhook_events (created_at) WHERE dispatched_at IS NULL;
    CREATE INDEX webhook_events_customer_idx ON webhook_events (customer_id, created_at DESC, id DESC);

    CREATE TABLE webhook_deliveries (
      id               uuid PRIMARY KEY,
      event_id         uuid NOT NULL REFERENCES webhook_events(id),
      endpoint_id      uuid NOT NULL REFERENCES webhook_endpoints(id),
      -- the delivery workflow that made this attempt: a redelivery is a new workflow
      workflow_id      text NOT NULL,
      attempt          integer NOT NULL CHECK (attempt >= 1),
      outcome          text NOT NULL CHECK (outcome IN ('succeeded', 'failed')),
      response_status  integer,
      duration_ms      integer NOT NULL CHECK (duration_ms >= 0),
      error            text,
      next_attempt_at  timestamptz,
      created_at       timestamptz NOT NULL DEFAULT now(),
      CONSTRAINT webhook_deliveries_once UNIQUE (workflow_id, attempt)
    );
    CREATE INDEX webhook_deliveries_endpoint_idx ON webhook_deliveries (endpoint_id, created_at DESC, id DESC);
    CREATE INDEX webhook_deliveries_event_idx ON webhook_deliveries (event_id);
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    DROP TABLE webhook_deliveries;
    DROP TABLE webhook_events;
    DROP TABLE webhook_endpoints;
  `);
}
