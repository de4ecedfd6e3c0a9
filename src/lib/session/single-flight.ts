/**
 * Shares one in-flight promise among every caller that asks while it runs, so N concurrent
 * messages that need a login cause exactly one login exchange. Cleared when it settles.
 */
export class SingleFlight<T> {
    private current: Promise<T> | undefined;

    get busy(): boolean {
        return this.current !== undefined;
    }

    /** Resolves once the task in flight (if any) has settled, whatever its outcome. */
    async settled(): Promise<void> {
        await this.current?.catch(() => undefined);
    }

    run(task: () => Promise<T>): Promise<T> {
        if (this.current) return this.current;
        const flight = task().finally(() => {
            if (this.current === flight) this.current = undefined;
        });
        this.current = flight;
        return flight;
    }
}
