// A redirect URI on the "any" address makes the auth callback listen on every interface: warned
// in every spelling (issue 22 security follow-up, item 4; found by the attacker's tests).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { everyInterfaceWarning } from '../../src/cli/commands/auth.ts';

describe('a redirect URI that listens on every interface is warned about', () => {
  for (const uri of [
    'http://[::ffff:0.0.0.0]:49510/callback',
    'http://[::ffff:0:0]:49510/callback',
    'http://[0:0:0:0:0:ffff:0.0.0.0]:49510/callback',
    'http://0.0.0.0:49510/callback',
    'http://0:49510/callback',
    'http://[::]:49510/callback',
    'http://[0:0:0:0:0:0:0:0]:49510/callback',
  ])
    it(`warns for ${uri}`, () => {
      assert.match(everyInterfaceWarning(new URL(uri)) ?? '', /listens on every network interface/);
    });

  for (const uri of [
    'http://localhost:49510/callback',
    'http://127.0.0.1:49510/callback',
    'http://[::1]:49510/callback',
    'http://[::ffff:127.0.0.1]:49510/callback',
    'http://0.0.0.1:49510/callback',
    'http://192.168.1.5:49510/callback',
  ])
    it(`does not warn for ${uri}`, () => {
      assert.equal(everyInterfaceWarning(new URL(uri)), undefined);
    });
});
