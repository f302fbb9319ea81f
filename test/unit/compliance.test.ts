/**
 * The pure compliance code: name normalisation and fuzzy matching (src/compliance/names.ts) and
 * the rules-as-data screening engine (src/compliance/engine.ts). No database, no clock.
 */
import fc from 'fast-check';
import { screen, type Party, type Rule, type RuleKind, type ScreeningContext } from '../../src/compliance/engine';
import { bestMatch, nameSimilarity, normalizeName } from '../../src/compliance/names';

describe('normalizeName', () => {
  it.each([
    ['case', 'JOHN SMITH', 'john smith'],
    ['accents (ñ, é)', 'Muñoz', 'munoz'],
    ['accents (Ç)', 'Çelik', 'celik'],
    ['accents in every word', 'Zoë Brontë-Ångström', 'angstrom bronte zoe'],
    ['punctuation', "O'Brien-Smith", 'brien o smith'],
    ['extra and odd spacing', '  john \t  smith\n ', 'john smith'],
    ['word order', 'Smith John', 'john smith'],
    ['"SURNAME, Given" order, accents and comma', 'Pérez, José Luis', 'jose luis perez'],
  ])('normalises %s', (_what, input, expected) => {
    expect(normalizeName(input)).toBe(expected);
  });

  it.each([
    ['Pérez, José Luis', 'jose luis perez'],
    ['PEREZ JOSE LUIS', 'Luis  José   Pérez'],
    ["O'Brien-Smith", 'smith o brien'],
    ["O'Brien-Smith", "o'brien smith"],
    ['Muñoz-Pérez, José', 'JOSE MUNOZ PEREZ'],
    ['Çelik, Ayşe', 'ayse CELIK'],
    ['Ｊｏｈｎ　Ｓｍｉｔｈ', 'john smith'], // full-width forms (NFKD compatibility)
  ])('"%s" and "%s" normalise alike', (a, b) => {
    expect(normalizeName(a)).toBe(normalizeName(b));
  });

  it.each([
    ['Jose Luis Perez', 'Jose Luis Lopez'],
    ['Munoz', 'Nunez'],
    ['John Smith', 'John Smyth'],
    ['Ann Lee', 'Ann Lee Park'],
    ['Agent 007', 'Agent 008'],
  ])('"%s" and "%s" stay different', (a, b) => {
    expect(normalizeName(a)).not.toBe(normalizeName(b));
  });

  it('keeps digits and non-Latin letters, drops names made only of punctuation', () => {
    expect(normalizeName('Vessel 2024')).toBe('2024 vessel');
    expect(normalizeName('Иван Петров')).toBe('иван петров');
    expect(normalizeName(" -.,'  ")).toBe('');
    expect(normalizeName('')).toBe('');
  });

  it('is idempotent (property)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 40 }), (s) => {
        const once = normalizeName(s);
        expect(normalizeName(once)).toBe(once);
      }),
    );
  });
});

