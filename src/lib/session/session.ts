import { randomUUID } from 'node:crypto';

import { CookieJar } from 'tough-cookie';

import { formatDuration } from '../duration';
import { SessionError, isSessionError } from '../errors';
import { KnownSecrets, SecretScrubber } from '../secret-scrubber';
import { LoginGuard, loginContext } from './login-guard';
import { SharedAccount, SharedSessionFound } from './shared-account';
import { shareCredential, sharedCredential } from './shared-credential';
import { SingleFlight } from './single-flight';
import type { SharedSessionRecord } from '../store/redis';
import { identitySettingNames } from '../vendors/settings';
import type { LoginCredentials, LoginResult, SessionCredential, VendorAdapter, VendorContext } from '../vendors/adapter';
import { withLoginHint } from '../vendors/login-hint';
import type { HttpResponse } from '../http/http-client';

/** A credential from one successful login, with what is known about its lifetime. */
export interface LiveCredential extends SessionCredential {
    readonly loggedInAt: number;
    readonly expiresAt: number | null;
    readonly idleTimeoutMs?: number;
    lastUsedAt: number;
    readonly result: LoginResult;
    /** The login's warning has been shown to the user once. */
    warningShown?: boolean;
    /** Why the product stopped using it: a logout ended the session, or a newer login replaced it. */
    endedBy?: 'logout' | 'replaced';
    /** How many logouts of its session came before its login (a later logout ended it too, replaced or not). */
    readonly logoutsBefore?: number;
    /** The server accepted a request sent with it: a refusal now means the session ended, not that it never worked. */
    served?: boolean;
    /** With a store that shares the session: the fence of the fleet's credential this is (0: not shared). */
    readonly sharedFence?: number;
    /** Another instance of the fleet logged in with it: that one logs it out, not this one. */
    readonly adopted?: boolean;
}

/** A credential lent to one request as it is written; `finished` with its reply once it arrived (none: it failed). */
export interface CredentialLease {
    credential: LiveCredential;
    finished(response?: HttpResponse): void;
}

export type SessionState = 'idle' | 'loggingIn' | 'loggedIn' | 'failed' | 'loggedOut';

export interface SessionDeps {
    adapter: VendorAdapter;
    context: VendorContext;
    /** What logouts are sent through: unlike `context`, it still sends once the config node began closing. */
    logoutContext?: VendorContext;
    guard: LoginGuard;
    origin: string;
    /** Takes this session's secrets out of every text it reports; remembers them once they are retired. */
    scrubber?: SecretScrubber;
    /** The fleet's store (`rest-session-store`), when the server names one: a login must pass it too. */
    shared?: SharedAccount;
    onState(session: Session, state: SessionState, error?: SessionError): void;
    onReplacedLogoutError(session: Session, error: unknown): void;
    /** Something the user should know that no msg carries (a lifetime too short to trust). */
    onWarning?(session: Session, message: string): void;
    /** A replaced credential is logged out once its requests in flight have finished, at most this long after. */
    drainTimeoutMs?: number;
}

/** A server that refuses a fresh credential gets at most one re-login per this long. */
export const RELOGIN_INTERVAL_MS = 30_000;

/** A reported lifetime shorter than this is not trusted: renewing ahead of it would mean a login per msg. */
export const MIN_TRUSTED_LIFETIME_MS = 10_000;

/** Moves whatever rides `previous` (a live updates socket) onto `fresh`; awaited before `previous` is logged out. */
export type Handover = (fresh: LiveCredential, previous: LiveCredential) => Promise<void>;

/** Log in again this long before a known expiry: a tenth of the lifetime, at most a minute. */
export function refreshMargin(lifetimeMs: number): number {
    return Math.min(60_000, Math.max(0, lifetimeMs) / 10);
}

/**
 * One user's session on one server: logs in on demand (one login for any number of waiting
 * messages), knows when its credential expires, replaces a dead one once, and logs out.
 */
