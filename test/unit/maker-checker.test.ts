import { separationOfDutiesConflict, type KeyLink } from '../../src/compliance/maker-checker';

/** A chain from the key up to its root: chain('c', 'k2', 'k0') is c minted by k2 minted by root k0. */
function chain(...ids: string[]): KeyLink[] {
  return ids.map((id, i) => ({ id, prefix: `sk_${id}`, created_by_key_id: ids[i + 1] ?? null, issued_to: null }));
}
const issued = (links: KeyLink[], people: Record<string, string>) => links.map((k) => ({ ...k, issued_to: people[k.id] ?? null }));

describe('separationOfDutiesConflict', () => {
  test('the maker itself, or any key it minted at any depth, is refused', () => {
    expect(separationOfDutiesConflict(chain('k0'), chain('k0'))).toMatch(/is the key that made it/);
    expect(separationOfDutiesConflict(chain('k0'), chain('c1', 'k0'))).toMatch(/minted, through its chain/);
    expect(separationOfDutiesConflict(chain('k0'), chain('c3', 'k3', 'k2', 'k0'))).toMatch(/minted, through its chain/);
    expect(separationOfDutiesConflict(chain('k2', 'k0'), chain('c2', 'k2', 'k0'))).toMatch(/minted, through its chain/);
  });

  test('chains meeting at a minted (non-root) key are refused; meeting only at a root is allowed', () => {
    expect(separationOfDutiesConflict(chain('m', 'a', 'root'), chain('c', 'a', 'root'))).toMatch(/one key \(sk_a…\) minted both/);
    expect(separationOfDutiesConflict(chain('m', 'x', 'a', 'root'), chain('c', 'y', 'a', 'root'))).toMatch(/sk_a…/);
    expect(separationOfDutiesConflict(chain('m', 'root'), chain('c', 'root'))).toBeUndefined();
    expect(separationOfDutiesConflict(chain('m', 'a', 'root'), chain('c', 'b', 'root'))).toBeUndefined();
    expect(separationOfDutiesConflict(chain('m', 'root1'), chain('c', 'root2'))).toBeUndefined();
  });

  test('one named person in both chains is refused, whatever the case and spacing', () => {
    const maker = issued(chain('m', 'root1'), { m: 'Dana@bank.example' });
    expect(separationOfDutiesConflict(maker, issued(chain('c', 'root2'), { c: ' dana@BANK.example ' }))).toMatch(/same person \(dana@bank.example\)/);
    expect(separationOfDutiesConflict(maker, issued(chain('c', 'b', 'root2'), { b: 'dana@bank.example' }))).toMatch(/same person/);
    expect(separationOfDutiesConflict(maker, issued(chain('c', 'root2'), { c: 'erin@bank.example' }))).toBeUndefined();
    expect(separationOfDutiesConflict(issued(chain('m', 'root1'), { m: '' }), issued(chain('c', 'root2'), { c: '' }))).toBeUndefined();
  });

  test('a chain that cannot be followed to a root key is refused (what is above the break is unknown)', () => {
    const broken = chain('c', 'k9').map((k) => (k.id === 'k9' ? { ...k, created_by_key_id: 'deleted' } : k));
    expect(separationOfDutiesConflict(chain('m', 'root'), broken)).toMatch(/cannot be followed to its root/);
    expect(separationOfDutiesConflict(broken, chain('c', 'root'))).toMatch(/cannot be followed to its root/);
  });

  test('a payment no key made (created by the system) has no maker to conflict with', () => {
    expect(separationOfDutiesConflict([], chain('c', 'root'))).toBeUndefined();
  });
});