describe('nameSimilarity', () => {
  it('is 1 for identical names (and for two empty names)', () => {
    expect(nameSimilarity('jose luis perez', 'jose luis perez')).toBe(1);
    expect(nameSimilarity('', '')).toBe(1);
  });

  it('is 0 for completely different names of the same length and against an empty name', () => {
    expect(nameSimilarity('abc', 'xyz')).toBe(0);
    expect(nameSimilarity('abc', '')).toBe(0);
    expect(nameSimilarity('', 'abc')).toBe(0);
  });

  it('is about 0.9 for a one-letter typo in a 10-letter name', () => {
    expect('qzorvathan').toHaveLength(10);
    expect(nameSimilarity('qzorvathan', 'qzorvathen')).toBeCloseTo(0.9, 10); // substitution
    expect(nameSimilarity('qzorvathan', 'qzorvthan')).toBeCloseTo(0.9, 10); // deletion
    expect(nameSimilarity('qzorvathan', 'qzorvathaan')).toBeCloseTo(10 / 11, 10); // insertion (longer: 11)
  });

  it('is symmetric on examples', () => {
    expect(nameSimilarity('jose perez', 'josefina perez')).toBe(nameSimilarity('josefina perez', 'jose perez'));
    expect(nameSimilarity('jose perez', 'josefina perez')).toBeCloseTo(1 - 4 / 14, 10);
  });

  it('is symmetric and within [0, 1] for random strings (property)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 30 }), fc.string({ unit: 'binary', maxLength: 30 }), (a, b) => {
        const ab = nameSimilarity(a, b);
        expect(ab).toBe(nameSimilarity(b, a));
        expect(ab).toBeGreaterThanOrEqual(0);
        expect(ab).toBeLessThanOrEqual(1);
        expect(Number.isNaN(ab)).toBe(false);
      }),
      { numRuns: 500 },
    );
  });

  it('is 1 exactly when the names are equal (property)', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 20 }), fc.string({ maxLength: 20 }), (a, b) => {
        expect(nameSimilarity(a, a)).toBe(1);
        expect(nameSimilarity(a, b) === 1).toBe(a === b);
      }),
    );
  });
});

/** A watch-list entry as the screener reads it, its normalized_name computed the way the importer does. */
const entry = (id: string, name: string, list = 'SDN') => ({ id, name, normalized_name: normalizeName(name), list });

describe('bestMatch', () => {
  const entries = [
    entry('e-exact', 'QZORVATHAN, Belmiro'), // "belmiro qzorvathan"
    entry('e-typo', 'QZORVATHEN, Belmiro'), // one letter off
    entry('e-far', 'DRAVENKOLT, Ishmael'),
  ];

  it('picks the highest-scoring entry and reports its name, list and score', () => {
    expect(bestMatch('Belmiro Qzorvathan', entries, 0.8)).toEqual({ entryId: 'e-exact', listName: 'QZORVATHAN, Belmiro', list: 'SDN', score: 1 });
  });

  it('picks the highest-scoring entry regardless of its position in the list', () => {
    expect(bestMatch('Belmiro Qzorvathan', [...entries].reverse(), 0.8)?.entryId).toBe('e-exact');
    expect(bestMatch('Belmiro Qzorvathen', entries, 0.8)?.entryId).toBe('e-typo');
  });

  it('normalises the queried name before comparing', () => {
    expect(bestMatch("  qzorvathán,  BELMIRO!! ", entries, 0.99)).toMatchObject({ entryId: 'e-exact', score: 1 });
  });

  it('matches at exactly the threshold and not just below it', () => {
    // "belmiro qzorvathin" vs "belmiro qzorvathan": 1 edit in 18 characters
    const score = 1 - 1 / 18;
    const only = [entries[0]!];
    expect(bestMatch('Belmiro Qzorvathin', only, score)).toMatchObject({ entryId: 'e-exact' });
    expect(bestMatch('Belmiro Qzorvathin', only, score)?.score).toBeCloseTo(score, 12);
    expect(bestMatch('Belmiro Qzorvathin', only, score + 1e-9)).toBeUndefined();
  });

  it('returns nothing when every entry scores below the threshold', () => {
    expect(bestMatch('Alice Nakamura', entries, 0.8)).toBeUndefined();
    expect(bestMatch('Belmiro Qzorvathan', entries.slice(2), 0.8)).toBeUndefined();
  });

  it('returns nothing on an empty watch list', () => {
    expect(bestMatch('Belmiro Qzorvathan', [], 0)).toBeUndefined();
  });

  it('keeps the first of equally scored entries', () => {
    const twins = [entry('first', 'Belmiro Qzorvathan', 'SDN'), entry('second', 'QZORVATHAN Belmiro', 'UN')];
    expect(bestMatch('belmiro qzorvathan', twins, 0.9)).toMatchObject({ entryId: 'first', list: 'SDN' });
  });
});