export class Session {
    readonly id = randomUUID();
    private live: LiveCredential | undefined;
    private readonly loginFlight = new SingleFlight<LiveCredential>();
    /** One fetch of a new write token at a time, shared by every write that saw the old one refused. */
    private readonly writeTokenFlight = new SingleFlight<LiveCredential>();
    private readonly handovers = new Set<Handover>();
    /** The SmartServer password expired and was replaced by `newPassword`. */
    passwordChanged = false;
    state: SessionState = 'idle';
    lastError: SessionError | undefined;
    /** Requests and logins of this session in flight (kept by the manager: a busy session is never evicted). */
    inUse = 0;
    /** When a msg last used it (for evicting the idle ones, oldest first). */
    lastActiveAt = Date.now();
    private ended = false;
    /** When the last re-login after a refusal started. */
    private reloginAt = -Infinity;
    /** Logouts of this session so far: a credential from before the last one was ended by it. */
    private logouts = 0;
    /** The fleet's credential the server refused: the next login invalidates it for every instance first. */
    private refusedFence = 0;
    /**
     * A refused credential whose replacement failed (the store or the provider was unreachable): the
     * next login still takes over from it, so a grant does not hand out the same refused token again.
     */
    private unreplaced: LiveCredential | undefined;
    /** Logouts of replaced credentials still in flight: closing waits for them. */
    private readonly retiring = new Set<Promise<void>>();
    /** Requests written with each credential and not yet answered: its logout waits for them. */
    private readonly inFlight = new Map<LiveCredential, number>();
    /** Waits for a credential's requests in flight to finish, each with the call that ends it. */
    private readonly draining = new Map<LiveCredential, Set<() => void>>();

    private readonly scrubber: SecretScrubber;

    constructor(
        private credentials: LoginCredentials,
        private readonly deps: SessionDeps,
    ) {
        this.scrubber = deps.scrubber ?? new SecretScrubber();
    }

    get user(): string {
        return this.credentials.username;
    }

    get guardKey(): string {
        return LoginGuard.key(this.deps.origin, this.credentials.username);
    }

    /** The credential in use, if logged in (it may be about to expire). */
    get credential(): LiveCredential | undefined {
        return this.live;
    }

    /** The password these credentials carry is the one this session logs in with. */
    hasPassword(credentials: LoginCredentials): boolean {
        return credentials.password === this.credentials.password;
    }

    /** The password(s), cookies and token of this session, for the scrubber. */
    knownSecrets(): KnownSecrets[] {
        const { username, password, newPassword, refreshToken } = this.credentials;
        const own: KnownSecrets = { username, passwords: [password, newPassword], tokens: [refreshToken] };
        return this.live ? [own, credentialSecrets(this.live, username)] : [own];
    }

    /** Takes new credentials for this user; a changed password needs a fresh login. */
    updateCredentials(credentials: LoginCredentials): boolean {
        const changed = credentials.password !== this.credentials.password || credentials.newPassword !== this.credentials.newPassword;
        if (changed) this.scrubber.remember(this.knownSecrets()[0]);
        this.credentials = { ...credentials };
        return changed;
    }

    /** A credential that is alive and not due for renewal, logging in (once, shared) if needed. */
    current(forceLogin = false, now: number = Date.now()): Promise<LiveCredential> {
        if (this.ended) return Promise.reject(stopped());
        const live = this.live;
        if (!forceLogin && live && !isDue(live, now)) return Promise.resolve(live);
        return this.loginFlight.run(() => this.login(live, live ?? this.unreplaced));
    }

    /** Changes with every logout: a msg that arrived before a logout never logs in again after it. */
    get logoutCount(): number {
        return this.logouts;
    }

