import { z } from 'zod';
import { ROLES, type ApiKeyView, type CreatedApiKey } from '../../auth/service';
import type { presentBeneficiary } from '../../beneficiaries/routes';
import { RuleBody } from '../../compliance/routes';
import type { Rule as RuleRow } from '../../compliance/engine';
import type { WatchlistImportResult } from '../../compliance/service';
import type { presentCustomer } from '../../customers/service';
import type { presentQuote } from '../../fx/quotes';
import type { presentRate } from '../../fx/rates';
import type { Spread as SpreadRow } from '../../fx/spreads';
import type { presentAccount, presentEntry } from '../../ledger/presenters';
import type { TrialBalance } from '../../ledger/trial-balance';
import { OPERATIONS } from '../../tariffs/schedule';
import type { Tariff } from '../../tariffs/service';
import { RESPONSE_MESSAGES, ResponseCode } from '../../transfers/outcomes';
import type { TransferPresenter } from '../../transfers/presenter';
import { ListTransfers } from '../../transfers/routes';
import type { presentEndpoint } from '../../webhooks/endpoints';
import type { presentDelivery } from '../../webhooks/routes';
import { ALL_EVENT_TYPES, WEBHOOK_EVENT_TYPES, type WebhookEventRow } from '../../webhooks/events';
import { ApiErrorCode, type errorEnvelope } from '../errors';

/**
 * The response bodies of the OpenAPI document (document.ts builds it; request bodies are the
 * routes' own zod schemas). Those with a typed presenter (transfer, account, entry, customer, key,
 * beneficiary, rate, spread, quote, tariff, rule, trial balance, webhook endpoint, event, delivery
 * attempt, error envelope) are checked at compile time against what it returns (`Documents`): a
 * field added to one of those responses without its schema does not compile. The hold queue and
 * audit trail are described by their main fields.
 */

// ---------- compile-time check: a presenter's JSON is what its schema documents ----------

/** What JSON.stringify makes of a value: dates become ISO strings. */
type Jsonified<T> = T extends Date ? string : T extends ReadonlyArray<infer U> ? Jsonified<U>[] : T extends object ? { [K in keyof T]: Jsonified<T[K]> } : T;
/** True when the presented value fits the schema's output and has no field the schema does not name. */
type Documents<S extends z.ZodType, T> = [Jsonified<T>] extends [z.output<S>] ? ([Exclude<keyof Jsonified<T>, keyof z.output<S>>] extends [never] ? true : false) : false;
type Assert<T extends true> = T;

// ---------- shared pieces ----------

export const Id = z.uuid();
export const Timestamp = z.iso.datetime({ offset: true }).meta({ description: 'ISO 8601 instant' });
export const Decimal = z.string().meta({ description: 'A decimal number as a string (amounts never travel as JSON numbers)', example: '100.50' });
const AmountWithCurrency = z.object({ amount: Decimal.nullable(), currency: z.string() });
export const Role = z.enum(ROLES);

const RESPONSE_CODES = Object.values(ResponseCode);
export const ResponseCodeSchema = z.enum(RESPONSE_CODES).meta({
  id: 'ResponseCode',
  description:
    'The outcome of a transfer or payout (seed 001): ' +
    RESPONSE_CODES.map((c) => `\`${c}\` ${RESPONSE_MESSAGES[c]}`).join(', ') +
    '. `1` completed; `12` held (quarantined) for a compliance decision; `101` declined (inactive account or holder, same account, ' +
    'currency mismatch, no or stale FX rate, an amount that converts to nothing); `606` failed, contact support (cancelled or ended ' +
    'by an operator; nothing was moved); `650` insufficient funds; `651` refused by compliance (rejected, expired hold, or a screening decline). ' +
    'A decline is a transfer with a code, not an HTTP error. Null while processing.',
});