describe('screen', () => {
  let seq = 0;
  const rule = (kind: RuleKind, params: Record<string, unknown> = {}, extra: Partial<Rule> = {}): Rule => ({
    id: `rule-${++seq}-${kind}`,
    kind,
    name: `${kind} rule`,
    params,
    enabled: true,
    version: 1,
    ...extra,
  });

  const source: Party = { role: 'source_holder', name: 'Alice Nakamura', country: 'US', accountStatus: 'active', holderStatus: 'active' };
  const destination: Party = { role: 'destination_holder', name: 'Bruno Carvalho', country: 'PT', accountStatus: 'active', holderStatus: 'active' };

  const amountOf = (amounts: Record<string, string>) => (c: string) => amounts[c];

  /** A clean context: USD source, 100 USD (= 92 EUR), no velocity, an unrelated watch list. */
  const ctx = (overrides: Partial<ScreeningContext> = {}): ScreeningContext => ({
    sourceCurrency: 'USD',
    parties: [source, destination],
    amountIn: amountOf({ USD: '100.00', EUR: '92.00' }),
    velocity: () => ({ count: 0, total: '0' }),
    watchlist: [entry('w-1', 'QZORVATHAN, Belmiro'), entry('w-2', 'DRAVENKOLT TRADING CO., LTD.')],
    ...overrides,
  });

  describe('in general', () => {
    it('approves with no rules, with no hits and no rule versions', () => {
      expect(screen([], ctx())).toEqual({ outcome: 'approve', hits: [], rule_versions: {} });
    });

    it('approves a clean transfer against every kind of rule', () => {
      const rules = [
        rule('amount_threshold', { currency: 'USD', amount: '10000' }),
        rule('watchlist', { strong: '0.92', weak: '0.80' }),
        rule('blocked_country', { countries: ['CU', 'IR', 'KP', 'SY'] }),
        rule('velocity', { window_seconds: 3600, max_count: 1000, max_amount: '250000', currency: 'USD' }),
        rule('account_status'),
      ];
      const result = screen(rules, ctx());
      expect(result.outcome).toBe('approve');
      expect(result.hits).toEqual([]);
      expect(Object.keys(result.rule_versions)).toHaveLength(5);
    });

    it('ignores disabled rules, and leaves them out of rule_versions', () => {
      const disabled = rule('blocked_country', { countries: ['US'] }, { enabled: false });
      const result = screen([disabled], ctx());
      expect(result).toEqual({ outcome: 'approve', hits: [], rule_versions: {} });
    });

    it('lists the applicable rules with their versions in rule_versions, hit or not', () => {
      const a = rule('amount_threshold', { amount: '50' }, { version: 3 }); // hits
      const b = rule('account_status', {}, { version: 7 }); // no hit
      const off = rule('blocked_country', { countries: ['US'] }, { enabled: false, version: 2 });
      const eurOnly = rule('velocity', { max_count: 0, source_currencies: ['EUR'] }, { version: 5 });
      const result = screen([a, b, off, eurOnly], ctx());
      expect(result.rule_versions).toEqual({ [a.id]: 3, [b.id]: 7 });
      expect(result.hits).toEqual([expect.objectContaining({ rule_id: a.id, rule_version: 3, kind: 'amount_threshold', name: a.name, action: 'hold' })]);
    });

    it('declines when any rule declines, even if others hold', () => {
      const hold = rule('amount_threshold', { amount: '50' });
      const decline = rule('blocked_country', { countries: ['PT'] });
      for (const rules of [
        [hold, decline],
        [decline, hold],
      ]) {
        const result = screen(rules, ctx());
        expect(result.outcome).toBe('decline');
        expect(result.hits.map((h) => h.action).sort()).toEqual(['decline', 'hold']);
      }
    });

    it('holds when rules only hold', () => {
      const result = screen([rule('amount_threshold', { amount: '50' }), rule('velocity', { max_count: 0 })], ctx());
      expect(result.outcome).toBe('hold');
      expect(result.hits).toHaveLength(2);
    });

    describe('params.source_currencies', () => {
      const scoped = rule('amount_threshold', { currency: 'USD', amount: '50', source_currencies: ['EUR', 'GBP'] });

      it('applies a rule to transfers from the listed source currencies', () => {
        const result = screen([scoped], ctx({ sourceCurrency: 'EUR' }));
        expect(result.outcome).toBe('hold');
        expect(result.rule_versions).toEqual({ [scoped.id]: 1 });
      });

      it('skips the rule for other source currencies, and leaves it out of rule_versions', () => {
        expect(screen([scoped], ctx({ sourceCurrency: 'USD' }))).toEqual({ outcome: 'approve', hits: [], rule_versions: {} });
      });

      it('applies to no currency when the list is empty, and to every currency when the param is absent or not a list', () => {
        expect(screen([rule('amount_threshold', { amount: '50', source_currencies: [] })], ctx()).outcome).toBe('approve');
        expect(screen([rule('amount_threshold', { amount: '50' })], ctx()).outcome).toBe('hold');
        expect(screen([rule('amount_threshold', { amount: '50', source_currencies: 'EUR' })], ctx()).outcome).toBe('hold');
      });
    });
  });

  describe('amount_threshold', () => {
    const threshold = rule('amount_threshold', { currency: 'USD', amount: '10000' });

    it.each([
      ['9999.99', 'approve'],
      ['10000', 'hold'],
      ['10000.00', 'hold'],
      ['10000.00000001', 'hold'],
      ['25000.50', 'hold'],
    ])('%s USD against a 10000 USD threshold → %s', (amount, outcome) => {
      const result = screen([threshold], ctx({ amountIn: amountOf({ USD: amount }) }));
      expect(result.outcome).toBe(outcome);
      if (outcome === 'hold') {
        expect(result.hits).toEqual([
          {
            rule_id: threshold.id,
            rule_version: 1,
            kind: 'amount_threshold',
            name: threshold.name,
            action: 'hold',
            detail: `${amount} USD is at or above the 10000 USD threshold.`,
          },
        ]);
      }
    });

    it('compares decimals exactly, not as floating point', () => {
      const r = rule('amount_threshold', { currency: 'USD', amount: '0.3' });
      expect(screen([r], ctx({ amountIn: amountOf({ USD: '0.29999999999999999999' }) })).outcome).toBe('approve');
      expect(screen([r], ctx({ amountIn: amountOf({ USD: '0.30000000000000000000' }) })).outcome).toBe('hold');
      const big = rule('amount_threshold', { currency: 'USD', amount: '9007199254740993' }); // 2^53 + 1
      expect(screen([big], ctx({ amountIn: amountOf({ USD: '9007199254740992' }) })).outcome).toBe('approve');
    });

    it("expresses the amount in the rule's currency", () => {
      const asked: string[] = [];
      const eur = rule('amount_threshold', { currency: 'EUR', amount: '5000' });
      const amountIn = (c: string) => {
        asked.push(c);
        return amountOf({ USD: '5400.00', EUR: '4999.99' })(c);
      };
      expect(screen([eur], ctx({ amountIn })).outcome).toBe('approve');
      expect(asked).toEqual(['EUR']);
    });

    it('defaults to 10000 USD', () => {
      const r = rule('amount_threshold');
      expect(screen([r], ctx({ amountIn: amountOf({ USD: '9999.99' }) })).outcome).toBe('approve');
      expect(screen([r], ctx({ amountIn: amountOf({ USD: '10000.00' }) })).outcome).toBe('hold');
    });

    describe('without a rate to the reference currency', () => {
      const unpriced = ctx({ amountIn: () => undefined });

      it('does not hit by default', () => {
        expect(screen([threshold], unpriced)).toEqual({ outcome: 'approve', hits: [], rule_versions: { [threshold.id]: 1 } });
      });

      it.each([['true' as unknown], [1], ['yes'], [false]])('does not hit when hold_when_unpriced is %p (only the boolean true holds)', (flag) => {
        const r = rule('amount_threshold', { currency: 'USD', amount: '10000', hold_when_unpriced: flag });
        expect(screen([r], unpriced).outcome).toBe('approve');
      });

      it('holds when hold_when_unpriced === true', () => {
        const r = rule('amount_threshold', { currency: 'EUR', amount: '10000', hold_when_unpriced: true });
        const result = screen([r], unpriced);
        expect(result.outcome).toBe('hold');
        expect(result.hits).toEqual([expect.objectContaining({ rule_id: r.id, action: 'hold', detail: 'No rate to express the amount in EUR: held for review.' })]);
      });
    });
  });

  describe('watchlist', () => {
    const wl = rule('watchlist', { strong: '0.92', weak: '0.80' });
    // "belmiro qzorvathan" (18 chars); a one-letter typo scores 1 − 1/18 ≈ 0.944 (strong),
    // three letters 1 − 3/18 ≈ 0.833 (weak), five 1 − 5/18 ≈ 0.722 (no match)
    const exact = 'Belmiro Qzorvathan';
    const oneOff = 'Belmiro Qzorvathen';
    const threeOff = 'Belmira Qzorvethen';
    const fiveOff = 'Delmira Qzarvethen';

    it.each([
      ['source_holder', 0],
      ['destination_holder', 1],
    ] as const)('declines on a strong match of the %s', (role, index) => {
      for (const name of [exact, oneOff, 'QZORVATHAN, Belmiro']) {
        const parties = [source, destination].map((p, i) => (i === index ? { ...p, name } : p));
        const result = screen([wl], ctx({ parties }));
        expect(result.outcome).toBe('decline');
        expect(result.hits).toHaveLength(1);
        expect(result.hits[0]).toMatchObject({ rule_id: wl.id, kind: 'watchlist', action: 'decline', match: { entryId: 'w-1', list: 'SDN', listName: 'QZORVATHAN, Belmiro' } });
        expect(result.hits[0]!.detail).toContain(`${role} "${name}" matches SDN entry "QZORVATHAN, Belmiro"`);
        expect(result.hits[0]!.match!.score).toBeGreaterThanOrEqual(0.92);
      }
    });

    it.each([
      ['source_holder', 0],
      ['destination_holder', 1],
    ] as const)('holds on a weak match of the %s', (role, index) => {
      const parties = [source, destination].map((p, i) => (i === index ? { ...p, name: threeOff } : p));
      const result = screen([wl], ctx({ parties }));
      expect(result.outcome).toBe('hold');
      expect(result.hits).toEqual([
        {
          rule_id: wl.id,
          rule_version: 1,
          kind: 'watchlist',
          name: wl.name,
          action: 'hold',
          detail: `${role} "${threeOff}" resembles SDN entry "QZORVATHAN, Belmiro" (score 0.833).`,
          match: { entryId: 'w-1', listName: 'QZORVATHAN, Belmiro', list: 'SDN', score: 1 - 3 / 18 },
        },
      ]);
    });

    it('does not hit below the weak threshold', () => {
      const result = screen([wl], ctx({ parties: [{ ...source, name: fiveOff }, destination] }));
      expect(result).toEqual({ outcome: 'approve', hits: [], rule_versions: { [wl.id]: 1 } });
    });

    it('screens every party (beneficiary too), one hit per matching party', () => {
      const beneficiary: Party = { role: 'beneficiary', name: 'Dravenkolt Trading Co Ltd', country: 'PT' };
      const result = screen([wl], ctx({ parties: [{ ...source, name: threeOff }, destination, beneficiary] }));
      expect(result.outcome).toBe('decline');
      expect(result.hits.map((h) => [h.action, h.match?.entryId])).toEqual([
        ['hold', 'w-1'],
        ['decline', 'w-2'],
      ]);
      expect(result.hits[1]!.detail).toContain('beneficiary "Dravenkolt Trading Co Ltd" matches');
    });

    it('uses the thresholds of the rule (decimal strings), defaulting to 0.92 / 0.80', () => {
      const parties = [{ ...source, name: oneOff }, destination]; // ≈ 0.944
      expect(screen([rule('watchlist', { strong: '0.95', weak: '0.80' })], ctx({ parties })).outcome).toBe('hold');
      expect(screen([rule('watchlist', { strong: '0.99', weak: '0.95' })], ctx({ parties })).outcome).toBe('approve');
      expect(screen([rule('watchlist')], ctx({ parties })).outcome).toBe('decline');
      const weakOnly = [{ ...source, name: threeOff }, destination]; // ≈ 0.833
      expect(screen([rule('watchlist')], ctx({ parties: weakOnly })).outcome).toBe('hold');
      expect(screen([rule('watchlist', { weak: '0.85' })], ctx({ parties: weakOnly })).outcome).toBe('approve');
    });

    it('approves everyone against an empty watch list', () => {
      expect(screen([wl], ctx({ watchlist: [], parties: [{ ...source, name: exact }, destination] })).outcome).toBe('approve');
    });
  });

  describe('blocked_country', () => {
    const blocked = rule('blocked_country', { countries: ['CU', 'IR', 'KP', 'SY'] });

    it.each([
      ['source_holder', 0],
      ['destination_holder', 1],
    ] as const)('declines when the %s is in a blocked country', (role, index) => {
      const parties = [source, destination].map((p, i) => (i === index ? { ...p, country: 'IR' } : p));
      expect(screen([blocked], ctx({ parties }))).toEqual({
        outcome: 'decline',
        hits: [{ rule_id: blocked.id, rule_version: 1, kind: 'blocked_country', name: blocked.name, action: 'decline', detail: `${role} is in a blocked country (IR).` }],
        rule_versions: { [blocked.id]: 1 },
      });
    });

    it('records one hit per blocked party', () => {
      const result = screen([blocked], ctx({ parties: [{ ...source, country: 'CU' }, { ...destination, country: 'KP' }] }));
      expect(result.outcome).toBe('decline');
      expect(result.hits.map((h) => h.detail)).toEqual(['source_holder is in a blocked country (CU).', 'destination_holder is in a blocked country (KP).']);
    });

    it('approves other countries, and blocks nothing without a country list', () => {
      expect(screen([blocked], ctx()).outcome).toBe('approve');
      expect(screen([rule('blocked_country')], ctx({ parties: [{ ...source, country: 'IR' }] })).outcome).toBe('approve');
      expect(screen([rule('blocked_country', { countries: 'IR' })], ctx({ parties: [{ ...source, country: 'IR' }] })).outcome).toBe('approve');
    });
  });

  describe('velocity', () => {
    const velocityCtx = (count: number, total: string | undefined, amount: string | undefined, calls: Array<[number, string]> = []) =>
      ctx({
        amountIn: (c) => (c === 'USD' ? amount : undefined),
        velocity: (w, c) => {
          calls.push([w, c]);
          return { count, total };
        },
      });

    describe('by count: holds when count + 1 > max_count', () => {
      const byCount = rule('velocity', { window_seconds: 600, max_count: 5, currency: 'USD' });

      it.each([
        [3, 'approve'],
        [4, 'approve'], // this one is the 5th: at the limit
        [5, 'hold'], // the 6th
        [50, 'hold'],
      ])('%i earlier movements → %s', (count, outcome) => {
        const result = screen([byCount], velocityCtx(count, '0', '100.00'));
        expect(result.outcome).toBe(outcome);
        if (outcome === 'hold') {
          expect(result.hits).toEqual([expect.objectContaining({ rule_id: byCount.id, kind: 'velocity', action: 'hold', detail: `${count + 1} movements from the source account in 600 s (limit 5).` })]);
        }
      });

      it("asks for the rule's window and currency", () => {
        const calls: Array<[number, string]> = [];
        screen([rule('velocity', { window_seconds: 86400, currency: 'EUR', max_count: 5 })], velocityCtx(0, '0', '1', calls));
        expect(calls).toEqual([[86400, 'EUR']]);
      });

      it('defaults to a one-hour window in USD and no count limit', () => {
        const calls: Array<[number, string]> = [];
        expect(screen([rule('velocity')], velocityCtx(1_000_000, '0', '1', calls)).outcome).toBe('approve');
        expect(calls).toEqual([[3600, 'USD']]);
      });
    });

    describe('by amount: holds when total + amount > max_amount', () => {
      const byAmount = rule('velocity', { window_seconds: 3600, max_amount: '250000', currency: 'USD' });

      it.each([
        ['200000.00', '49999.99', 'approve'],
        ['200000.00', '50000.00', 'approve'], // exactly at the limit
        ['200000.00', '50000.01', 'hold'],
        ['0', '250000.01', 'hold'],
      ])('%s earlier + %s now → %s', (total, amount, outcome) => {
        const result = screen([byAmount], velocityCtx(1, total, amount));
        expect(result.outcome).toBe(outcome);
        if (outcome === 'hold') {
          expect(result.hits).toEqual([expect.objectContaining({ rule_id: byAmount.id, action: 'hold', detail: expect.stringContaining('USD from the source account in 3600 s (limit 250000).') })]);
        }
      });

      it('reports the exact decimal sum', () => {
        const result = screen([byAmount], velocityCtx(1, '249999.99', '0.02'));
        expect(result.hits[0]!.detail).toBe('250000.01 USD from the source account in 3600 s (limit 250000).');
      });

      it('cannot judge the amount without a rate for the total or for this amount', () => {
        expect(screen([byAmount], velocityCtx(1, undefined, '300000.00')).outcome).toBe('approve');
        expect(screen([byAmount], velocityCtx(1, '300000.00', undefined)).outcome).toBe('approve');
      });

      it('holds once per limit broken: count and amount both', () => {
        const both = rule('velocity', { max_count: 1, max_amount: '100' });
        const result = screen([both], velocityCtx(1, '100', '1'));
        expect(result.outcome).toBe('hold');
        expect(result.hits).toHaveLength(2);
      });
    });
  });

  describe('account_status', () => {
    const status = rule('account_status');

    it.each([
      ['source_holder', 0],
      ['destination_holder', 1],
    ] as const)('declines a frozen account of the %s', (role, index) => {
      const parties = [source, destination].map((p, i) => (i === index ? { ...p, accountStatus: 'frozen' } : p));
      const result = screen([status], ctx({ parties }));
      expect(result.outcome).toBe('decline');
      expect(result.hits).toEqual([expect.objectContaining({ rule_id: status.id, kind: 'account_status', action: 'decline', detail: `${role}'s account is frozen.` })]);
    });

    it.each([
      ['source_holder', 0],
      ['destination_holder', 1],
    ] as const)('declines a suspended %s', (role, index) => {
      const parties = [source, destination].map((p, i) => (i === index ? { ...p, holderStatus: 'suspended' } : p));
      const result = screen([status], ctx({ parties }));
      expect(result.outcome).toBe('decline');
      expect(result.hits).toEqual([expect.objectContaining({ action: 'decline', detail: `${role} is suspended.` })]);
    });

    it('records the account and the holder separately', () => {
      const result = screen([status], ctx({ parties: [{ ...source, accountStatus: 'closed', holderStatus: 'suspended' }, destination] }));
      expect(result.hits.map((h) => h.detail)).toEqual(["source_holder's account is closed.", 'source_holder is suspended.']);
    });

    it('approves active accounts and holders, and parties without a known status', () => {
      expect(screen([status], ctx()).outcome).toBe('approve');
      expect(screen([status], ctx({ parties: [{ role: 'beneficiary', name: 'Someone', country: 'US' }] })).outcome).toBe('approve');
    });
  });
});
