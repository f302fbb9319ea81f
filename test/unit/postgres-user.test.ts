import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { firstPrivateFolder, reachableByOthers } from '../../src/db/postgres-user';

test('a folder inside a private one (mode 0700) cannot be reached by the postgres user; the private one is named', () => {
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'reach-'));
  try {
    const open = path.join(base, 'open', 'data');
    fs.mkdirSync(open, { recursive: true, mode: 0o755 });
    fs.chmodSync(base, 0o755);
    expect(reachableByOthers(open)).toBe(true);
    expect(firstPrivateFolder(open)).toBeUndefined();
    // Not created yet: it will be, with a readable mode.
    expect(reachableByOthers(path.join(open, 'later'))).toBe(true);

    fs.chmodSync(path.join(base, 'open'), 0o700);
    expect(reachableByOthers(open)).toBe(false);
    expect(firstPrivateFolder(open)).toBe(path.join(base, 'open'));
  } finally {
    fs.chmodSync(base, 0o700);
    fs.rmSync(base, { recursive: true, force: true });
  }
});
