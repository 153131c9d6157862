/**
 * Go's strings.TrimSpace and strings.ToLower, where JavaScript's trim()/toLowerCase() differ
 * (muvee's invitation key and its ADMIN_EMAILS/ALLOWED_DOMAINS lists are made with Go's).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { goToLower, goTrimSpace } from '../src/muvee/go-strings.ts';
import { invitationKey } from '../src/muvee/membership.ts';
import { splitList } from '../src/config/config.ts';

describe('go-strings', () => {
  const trims: [string, string][] = [
    ['  a@b.c \t\n', 'a@b.c'],
    ['a@b.c\ufeff', 'a@b.c\ufeff'], // Go keeps U+FEFF; JavaScript trims it
    ['\ufeffa@b.c', '\ufeffa@b.c'],
    ['a@b.c\u0085', 'a@b.c'], // Go trims NEXT LINE; JavaScript keeps it
    ['\u00a0\u2003a@b.c\u3000\u2029', 'a@b.c'],
    ['a @b.c', 'a @b.c'],
  ];
  for (const [input, want] of trims)
    test(`TrimSpace ${JSON.stringify(input)}`, () => assert.equal(goTrimSpace(input), want));

  const lowers: [string, string][] = [
    ['ALICE@CORP.EXAMPLE', 'alice@corp.example'],
    ['İlker@corp.example', 'ilker@corp.example'], // JavaScript: i + U+0307
    ['ΟΔΥΣΣΕΑΣ', 'οδυσσεασ'], // JavaScript: final ς
    ['ΣΑ', 'σα'],
    ['Straße', 'straße'],
    ['\u212a', 'k'], // KELVIN SIGN lowers to k in both
    ['\u1c89\ua7cb\u{10d50}', '\u1c89\ua7cb\u{10d50}'], // Unicode 16 capitals: Go 1.23 keeps them
    ['a\ud800b', 'a\ufffdb'], // a lone surrogate is not UTF-8: U+FFFD, as Go's strings.Map
  ];
  for (const [input, want] of lowers)
    test(`ToLower ${JSON.stringify(input)}`, () => assert.equal(goToLower(input), want));

  test("muvee's invitation key: ToLower(TrimSpace(email))", () => {
    assert.equal(invitationKey('  İpek@Corp.Example '), 'ipek@corp.example');
    assert.equal(invitationKey('feff@corp.example\ufeff'), 'feff@corp.example\ufeff');
  });

  test('ADMIN_EMAILS and ALLOWED_DOMAINS items are trimmed as muvee trims them', () => {
    assert.deepEqual(splitList(' a@b.c\ufeff , d@e.f\u0085,,'), {
      items: ['a@b.c\ufeff', 'd@e.f'],
      emptyItems: 2,
    });
  });
});
