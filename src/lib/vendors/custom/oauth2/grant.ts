import { SessionError, isSessionError } from '../../../errors';
import { text } from '../../../texts';
import type { GrantRecord, GrantRuntime, GrantTurn, LoginCredentials, LoginResult, SessionCredential, VendorContext } from '../../adapter';
import { awaitDevice } from './device-flow';
import { pastedChain, recordFrom } from './record';
import { OAuthError, OAuthSettings, PROVIDER, TokenReply, requestTokens } from './token-endpoint';

/** Renew ahead of expiry by a tenth of the lifetime, at most a minute (as sessions do). */
function margin(record: GrantRecord): number {
    if (record.expiresAt === null) return 0;
    return Math.min(60_000, Math.max(0, record.expiresAt - record.obtainedAt) / 10);
}

/** An access token that may still be used now. */
function fresh(record: GrantRecord, now: number): boolean {
    return record.accessToken !== undefined && (record.expiresAt === null || now < record.expiresAt - margin(record));
}

/** A rotation the store did not confirm (it went away meanwhile), kept by this deploy until the store answers. */
const UNSAVED = 'unsavedRotation';
interface UnsavedRotation {
    rotatedFrom: string;
    record: GrantRecord;
}

export function authorizationRequired(message: string): SessionError {
    return new SessionError('AUTHORIZATION_REQUIRED', message);
}

/**
 * An access token for a grant that renews itself (`refresh_token`, `authorization_code`,
 * `device_code`): the stored one while it is fresh (and not the one being replaced), else one refresh
 * at a time (the store's lease: fleet-wide with a shared store), saved to the store before it is
 * used. A refused refresh token is a dead grant: `AUTHORIZATION_REQUIRED` until a person authorizes
 * again, nothing retried.
 */
export async function grantLogin(context: VendorContext, credentials: LoginCredentials, replacing: SessionCredential | undefined): Promise<LoginResult> {
    const runtime = context.grant;
    if (!runtime) throw new SessionError('CONFIG', 'An OAuth2 grant works in a deployed configuration only: deploy it, then authorize.');
    const refused = replacing?.header?.token;
    await saveUnsaved(runtime);
    const seen = await current(runtime, credentials);
    if (seen && usable(seen, refused)) return used(context, seen);
    if (!seen?.refreshToken) return needsPerson(context, credentials, runtime, seen);
    const record = await runtime.store.lease(async (turn) => {
        // Another instance (or an earlier refresh) may have renewed it while this one waited.
        const stored = await runtime.store.read();
        const latest = pastedChain(stored, credentials.refreshToken) ?? stored;
        if (!latest?.refreshToken || (latest.accessToken !== seen.accessToken && usable(latest, refused))) return latest;
        return refresh(context, credentials, runtime, { record: latest, from: stored }, turn, false);
    });
    if (!record?.accessToken || record.dead) return needsPerson(context, credentials, runtime, record);
    return used(context, record);
}

/** A live access token other than the refused one. */
function usable(record: GrantRecord, refused: string | undefined): boolean {
    return !record.dead && fresh(record, Date.now()) && record.accessToken !== refused;
}

/** The stored record, or the pasted refresh token when the store has never seen it (a new paste starts a new chain). */
async function current(runtime: GrantRuntime, credentials: LoginCredentials): Promise<GrantRecord | undefined> {
    const stored = await runtime.store.read();
    return pastedChain(stored, credentials.refreshToken) ?? stored;
}

/** The record a refresh renews, and what the store held when it read it (the pasted chain is not stored yet). */
interface Refreshing {
    record: GrantRecord;
    from: GrantRecord | undefined;
}

/**
 * One refresh. Saved before use; a timeout keeps the old token and tries once more after reading
 * the store again; `invalid_grant` takes a newer token from the store, else the grant is dead.
 * Nothing is sent unless its reply is due within the turn.
 */
