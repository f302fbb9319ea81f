/**
 * The OFAC SDN CSV import (importSdnCsv) against the real Postgres of the test run.
 * Other test files share the database and screen transfers against every watch-list entry: this
 * file writes only to lists of its own (SDN_TEST_<random>), with made-up "QZORVATH" names no other
 * test's customer can resemble, and deletes its rows at the end.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { bestMatch, normalizeName } from '../../src/compliance/names';
import { createComplianceService, WatchlistImportError, type ComplianceService } from '../../src/compliance/service';
import type { Db } from '../../src/db/knex';
import { createTableRateProvider } from '../../src/fx/rates';
import { openTestDb } from '../support/harness';

type WatchlistRow = {
  id: string;
  list: string;
  name: string;
  normalized_name: string;
  entity_type: string | null;
  program: string | null;
  external_id: string | null;
  created_at: Date;
};

const FIXTURE = fs.readFileSync(path.join(__dirname, '..', 'fixtures', 'sdn-sample.csv'), 'utf8');
const FIXTURE_ROWS = 8;
const LAYOUT = 'the OFAC SDN layout ent_num, SDN_Name, SDN_Type, Program, ... (one entry a line, no header needed)';

let db: Db;
let compliance: ComplianceService;
const lists: string[] = [];

/** A watch list of this test file's own. */
function newList(): string {
  const list = `SDN_TEST_${randomBytes(4).toString('hex').toUpperCase()}`;
  lists.push(list);
  return list;
}

async function rowsOf(list: string): Promise<Map<string, WatchlistRow>> {
  const rows = (await db('watchlist_entries').where({ list }).orderBy('external_id')) as WatchlistRow[];
  return new Map(rows.map((r) => [r.external_id as string, r]));
}

async function countOf(list: string): Promise<number> {
  const [{ count }] = (await db('watchlist_entries').where({ list }).count<{ count: string }[]>('* as count')) as [{ count: string }];
  return Number(count);
}

beforeAll(() => {
  db = openTestDb(5);
  compliance = createComplianceService({ db, rates: createTableRateProvider(db) });
});

afterAll(async () => {
  if (lists.length) await db('watchlist_entries').whereIn('list', lists).delete();
  await db.destroy();
});

