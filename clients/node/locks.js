// advlock_named from node-postgres: the try and timed forms of a session
// lock, and a transaction-scoped lock inside BEGIN/COMMIT, checked with two
// clients.  Connects with the libpq environment (PGHOST, PGPORT, ...).
'use strict';
const assert = require('node:assert/strict');
const { Client } = require('pg');

async function value(client, sql, params) {
  const { rows } = await client.query(sql, params);
  return Object.values(rows[0])[0];
}

// Runs the work only if nobody else is deploying right now.
async function deployIfFree(client, work) {
  if (!(await value(client, 'SELECT named_try_lock_exclusive($1)', ['deploy']))) return false;
  try {
    await work();
  } finally {
    await client.query('SELECT named_unlock_exclusive($1)', ['deploy']);
  }
  return true;
}

async function main() {
  const a = new Client();
  const b = new Client();
  await a.connect();
  await b.connect();
  try {
    // Try form: b finds the lock taken while a deploys, and free afterwards.
    let bMeanwhile;
    assert.equal(await deployIfFree(a, async () => {
      bMeanwhile = await deployIfFree(b, async () => {});
    }), true);
    assert.equal(bMeanwhile, false);
    assert.equal(await deployIfFree(b, async () => {}), true);

    // Timed form: false once the time is up, true when the lock is free.
    await a.query('SELECT named_lock_exclusive($1)', ['deploy']);
    assert.equal(await value(b, 'SELECT named_lock_exclusive($1, $2::interval)', ['deploy', '50 milliseconds']), false);
    await a.query('SELECT named_unlock_exclusive($1)', ['deploy']);
    assert.equal(await value(b, 'SELECT named_lock_exclusive($1, $2::interval)', ['deploy', '5 seconds']), true);
    assert.equal(await value(b, 'SELECT named_unlock_exclusive($1)', ['deploy']), true);

    // Transaction scope: held until COMMIT, with no unlock to forget.
    await a.query('BEGIN');
    await a.query('SELECT named_xact_lock_exclusive($1)', ['invoice-42']);
    const { rows } = await a.query('SELECT name, mode, scope FROM named_locks()');
    assert.deepEqual(rows, [{ name: 'invoice-42', mode: 'exclusive', scope: 'transaction' }]);
    assert.equal(await value(b, 'SELECT named_try_xact_lock_exclusive($1)', ['invoice-42']), false);
    await a.query('COMMIT');
    assert.equal((await a.query('SELECT * FROM named_locks()')).rowCount, 0);
    assert.equal(await value(b, 'SELECT named_try_xact_lock_exclusive($1)', ['invoice-42']), true);
  } finally {
    await a.end();
    await b.end();
  }
  console.log('node-postgres: try, timed and transaction-scoped named locks behave');
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
