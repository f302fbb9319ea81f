import { Money } from '../money/money';
import { bestMatch, type NameMatch } from './names';

/**
 * The screening rules, as data (compliance_rules), applied to what the screening activity
 * gathered. Pure: the outcome is decline if any rule declines, else hold if any holds, else approve.
 */
export type RuleKind = 'amount_threshold' | 'watchlist' | 'blocked_country' | 'velocity' | 'account_status';
export type Rule = { id: string; kind: RuleKind; name: string; params: Record<string, unknown>; enabled: boolean; version: number };

export type Party = {
  role: 'source_holder' | 'destination_holder' | 'beneficiary';
  name: string;
  country: string;
  accountStatus?: string;
  holderStatus?: string;
};

export type ScreeningContext = {
  /** The source currency: a rule with `params.source_currencies` applies only to those. */
  sourceCurrency: string;
  parties: Party[];
  /** The amount in each reference currency a threshold or velocity rule names (missing: no rate). */
  amountIn: (currency: string) => string | undefined;
  /** Count and total (in the rule's currency) of the source account's movements in the window, this one excluded. */
  velocity: (windowSeconds: number, currency: string) => { count: number; total: string | undefined };
  watchlist: Array<{ id: string; name: string; normalized_name: string; list: string }>;
  /** A currency's minor units, to show amounts in hits' details as people write them (`12000.00 USD`). */
  minorUnits?: (currency: string) => number | undefined;
};

export type Outcome = 'approve' | 'hold' | 'decline';
export type RuleHit = { rule_id: string; rule_version: number; kind: RuleKind; name: string; action: 'hold' | 'decline'; detail: string; match?: NameMatch };
export type Screening = { outcome: Outcome; hits: RuleHit[]; rule_versions: Record<string, number> };

const str = (v: unknown, fallback: string) => (typeof v === 'string' ? v : fallback);
const num = (v: unknown, fallback: number) => (typeof v === 'number' && Number.isFinite(v) ? v : fallback);

export function screen(rules: Rule[], ctx: ScreeningContext): Screening {
  const hits: RuleHit[] = [];
  // Rounded up: a figure shown in an "above the limit" detail is never at or below the limit.
  const shown = (value: string, currency: string) => {
    const units = ctx.minorUnits?.(currency);
    return `${units === undefined ? value : new Money(value).toDecimalPlaces(units, Money.ROUND_UP).toFixed(units)} ${currency}`;
  };
  const scoped = (r: Rule) => !Array.isArray(r.params.source_currencies) || r.params.source_currencies.map(String).includes(ctx.sourceCurrency);
  const active = rules.filter((r) => r.enabled && scoped(r));
  for (const rule of active) {
    const hit = (action: 'hold' | 'decline', detail: string, match?: NameMatch) =>
      hits.push({ rule_id: rule.id, rule_version: rule.version, kind: rule.kind, name: rule.name, action, detail, ...(match ? { match } : {}) });
    const p = rule.params;
    switch (rule.kind) {
      case 'amount_threshold': {
        const currency = str(p.currency, 'USD');
        const threshold = str(p.amount, '10000');
        // Without a rate to express the amount in the reference currency the rule cannot judge it;
        // `hold_when_unpriced: true` makes such transfers wait for review instead.
        const amount = ctx.amountIn(currency);
        if (amount === undefined) {
          if (p.hold_when_unpriced === true) hit('hold', `No rate to express the amount in ${currency}: held for review.`);
        } else if (new Money(amount).gte(threshold)) hit('hold', `${shown(amount, currency)} is at or above the ${threshold} ${currency} threshold.`);
        break;
      }
      case 'watchlist': {
        const strong = Number(str(p.strong, '0.92'));
        const weak = Number(str(p.weak, '0.80'));
        for (const party of ctx.parties) {
          const match = bestMatch(party.name, ctx.watchlist, weak);
          if (!match) continue;
          const score = match.score.toFixed(3);
          if (match.score >= strong) hit('decline', `${party.role} "${party.name}" matches ${match.list} entry "${match.listName}" (score ${score}).`, match);
          else hit('hold', `${party.role} "${party.name}" resembles ${match.list} entry "${match.listName}" (score ${score}).`, match);
        }
        break;
      }
      case 'blocked_country': {
        const blocked = new Set(Array.isArray(p.countries) ? p.countries.map(String) : []);
        for (const party of ctx.parties) {
          if (blocked.has(party.country)) hit('decline', `${party.role} is in a blocked country (${party.country}).`);
        }
        break;
      }
      case 'velocity': {
        const currency = str(p.currency, 'USD');
        const windowSeconds = num(p.window_seconds, 3600);
        const { count, total } = ctx.velocity(windowSeconds, currency);
        const amount = ctx.amountIn(currency);
        const maxCount = num(p.max_count, Number.POSITIVE_INFINITY);
        if (count + 1 > maxCount) hit('hold', `${count + 1} movements from the source account in ${windowSeconds} s (limit ${maxCount}).`);
        const maxAmount = typeof p.max_amount === 'string' ? p.max_amount : undefined;
        if (maxAmount !== undefined && total !== undefined && amount !== undefined && new Money(total).plus(amount).gt(maxAmount)) {
          hit('hold', `${shown(new Money(total).plus(amount).toString(), currency)} from the source account in ${windowSeconds} s (limit ${maxAmount}).`);
        }
        break;
      }
      case 'account_status': {
        for (const party of ctx.parties) {
          if (party.accountStatus && party.accountStatus !== 'active') hit('decline', `${party.role}'s account is ${party.accountStatus}.`);
          if (party.holderStatus && party.holderStatus !== 'active') hit('decline', `${party.role} is ${party.holderStatus}.`);
        }
        break;
      }
    }
  }
  const outcome: Outcome = hits.some((h) => h.action === 'decline') ? 'decline' : hits.length ? 'hold' : 'approve';
  return { outcome, hits, rule_versions: Object.fromEntries(active.map((r) => [r.id, r.version])) };
}
