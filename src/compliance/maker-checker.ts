import type { Db } from '../db/knex';

/** One key in a minting chain: the key itself, then the key that minted it, up to a root key. */
export type KeyLink = { id: string; prefix: string; created_by_key_id: string | null; issued_to: string | null };

/**
 * A key and every key above it in its minting chain. Whoever holds a key saw the secret of every
 * key it minted, so a key can be used by the holder of any key in its chain.
 */
export async function mintingChain(db: Db, keyId: string): Promise<KeyLink[]> {
  // Followed to its root however deep (a key can mint a key that mints a key ...); the path stops a
  // cycle, which the schema's insert order makes impossible anyway.
  const { rows } = await db.raw<{ rows: KeyLink[] }>(
    `WITH RECURSIVE chain AS (
       SELECT id, prefix, created_by_key_id, issued_to, ARRAY[id] AS path FROM api_keys WHERE id = ?
       UNION ALL
       SELECT k.id, k.prefix, k.created_by_key_id, k.issued_to, c.path || k.id
         FROM api_keys k JOIN chain c ON k.id = c.created_by_key_id
        WHERE NOT k.id = ANY(c.path)
     )
     SELECT id, prefix, created_by_key_id, issued_to FROM chain ORDER BY cardinality(path)`,
    [keyId],
  );
  return rows;
}

const reachesRoot = (chain: KeyLink[]) => chain.length > 0 && chain[chain.length - 1]?.created_by_key_id === null;
const person = (name: string | null) => name?.trim().toLowerCase() || undefined;

/**
 * Separation of duties (maker-checker) over the whole minting chain, not one level of it. A key may
 * not decide on a payment when:
 * - it is the key that made it, or was minted by it at any depth (it could have been the maker);
 * - the two chains meet below a root key: one admin key minted, at any depth, both the maker's key
 *   and the decider's, so its holder could have acted on both sides;
 * - a named person appears in both chains (the same officer holding two keys).
 * Root keys (minted by nobody: the operator's ADMIN_API_KEY) are where every chain starts, so
 * meeting there alone is not a conflict; making a payment with a root key is still caught by the first rule.
 * Returns why the decision is refused, or undefined when it is allowed.
 */
export function separationOfDutiesConflict(maker: KeyLink[], decider: KeyLink[]): string | undefined {
  const makerKey = maker[0];
  if (!makerKey) return undefined;
  // A chain that cannot be followed to a root key could hide anything above the break: refuse.
  if (!reachesRoot(maker) || !reachesRoot(decider)) return 'a minting chain cannot be followed to its root key';
  if (decider.some((k) => k.id === makerKey.id)) {
    return decider[0]?.id === makerKey.id ? 'it is the key that made it' : `it was minted, through its chain, by the key that made it (${makerKey.prefix}…)`;
  }
  const makerMinters = new Map(maker.filter((k) => k.created_by_key_id !== null).map((k) => [k.id, k]));
  const sharedMinter = decider.find((k) => k.created_by_key_id !== null && makerMinters.has(k.id));
  if (sharedMinter) return `one key (${sharedMinter.prefix}…) minted both the key that made it and this key`;
  const makerPeople = new Set(maker.map((k) => person(k.issued_to)).filter(Boolean));
  const shared = decider.map((k) => person(k.issued_to)).find((p) => p !== undefined && makerPeople.has(p));
  if (shared) return `the same person (${shared}) holds a key on both sides`;
  return undefined;
}

/** The conflict, if any, between the key that made a payment and the key deciding on it. */
export async function makerCheckerConflict(db: Db, makerKeyId: string | null, deciderKeyId: string): Promise<string | undefined> {
  if (makerKeyId === null) return undefined;
  const [maker, decider] = await Promise.all([mintingChain(db, makerKeyId), mintingChain(db, deciderKeyId)]);
  return separationOfDutiesConflict(maker, decider);
}