describe('importSdnCsv', () => {
  it('imports every row of an OFAC SDN file into the given list', async () => {
    const list = newList();
    expect(await compliance.importSdnCsv(FIXTURE, list)).toEqual({ imported: FIXTURE_ROWS, skipped: 0, skipped_rows: [] });

    const rows = await rowsOf(list);
    expect([...rows.keys()]).toEqual(['9100001', '9100002', '9100003', '9100004', '9100005', '9100006', '9100007', '9100008']);
    for (const r of rows.values()) {
      expect(r.list).toBe(list);
      expect(r.id).toMatch(/^[0-9a-f-]{36}$/);
      expect(r.normalized_name).toBe(normalizeName(r.name));
      expect(r.normalized_name).toMatch(/\bqzorvath\b/);
    }
  });

  it('reads names (quoted, with commas, accents and apostrophes), types and programs, "-0-" as null', async () => {
    const list = newList();
    await compliance.importSdnCsv(FIXTURE, list);
    const rows = await rowsOf(list);
    const fields = (id: string) => {
      const r = rows.get(id);
      return r && { name: r.name, normalized_name: r.normalized_name, entity_type: r.entity_type, program: r.program };
    };

    expect(fields('9100001')).toEqual({
      name: 'QZORVATH-KELMIRO, Ilvanth Dobrusk',
      normalized_name: 'dobrusk ilvanth kelmiro qzorvath',
      entity_type: 'individual',
      program: 'SDGT',
    });
    expect(fields('9100002')).toEqual({
      name: 'QZORVATH MUÑOZ PÉREZ, José Qelbarin',
      normalized_name: 'jose munoz perez qelbarin qzorvath',
      entity_type: 'individual',
      program: 'SDNTK] [ILLICIT-DRUGS-EO14059',
    });
    // an entity: SDN_Type is "-0- " in the real file
    expect(fields('9100003')).toEqual({ name: 'QZORVATH TRADING CO., LTD.', normalized_name: 'co ltd qzorvath trading', entity_type: null, program: 'IRAN' });
    expect(fields('9100004')).toEqual({ name: 'QZORVATH DRELMIK EXPORT BANK', normalized_name: 'bank drelmik export qzorvath', entity_type: null, program: 'CUBA' });
    // a vessel: the vessel columns (with quoted commas) do not shift the fields that are read
    expect(fields('9100005')).toEqual({ name: 'QZORVATH VELKAREN STAR', normalized_name: 'qzorvath star velkaren', entity_type: 'vessel', program: 'DPRK3' });
    expect(fields('9100006')).toEqual({
      name: 'QZORVATH-ÇELIK, Dravmir Ostelan',
      normalized_name: 'celik dravmir ostelan qzorvath',
      entity_type: 'individual',
      program: 'RUSSIA-EO14024',
    });
    expect(fields('9100007')).toEqual({
      name: 'QZORVATH AL-NUREK HOLDINGS, S.A.',
      normalized_name: 'a al holdings nurek qzorvath s',
      entity_type: null,
      program: 'SDGT] [IFSR',
    });
    // no program: "-0- " → null
    expect(fields('9100008')).toEqual({ name: "QZORVATH O'BRENNIK, Pelinthra", normalized_name: 'brennik o pelinthra qzorvath', entity_type: 'individual', program: null });
  });

  it('stores names the screener then finds, whatever their order, case and accents', async () => {
    const list = newList();
    await compliance.importSdnCsv(FIXTURE, list);
    const entries = (await db('watchlist_entries').where({ list }).select('id', 'name', 'normalized_name', 'list')) as Array<{
      id: string;
      name: string;
      normalized_name: string;
      list: string;
    }>;
    const rows = await rowsOf(list);

    const match = bestMatch('Jose Qelbarin Qzorvath Munoz Perez', entries, 0.92);
    expect(match).toEqual({ entryId: rows.get('9100002')!.id, listName: 'QZORVATH MUÑOZ PÉREZ, José Qelbarin', list, score: 1 });
    expect(bestMatch('Dravmir Ostelan Qzorvath Celik', entries, 0.92)).toMatchObject({ entryId: rows.get('9100006')!.id, score: 1 });
    expect(bestMatch('Qzorvath Trading Co Ltd', entries, 0.92)).toMatchObject({ entryId: rows.get('9100003')!.id, score: 1 });
    expect(bestMatch('Alice Nakamura', entries, 0.8)).toBeUndefined();
  });

  it('updates on a re-import instead of duplicating (same list, same ent_num)', async () => {
    const list = newList();
    await compliance.importSdnCsv(FIXTURE, list);
    const before = await rowsOf(list);

    expect(await compliance.importSdnCsv(FIXTURE, list)).toMatchObject({ imported: FIXTURE_ROWS, skipped: 0 });
    expect(await countOf(list)).toBe(FIXTURE_ROWS);
    const again = await rowsOf(list);
    for (const [externalId, row] of before) expect(again.get(externalId)).toEqual(row);

    // a newer file: one entry renamed and redesignated, one entry's type corrected, one new entry
    const newer = [
      FIXTURE.trim(),
      '9100009,"QZORVATH BRISTELMO, Ankarith","individual","SDGT","-0- ","-0- ","-0- ","-0- ","-0- ","-0- ","-0- ","-0- "',
    ]
      .join('\n')
      .replace('"QZORVATH TRADING CO., LTD.","-0- ","IRAN"', '"QZORVATH GLOBAL TRADING CO., LTD.","-0- ","IRAN] [IFSR"')
      .replace('9100008,"QZORVATH O\'BRENNIK, Pelinthra","individual","-0- "', '9100008,"QZORVATH O\'BRENNIK, Pelinthra","individual","SDGT"');
    expect(await compliance.importSdnCsv(newer, list)).toMatchObject({ imported: FIXTURE_ROWS + 1, skipped: 0 });
    expect(await countOf(list)).toBe(FIXTURE_ROWS + 1);

    const after = await rowsOf(list);
    expect(after.get('9100003')).toEqual({
      ...before.get('9100003'),
      name: 'QZORVATH GLOBAL TRADING CO., LTD.',
      normalized_name: 'co global ltd qzorvath trading',
      program: 'IRAN] [IFSR',
    });
    expect(after.get('9100008')).toEqual({ ...before.get('9100008'), program: 'SDGT' });
    expect(after.get('9100001')).toEqual(before.get('9100001'));
    expect(after.get('9100009')).toMatchObject({ name: 'QZORVATH BRISTELMO, Ankarith', normalized_name: 'ankarith bristelmo qzorvath', program: 'SDGT' });
  });

  it('keeps lists apart: the same ent_num in two lists is two entries', async () => {
    const a = newList();
    const b = newList();
    await compliance.importSdnCsv(FIXTURE, a);
    await compliance.importSdnCsv(FIXTURE, b);
    expect(await countOf(a)).toBe(FIXTURE_ROWS);
    expect(await countOf(b)).toBe(FIXTURE_ROWS);
    const [ra, rb] = [await rowsOf(a), await rowsOf(b)];
    expect(ra.get('9100001')!.id).not.toBe(rb.get('9100001')!.id);
  });

  it('skips malformed lines, imports the rest and names each skipped line with its problem', async () => {
    const list = newList();
    const csv = [
      'ent_num,SDN_Name,SDN_Type,Program,Title,Call_Sign,Vess_type,Tonnage,GRT,Vess_flag,Vess_owner,Remarks', // a header: not a number
      '9100021,"QZORVATH TELMARIK, Osbrin","individual","SDGT","-0- ","-0- ","-0- ","-0- ","-0- ","-0- ","-0- ","-0- "',
      '',
      '-0-,"QZORVATH NOID, Ent","individual","SDGT","-0- "', // no ent_num
      'ABC123,"QZORVATH LETTERS, Ent","individual","SDGT","-0- "', // ent_num not a number
      '-5,"QZORVATH NEGATIVE, Ent","individual","SDGT","-0- "', // nor a negative one
      '9100022,"","individual","SDGT","-0- "', // no name
      '9100025,"   ","individual","SDGT","-0- "', // a blank name
      '9100023', // a lone number
      '   ',
      ' 9100024 ,"QZORVATH VANDRELL SHIPPING","-0- ","CUBA"', // short, with spaces around the number: still readable
      '9100026,"QZORVATH SPANNING,\nTwo Lines","individual","SDGT"', // a quoted line break: the next row is on line 14
      '9100021,"QZORVATH TELMARIK, Again","individual","SDGT"', // ent_num repeated: the first row stands
      '9100027,"QZORVATH NUL\u0000NAME","individual","SDGT"', // Postgres cannot store a NUL
      `9100028,"${'QZORVATH '.repeat(40)}","individual","SDGT"`, // longer than any SDN name (350)
      ',,,', // an empty row, as spreadsheets write them
      '\x1a', // the end-of-file mark the real SDN.CSV ends with
    ].join('\r\n');

    expect(await compliance.importSdnCsv(csv, list)).toEqual({
      imported: 3,
      skipped: 9,
      skipped_rows: [
        { line: 4, reason: 'ent_num "-0-" is not a number of at most 18 digits' },
        { line: 5, reason: 'ent_num "ABC123" is not a number of at most 18 digits' },
        { line: 6, reason: 'ent_num "-5" is not a number of at most 18 digits' },
        { line: 7, reason: 'SDN_Name: must not be empty' },
        { line: 8, reason: 'SDN_Name: must not be empty' },
        { line: 9, reason: 'only 1 column, where ent_num and SDN_Name at least are expected' },
        { line: 14, reason: 'ent_num 9100021 is already on line 2' },
        { line: 15, reason: 'SDN_Name: Must be valid Unicode text without NUL characters' },
        { line: 16, reason: 'SDN_Name: Too big: expected string to have <=350 characters' },
      ],
    });
    const rows = await rowsOf(list);
    expect([...rows.keys()]).toEqual(['9100021', '9100024', '9100026']);
    expect(rows.get('9100021')).toMatchObject({ name: 'QZORVATH TELMARIK, Osbrin' });
    expect(rows.get('9100024')).toMatchObject({ name: 'QZORVATH VANDRELL SHIPPING', entity_type: null, program: 'CUBA' });
  });

  it('refuses an empty file, or one with no usable line, naming the problem and writing nothing', async () => {
    const list = newList();
    await expect(compliance.importSdnCsv('', list)).rejects.toThrow(new WatchlistImportError(`The CSV has no rows: expected ${LAYOUT}.`));
    await expect(compliance.importSdnCsv('ent_num,SDN_Name\n\n\x1a\n', list)).rejects.toThrow(/^The CSV has no rows: /);
    await expect(compliance.importSdnCsv('\n\n-0-,-0-\nfoo,bar\n\x1a\n', list)).rejects.toThrow(
      new WatchlistImportError(`No row of the CSV is a watch-list entry: expected ${LAYOUT}; line 3: ent_num "-0-" is not a number of at most 18 digits (and 1 more row with problems).`),
    );
    await expect(compliance.importSdnCsv('9100041\t"QZORVATH TABBED"\tindividual\n', list)).rejects.toBeInstanceOf(WatchlistImportError);
    expect(await countOf(list)).toBe(0);
  });

  it('rejects a file that is not valid CSV (an unclosed quote) as a whole, writing nothing', async () => {
    const list = newList();
    const broken = `${FIXTURE.trim()}\n9100031,"QZORVATH UNCLOSED, Quote,"individual","SDGT"\n`;
    await expect(compliance.importSdnCsv(broken, list)).rejects.toThrow(/^The CSV could not be read: .*quote/i);
    await expect(compliance.importSdnCsv(broken, list)).rejects.toBeInstanceOf(WatchlistImportError);
    expect(await countOf(list)).toBe(0);
  });
});
