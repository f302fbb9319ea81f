import { randomUUID } from 'node:crypto';
import { parse } from 'csv-parse/sync';
import { z } from 'zod';
import { SafeText } from '../http/validation';
import type { CurrencyService } from '../currencies/service';
import type { Db } from '../db/knex';
import type { RateProvider } from '../fx/rates';
import { Money } from '../money/money';
import { afterCommit, complianceDecisions, complianceScreenings } from '../observability/metrics';
import { Refusal } from '../refusal';
import type { TransferRow } from '../transfers/model';
import type { MovementParties } from '../transfers/validation';
import type { DecisionKind } from '../../workflows/contract';
import { screen as evaluate, type Party, type Rule, type RuleKind, type Screening } from './engine';
import { normalizeName } from './names';
import { ComplianceRefusal } from './refusals';

export type ScreeningRow = Screening & { id: string; subject_type: 'transfer' | 'payout'; subject_id: string; screened_at: Date };
export type { DecisionKind };
/** A rule as an admin writes it: its kind's parameters are checked by the API's schema (RuleBody). */
export type RuleInput = { kind: RuleKind; name: string; params: Record<string, unknown>; enabled: boolean };
export type DecisionRow = {
  id: string;
  subject_type: 'transfer' | 'payout';
  subject_id: string;
  decision: DecisionKind;
  reviewer: string;
  reviewer_key_id: string | null;
  reason: string;
  decided_at: Date;
};
export type AuditEntry = {
  actor: string;
  actorKeyId?: string | null;
  actorRole?: string | null;
  action: string;
  subjectType: 'transfer' | 'payout';
  subjectId: string;
  reason?: string | null;
  outcome: string;
  requestId?: string | null;
  remoteAddr?: string | null;
  userAgent?: string | null;
};

