// Who may open the admin console, as a table: the virtual database's name, and admin_users
// checked as PostgreSQL checks CONNECT (42501, with what to do in the hint).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadConfig } from '../config/load.js';
import { SqlState } from '../protocol/codes.js';
import {
  ADMIN_CONSOLE_DATABASE,
  adminConsoleRefusal,
  isAdminConsole,
} from './admin-console-gate.js';

const settings = (adminUsers: string) =>
  loadConfig({ overrides: [{ name: 'admin_users', value: adminUsers, origin: '-c admin_users' }] })
    .settings;

describe('admin console gate', () => {
  it('opens for the database pgtunnel only', () => {
    assert.equal(ADMIN_CONSOLE_DATABASE, 'pgtunnel');
    assert.equal(isAdminConsole('pgtunnel'), true);
    for (const other of ['postgres', 'PGTUNNEL', 'pgtunnel ', '', undefined]) {
      assert.equal(isAdminConsole(other), false, String(other));
    }
  });

  const cases: Array<{ database: string; user: string; adminUsers: string; hint?: RegExp }> = [
    { database: 'pgtunnel', user: 'alice', adminUsers: 'alice' },
    { database: 'pgtunnel', user: 'alice', adminUsers: 'bob, alice' },
    { database: 'pgtunnel', user: 'mallory', adminUsers: 'alice', hint: /^Add the user/ },
    { database: 'pgtunnel', user: 'alice', adminUsers: '', hint: /^The admin console is off/ },
    // Another database is not the gate's business, whoever asks.
    { database: 'postgres', user: 'mallory', adminUsers: '' },
  ];
  for (const { database, user, adminUsers, hint } of cases) {
    it(`${user} to ${database} with admin_users '${adminUsers}': ${hint ? 'refused' : 'let in'}`, () => {
      const refusal = adminConsoleRefusal(database, user, settings(adminUsers));
      if (!hint) {
        assert.equal(refusal, undefined);
        return;
      }
      assert.equal(refusal?.sqlstate, SqlState.INSUFFICIENT_PRIVILEGE);
      assert.equal(refusal?.message, 'permission denied for database "pgtunnel"');
      assert.equal(refusal?.detail, `User "${user}" is not listed in admin_users.`);
      assert.match(refusal?.hint ?? '', hint);
    });
  }
});
