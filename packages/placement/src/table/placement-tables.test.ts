import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildPlacementTables, DEFAULT_REPLICATION_FACTOR } from './placement-tables.js';
import { host, withEntities } from './host-fixtures.js';
import { placementService } from '@tsdapr/grpc';

void test('buildPlacementTables', async (t) => {
  const cases = [
    {
      name: 'no hosts: empty entries, version as decimal string',
      hosts: [],
      version: 0,
      want: { entries: {}, version: '0', replication_factor: 100 },
    },
    {
      name: 'one host per actor type it serves, keyed by host name, the Host as reported',
      hosts: [host('10.0.0.1:50002', withEntities('a', 'b')), host('10.0.0.2:50002', withEntities('b'))],
      version: 7,
      want: {
        entries: {
          a: { load_map: { '10.0.0.1:50002': host('10.0.0.1:50002', withEntities('a', 'b')) } },
          b: {
            load_map: {
              '10.0.0.1:50002': host('10.0.0.1:50002', withEntities('a', 'b')),
              '10.0.0.2:50002': host('10.0.0.2:50002', withEntities('b')),
            },
          },
        },
        version: '7',
        replication_factor: 100,
      },
    },
    {
      name: 'a name reported twice: the later one wins',
      hosts: [host('h:1', withEntities('a')), { ...host('h:1', withEntities('a')), id: 'newer' }],
      version: 1,
      want: { entries: { a: { load_map: { 'h:1': { ...host('h:1', withEntities('a')), id: 'newer' } } } }, version: '1', replication_factor: 100 },
    },
  ];
  for (const c of cases) {
    await t.test(c.name, () => {
      assert.deepEqual(buildPlacementTables(c.hosts, c.version, DEFAULT_REPLICATION_FACTOR), c.want);
    });
  }
});

void test('a table encodes with the upstream proto and reads back as daprd sees it', () => {
  const { service } = placementService();
  const method = service.ReportDaprStatus!;
  const tables = buildPlacementTables([host('10.0.0.1:50002', withEntities('myactor'))], 3, 100);
  const decoded = method.responseDeserialize(method.responseSerialize({ operation: 'update', version: 3, tables })) as Record<string, unknown>;
  assert.deepEqual(decoded, {
    operation: 'update',
    version: '3',
    tables: {
      version: '3',
      api_level: 0,
      replication_factor: '100',
      entries: {
        myactor: {
          hosts: {},
          sorted_set: [],
          total_load: '0',
          load_map: {
            '10.0.0.1:50002': {
              name: '10.0.0.1:50002',
              port: '0',
              load: '0',
              entities: ['myactor'],
              id: 'app-10-0-0-1-50002',
              pod: '',
              api_level: 20,
              namespace: 'default',
              operation: 'REPORT',
            },
          },
        },
      },
    },
  });
});
