import assert from 'node:assert';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import sinon from 'sinon';

import { SessionError } from '../../../src/lib/errors';
import { LoginGuard } from '../../../src/lib/session/login-guard';
import { writeAtomic } from '../../../src/lib/store/atomic-file';
import { FileStore, GUARD_FILE_NAME, keyFileOf } from '../../../src/lib/store/file-store';
import { ChargeResult, ChargeTicket, GuardPolicy, Hold, MAX_BLOCK_MS } from '../../../src/lib/store/guard-store';
import { MAX_ACCOUNTS, emptyLedger, pruneLedger } from '../../../src/lib/store/ledger';
import { makeReadOnly, makeWritable } from '../../support/read-only-dir';

const MINUTE = 60_000;
const YEAR = 365 * 24 * 60 * MINUTE;
const POLICY: GuardPolicy = { coolDownMs: 5 * MINUTE, maxFailedLogins: 3, failureWindowMs: 30 * MINUTE, leaseMs: 2 * MINUTE };
const START = Date.parse('2026-12-01T10:00:00Z');

function granted(result: ChargeResult): ChargeTicket {
    assert.ok('granted' in result, `expected a granted charge, got ${JSON.stringify(result)}`);
    return result.granted;
}

function held(result: ChargeResult): Hold {
    assert.ok('held' in result, `expected a held charge, got ${JSON.stringify(result)}`);
    return result.held;
}