/** Screening, holds' decisions and the audit trail, over Postgres. */
export function createComplianceService(deps: { db: Db; rates: RateProvider; currencies?: CurrencyService }) {
  const { db } = deps;

  async function rules(): Promise<Rule[]> {
    return (await db('compliance_rules').orderBy('created_at')) as Rule[];
  }

  /** `amount` of `currency` expressed in `target`, at the market rate; undefined without a rate. */
  async function convert(amount: string, currency: string, target: string): Promise<string | undefined> {
    if (currency === target) return amount;
    const rate = await deps.rates.getRate(currency, target);
    return rate ? new Money(amount).times(rate.rate).toString() : undefined;
  }

  /**
   * Screens a priced movement against the enabled rules: gathers what the (synchronous) rules may
   * ask for (amounts in reference currencies, the source's recent velocity, the watch list) and
   * applies them. Reads only: recordScreening stores the result.
   */
  async function screen(t: TransferRow, parties: MovementParties): Promise<Screening> {
    const activeRules = (await rules()).filter((r) => r.enabled);
    const sourceCurrency = t.source_currency.trim();
    const amount = t.source_amount as string;
    const currencies = new Set(activeRules.filter((r) => r.kind === 'amount_threshold' || r.kind === 'velocity').map((r) => String(r.params.currency ?? 'USD')));
    const amounts = new Map<string, string | undefined>();
    for (const c of currencies) amounts.set(c, await convert(amount, sourceCurrency, c));
    const velocity = new Map<string, { count: number; total: string | undefined }>();
    for (const r of activeRules.filter((r) => r.kind === 'velocity')) {
      const windowSeconds = typeof r.params.window_seconds === 'number' ? r.params.window_seconds : 3600;
      const currency = String(r.params.currency ?? 'USD');
      const recent = (await db('transfers')
        .where({ source_account_id: t.source_account_id })
        .whereNot({ id: t.id })
        .whereNotIn('status', ['declined', 'failed'])
        .andWhere('created_at', '>', db.raw(`now() - make_interval(secs => ?)`, [windowSeconds]))
        .whereNotNull('source_amount')
        .select(db.raw('count(*)::int AS count'), db.raw('coalesce(sum(source_amount), 0)::text AS total'))
        .first()) as { count: number; total: string };
      velocity.set(`${windowSeconds}:${currency}`, { count: recent.count, total: await convert(recent.total, sourceCurrency, currency) });
    }
    const units = new Map<string, number | undefined>();
    if (deps.currencies) for (const c of currencies) units.set(c, (await deps.currencies.find(c))?.minor_units);
    const watchlist = activeRules.some((r) => r.kind === 'watchlist')
      ? ((await db('watchlist_entries').select('id', 'name', 'normalized_name', 'list')) as Array<{ id: string; name: string; normalized_name: string; list: string }>)
      : [];
    return evaluate(activeRules, {
      sourceCurrency,
      parties: screeningParties(parties),
      amountIn: (c) => amounts.get(c),
      velocity: (w, c) => velocity.get(`${w}:${c}`) ?? { count: 0, total: '0' },
      watchlist,
      minorUnits: (c) => units.get(c),
    });
  }

  /** Stores a subject's screening once: a repeat (a retried step) finds and returns the first. */
  async function recordScreening(t: TransferRow, screening: Screening, trx: Db = db): Promise<ScreeningRow> {
    const [row] = await trx('compliance_screenings')
      .insert({
        id: randomUUID(),
        subject_type: t.kind,
        subject_id: t.id,
        outcome: screening.outcome,
        hits: JSON.stringify(screening.hits),
        rule_versions: JSON.stringify(screening.rule_versions),
      })
      .onConflict(['subject_type', 'subject_id'])
      .ignore()
      .returning<ScreeningRow[]>('*');
    if (row) afterCommit(trx, () => complianceScreenings.inc({ subject: t.kind, outcome: screening.outcome }));
    return row ?? (await findScreening(t, trx)) as ScreeningRow;
  }

  const findScreening = (t: TransferRow, trx: Db = db) =>
    trx('compliance_screenings').where({ subject_type: t.kind, subject_id: t.id }).first<ScreeningRow | undefined>();

  /** The rules that fired, in words (recorded as the reason of a hold or a decline). */
  const summarize = (screening: Screening): string => (screening.hits.length ? screening.hits.map((h) => h.detail).join(' ') : 'no rule fired').slice(0, 400);

  /** Screens a transfer once: the first screening of a subject is stored and a repeat returns it. */
  async function screenTransfer(t: TransferRow, parties: MovementParties): Promise<ScreeningRow> {
    return (await findScreening(t)) ?? recordScreening(t, await screen(t, parties));
  }

  /** Records the decision on a held subject; the first one recorded wins and is returned to every caller. */
  async function recordDecision(input: {
    subjectType: 'transfer' | 'payout';
    subjectId: string;
    decision: DecisionKind;
    reviewer: string;
    reviewerKeyId?: string | null;
    reason: string;
  }, trx: Db = db): Promise<{ decision: DecisionRow; recorded: boolean }> {
    const [inserted] = await trx('compliance_decisions')
      .insert({
        id: randomUUID(),
        subject_type: input.subjectType,
        subject_id: input.subjectId,
        decision: input.decision,
        reviewer: input.reviewer,
        reviewer_key_id: input.reviewerKeyId ?? null,
        reason: input.reason,
      })
      .onConflict(['subject_type', 'subject_id'])
      .ignore()
      .returning<DecisionRow[]>('*');
    if (inserted) {
      afterCommit(trx, () => complianceDecisions.inc({ subject: input.subjectType, decision: input.decision }));
      return { decision: inserted, recorded: true };
    }
    const first = await trx('compliance_decisions').where({ subject_type: input.subjectType, subject_id: input.subjectId }).first<DecisionRow>();
    return { decision: first, recorded: false };
  }

  async function decisionFor(subjectType: 'transfer' | 'payout', subjectId: string): Promise<DecisionRow | undefined> {
    return db('compliance_decisions').where({ subject_type: subjectType, subject_id: subjectId }).first<DecisionRow | undefined>();
  }

  async function audit(entry: AuditEntry, trx: Db = db): Promise<void> {
    await trx('audit_log').insert({
      actor: entry.actor,
      actor_key_id: entry.actorKeyId ?? null,
      actor_role: entry.actorRole ?? null,
      action: entry.action,
      subject_type: entry.subjectType,
      subject_id: entry.subjectId,
      reason: entry.reason ?? null,
      outcome: entry.outcome,
      request_id: entry.requestId ?? null,
      remote_addr: entry.remoteAddr ?? null,
      user_agent: entry.userAgent ?? null,
    });
  }

  /**
   * Loads watch-list names from a CSV in the OFAC SDN layout (ent_num, SDN_Name, SDN_Type, Program, ...; no header).
   * All or nothing as a write (one transaction), row by row as a read: the rows that are entries are
   * imported (a re-import updates by list and ent_num), the others are reported with their line
   * numbers. Blank lines, a header line and the end-of-file mark are not rows. Throws
   * WatchlistImportError, writing nothing, for a file that is not CSV or has no entry at all.
   */
  async function importSdnCsv(csv: string, list = 'SDN'): Promise<WatchlistImportResult> {
    let records: Array<{ record: string[]; info: { lines: number } }>;
    try {
      // `trim` does not reach inside quotes, and the real file quotes its empty mark with a space: "-0- ".
      records = parse(csv, { relax_column_count: true, skip_empty_lines: true, trim: true, info: true }) as unknown as typeof records;
    } catch (err) {
      throw new WatchlistImportError(`The CSV could not be read: ${(err as Error).message}`.slice(0, 300));
    }
    const rows: Array<Record<string, string | null>> = [];
    const skipped: SkippedRow[] = [];
    const lineOf = new Map<string, number>();
    for (const { record, info } of records) {
      // info.lines is the line a record ends on: a quoted field may span lines.
      const line = info.lines - record.reduce((n, f) => n + (f.match(/\r\n|\r|\n/g)?.length ?? 0), 0);
      const r = record.map((f) => f.trim());
      if (r.every((f) => f === '' || f === '\x1a') || (r[0] ?? '').toLowerCase() === 'ent_num') continue;
      const problem = sdnRowProblem(r);
      const seen = problem ? undefined : lineOf.get(r[0] as string);
      if (problem || seen !== undefined) {
        skipped.push({ line, reason: problem ?? `ent_num ${r[0]} is already on line ${seen}` });
        continue;
      }
      lineOf.set(r[0] as string, line);
      rows.push({
        id: randomUUID(),
        list,
        external_id: r[0] as string,
        name: r[1] as string,
        normalized_name: normalizeName(r[1] as string),
        entity_type: r[2] && r[2] !== '-0-' ? r[2] : null,
        program: r[3] && r[3] !== '-0-' ? r[3] : null,
      });
    }
    if (rows.length === 0) {
      const first = skipped[0];
      throw new WatchlistImportError(
        first
          ? `No row of the CSV is a watch-list entry: expected ${SDN_LAYOUT}; line ${first.line}: ${first.reason}` +
              (skipped.length > 1 ? ` (and ${skipped.length - 1} more ${skipped.length > 2 ? 'rows' : 'row'} with problems).` : '.')
          : `The CSV has no rows: expected ${SDN_LAYOUT}.`,
      );
    }
    // In chunks (the real SDN list has ~18,000 names; Postgres takes 65,535 parameters a statement), in one transaction.
    await db.transaction(async (trx) => {
      for (let i = 0; i < rows.length; i += 1000) {
        await trx('watchlist_entries')
          .insert(rows.slice(i, i + 1000))
          .onConflict(['list', 'external_id'])
          .merge(['name', 'normalized_name', 'entity_type', 'program']);
      }
    });
    return { imported: rows.length, skipped: skipped.length, skipped_rows: skipped.slice(0, MAX_SKIPPED_ROWS_LISTED) };
  }

  async function addWatchlistEntry(input: { name: string; list: string; program?: string | null; external_id?: string | null }) {
    const [row] = await db('watchlist_entries')
      .insert({
        id: randomUUID(),
        list: input.list,
        name: input.name,
        normalized_name: normalizeName(input.name),
        program: input.program ?? null,
        external_id: input.external_id ?? randomUUID(),
      })
      .returning('*');
    return row;
  }

  async function createRule(input: RuleInput): Promise<Rule> {
    const [rule] = await db('compliance_rules').insert({ id: randomUUID(), kind: input.kind, name: input.name, params: JSON.stringify(input.params), enabled: input.enabled }).returning<Rule[]>('*');
    return rule as Rule;
  }

  /** Replaces a rule; its version goes up, so screenings record which version they applied. Undefined when there is no such rule. */
  async function replaceRule(id: string, input: RuleInput): Promise<Rule | undefined> {
    const [rule] = await db('compliance_rules')
      .where({ id })
      .update({ kind: input.kind, name: input.name, params: JSON.stringify(input.params), enabled: input.enabled, version: db.raw('version + 1'), updated_at: db.fn.now() })
      .returning<Rule[]>('*');
    return rule;
  }

  /** The watch list, at most 1000 entries, by list and name. */
  const watchlist = () => db('watchlist_entries').orderBy(['list', 'name']).limit(1000).select('id', 'list', 'name', 'entity_type', 'program', 'external_id');

  /** The audit trail, newest first, of one subject or all. */
  async function auditTrail(filter: { subjectId?: string; limit: number }): Promise<Array<Record<string, unknown>>> {
    const q = db('audit_log').orderBy('id', 'desc').limit(filter.limit);
    if (filter.subjectId) q.where({ subject_id: filter.subjectId });
    return ((await q) as Array<Record<string, unknown>>).map((r) => ({ ...r, id: String(r.id) }));
  }

  return { rules, screen, summarize, recordScreening, screenTransfer, recordDecision, decisionFor, audit, importSdnCsv, addWatchlistEntry, createRule, replaceRule, watchlist, auditTrail };
}

