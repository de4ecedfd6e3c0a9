import { randomUUID } from 'node:crypto';

import { CookieJar } from 'tough-cookie';

import { SessionError, isSessionError } from '../errors';
import { LoginGuard } from './login-guard';
import { SingleFlight } from './single-flight';
import type { LoginCredentials, LoginResult, SessionCredential, VendorAdapter, VendorContext } from '../vendors/adapter';

/** A credential from one successful login, with what is known about its lifetime. */
export interface LiveCredential extends SessionCredential {
    readonly loggedInAt: number;
    readonly expiresAt: number | null;
    readonly idleTimeoutMs?: number;
    lastUsedAt: number;
    readonly result: LoginResult;
    /** The login's warning has been shown to the user once. */
    warningShown?: boolean;
}

export type SessionState = 'idle' | 'loggingIn' | 'loggedIn' | 'failed' | 'loggedOut';

export interface SessionDeps {
    adapter: VendorAdapter;
    context: VendorContext;
    guard: LoginGuard;
    origin: string;
    coolDownMs: number;
    onState(session: Session, state: SessionState, error?: SessionError): void;
    onReplacedLogoutError(session: Session, error: unknown): void;
}

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
    /** The SmartServer password expired and was replaced by `newPassword`. */
    passwordChanged = false;
    state: SessionState = 'idle';
    lastError: SessionError | undefined;

    constructor(
        private credentials: LoginCredentials,
        private readonly deps: SessionDeps,
    ) {}

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

    /** Takes new credentials for this user; a changed password needs a fresh login. */
    updateCredentials(credentials: LoginCredentials): boolean {
        const changed = credentials.password !== this.credentials.password
            || credentials.newPassword !== this.credentials.newPassword;
        this.credentials = { ...credentials };
        return changed;
    }

    /** A credential that is alive and not due for renewal, logging in (once, shared) if needed. */
    current(forceLogin = false, now: number = Date.now()): Promise<LiveCredential> {
        const live = this.live;
        if (!forceLogin && live && !isDue(live, now)) return Promise.resolve(live);
        return this.loginFlight.run(() => this.login(live));
    }

    /**
     * The server refused `dead`: hand out the credential that replaced it, or log in once for all
     * the requests that saw the same refusal.
     */
    replace(dead: LiveCredential): Promise<LiveCredential> {
        if (this.live && this.live !== dead && !isDue(this.live, Date.now())) return Promise.resolve(this.live);
        if (this.live === dead) this.live = undefined;
        return this.loginFlight.run(() => this.login(undefined));
    }

    /** Ends the session on the server; one that is not logged in succeeds without a request. */
    async logout(): Promise<void> {
        // A login still in flight would leave a session behind: let it finish, then end it.
        await this.loginFlight.settled();
        const live = this.live;
        this.live = undefined;
        this.setState('loggedOut');
        if (live) await this.deps.adapter.logout(this.deps.context, live);
    }

    private async login(previous: LiveCredential | undefined): Promise<LiveCredential> {
        const { adapter, context, guard } = this.deps;
        const credentials = this.credentials;
        // The server settings are part of what was refused (a Commvault domain, a CM-Well scheme):
        // fixing them ends a cool-down just as a new password does.
        const fingerprint = LoginGuard.fingerprint([
            credentials.username,
            credentials.password,
            credentials.newPassword,
            JSON.stringify(context.settings),
        ]);
        try {
            guard.check(this.guardKey, fingerprint, credentials.username);
        } catch (error) {
            this.fail(error as SessionError);
            throw error;
        }
        this.setState('loggingIn');
        const credential: SessionCredential = { jar: new CookieJar() };
        let result: LoginResult;
        try {
            result = await adapter.login(context, credentials, credential);
        } catch (error) {
            const failure = isSessionError(error)
                ? error
                : new SessionError('SERVER_ERROR', `${adapter.label} login failed unexpectedly.`);
            guard.recordFailure(this.guardKey, failure, fingerprint, this.deps.coolDownMs);
            this.fail(failure);
            throw failure;
        }
        guard.recordSuccess(this.guardKey);
        if (result.passwordChanged && credentials.newPassword) {
            this.credentials = { username: credentials.username, password: credentials.newPassword };
            this.passwordChanged = true;
        }
        const now = Date.now();
        const live: LiveCredential = {
            ...credential,
            header: result.header,
            loggedInAt: now,
            lastUsedAt: now,
            expiresAt: result.expiresAt,
            idleTimeoutMs: result.idleTimeoutMs,
            result,
        };
        this.live = live;
        this.lastError = undefined;
        this.setState('loggedIn');
        if (previous) this.retire(previous);
        return live;
    }

    /** Logs out a credential that a proactive re-login replaced, without holding anyone up. */
    private retire(previous: LiveCredential): void {
        this.deps.adapter.logout(this.deps.context, previous).catch((error: unknown) => {
            this.deps.onReplacedLogoutError(this, error);
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
