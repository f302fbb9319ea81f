import { distance } from 'fastest-levenshtein';

/**
 * Names as a screener compares them: case, accents, punctuation and word order do not matter.
 * "Muñoz-Pérez, José" and "JOSE MUNOZ PEREZ" normalise alike.
 */
// Letters that carry no separable accent, spelled as screeners spell them.
const TRANSLITERATE: Record<string, string> = { ł: 'l', ø: 'o', ß: 'ss', đ: 'd', ð: 'd', æ: 'ae', œ: 'oe', þ: 'th', ı: 'i', ħ: 'h' };

export function normalizeName(name: string): string {
  return name
    .normalize('NFKD')
    .replace(/\p{M}/gu, '') // accents
    .toLowerCase()
    .replace(/[łøßđðæœþıħ]/g, (c) => TRANSLITERATE[c] ?? c)
    .toLowerCase()
    .replace(/[^\p{L}\p{N}]+/gu, ' ') // punctuation and spacing
    .trim()
    .split(' ')
    .filter(Boolean)
    .sort()
    .join(' ');
}

/** Similarity in [0, 1] of two normalised names: 1 − edit distance / longer length. */
export function nameSimilarity(a: string, b: string): number {
  if (a.length === 0 && b.length === 0) return 1;
  return 1 - distance(a, b) / Math.max(a.length, b.length);
}

export type NameMatch = { entryId: string; listName: string; list: string; score: number };

/** The best watch-list match of a name, if any entry scores at least `threshold`. */
export function bestMatch(name: string, entries: Array<{ id: string; name: string; normalized_name: string; list: string }>, threshold: number): NameMatch | undefined {
  const normalized = normalizeName(name);
  let best: NameMatch | undefined;
  for (const e of entries) {
    const score = nameSimilarity(normalized, e.normalized_name);
    if (score >= threshold && (!best || score > best.score)) best = { entryId: e.id, listName: e.name, list: e.list, score };
  }
  return best;
}