    /**
     * The credential for a request about to be written (after its wait for a connection), checked
     * for expiry now; counted in flight until `finished`. `arrivedAt`: the {@link logoutCount} when
     * its msg arrived; `after`: the refused credential a replay follows. A logout since either ends
     * the request (`SESSION_REJECTED`).
     */
    async lease(arrivedAt: number, after?: LiveCredential): Promise<CredentialLease> {
        if (arrivedAt !== this.logouts || (after && this.loggedOutSince(after))) throw loggedOut(this.user);
        const credential = await this.current();
        this.inFlight.set(credential, (this.inFlight.get(credential) ?? 0) + 1);
        let done = false;
        return {
            credential,
            finished: (response) => {
                if (done) return;
                done = true;
                if (response && !this.deps.adapter.isSessionRejected(response)) credential.served = true;
                const left = (this.inFlight.get(credential) ?? 1) - 1;
                if (left > 0) return void this.inFlight.set(credential, left);
                this.inFlight.delete(credential);
                for (const stopWaiting of [...(this.draining.get(credential) ?? [])]) stopWaiting();
            },
        };
    }

    /**
     * The server refused `dead`: hand out the credential that replaced it, or log in once for all
     * the requests that saw the same refusal (the refused credential is logged out). A session that
     * served requests has simply ended: it is replaced at once. A server that refuses fresh
     * credentials before accepting any request gets one re-login per {@link RELOGIN_INTERVAL_MS}.
     */
    async replace(dead: LiveCredential, now?: number): Promise<LiveCredential> {
        // Whether the server ever accepted `dead` may be told by the replies still to come for it.
        if (!dead.served && this.inFlight.has(dead)) await this.drained(dead);
        return this.replaceNow(dead, now ?? Date.now());
    }

    private replaceNow(dead: LiveCredential, now: number): Promise<LiveCredential> {
        if (this.ended) return Promise.reject(stopped());
        const live = this.live;
        if (live && live !== dead && !isDue(live, now)) return Promise.resolve(live);
        if (!this.loginFlight.busy) {
            if (!dead.served && now - this.reloginAt < RELOGIN_INTERVAL_MS) {
                return Promise.reject(
                    new SessionError(
                        'SESSION_REJECTED',
                        `${this.deps.adapter.label} refused the request right after a fresh login of "${this.user}": not logging in again within ${formatDuration(RELOGIN_INTERVAL_MS)}.`,
                    ),
                );
            }
            this.reloginAt = now;
        }
        if (dead.sharedFence) this.refusedFence = dead.sharedFence;
        this.unreplaced = dead;
        if (live === dead) {
            this.live = undefined;
            this.retire(dead);
        }
        return this.loginFlight.run(() => this.login(this.live, dead));
    }

    /**
     * The server refused a write sent with `stale` as the write token of `refused`: the credential to
     * replay it with. The token is fetched again once for every write that saw it refused (with the
     * same session when the vendor can; else by one new login, as {@link replace}).
     */
    renewWriteToken(refused: LiveCredential, stale: string | undefined, now: number = Date.now()): Promise<LiveCredential> {
        if (this.ended) return Promise.reject(stopped());
        if (refused !== this.live) return this.replace(refused, now);
        if (refused.writeToken && refused.writeToken.value !== stale) return Promise.resolve(refused);
        const fetch = this.deps.adapter.fetchWriteToken;
        if (!fetch) return this.replace(refused, now);
        return this.writeTokenFlight.run(async () => {
            const fetched = await fetch.call(this.deps.adapter, this.deps.context, refused);
            if (!fetched) return this.replace(refused);
            this.takeWriteToken(refused, fetched.value, fetched.name);
            return refused;
        });
    }

    /** A reply handed over a new write token for this credential: later writes carry it. */
    takeWriteToken(credential: LiveCredential, value: string, name = credential.writeToken?.name): void {
        const token = credential.writeToken;
        if (token?.value === value || name === undefined) return;
        // Errors may still quote the old one.
        if (token) this.scrubber.remember({ tokens: [token.value] });
        credential.writeToken = { name, value };
    }

