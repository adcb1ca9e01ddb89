import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HttpMethod, RequestContext } from '@kubernetes/client-node';
import { requestOptions } from './request-options.js';

test('requestOptions sets an abort signal on the request through a middleware', async () => {
  assert.deepEqual(requestOptions({}), {});
  const controller = new AbortController();
  const options = requestOptions({ signal: controller.signal, timeoutMs: 60_000 });
  assert.equal(options.middlewareMergeStrategy, 'append');
  const middleware = options.middleware?.[0];
  assert.ok(middleware);
  const context = new RequestContext('https://example.invalid/api/v1/pods', HttpMethod.GET);
  const out = await middleware.pre(context).toPromise();
  const signal = out.getSignal();
  assert.ok(signal);
  assert.equal(signal.aborted, false);
  controller.abort();
  assert.equal(signal.aborted, true);
});