export const ErrorEnvelope = z
  .object({
    code: z.string().meta({ description: 'HTTP status and reason phrase', example: '422 Unprocessable Entity' }),
    message: z.string().meta({ example: 'Validation errors' }),
    errors: z
      .array(
        z.object({
          error_code: z.enum(ApiErrorCode),
          message: z.string(),
          path: z.string().nullable().meta({ description: 'A JSON pointer into the body or query (`#/source_amount`), `header/<Name>`, or null', example: '#/source_amount' }),
        }),
      )
      .min(1)
      .meta({ description: 'Every problem found, one each' }),
    retry_after_seconds: z.number().int().optional().meta({ description: 'On 429 and 503: how long to wait, also sent as Retry-After' }),
    id: z.string().meta({ description: 'The request id, also sent as X-Request-Id', example: 'req_0b8f...' }),
  })
  .meta({ id: 'ErrorEnvelope', description: 'One envelope for every error. The error codes and their HTTP statuses are listed in src/api/errors.ts.' });
type _ErrorEnvelopeDocumented = Assert<Documents<typeof ErrorEnvelope, ReturnType<typeof errorEnvelope>>>;

export const Entry = z
  .object({
    id: Id,
    account_id: Id,
    transaction_id: Id,
    type: z.enum(['debit', 'credit']),
    amount: Decimal.meta({ description: 'Unsigned; `type` gives the direction' }),
    currency: z.string(),
    balance: Decimal.meta({ description: "The account's posted balance after this entry" }),
    description: z.string().nullable(),
    created_at: Timestamp,
  })
  .meta({ id: 'Entry' });
type _EntryDocumented = Assert<Documents<typeof Entry, ReturnType<typeof presentEntry>>>;

export const Account = z
  .object({
    id: Id,
    customer_id: Id.nullable().meta({ description: 'Null for system accounts' }),
    currency: z.string(),
    kind: z.string().meta({ description: '`customer` for accounts created here; system accounts have other kinds' }),
    status: z.string().meta({ example: 'active' }),
    balances: z.object({
      posted: Decimal,
      pending: Decimal.meta({ description: 'Reserved by held transfers and payouts' }),
      available: Decimal.meta({ description: 'posted - pending' }),
    }),
    created_at: Timestamp,
  })
  .meta({ id: 'Account' });
type _AccountDocumented = Assert<Documents<typeof Account, ReturnType<typeof presentAccount>>>;

export const Customer = z.object({ id: Id, name: z.string(), country: z.string(), status: z.string(), created_at: Timestamp }).meta({ id: 'Customer' });
type _CustomerDocumented = Assert<Documents<typeof Customer, ReturnType<typeof presentCustomer>>>;

const FeeLine = z.object({ amount: z.object({ amount: Decimal, currency: z.string() }), id: z.string(), tx_description: z.string().nullable() });
const CalculatedFees = z.record(z.string(), FeeLine).meta({ description: 'Fees by name (the operation\'s fixed fee; `spread` across currencies), charged in the source currency' });

const TransferStatus = ListTransfers.shape.status.unwrap();
export const Transfer = z
  .object({
    id: Id,
    kind: z.enum(['transfer', 'payout']),
    ref_id: z.string(),
    status: TransferStatus,
    response_code: ResponseCodeSchema.nullable(),
    message: z.string().nullable().meta({ description: "The response code's message, or why it was declined" }),
    source_account_id: Id,
    destination_account_id: Id,
    operation_type: z.enum(OPERATIONS),
    source_amount: AmountWithCurrency.meta({ description: 'amount is null until the workflow has priced the side the client did not give' }),
    target_amount: AmountWithCurrency,
    fx_rate: Decimal.nullable(),
    market_rate: Decimal.nullable(),
    calculated_fees: CalculatedFees.nullable(),
    quote_id: Id.nullable(),
    reference: z.string(),
    description: z.string().nullable(),
    external_id: z.string().nullable(),
    metadata: z.record(z.string(), z.string()),
    source_entry: Entry.nullable().meta({ description: 'The ledger entry on the source account once posted; null for a client key that does not own it' }),
    destination_entry: Entry.nullable(),
    beneficiary_id: Id.nullable().optional().meta({ description: 'Payouts only' }),
    rail_reference: z.string().nullable().optional().meta({ description: 'Payouts only: the rail\'s reference once sent' }),
    sent_at: Timestamp.nullable().optional().meta({ description: 'Payouts only' }),
    settled_at: Timestamp.nullable().optional().meta({ description: 'Payouts only' }),
    workflow_id: z.string(),
    created_at: Timestamp,
    completed_at: Timestamp.nullable(),
  })
  .meta({ id: 'Transfer', description: 'A transfer or a payout, with its outcome (response_code) and the entries it posted.' });