describe('store: the embedded file store', function () {
    let dir: string;
    let file: string;
    let clock: sinon.SinonFakeTimers;
    const warnings: string[] = [];
    const opened: FileStore[] = [];
    const open = (): FileStore => {
        const store = new FileStore(file, (message) => warnings.push(message));
        opened.push(store);
        return store;
    };

    beforeEach(function () {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), 'guard-store-'));
        file = path.join(dir, GUARD_FILE_NAME);
        warnings.length = 0;
        clock = sinon.useFakeTimers({ now: START, toFake: ['Date'] });
    });

    afterEach(async function () {
        clock.restore();
        // Writes still under way (a set-aside file's mark) end before the directory goes.
        await Promise.all(opened.splice(0).map((store) => store.close()));
        fs.rmSync(dir, { recursive: true, force: true });
    });

    it('starts empty without a file, and makes a 32-byte key and the file with mode 0600', async function () {
        const store = open();
        assert.ok(!fs.existsSync(file));
        granted(await store.charge('a', 'c', POLICY));
        await store.close();
        assert.strictEqual(fs.readFileSync(keyFileOf(file)).length, 32);
        assert.strictEqual(path.basename(keyFileOf(file)), '.rest-session-guard.key');
        if (process.platform !== 'win32') {
            assert.strictEqual(fs.statSync(file).mode & 0o777, 0o600);
            assert.strictEqual(fs.statSync(keyFileOf(file)).mode & 0o777, 0o600);
        }
        assert.deepStrictEqual(warnings, []);
    });

    it('has the charge on disk before it grants it', async function () {
        const store = open();
        const ticket = granted(await store.charge('acct', 'cred', POLICY));
        const onDisk = JSON.parse(fs.readFileSync(file, 'utf8'));
        assert.strictEqual(onDisk.accounts.acct.charges[0].id, ticket.id);
    });

    it('resumes budget, cool-downs and server blocks after a restart', async function () {
        const first = open();
        await first.settle(granted(await first.charge('acct', 'wrong', POLICY)), { kind: 'rejected', code: 'INVALID_CREDENTIALS', statusCode: 401 });
        await first.settle(granted(await first.charge('other', 'x', POLICY)), { kind: 'blocked', code: 'LOCKED_OUT', statusCode: 429, waitMs: 10 * MINUTE });
        await first.close();

        const second = open();
        assert.deepStrictEqual(held(await second.charge('acct', 'wrong', POLICY)), {
            reason: 'coolDown',
            code: 'INVALID_CREDENTIALS',
            statusCode: 401,
            waitMs: 5 * MINUTE,
        });
        assert.strictEqual(held(await second.charge('other', 'y', POLICY)).reason, 'block');
        // a second rejection of the same credential after the restart doubles the cool-down
        clock.tick(5 * MINUTE);
        const settled = await second.settle(granted(await second.charge('acct', 'wrong', POLICY)), { kind: 'rejected', code: 'INVALID_CREDENTIALS' });
        assert.strictEqual(settled.waitMs, 10 * MINUTE);
    });

    it('keeps a charge that was never settled (a crash mid-login) after a restart', async function () {
        for (let start = 0; start < 3; start++) {
            const store = open();
            granted(await store.charge('acct', `p${start}`, POLICY));
            await store.close(); // and "dies" before the reply: no settle
        }
        const after = open();
        const hold = held(await after.charge('acct', 'p9', POLICY));
        assert.strictEqual(hold.reason, 'budget');
        assert.strictEqual(hold.failures, 3);
    });

    it('holds the credential of an attempt never settled for one cool-down: it may have been rejected', async function () {
        const store = open();
        granted(await store.charge('acct', 'wrong', POLICY));
        await store.close();
        const after = open();
        assert.deepStrictEqual(held(await after.charge('acct', 'wrong', POLICY)), { reason: 'inDoubt', code: 'TIMEOUT', waitMs: POLICY.coolDownMs });
        granted(await after.charge('acct', 'other', POLICY));
        await after.settle(granted(await after.charge('acct', 'third', POLICY)), { kind: 'unknown', code: 'TIMEOUT' });
        clock.tick(POLICY.coolDownMs);
        // the cool-down is over; the budget still counts all three
        assert.strictEqual(held(await after.charge('acct', 'wrong', POLICY)).reason, 'budget');
    });

    it('refunds a success and an attempt that never left, on disk too', async function () {
        const store = open();
        await store.settle(granted(await store.charge('acct', 'p', POLICY)), { kind: 'notSent' });
        await store.settle(granted(await store.charge('acct', 'p', POLICY)), { kind: 'unknown', code: 'TIMEOUT' });
        await store.settle(granted(await store.charge('acct', 'p', POLICY)), { kind: 'success' });
        await store.close();
        assert.deepStrictEqual(JSON.parse(fs.readFileSync(file, 'utf8')).accounts, {});
    });

    it('prunes what no longer holds, so the file stays small', async function () {
        const store = open();
        for (let i = 0; i < 50; i++) await store.settle(granted(await store.charge(`acct${i}`, 'p', POLICY)), { kind: 'unknown', code: 'TIMEOUT' });
        const full = fs.statSync(file).size;
        clock.tick(POLICY.failureWindowMs + 1);
        await store.settle(granted(await store.charge('last', 'p', POLICY)), { kind: 'success' });
        assert.ok(fs.statSync(file).size < full / 10, `${fs.statSync(file).size} bytes left of ${full}`);
    });

    describe('a cap on the accounts it remembers (many distinct failing msg.credentials users)', function () {
        const CAP = 50;
        const accountsOnDisk = (): string[] => Object.keys(JSON.parse(fs.readFileSync(file, 'utf8')).accounts as object);

        it('forgets the accounts whose holds ended longest ago beyond the cap; the file stops growing', async function () {
            const store = new FileStore(file, (message) => warnings.push(message), CAP);
            opened.push(store);
            const sizes: number[] = [];
            // One new wrong user a minute for 4 hours: each keeps its charge for 30 min and its ended cool-down for 24 h.
            for (let i = 0; i < 240; i++) {
                await store.settle(granted(await store.charge(`user${i}`, 'wrong', POLICY)), { kind: 'rejected', code: 'INVALID_CREDENTIALS' });
                const onDisk = accountsOnDisk();
                assert.ok(onDisk.length <= CAP, `${onDisk.length} accounts on disk after ${i + 1} users`);
                sizes.push(fs.statSync(file).size);
                clock.tick(MINUTE);
            }
            // The file grew to the cap, then stayed there.
            assert.ok(Math.max(...sizes.slice(CAP)) <= Math.max(...sizes.slice(0, CAP)) * 1.1, `sizes ${sizes[CAP - 1]} → ${Math.max(...sizes)}`);
            const onDisk = accountsOnDisk();
            assert.ok(!onDisk.includes('user0') && onDisk.includes('user239'), 'the longest ended went first, the newest stay');
            // The newest 30 (charges still in the window) are live: none was forgotten, each still held.
            for (let i = 210; i < 240; i++) assert.ok(onDisk.includes(`user${i}`), `user${i} kept`);
            assert.strictEqual(held(await store.charge('user239', 'wrong', POLICY)).reason, 'coolDown');
            assert.deepStrictEqual(warnings, []);
        });

        it('never forgets an account with a hold in force: 80 live accounts over a cap of 50 are all kept, each still held, and it warns once', async function () {
            const store = new FileStore(file, (message) => warnings.push(message), CAP);
            opened.push(store);
            for (let i = 0; i < 80; i++) {
                await store.settle(granted(await store.charge(`user${i}`, 'wrong', POLICY)), { kind: 'rejected', code: 'INVALID_CREDENTIALS' });
            }
            assert.strictEqual(accountsOnDisk().length, 80);
            for (let i = 0; i < 80; i++) assert.strictEqual(held(await store.charge(`user${i}`, 'wrong', POLICY)).reason, 'coolDown');
            assert.strictEqual(warnings.length, 1, warnings.join('\n'));
            assert.match(warnings[0], /more than 50 accounts \(\d+ beyond it\), each with a hold in force: none is forgotten/);
            // Once their holds have ended, the cap applies again.
            clock.tick(POLICY.failureWindowMs + 1);
            await store.settle(granted(await store.charge('late', 'p', POLICY)), { kind: 'success' });
            // Room was made for "late" (its charge), whose success then cleared it.
            assert.strictEqual(accountsOnDisk().length, CAP - 1);
        });

        it(`keeps at most ${MAX_ACCOUNTS} accounts by default when the others' holds have ended`, function () {
            const state = emptyLedger();
            for (let i = 0; i < MAX_ACCOUNTS + 500; i++) {
                state.accounts[`a${i}`] = {
                    charges: [],
                    coolDowns: { c: { code: 'INVALID_CREDENTIALS', until: START - MAX_ACCOUNTS - 500 + i, rejections: 1 } },
                };
            }
            assert.strictEqual(pruneLedger(state, POLICY, START), 0);
            assert.strictEqual(Object.keys(state.accounts).length, MAX_ACCOUNTS);
            assert.ok(!('a499' in state.accounts) && 'a500' in state.accounts, 'the longest ended went first');
        });
    });

    it('sets a corrupt or truncated file aside, warns, and holds every account for one window, across restarts', async function () {
        const healthy = open();
        await healthy.settle(granted(await healthy.charge('acct', 'p', POLICY)), { kind: 'unknown', code: 'TIMEOUT' });
        await healthy.close();
        const text = fs.readFileSync(file, 'utf8');
        fs.writeFileSync(file, text.slice(0, Math.floor(text.length / 2)));

        const store = open();
        assert.strictEqual(warnings.length, 1);
        assert.match(warnings[0], /set aside as \.rest-session-guard\.json\.bad-/);
        const aside = fs.readdirSync(dir).filter((name) => name.startsWith(`${GUARD_FILE_NAME}.bad-`));
        assert.strictEqual(aside.length, 1);
        const hold = held(await store.charge('never-seen', 'p', POLICY));
        assert.deepStrictEqual([hold.reason, hold.code, hold.waitMs], ['unreadable', 'GUARD_UNAVAILABLE', POLICY.failureWindowMs]);
        await store.close();

        // a crash right after: the restart must not see an absent file and start afresh
        clock.tick(MINUTE);
        const again = open();
        assert.strictEqual(held(await again.charge('never-seen', 'p', POLICY)).waitMs, POLICY.failureWindowMs - MINUTE);
        clock.tick(POLICY.failureWindowMs);
        granted(await again.charge('never-seen', 'p', POLICY));
    });

    it('sets aside a file whose key is gone (its fingerprints name nothing any more)', async function () {
        const store = open();
        granted(await store.charge('acct', 'p', POLICY));
        await store.close();
        fs.rmSync(keyFileOf(file));
        assert.strictEqual(held(await open().charge('acct', 'p', POLICY)).reason, 'unreadable');
        assert.match(warnings.join('\n'), /key file is new/);
    });

    it('refuses to charge (GUARD_UNAVAILABLE, naming the file) where it cannot write, and grants nothing', async function () {
        const store = open();
        granted(await store.charge('acct', 'p', POLICY));
        makeReadOnly(dir);
        try {
            await assert.rejects(store.charge('acct', 'q', POLICY), (error: SessionError) => {
                assert.strictEqual(error.code, 'GUARD_UNAVAILABLE');
                assert.ok(error.message.includes(file), error.message);
                return true;
            });
            // a store opened there without its key cannot even fingerprint durably
            const elsewhere = path.join(dir, 'sub.json');
            await assert.rejects(new FileStore(elsewhere).charge('acct', 'p', POLICY), { code: 'GUARD_UNAVAILABLE' });
        } finally {
            makeWritable(dir);
        }
        // the refused charge was not recorded: two more fit in the budget
        granted(await store.charge('acct', 'r', POLICY));
        granted(await store.charge('acct', 's', POLICY));
        assert.strictEqual(held(await store.charge('acct', 't', POLICY)).failures, 3);
    });

    it('encrypts grants, binds them to their name, and keeps them across a restart', async function () {
        const store = open();
        const secret = JSON.stringify({ refresh_token: 'rt-very-secret-123', access_token: 'at-456' });
        await store.writeGrant('server-1/client-a', secret);
        await store.close();
        assert.ok(!fs.readFileSync(file, 'utf8').includes('very-secret'));
        const again = open();
        assert.strictEqual(await again.readGrant('server-1/client-a'), secret);
        assert.strictEqual(await again.readGrant('server-1/client-b'), undefined);
        // a value moved to another name is refused, not decrypted
        const state = JSON.parse(fs.readFileSync(file, 'utf8'));
        const [name] = Object.keys(state.grants);
        const other = again.fingerprint(['grant', 'server-2/client-a']);
        state.grants[other] = state.grants[name];
        fs.writeFileSync(file, JSON.stringify(state));
        await assert.rejects(open().readGrant('server-2/client-a'));
        await again.writeGrant('server-1/client-a', undefined);
        assert.strictEqual(await again.readGrant('server-1/client-a'), undefined);
    });

    it('writes through a guard file that is a symlink (userDir files linked to a volume), so a recreated container resumes', async function () {
        const volume = fs.mkdtempSync(path.join(os.tmpdir(), 'guard-volume-'));
        try {
            const link = (): void => {
                fs.mkdirSync(dir, { recursive: true });
                fs.symlinkSync(path.join(volume, GUARD_FILE_NAME), file);
                fs.symlinkSync(path.join(volume, path.basename(keyFileOf(file))), keyFileOf(file));
            };
            fs.writeFileSync(path.join(volume, GUARD_FILE_NAME), JSON.stringify({ version: 1, accounts: {}, grants: {} }));
            fs.writeFileSync(path.join(volume, path.basename(keyFileOf(file))), Buffer.alloc(32, 7));
            link();
            const before = open();
            for (const credential of ['a', 'b', 'c'])
                await before.settle(granted(await before.charge('acct', credential, POLICY)), { kind: 'unknown', code: 'TIMEOUT' });
            await before.close();
            assert.ok(fs.lstatSync(file).isSymbolicLink(), 'the guard file is still the link');

            // the container is recreated: a fresh user directory, the same links
            fs.rmSync(dir, { recursive: true, force: true });
            link();
            assert.strictEqual(held(await open().charge('acct', 'd', POLICY)).reason, 'budget');
        } finally {
            fs.rmSync(volume, { recursive: true, force: true });
        }
    });

    it('holds no password, user name, host or token in clear (raw bytes of both files)', async function () {
        const store = open();
        const guard = new LoginGuard({}, store);
        const key = LoginGuard.key('https://plant-7.example.com:8443', 'operator-jane');
        const fingerprint = LoginGuard.fingerprint(['operator-jane', 'Hunter2-Secret!']);
        await assert.rejects(guard.attempt(key, fingerprint, 'operator-jane', () => Promise.reject(new SessionError('INVALID_CREDENTIALS', 'no'))));
        await store.writeGrant('https://plant-7.example.com:8443 operator-jane', 'tok-Zq81-secret');
        await store.close();
        const bytes = Buffer.concat([fs.readFileSync(file), fs.readFileSync(keyFileOf(file))]);
        for (const secret of ['operator-jane', 'plant-7', 'example.com', 'Hunter2-Secret!', 'tok-Zq81-secret', fingerprint]) {
            assert.ok(!bytes.includes(secret), `the store holds "${secret}"`);
            assert.ok(!bytes.includes(Buffer.from(secret).toString('base64')), `the store holds "${secret}" in base64`);
        }
    });

    it('holds an account no longer than its own waits after a restart with the clock set back a year (a device without RTC before NTP)', async function () {
        const before = open();
        await before.settle(granted(await before.charge('acct', 'a', POLICY)), { kind: 'rejected', code: 'INVALID_CREDENTIALS', statusCode: 401 });
        await before.settle(granted(await before.charge('acct', 'b', POLICY)), { kind: 'unknown', code: 'TIMEOUT' });
        await before.settle(granted(await before.charge('acct', 'c', POLICY)), { kind: 'unknown', code: 'TIMEOUT' });
        await before.settle(granted(await before.charge('blocked', 'x', POLICY)), {
            kind: 'blocked',
            code: 'LOCKED_OUT',
            statusCode: 429,
            waitMs: 10 * MINUTE,
        });
        await before.close();

        clock.setSystemTime(START - YEAR);
        const after = open();
        // still held (fail closed), but for the waits the store recorded, not for the year the clock lost
        const coolDown = held(await after.charge('acct', 'a', POLICY));
        assert.strictEqual(coolDown.reason, 'coolDown');
        assert.ok(coolDown.waitMs <= POLICY.coolDownMs, `cool-down ${coolDown.waitMs} ms`);
        const budget = held(await after.charge('acct', 'd', POLICY));
        assert.strictEqual(budget.reason, 'budget');
        assert.ok(budget.waitMs <= POLICY.failureWindowMs, `budget ${budget.waitMs} ms`);
        const block = held(await after.charge('blocked', 'x', POLICY));
        assert.strictEqual(block.reason, 'block');
        assert.ok(block.waitMs <= MAX_BLOCK_MS, `block ${block.waitMs} ms`);
        // and once those waits are over, a login goes out
        clock.tick(POLICY.failureWindowMs);
        granted(await after.charge('acct', 'd', POLICY));
    });

    it('sets aside a key file a crash left empty, makes a new key, and fails closed for one window (not GUARD_UNAVAILABLE for ever)', async function () {
        const first = open();
        granted(await first.charge('acct', 'p', POLICY));
        await first.close();
        fs.writeFileSync(keyFileOf(file), '');

        const store = open();
        const hold = held(await store.charge('acct', 'p', POLICY));
        assert.strictEqual(hold.reason, 'unreadable');
        assert.match(warnings.join('\n'), /\.rest-session-guard\.key/);
        assert.strictEqual(fs.readFileSync(keyFileOf(file)).length, 32);
        clock.tick(POLICY.failureWindowMs);
        granted(await store.charge('acct', 'p', POLICY));
    });

    it('takes an empty key file with no guard file as a fresh start', async function () {
        fs.writeFileSync(keyFileOf(file), '');
        granted(await open().charge('acct', 'p', POLICY));
        assert.strictEqual(fs.readFileSync(keyFileOf(file)).length, 32);
    });

    it('makes a key and a guard file that others can read private again when it opens them', async function () {
        const first = open();
        granted(await first.charge('acct', 'p', POLICY));
        await first.close();
        fs.chmodSync(keyFileOf(file), 0o644);
        fs.chmodSync(file, 0o644);
        open();
        const modes = [keyFileOf(file), file].map((name) => fs.statSync(name).mode & 0o777);
        assert.deepStrictEqual(modes, process.platform === 'win32' ? modes : [0o600, 0o600]);
    });

    describe('atomic write', function () {
        it('leaves the old state readable after a crash between the temporary write and the rename', async function () {
            const store = open();
            await store.settle(granted(await store.charge('acct', 'wrong', POLICY)), { kind: 'rejected', code: 'INVALID_CREDENTIALS' });
            await store.close();
            const before = fs.readFileSync(file, 'utf8');

            const child = spawnSync(process.execPath, ['-r', 'tsx/cjs', path.join(__dirname, 'crash-before-rename.ts'), file, '{"version":1,"accounts":{}'], {
                cwd: path.join(__dirname, '..', '..', '..'),
                encoding: 'utf8',
            });
            assert.strictEqual(child.signal, 'SIGKILL', `the writer died before the rename (${child.stderr})`);
            const leftovers = fs.readdirSync(dir).filter((name) => name.includes('.tmp-'));
            assert.strictEqual(leftovers.length, 1, 'the crash left its temporary file');
            assert.strictEqual(fs.readFileSync(file, 'utf8'), before);

            const after = open();
            assert.strictEqual(held(await after.charge('acct', 'wrong', POLICY)).reason, 'coolDown');
            assert.deepStrictEqual(warnings, []);
            assert.deepStrictEqual(
                fs.readdirSync(dir).filter((name) => name.includes('.tmp-')),
                [],
                'the next start removes the temporary file',
            );
        });

        it('replaces the whole file or nothing, and removes its temporary file when the write fails', async function () {
            await writeAtomic(file, 'one');
            await writeAtomic(file, 'two');
            assert.strictEqual(fs.readFileSync(file, 'utf8'), 'two');
            await assert.rejects(writeAtomic(path.join(dir, 'missing', 'x.json'), 'three'));
            assert.deepStrictEqual(fs.readdirSync(dir).sort(), [GUARD_FILE_NAME]);
        });
    });
});