    /**
     * A logout ended this credential: it was live then, or a renewal had replaced it before (a
     * request sent with it may still be in flight and must not log in again after the logout).
     */
    loggedOutSince(credential: LiveCredential): boolean {
        return credential.endedBy === 'logout' || (credential.logoutsBefore ?? 0) !== this.logouts;
    }

    /** No more logins for this session: its config node is closing (replaced credentials are logged out now). */
    end(): void {
        this.ended = true;
        for (const waits of [...this.draining.values()]) for (const stopWaiting of [...waits]) stopWaiting();
        this.deps.shared?.stopHeartbeat();
    }

    /** Registers a handover run after each renewal, before the old credential is logged out; returns its removal. */
    onHandover(handover: Handover): () => void {
        this.handovers.add(handover);
        return () => this.handovers.delete(handover);
    }

    /** Ends the session on the server; one that is not logged in succeeds without a request. */
    async logout(): Promise<void> {
        // A login still in flight would leave a session behind: let it finish, then end it.
        await this.loginFlight.settled();
        const live = this.live;
        this.live = undefined;
        this.logouts++;
        this.setState('loggedOut');
        if (live) {
            live.endedBy = 'logout';
            // A logout error may echo the cookie or token: it must still be known once the session forgot it.
            this.scrubber.remember(credentialSecrets(live, this.user));
            const shared = this.deps.shared;
            const logout = (): Promise<void> => this.deps.adapter.logout(this.deps.logoutContext ?? this.deps.context, live);
            // The fleet's session is logged out only by the last instance that leaves it.
            if (shared && live.sharedFence) await shared.leave(logout);
            else await logout();
        }
    }

    /** Resolves once the logouts of replaced credentials have ended, whatever their outcome. */
    async retired(): Promise<void> {
        await Promise.all([...this.retiring]);
    }

    /** `replacing`: the credential this login takes over from (due, forced out or refused), for the adapter. */
    private async login(previous: LiveCredential | undefined, replacing: LiveCredential | undefined = previous): Promise<LiveCredential> {
        const { adapter, context, guard, shared } = this.deps;
        const credentials = this.credentials;
        const credential: SessionCredential = { jar: new CookieJar() };
        let result: LoginResult;
        let sharedFence = 0;
        if (shared && this.refusedFence) {
            await shared.invalidate(this.refusedFence);
            this.refusedFence = 0;
        }
        // Every write of a fleet login checks its lease; a grant that renews itself (OAuth2) is fenced by
        // its own fleet lease instead, and its device flow polls for as long as a person takes.
        const leaseCheck = shared && !context.grant ? (): Promise<void> => shared.assertLease() : undefined;
        const send = async (): Promise<LoginResult> => {
            // Its turn may come after its config node began closing (it waited for another login of the account).
            if (this.ended) throw stopped();
            shared?.assertTurn();
            this.setState('loggingIn');
            const sent = await adapter.login(loginContext(context, leaseCheck), credentials, credential, replacing).catch((error: unknown) => {
                this.scrubber.remember(credentialSecrets(credential, credentials.username));
                throw withLoginHint(
                    isSessionError(error) ? this.scrubber.scrubError(error) : new SessionError('SERVER_ERROR', `${adapter.label} login failed unexpectedly.`),
                    adapter,
                    context.settings,
                );
            });
            // The fleet gets the credential while this instance still holds the lease.
            if (shared?.sharesSession) {
                const { value, ttlMs } = shareCredential(credential, sent, Date.now());
                sharedFence = await shared.publish(value, ttlMs);
            }
            return sent;
        };
        const fingerprint = credentialFingerprint(adapter, context, credentials);
        try {
            // A login must pass this instance's guard and, with a store, the fleet's.
            result = await guard.attempt(
                this.guardKey,
                fingerprint,
                credentials.username,
                shared ? () => shared.guard.attempt(this.guardKey, fingerprint, credentials.username, send) : send,
            );
        } catch (error) {
            if (error instanceof SharedSessionFound) return this.adopt(error.record, previous);
            this.fail(error as SessionError);
            throw error;
        }
        if (result.passwordChanged && credentials.newPassword) {
            this.scrubber.remember({ username: credentials.username, passwords: [credentials.password] });
            this.credentials = { username: credentials.username, password: credentials.newPassword };
            this.passwordChanged = true;
        }
        const now = Date.now();
        const { scrubber } = this;
        // A reply that echoes the request (or sets the cookie in its body) must not reach msg.payload.
        scrubber.remember(credentialSecrets({ ...credential, header: result.header, writeToken: result.writeToken }, credentials.username));
        result = { ...result, payload: scrubber.scrubDeep(result.payload), warning: result.warning && scrubber.scrub(result.warning) };
        const lifetime = trustedLifetime(result, now);
        if (lifetime.distrusted !== undefined) {
            this.deps.onWarning?.(
                this,
                `${adapter.label} reported a session lifetime under ${formatDuration(MIN_TRUSTED_LIFETIME_MS)} (${lifetime.distrusted} ms) for "${credentials.username}": not trusted, the session's end is found out by a refused request.`,
            );
        }
        const live: LiveCredential = {
            ...credential,
            header: result.header,
            // Its own copy: a renewal changes this credential's token, never the login result's.
            writeToken: result.writeToken && { ...result.writeToken },
            loggedInAt: now,
            lastUsedAt: now,
            expiresAt: lifetime.expiresAt,
            idleTimeoutMs: lifetime.idleTimeoutMs,
            result,
            logoutsBefore: this.logouts,
            sharedFence,
        };
        this.live = live;
        this.unreplaced = undefined;
        this.lastError = undefined;
        this.setState('loggedIn');
        if (previous) this.retire(previous, live);
        return live;
    }

