/** Reconnect delays: d starts at 1 s and doubles to 60 s; each wait is drawn between d/2 and d. */
export class Backoff {
    private delay: number;

    constructor(
        private readonly firstMs = 1000,
        private readonly maxMs = 60_000,
        private readonly random: () => number = Math.random,
    ) {
        this.delay = firstMs;
    }

    /** The next wait, in ms; the one after it may be twice as long. */
    next(): number {
        const d = this.delay;
        this.delay = Math.min(this.maxMs, d * 2);
        return d / 2 + this.random() * (d / 2);
    }

    /** A connection worked: the next failure waits the shortest again. */
    reset(): void {
        this.delay = this.firstMs;
    }
}