type _TransferDocumented = Assert<Documents<typeof Transfer, Awaited<ReturnType<TransferPresenter['present']>>>>;

export const ApiKey = z
  .object({
    id: Id,
    prefix: z.string(),
    role: Role,
    customer_id: Id.nullable(),
    label: z.string().nullable(),
    issued_to: z.string().nullable(),
    created_by_key_id: Id.nullable(),
    created_at: Timestamp,
    revoked_at: Timestamp.nullable(),
  })
  .meta({ id: 'ApiKey', description: 'A key as listed: never its secret or hash.' });
type _ApiKeyDocumented = Assert<Documents<typeof ApiKey, ApiKeyView>>;

export const CreatedKey = z
  .object({
    id: Id,
    key: z.string().meta({ description: 'The secret: shown this once, stored only as its SHA-256' }),
    prefix: z.string(),
    role: Role,
    customer_id: Id.nullable(),
    issued_to: z.string().nullable(),
    created_at: Timestamp,
  })
  .meta({ id: 'CreatedApiKey' });
type _CreatedKeyDocumented = Assert<Documents<typeof CreatedKey, CreatedApiKey>>;

export const Beneficiary = z
  .object({
    id: Id,
    customer_id: Id,
    name: z.string(),
    country: z.string(),
    currency: z.string(),
    bank_details: z.object({ iban: z.string().optional(), account_number: z.string().optional(), bank_code: z.string().optional() }),
    status: z.enum(['active', 'disabled']),
    created_at: Timestamp,
  })
  .meta({ id: 'Beneficiary' });
type _BeneficiaryDocumented = Assert<Documents<typeof Beneficiary, ReturnType<typeof presentBeneficiary>>>;

export const Rate = z.object({ base: z.string(), quote: z.string(), rate: Decimal.meta({ description: '1 base = rate quote' }), as_of: Timestamp, source: z.string() }).meta({ id: 'FxRate' });
type _RateDocumented = Assert<Documents<typeof Rate, ReturnType<typeof presentRate>>>;

export const Spread = z
  .object({ source_currency: z.string().meta({ description: '`*` for the default' }), target_currency: z.string(), percentage: Decimal.meta({ description: '"1" is 1%' }) })
  .meta({ id: 'FxSpread' });
type _SpreadDocumented = Assert<Documents<typeof Spread, SpreadRow>>;

/** What pricing answers, whether as a price or as a quote that locks it. */
const PRICED = {
  operation_type: z.enum(OPERATIONS),
  market_rate: Decimal.nullable(),
  fx_rate: Decimal.nullable(),
  source_amount: z.object({ amount: Decimal, currency: z.string() }),
  target_amount: z.object({ amount: Decimal, currency: z.string() }),
  calculated_fees: CalculatedFees,
};

export const Quote = z
  .object({
    id: Id,
    source_account_id: Id.nullable(),
    ...PRICED,
    rate_as_of: Timestamp.nullable(),
    expires_at: Timestamp,
    used_by_transfer_id: Id.nullable(),
    created_at: Timestamp,
  })
  .meta({ id: 'FxQuote', description: 'A price locked until expires_at; a transfer passes its id as quote_id.' });
type _QuoteDocumented = Assert<Documents<typeof Quote, ReturnType<typeof presentQuote>>>;

const TariffRange = z.object({
  id: Id.nullable(),
  min_amount: Decimal,
  max_amount: Decimal.nullable(),
  fixed_amount: Decimal,
  percentage: Decimal,
  min_fee: Decimal.nullable(),
  max_fee: Decimal.nullable(),
  tx_description: z.string().nullable(),
});
export const TariffSchema = z
  .object({ id: Id, operation: z.enum(OPERATIONS), currency: z.string(), ranges: z.array(TariffRange), created_at: Timestamp, updated_at: Timestamp })
  .meta({ id: 'Tariff', description: 'A fee schedule: amount ranges, each with a fixed fee and a percentage.' });
type _TariffDocumented = Assert<Documents<typeof TariffSchema, Tariff>>;

export const Price = z.object(PRICED).meta({ id: 'Price' });