async function refresh(
    context: VendorContext,
    credentials: LoginCredentials,
    runtime: GrantRuntime,
    { record, from }: Refreshing,
    turn: GrantTurn,
    retried: boolean,
): Promise<GrantRecord> {
    const refreshToken = record.refreshToken ?? '';
    const exchangeMs = context.settings.requestTimeoutMs;
    turn.assertTime(exchangeMs);
    let reply: TokenReply;
    try {
        reply = await requestTokens(context, credentials, { grant_type: 'refresh_token', refresh_token: refreshToken });
    } catch (error) {
        const again = await runtime.store.read();
        const newer = again?.refreshToken && again.refreshToken !== refreshToken && again.seed === record.seed && !again.dead ? again : undefined;
        if (error instanceof OAuthError && error.error === 'invalid_grant') {
            if (newer && !retried) return fresh(newer, Date.now()) ? newer : refresh(context, credentials, runtime, { record: newer, from: newer }, turn, true);
            const dead: GrantRecord = { seed: record.seed, seeds: record.seeds, expiresAt: null, obtainedAt: Date.now(), dead: true };
            if (!(await runtime.store.replace(again, dead))) {
                // Another instance stored tokens since (one whose turn ran out, an authorization): they stand.
                const latest = await runtime.store.read();
                if (latest && usable(latest, undefined)) return latest;
                if (latest?.refreshToken && !latest.dead && latest.refreshToken !== refreshToken && !retried) {
                    return refresh(context, credentials, runtime, { record: latest, from: latest }, turn, true);
                }
            }
            throw authorizationRequired(
                `${PROVIDER} refused the refresh token of "${credentials.username}" (invalid_grant): authorize again in the server configuration.`,
            );
        }
        if (!retried && isSessionError(error) && (error.code === 'TIMEOUT' || error.code === 'NETWORK') && turn.hasTime(exchangeMs)) {
            // The provider may have rotated it and the reply was lost: whatever the store holds now is the best bet.
            return refresh(context, credentials, runtime, newer ? { record: newer, from: newer } : { record, from: again }, turn, true);
        }
        throw error;
    }
    const next = recordFrom(reply, record, refreshToken);
    let saved: boolean;
    try {
        saved = await turn.save(from, next);
    } catch (error) {
        // Rotated at the provider but not confirmed: not used (save before use), and written first once the store answers.
        runtime.state.set(UNSAVED, { rotatedFrom: refreshToken, record: next } satisfies UnsavedRotation);
        throw error;
    }
    return saved ? next : storedInstead(runtime, credentials);
}

/**
 * This turn ran out before its reply came (the process was paused) and the next holder stored a newer
 * chain: this reply is not used, the stored chain is.
 */
async function storedInstead(runtime: GrantRuntime, credentials: LoginCredentials): Promise<GrantRecord> {
    const stored = await runtime.store.read();
    if (stored && (stored.dead || usable(stored, undefined))) return stored;
    throw new SessionError(
        'GUARD_UNAVAILABLE',
        `The OAuth2 refresh of "${credentials.username}" came back after this instance's turn ran out (was the process paused?) and another instance stored newer tokens meanwhile: not used.`,
    );
}

/**
 * Writes a rotation the store missed, over the record it was rotated from or one declared dead since
 * (another instance sent the rotated-away token meanwhile); never over newer tokens. A store still
 * away fails this login (`GUARD_UNAVAILABLE`, nothing sent).
 */
async function saveUnsaved(runtime: GrantRuntime): Promise<void> {
    const unsaved = runtime.state.get(UNSAVED) as UnsavedRotation | undefined;
    if (!unsaved) return;
    const stored = await runtime.store.read();
    const replaceable = !stored || stored.dead || stored.refreshToken === unsaved.rotatedFrom;
    // A write that came first is read again on the next login.
    if (replaceable && !(await runtime.store.replace(stored, unsaved.record))) return;
    runtime.state.delete(UNSAVED);
}

function used(context: VendorContext, record: GrantRecord): LoginResult {
    const settings = context.settings as OAuthSettings;
    const token = record.accessToken ?? '';
    return {
        header: { name: settings.tokenHeader, value: settings.tokenTemplate.split('{{token}}').join(token), token },
        expiresAt: record.expiresAt,
        payload: {},
        found: {
            credential: [text('testLogin.place.accessToken')],
            expiry: [record.expiresAt === null ? text('testLogin.place.none') : text('testLogin.place.tokenReply', { name: 'expires_in' })],
        },
    };
}

/** No usable grant: a person must authorize. A device flow starts itself once per deploy. */
async function needsPerson(
    context: VendorContext,
    credentials: LoginCredentials,
    runtime: GrantRuntime,
    record: GrantRecord | undefined,
): Promise<LoginResult> {
    const settings = context.settings as OAuthSettings;
    // Once per deploy, also after a refused refresh token, unless another instance's code still waits: the status shows the code to enter.
    if (settings.grant === 'device_code') return used(context, await awaitDevice(context, credentials, record));
    if (record?.dead) {
        throw authorizationRequired(
            `${PROVIDER} refused the refresh token of "${credentials.username}" (invalid_grant): authorize again in the server configuration.`,
        );
    }
    if (settings.grant === 'refresh_token') throw authorizationRequired('No refresh token: paste one in the server configuration, or authorize.');
    throw authorizationRequired(`"${credentials.username}" is not authorized yet: press Authorize in the server configuration.`);
}
