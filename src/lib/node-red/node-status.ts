import type { Node, NodeStatus as StatusObject } from 'node-red';

import { formatDuration } from '../duration';
import { ErrorCode, SessionError } from '../errors';
import type { Session } from '../session/session';
import type { SessionManager, StateEvent } from '../session/session-manager';
import type { Translate } from './i18n';

const FAILURE_KEYS: Partial<Record<ErrorCode, string>> = {
    INVALID_CREDENTIALS: 'status.invalidCredentials',
    ACCOUNT_DISABLED: 'status.accountDisabled',
    PASSWORD_EXPIRED: 'status.passwordExpired',
    PASSWORD_POLICY: 'status.passwordExpired',
    AUTHORIZATION_REQUIRED: 'status.authorizationNeeded',
};
const COUNTDOWN_KEYS: Partial<Record<ErrorCode, string>> = {
    LOCKED_OUT: 'status.lockedOut',
    RATE_LIMITED: 'status.rateLimited',
};
/**
 * "requesting (n)" shows once requests have been in flight this long without a pause, and changes at
 * most this often: a status event (or a timer) per message would cost more than the request.
 */
const REQUESTING_INTERVAL_MS = 250;

/** "error: NETWORK refused :8443": the code, and the transport failure in a few words when known. */
export function errorStatusText(text: Translate, error: SessionError): string {
    const { code, reason } = error;
    if (!reason) return text('status.error', { code });
    const words = text(`status.reason.${reason.key}`, reason.port === undefined ? {} : { port: reason.port });
    return text('status.errorReason', { code, reason: words });
}

/**
 * A flow node's status: the state of the session it last used (the server's own at first), a
 * blue "requesting" while its requests are in flight, a countdown while logins are blocked.
 */
export class NodeStatus {
    private viewed: Session | undefined;
    private inFlight = 0;
    private countdown: NodeJS.Timeout | undefined;
    private requestingTimer: NodeJS.Timeout | undefined;
    /** When the node last went from no request in flight to one. */
    private busySince = 0;
    private shown = '';
    private unsubscribe: (() => void) | undefined;
    private readonly onState = (event: StateEvent): void => {
        if (event.session === this.viewed) this.render();
    };

    constructor(
        private readonly node: Node,
        private readonly text: Translate,
        private readonly manager: SessionManager | undefined,
        private readonly showRequests: boolean,
    ) {
        if (manager) {
            this.unsubscribe = manager.onState(this.onState);
            try {
                this.viewed = manager.ownSession();
            } catch {
                this.viewed = undefined;
            }
        }
        this.render();
    }

    view(session: Session): void {
        this.viewed = session;
    }

    begin(): void {
        if (this.inFlight++ === 0) this.busySince = Date.now();
        if (this.showRequests && !this.requestingTimer) this.armRequesting(REQUESTING_INTERVAL_MS);
    }

    end(): void {
        this.inFlight = Math.max(0, this.inFlight - 1);
        // While others are in flight the timer updates the count.
        if (this.inFlight === 0 || !this.showRequests) this.render();
    }

    /** An error that is not a session state (bad input, network): shown until the next change. */
    showError(error: SessionError): void {
        if (this.viewed?.lastError === error || this.inFlight > 0) return;
        this.set({ fill: 'red', shape: 'ring', text: errorStatusText(this.text, error) });
    }

    close(): void {
        this.unsubscribe?.();
        this.stopCountdown();
        this.stopRequestingTimer();
    }

    /**
     * One timer while requests are in flight (not one per msg): it shows "requesting (n)" once they
     * have been in flight for the interval without a pause, and the count at most once an interval.
     */
    private armRequesting(ms: number): void {
        this.requestingTimer = setTimeout(() => {
            this.requestingTimer = undefined;
            if (this.inFlight === 0) return;
            const busyFor = Date.now() - this.busySince;
            if (busyFor >= REQUESTING_INTERVAL_MS) this.render();
            this.armRequesting(busyFor >= REQUESTING_INTERVAL_MS ? REQUESTING_INTERVAL_MS : REQUESTING_INTERVAL_MS - busyFor);
        }, ms);
        this.requestingTimer.unref();
    }

    private stopRequestingTimer(): void {
        if (this.requestingTimer) clearTimeout(this.requestingTimer);
        this.requestingTimer = undefined;
    }

    private render(): void {
        this.stopCountdown();
        if (this.showRequests && this.inFlight > 0 && Date.now() - this.busySince >= REQUESTING_INTERVAL_MS) {
            const text = this.inFlight > 1 ? this.text('status.requestingCount', { count: this.inFlight }) : this.text('status.requesting');
            this.set({ fill: 'blue', shape: 'dot', text });
            return;
        }
        const session = this.viewed;
        if (!session) return this.set({});
        switch (session.state) {
            case 'idle':
                return this.set({});
            case 'loggingIn':
                return this.set({ fill: 'yellow', shape: 'ring', text: this.text('status.loggingIn') });
            case 'loggedIn':
                return session.passwordChanged
                    ? this.set({ fill: 'yellow', shape: 'dot', text: this.text('status.passwordChanged') })
                    : this.set({ fill: 'green', shape: 'dot', text: session.user });
            case 'loggedOut':
                return this.set({ fill: 'grey', shape: 'ring', text: this.text('status.loggedOut') });
            case 'failed':
                return this.renderFailure(session);
        }
    }

    private renderFailure(session: Session): void {
        const error = session.lastError;
        const code = error?.code ?? 'SERVER_ERROR';
        const countdownKey = COUNTDOWN_KEYS[code];
        const block = this.manager?.loginBlock(session);
        if (countdownKey && block) {
            this.set({ fill: 'red', shape: 'ring', text: this.text(countdownKey, { time: formatDuration(block.until - Date.now()) }) });
            this.countdown = setTimeout(() => this.render(), 1000);
            this.countdown.unref();
            return;
        }
        // The guard cannot record logins: say where, so the user can fix the file's location.
        if (code === 'GUARD_UNAVAILABLE' && this.manager) {
            return this.set({ fill: 'red', shape: 'ring', text: this.text('status.guardUnavailable', { path: this.manager.guardLocation }) });
        }
        if (error?.visit) {
            this.set({ fill: 'yellow', shape: 'ring', text: this.text('status.visit', { uri: error.visit.uri, code: error.visit.userCode }) });
            return;
        }
        const key = FAILURE_KEYS[code];
        this.set({ fill: 'red', shape: 'ring', text: key ? this.text(key) : error ? errorStatusText(this.text, error) : this.text('status.error', { code }) });
    }

    private stopCountdown(): void {
        if (this.countdown) clearTimeout(this.countdown);
        this.countdown = undefined;
    }

    /** Sends the status unless it is already the one shown (decided before scrubbing: the same text scrubs the same). */
    private set(status: StatusObject): void {
        const key = `${status.fill}|${status.shape}|${status.text}`;
        if (key === this.shown) return;
        this.shown = key;
        if (typeof status.text === 'string' && this.manager) status = { ...status, text: this.manager.scrubber.scrub(status.text) };
        this.node.status(status);
    }
}