export const TrialBalanceSchema = z
  .object({
    currency: z.string(),
    debits: Decimal,
    credits: Decimal,
    net: Decimal,
    customer_accounts: Decimal.meta({ description: 'What the bank owes its customers in this currency' }),
    system_accounts: z.array(z.object({ account_id: Id, system_purpose: z.string(), balance: Decimal })),
  })
  .meta({ id: 'TrialBalance' });
type _TrialBalanceDocumented = Assert<Documents<typeof TrialBalanceSchema, TrialBalance>>;

export const Hold = z
  .looseObject({
    subject_type: z.enum(['transfer', 'payout']),
    beneficiary_id: Id.nullable().optional(),
    id: Id,
    ref_id: z.string(),
    status: TransferStatus,
    response_code: ResponseCodeSchema.nullable(),
    source_amount: AmountWithCurrency,
    target_amount: AmountWithCurrency,
    parties: z.object({
      source: z.object({ account_id: Id, holder: z.string().nullable() }),
      destination: z.object({ account_id: Id, holder: z.string().nullable() }),
    }),
    rule_hits: z.array(z.looseObject({})).meta({ description: 'The screening rules that matched' }),
    rule_versions: z.looseObject({}).meta({ description: 'Which version of each rule the screening applied' }),
    held_at: Timestamp,
    hold_expires_at: Timestamp.nullable(),
    age_seconds: z.string(),
    decision: z.object({ decision: z.string(), reviewer: z.string(), reason: z.string().nullable(), decided_at: Timestamp }).nullable(),
  })
  .meta({ id: 'Hold', description: 'A held transfer or payout in the compliance queue (main fields).' });

export const AuditRecord = z
  .looseObject({
    id: z.string(),
    actor: z.string(),
    action: z.string(),
    subject_type: z.string().nullable(),
    subject_id: z.string().nullable(),
    reason: z.string().nullable(),
    outcome: z.string().nullable(),
  })
  .meta({ id: 'AuditRecord', description: 'One audited action (main fields).' });

export const Rule = z
  .object({ id: Id, kind: z.union(RuleBody.options.map((o) => o.shape.kind)), name: z.string(), params: z.record(z.string(), z.unknown()), enabled: z.boolean(), version: z.number().int() })
  .meta({ id: 'ComplianceRule', description: 'A screening rule; `params` as in the request for its kind. Its version goes up on every change.' });

export const WatchlistEntryOut = z
  .looseObject({ id: Id, list: z.string(), name: z.string(), entity_type: z.string().nullable(), program: z.string().nullable(), external_id: z.string().nullable() })
  .meta({ id: 'WatchlistEntry' });

export const ImportResult = z
  .object({ imported: z.number().int(), skipped: z.number().int(), skipped_rows: z.array(z.object({ line: z.number().int(), reason: z.string() })) })
  .meta({ id: 'WatchlistImportResult' });
type _RuleDocumented = Assert<Documents<typeof Rule, RuleRow>>;
type _ImportDocumented = Assert<Documents<typeof ImportResult, WatchlistImportResult>>;

// ---------- webhooks ----------

export const WebhookEventType = z.enum(WEBHOOK_EVENT_TYPES).meta({
  id: 'WebhookEventType',
  description: 'One per status a transfer or payout can reach (`released`: leaving a hold): ' + WEBHOOK_EVENT_TYPES.map((t) => `\`${t}\``).join(', ') + '.',
});

export const WebhookEndpoint = z
  .object({
    id: Id,
    customer_id: Id.meta({ description: 'Whose events it receives' }),
    url: z.string().meta({ example: 'https://example.com/webhooks/payments' }),
    event_types: z.array(z.string()).meta({ description: `The event types it receives (WebhookEventType), or \`${ALL_EVENT_TYPES}\` for every type, including any added later`, example: ['transfer.completed'] }),
    description: z.string().nullable(),
    status: z.enum(['enabled', 'disabled']).meta({ description: 'Disabled after every attempt of a delivery failed (see disabled_reason); POST .../enable turns it back on' }),
    disabled_reason: z.string().nullable(),
    disabled_at: Timestamp.nullable(),
    failure_streak: z.number().int().meta({ description: 'Failed delivery attempts in a row' }),
    previous_secret_expires_at: Timestamp.nullable().meta({ description: 'After a rotation: until when the previous secret also signs deliveries' }),
    created_at: Timestamp,
    updated_at: Timestamp,
  })
  .meta({ id: 'WebhookEndpoint', description: 'Where a customer receives its events: never its secret, which is shown only when made (create, rotate-secret).' });
