import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { firstPrivateFolder, folderBlockingDataDir, reachableByOthers, runsAsRoot } from '../../stack/postgres/postgres-user';

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

test('the data folder itself may be private (the postgres user owns it); a private folder on the way to it blocks', () => {
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'reach-'));
  try {
    fs.chmodSync(base, 0o755);
    const data = path.join(base, 'postgres');
    fs.mkdirSync(data, { mode: 0o700 });
    // A restart finds its cluster's folder at mode 0700: that is no obstacle.
    expect(folderBlockingDataDir(data)).toBeUndefined();
    fs.chmodSync(base, 0o700);
    // As root (the postgres user then runs the cluster) the private folder on the way is named; otherwise nothing blocks.
    expect(folderBlockingDataDir(data)).toBe(runsAsRoot() ? base : undefined);
  } finally {
    fs.rmSync(base, { recursive: true, force: true });
  }
});