    /** Uses the fleet's credential that another instance logged in with: nothing is sent. */
    private adopt(record: SharedSessionRecord, previous: LiveCredential | undefined): LiveCredential {
        const found = sharedCredential(record.value);
        if (!found) {
            const error = new SessionError('SERVER_ERROR', 'The shared session in the session store could not be read.');
            this.fail(error);
            throw error;
        }
        const now = Date.now();
        const { result } = found;
        const live: LiveCredential = {
            ...found.credential,
            loggedInAt: found.loggedInAt,
            lastUsedAt: now,
            expiresAt: result.expiresAt,
            idleTimeoutMs: result.idleTimeoutMs,
            result,
            logoutsBefore: this.logouts,
            sharedFence: record.fence,
            adopted: true,
        };
        this.scrubber.remember(credentialSecrets(live, this.user));
        this.live = live;
        this.unreplaced = undefined;
        this.lastError = undefined;
        this.deps.shared?.held(record.fence);
        this.setState('loggedIn');
        if (previous) this.retire(previous, live);
        return live;
    }

    /**
     * Logs out a credential that a re-login replaced (once), without holding anyone up; a failure is
     * reported. After a renewal the handovers move what rides it onto `fresh` first. A credential
     * another instance of the fleet logged in with is left to it.
     */
    private retire(previous: LiveCredential, fresh?: LiveCredential): void {
        if (previous.endedBy) return;
        previous.endedBy = 'replaced';
        this.scrubber.remember(credentialSecrets(previous, this.user));
        const moves = fresh ? [...this.handovers].map((handover) => handover(fresh, previous)) : [];
        const logout = Promise.allSettled([...moves, this.drained(previous)])
            .then(() => (previous.adopted ? undefined : this.deps.adapter.logout(this.deps.logoutContext ?? this.deps.context, previous)))
            .catch((error: unknown) => {
                this.deps.onReplacedLogoutError(this, error);
            });
        this.retiring.add(logout);
        void logout.finally(() => this.retiring.delete(logout));
    }

