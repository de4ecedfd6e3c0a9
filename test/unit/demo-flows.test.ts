import assert from 'node:assert';
import path from 'node:path';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const demo = require('../../scripts/start.js') as {
    readExampleFlows(rootDir: string, options?: { withDashboard?: boolean; quiet?: boolean }): Array<Record<string, any>>;
    demoFlows(examples: Array<Record<string, any>>, options: { rootDir: string; simulators: object }): { flows: Array<Record<string, any>> };
};

const ROOT = path.join(__dirname, '..', '..');

describe('the demo flows', function () {
    const examples = demo.readExampleFlows(ROOT, { withDashboard: true, quiet: true });
    const { flows } = demo.demoFlows(examples, { rootDir: ROOT, simulators: {} });

    it('share no node id with any example, so every example imports into the running demo without "Import copy"', function () {
        const exampleIds = new Set(examples.map((n) => n.id));
        assert.deepStrictEqual(
            flows.filter((n) => exampleIds.has(n.id)).map((n) => `${n.type} ${n.id}`),
            [],
        );
    });

    it('serve one dashboard: one ui-base, which every page and widget names', function () {
        assert.ok(examples.filter((n) => n.type === 'ui-base').length > 1, 'the dashboard examples each bring their own ui-base');
        const bases = flows.filter((n) => n.type === 'ui-base');
        assert.strictEqual(bases.length, 1);
        const named = flows.filter((n) => typeof n.ui === 'string' && n.ui !== '');
        assert.ok(named.some((n) => n.type === 'ui-page'));
        assert.deepStrictEqual([...new Set(named.map((n) => n.ui))], [bases[0].id]);
    });

    it('keep every other reference inside the demo flows', function () {
        const ids = new Set(flows.map((n) => n.id));
        const dangling = flows.flatMap((n) =>
            ['z', 'server', 'tls', 'group', 'page', 'theme']
                .filter((key) => typeof n[key] === 'string' && n[key] !== '' && !ids.has(n[key]))
                .map((key) => `${n.type}.${key}`),
        );
        assert.deepStrictEqual(dangling, []);
    });
});
