import type { Db } from '../db/knex';
import { Refusal } from '../refusal';
import type { TransferRow } from './model';
import { TransferRefusal, type TransferRefusalCode } from './refusals';

/** An account taking part in a movement, with its holder: what the rules and screening look at. */
export type PartyAccount = {
  id: string;
  kind: 'customer' | 'system';
  status: string;
  currency: string;
  customer_id: string | null;
  holder_status: string | null;
  holder_name: string | null;
  holder_country: string | null;
};
export type Beneficiary = { id: string; customer_id: string; name: string; country: string; currency: string; status: string };

export type MovementParties = { source?: PartyAccount; destination?: PartyAccount; beneficiary?: Beneficiary };

/** Why a movement is refused before any money moves. */
export type MovementRefusal = Refusal<TransferRefusalCode>;

/** Both accounts with their holders in one query, and the beneficiary of a payout. */
export async function loadParties(db: Db, t: TransferRow): Promise<MovementParties> {
  const [accounts, beneficiary] = await Promise.all([
    db('accounts')
      .leftJoin('customers', 'customers.id', 'accounts.customer_id')
      .whereIn('accounts.id', [t.source_account_id, t.destination_account_id])
      .select<PartyAccount[]>(
        'accounts.id',
        'accounts.kind',
        'accounts.status',
        'accounts.currency',
        'accounts.customer_id',
        'customers.status as holder_status',
        'customers.name as holder_name',
        'customers.country as holder_country',
      ),
    t.beneficiary_id ? db('beneficiaries').where({ id: t.beneficiary_id }).first<Beneficiary | undefined>() : undefined,
  ]);
  return {
    source: accounts.find((a) => a.id === t.source_account_id),
    destination: accounts.find((a) => a.id === t.destination_account_id),
    beneficiary,
  };
}

const refuse = (code: TransferRefusalCode, message: string): MovementRefusal => new Refusal(code, message);

/**
 * The general considerations before money moves: both parties exist and are active, their holders
 * too, and the amounts' currencies are the accounts'. A payer may learn its own account's state,
 * never the payee's ("cannot receive funds").
 */
export function checkMovement(t: TransferRow, parties: MovementParties): MovementRefusal | undefined {
  return t.kind === 'payout' ? checkPayout(t, parties) : checkTransfer(t, parties);
}

function checkTransfer(t: TransferRow, { source, destination }: MovementParties): MovementRefusal | undefined {
  if (t.source_account_id === t.destination_account_id) return refuse(TransferRefusal.SameAccount, 'Source and destination accounts must differ');
  for (const [role, party] of [['source', source], ['destination', destination]] as const) {
    if (!party || party.kind !== 'customer') return refuse(TransferRefusal.AccountNotFound, `The ${role} account does not exist`);
    if (party.status !== 'active') {
      return refuse(TransferRefusal.AccountNotActive, role === 'source' ? `The source account is ${party.status}` : 'The destination account cannot receive funds');
    }
    if (party.holder_status !== 'active') {
      return refuse(
        TransferRefusal.HolderNotActive,
        role === 'source' ? `The source account holder is ${party.holder_status}` : 'The destination account cannot receive funds',
      );
    }
  }
  if (source?.currency !== t.source_currency || destination?.currency !== t.target_currency) {
    return refuse(TransferRefusal.CurrencyMismatch, 'Amount currencies must match the accounts');
  }
  return undefined;
}

/** A pay_out: the source account and its holder active, the beneficiary active and the holder's own. */
function checkPayout(t: TransferRow, { source, beneficiary }: MovementParties): MovementRefusal | undefined {
  if (!source || source.kind !== 'customer') return refuse(TransferRefusal.AccountNotFound, 'The source account does not exist');
  if (source.status !== 'active') return refuse(TransferRefusal.AccountNotActive, `The source account is ${source.status}`);
  if (source.holder_status !== 'active') return refuse(TransferRefusal.HolderNotActive, `The source account holder is ${source.holder_status}`);
  if (!beneficiary || beneficiary.customer_id !== source.customer_id) return refuse(TransferRefusal.AccountNotFound, 'The beneficiary does not exist');
  if (beneficiary.status !== 'active') return refuse(TransferRefusal.BeneficiaryNotActive, `The beneficiary is ${beneficiary.status}`);
  if (source.currency !== t.source_currency || beneficiary.currency !== t.target_currency) {
    return refuse(TransferRefusal.CurrencyMismatch, 'Amount currencies must match the account and the beneficiary');
  }
  return undefined;
}
