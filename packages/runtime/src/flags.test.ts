import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HelpRequested, parseFlags, type FlagSpec } from './flags.js';

const spec = {
  port: { type: 'int', default: 50001, help: 'port' },
  mode: { type: 'string', default: 'standalone', help: 'mode' },
  'enable-metrics': { type: 'bool', default: true, help: 'metrics' },
  ttl: { type: 'duration', default: '24h', help: 'ttl' },
  hosts: { type: 'list', default: [], help: 'hosts' },
  namespace: { type: 'string', default: 'default', env: 'NAMESPACE', help: 'ns' },
} as const satisfies Record<string, FlagSpec>;

test('defaults apply when nothing is given', () => {
  const flags = parseFlags(spec, []);
  assert.deepEqual(flags, { port: 50001, mode: 'standalone', 'enable-metrics': true, ttl: 86_400_000, hosts: [], namespace: 'default' });
});

test('Go flag forms: -x v, --x v, --x=v, bare booleans', () => {
  const flags = parseFlags(spec, ['-port', '1', '--mode=kubernetes', '--enable-metrics=false', '--ttl', '1h', '--hosts', 'a:1, b:2']);
  assert.equal(flags.port, 1);
  assert.equal(flags.mode, 'kubernetes');
  assert.equal(flags['enable-metrics'], false);
  assert.equal(flags.ttl, 3_600_000);
  assert.deepEqual(flags.hosts, ['a:1', 'b:2']);
});

test('environment fills flags that were not given; flags win', () => {
  assert.equal(parseFlags(spec, [], { NAMESPACE: 'dapr-system' }).namespace, 'dapr-system');
  assert.equal(parseFlags(spec, ['--namespace', 'x'], { NAMESPACE: 'dapr-system' }).namespace, 'x');
});

test('bad flags are errors that name the flag', () => {
  const cases: Array<[string[], RegExp]> = [
    [['--nope'], /unknown flag "--nope"/],
    [['--port', 'abc'], /"--port": "abc" is not an integer/],
    [['--port'], /"--port" needs a value/],
    [['--enable-metrics=maybe'], /not a boolean/],
    [['--ttl', '5d'], /"--ttl": invalid duration/],
    [['stray'], /unexpected argument "stray"/],
  ];
  for (const [argv, message] of cases) assert.throws(() => parseFlags(spec, argv), message, argv.join(' '));
});

test('--help returns the usage text', () => {
  assert.throws(() => parseFlags(spec, ['--help']), (err: unknown) => err instanceof HelpRequested && err.usage.includes('--port (int, default "50001")'));
});
