/** What an exchange is: a flow's request, or a login/logout that must never wait behind them. */
export type SlotKind = 'request' | 'session';

interface Waiter {
    kind: SlotKind;
    grant(release: () => void): void;
    fail(error: Error): void;
}

/**
 * At most `limit` exchanges of one server at once, so keep-alive sockets never exceed it: a burst
 * of messages queues here (FIFO) instead of opening a connection each. Logins and logouts go ahead
 * of queued requests and may use one slot beyond the limit, so they never wait behind a burst.
 */
export class ConnectionSlots {
    private active = 0;
    private readonly queue: Waiter[] = [];
    private closedWith: Error | undefined;

    constructor(private readonly limit: number) {}

    /**
     * Resolves with the function that frees the slot, once one is free; rejects with `onTimeout()`
     * after `timeoutMs` of waiting, or with the close error once requests are no longer taken.
     */
    acquire(kind: SlotKind, timeoutMs: number, onTimeout: () => Error): Promise<() => void> {
        if (kind === 'request' && this.closedWith) return Promise.reject(this.closedWith);
        const free = this.tryAcquire(kind);
        if (free) return Promise.resolve(free);
        return new Promise((resolve, reject) => {
            const timer = setTimeout(() => {
                this.remove(waiter);
                reject(onTimeout());
            }, timeoutMs);
            const waiter: Waiter = {
                kind,
                grant: (release) => {
                    clearTimeout(timer);
                    resolve(release);
                },
                fail: (error) => {
                    clearTimeout(timer);
                    reject(error);
                },
            };
            if (kind === 'session') {
                const firstRequest = this.queue.findIndex((queued) => queued.kind === 'request');
                this.queue.splice(firstRequest < 0 ? this.queue.length : firstRequest, 0, waiter);
            } else {
                this.queue.push(waiter);
            }
        });
    }

    /** The function that frees a slot taken at once, or undefined when the caller would have to wait. */
    tryAcquire(kind: SlotKind): (() => void) | undefined {
        if (kind === 'request' && this.closedWith) return undefined;
        if (this.active < this.capacity(kind) && (kind === 'session' || this.queue.length === 0)) return this.take();
        return undefined;
    }

    /** Requests waiting for a slot fail with `error`, and later ones at once; logins and logouts still go. */
    closeRequests(error: Error): void {
        this.closedWith = error;
        for (const waiter of this.queue.filter((queued) => queued.kind === 'request')) {
            this.remove(waiter);
            waiter.fail(error);
        }
    }

    private capacity(kind: SlotKind): number {
        return kind === 'session' ? this.limit + 1 : this.limit;
    }

    private take(): () => void {
        this.active++;
        let released = false;
        return () => {
            if (released) return;
            released = true;
            this.active--;
            this.next();
        };
    }

    private next(): void {
        while (this.queue.length && this.active < this.capacity(this.queue[0].kind)) {
            const waiter = this.queue.shift() as Waiter;
            waiter.grant(this.take());
        }
    }

    private remove(waiter: Waiter): void {
        const index = this.queue.indexOf(waiter);
        if (index >= 0) this.queue.splice(index, 1);
    }
}