type _WebhookEndpointDocumented = Assert<Documents<typeof WebhookEndpoint, ReturnType<typeof presentEndpoint>>>;

const WebhookSecret = z.string().meta({ description: 'The signing secret, `whsec_` + base64 (Standard Webhooks): shown this once', example: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw' });
export const CreatedWebhookEndpoint = WebhookEndpoint.extend({ secret: WebhookSecret }).meta({ id: 'CreatedWebhookEndpoint', description: 'The endpoint, with its secret: shown this once.' });
type _CreatedWebhookEndpointDocumented = Assert<Documents<typeof CreatedWebhookEndpoint, ReturnType<typeof presentEndpoint> & { secret: string }>>;
export const DeletedWebhookEndpoint = WebhookEndpoint.extend({ deleted: z.literal(true) }).meta({ id: 'DeletedWebhookEndpoint' });
type _DeletedWebhookEndpointDocumented = Assert<Documents<typeof DeletedWebhookEndpoint, ReturnType<typeof presentEndpoint> & { deleted: true }>>;

export const WebhookEventPayload = z
  .object({
    id: Id.meta({ description: 'Sent as `webhook-id` on every attempt of every delivery of it' }),
    type: WebhookEventType,
    created_at: Timestamp,
    data: Transfer,
  })
  .meta({
    // No component of its own: document.ts writes the `event` webhook's body from these fields.
    description: "The body POSTed to every endpoint subscribed to its type. `data` is the transfer or payout as the customer's client key saw it (GET /v1/transfers/{id}, /v1/payouts/{id}) when the event happened.",
  });
export const WebhookEvent = WebhookEventPayload.extend({
  customer_id: Id.meta({ description: 'Whose event it is' }),
  dispatched_at: Timestamp.nullable().meta({ description: 'When its deliveries were started; null until then' }),
}).meta({ id: 'WebhookEvent', description: 'An event as listed: the body endpoints receive, with its customer and when its deliveries started.' });
/** The payload is stored JSON (its `data` presented by the transfer presenter, which `Transfer` checks). */
type PresentedEvent = Omit<WebhookEventRow['payload'], 'data'> & { data: z.output<typeof Transfer> } & Pick<WebhookEventRow, 'customer_id' | 'dispatched_at'>;
type _WebhookEventDocumented = Assert<Documents<typeof WebhookEvent, PresentedEvent>>;

export const WebhookDelivery = z
  .object({
    id: Id,
    event_id: Id,
    event_type: WebhookEventType,
    endpoint_id: Id,
    attempt: z.number().int().meta({ description: 'Which attempt of its delivery (1 for the first)' }),
    outcome: z.enum(['succeeded', 'failed']).meta({ description: 'succeeded: the endpoint answered 2xx' }),
    response_status: z.number().int().nullable().meta({ description: "The endpoint's HTTP status; null when it did not answer" }),
    duration_ms: z.number().int(),
    error: z.string().nullable().meta({ description: 'Why it failed (a non-2xx answer, a timeout, a refused address...)' }),
    next_attempt_at: Timestamp.nullable().meta({ description: 'When the next attempt is due if this one failed; null when it succeeded or was the last' }),
    created_at: Timestamp,
  })
  .meta({ id: 'WebhookDelivery', description: 'One delivery attempt of one event to one endpoint.' });
type _WebhookDeliveryDocumented = Assert<Documents<typeof WebhookDelivery, ReturnType<typeof presentDelivery>>>;

export const Redelivery = z
  .object({
    event_id: Id,
    deliveries: z.array(z.object({ endpoint_id: Id, workflow_id: z.string().meta({ description: 'The delivery workflow, with its own attempts and retries' }) })),
  })
  .meta({ id: 'WebhookRedelivery' });

export const page = <S extends z.ZodType>(item: S) => z.object({ data: z.array(item), next_cursor: z.string().nullable().meta({ description: 'Pass as `cursor` for the next page; null on the last' }) });
export const list = <S extends z.ZodType>(item: S) => z.object({ data: z.array(item) });