export type ComplianceService = ReturnType<typeof createComplianceService>;

/** How the import describes the layout it expects, in its errors. */
const SDN_LAYOUT = 'the OFAC SDN layout ent_num, SDN_Name, SDN_Type, Program, ... (one entry a line, no header needed)';
/** An import answer lists at most this many skipped rows (it counts them all). */
export const MAX_SKIPPED_ROWS_LISTED = 100;

/** A watch-list file the import refuses as a whole (not CSV, or not one entry in it): nothing was written. */
export class WatchlistImportError extends Refusal<typeof ComplianceRefusal.InvalidWatchlistFile> {
  constructor(message: string) {
    super(ComplianceRefusal.InvalidWatchlistFile, message, '#/csv');
  }
}

export type SkippedRow = { line: number; reason: string };
export type WatchlistImportResult = { imported: number; skipped: number; skipped_rows: SkippedRow[] };

/** The columns the import reads from a row, checked as they will be stored (and compared by the screener). */
const SdnColumns = z.object({
  ent_num: z.string().regex(/^[0-9]{1,18}$/),
  SDN_Name: SafeText(350).pipe(z.string().min(1, 'must not be empty')),
  SDN_Type: SafeText(100),
  Program: SafeText(200),
});

/** Why a row (fields trimmed) is not a watch-list entry, or undefined when it is one. */
function sdnRowProblem(r: string[]): string | undefined {
  if (r.length < 2) return `only ${r.length} column, where ent_num and SDN_Name at least are expected`;
  const parsed = SdnColumns.safeParse({ ent_num: r[0], SDN_Name: r[1], SDN_Type: r[2] ?? '', Program: r[3] ?? '' });
  if (parsed.success) return undefined;
  const issue = parsed.error.issues[0];
  const column = String(issue?.path[0]);
  return column === 'ent_num' ? `ent_num ${JSON.stringify((r[0] ?? '').slice(0, 40))} is not a number of at most 18 digits` : `${column}: ${issue?.message}`;
}

/** The people a movement involves, as the rules see them: both holders, and a payout's beneficiary. */
function screeningParties({ source, destination, beneficiary }: MovementParties): Party[] {
  const parties: Party[] = [];
  for (const [role, p] of [['source_holder', source], ['destination_holder', destination]] as const) {
    if (p?.holder_name && p.holder_country && p.holder_status) {
      parties.push({ role, name: p.holder_name, country: p.holder_country.trim(), accountStatus: p.status, holderStatus: p.holder_status });
    }
  }
  if (beneficiary) parties.push({ role: 'beneficiary', name: beneficiary.name, country: beneficiary.country.trim() });
  return parties;
}
