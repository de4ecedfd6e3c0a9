/**
 * Node-RED answers a deploy (and prints "Server now running") before it has started the flows; it
 * logs "Started flows" once per start. Resolves once the log shows `count` starts (or after 30 s).
 */
export async function flowsStarted(red: { log(): string }, count: number): Promise<void> {
    for (let i = 0; i < 600 && red.log().split('Started flows').length - 1 < count; i++) await new Promise((resolve) => setTimeout(resolve, 50));
}