    /** Resolves once no request written with `credential` is in flight, at most the drain timeout later (at once when closing). */
    private drained(credential: LiveCredential): Promise<void> {
        if (!this.inFlight.has(credential) || this.ended) return Promise.resolve();
        let waits = this.draining.get(credential);
        if (!waits) this.draining.set(credential, (waits = new Set()));
        const all = waits;
        return new Promise((resolve) => {
            const stopWaiting = (): void => {
                clearTimeout(timer);
                all.delete(stopWaiting);
                if (!all.size && this.draining.get(credential) === all) this.draining.delete(credential);
                resolve();
            };
            const timer = setTimeout(stopWaiting, this.deps.drainTimeoutMs ?? 0);
            all.add(stopWaiting);
        });
    }

    private fail(error: SessionError): void {
        this.lastError = error;
        this.setState('failed', error);
    }

    private setState(state: SessionState, error?: SessionError): void {
        this.state = state;
        this.deps.onState(this, state, error);
    }
}

function loggedOut(user: string): SessionError {
    return new SessionError('SESSION_REJECTED', `The session of "${user}" was logged out while the request was in flight.`);
}

/**
 * The lifetime a login reported, unless it is under {@link MIN_TRUSTED_LIFETIME_MS}: then the
 * expiry is unknown (`distrusted` holds the reported length, for the warning).
 */
function trustedLifetime(result: LoginResult, now: number): { expiresAt: number | null; idleTimeoutMs?: number; distrusted?: number } {
    const absolute = result.expiresAt === null ? undefined : result.expiresAt - now;
    const idle = result.idleTimeoutMs;
    const tooShort = [absolute, idle].find((length) => length !== undefined && length < MIN_TRUSTED_LIFETIME_MS);
    if (tooShort === undefined) return { expiresAt: result.expiresAt, idleTimeoutMs: idle };
    return { expiresAt: null, distrusted: Math.max(0, tooShort) };
}

function stopped(): SessionError {
    return new SessionError('CONFIG', 'The server configuration was stopped (redeploy or shutdown).');
}

/** The cookies in a credential's jar and its token header, as the scrubber knows them. */
function credentialSecrets(credential: SessionCredential, username: string): KnownSecrets {
    const cookies = (credential.jar.serializeSync()?.cookies ?? []).map((cookie) => ({ key: String(cookie.key), value: String(cookie.value ?? '') }));
    const header = credential.header;
    return { username, cookies, authorizations: header ? [header.value] : [], tokens: [header?.token, credential.writeToken?.value] };
}

/**
 * What the guard cools down after a rejection: the user, the passwords and the settings the vendor
 * declares part of the login identity, nothing else (a timeout or a format is not who logs in).
 */
export function credentialFingerprint(adapter: VendorAdapter, context: VendorContext, credentials: LoginCredentials): string {
    const settings = context.settings as unknown as Record<string, unknown>;
    const identity = identitySettingNames(adapter.settings ?? {}).map((name) => `${name}=${String(settings[name])}`);
    return LoginGuard.fingerprint([credentials.username, credentials.password, credentials.newPassword, ...identity]);
}

/** When this credential stops being usable: the earlier of its absolute and idle expiry. */
export function expiryOf(live: LiveCredential): number | null {
    const idleEnd = live.idleTimeoutMs ? live.lastUsedAt + live.idleTimeoutMs : null;
    if (live.expiresAt === null) return idleEnd;
    return idleEnd === null ? live.expiresAt : Math.min(live.expiresAt, idleEnd);
}

/** Known to expire (within the margin) before a request could use it. */
function isDue(live: LiveCredential, now: number): boolean {
    const expiry = expiryOf(live);
    if (expiry === null) return false;
    const lifetime = live.idleTimeoutMs && expiry !== live.expiresAt ? live.idleTimeoutMs : expiry - live.loggedInAt;
    return now >= expiry - refreshMargin(lifetime);
}
