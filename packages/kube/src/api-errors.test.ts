import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ApiException } from '@kubernetes/client-node';
import { KubeApiError, httpStatusOf, isAlreadyExists, isConflict, isGone, isNotFound, kubeStatusOf, retryOnConflict } from './api-errors.js';

const statusBody = (code: number, reason: string, message: string): string =>
  JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', reason, message, code });

test('httpStatusOf reads ApiException.code, watch statusCode, and ignores Node error codes', () => {
  const cases: Array<[unknown, number | undefined]> = [
    [new ApiException(404, 'Unknown API Status Code!', statusBody(404, 'NotFound', 'x'), {}), 404],
    [Object.assign(new Error('Gone'), { statusCode: 410 }), 410],
    [Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }), undefined],
    [new Error('plain'), undefined],
    ['a string', undefined],
    [undefined, undefined],
    [{ code: 42 }, undefined],
  ];
  for (const [err, want] of cases) assert.equal(httpStatusOf(err), want);
});

test('predicates', () => {
  const notFound = new ApiException(404, 'm', statusBody(404, 'NotFound', 'pods "p" not found'), {});
  const exists = new ApiException(409, 'm', statusBody(409, 'AlreadyExists', 'pods "p" already exists'), {});
  const conflict = new ApiException(409, 'm', statusBody(409, 'Conflict', 'the object has been modified'), {});
  assert.equal(isNotFound(notFound), true);
  assert.equal(isNotFound(conflict), false);
  assert.equal(isConflict(exists), true);
  assert.equal(isConflict(conflict), true);
  assert.equal(isAlreadyExists(exists), true);
  assert.equal(isAlreadyExists(conflict), false);
  assert.equal(isGone(Object.assign(new Error('Gone'), { statusCode: 410 })), true);
});

test('kubeStatusOf parses JSON text and object bodies, and tolerates non-JSON', () => {
  assert.deepEqual(kubeStatusOf(new ApiException(403, 'm', statusBody(403, 'Forbidden', 'nope'), {})), {
    reason: 'Forbidden',
    message: 'nope',
    code: 403,
  });
  assert.deepEqual(kubeStatusOf({ code: 500, body: { reason: 'InternalError' } }), { reason: 'InternalError' });
  assert.equal(kubeStatusOf(new ApiException(502, 'm', '<html>bad gateway</html>', {})), undefined);
  assert.equal(kubeStatusOf(new Error('x')), undefined);
});

test('KubeApiError.from gives a short message, a stable code and keeps the cause', () => {
  const original = new ApiException(404, 'Unknown API Status Code!', statusBody(404, 'NotFound', 'pods "p" not found'), {
    'audit-id': 'abc',
  });
  const err = KubeApiError.from(original, 'get pod default/p');
  assert.equal(err.code, 'kube_not_found');
  assert.equal(err.status, 404);
  assert.equal(err.message, 'get pod default/p: HTTP 404 NotFound: pods "p" not found');
  assert.equal(err.cause, original);
  assert.equal(isNotFound(err), true);
  assert.equal(KubeApiError.from(err, 'again'), err);

  const table: Array<[unknown, string]> = [
    [new ApiException(409, 'm', statusBody(409, 'AlreadyExists', 'x'), {}), 'kube_already_exists'],
    [new ApiException(409, 'm', statusBody(409, 'Conflict', 'x'), {}), 'kube_conflict'],
    [new ApiException(403, 'm', '', {}), 'kube_forbidden'],
    [new ApiException(401, 'Unauthorized', undefined, {}), 'kube_unauthorized'],
    [new ApiException(422, 'm', statusBody(422, 'Invalid', 'x'), {}), 'kube_invalid'],
    [new ApiException(503, 'm', '', {}), 'kube_unavailable'],
    [new ApiException(418, 'm', '', {}), 'kube_api_error'],
    [Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6443\nmore'), { code: 'ECONNREFUSED' }), 'kube_unavailable'],
  ];
  for (const [input, code] of table) assert.equal(KubeApiError.from(input, 'x').code, code, String(input));
  assert.equal(
    KubeApiError.from(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6443\nstack-ish'), { code: 'ECONNREFUSED' }), 'list pods').message,
    'list pods: Error: connect ECONNREFUSED 127.0.0.1:6443',
  );
});

test('retryOnConflict retries update conflicts only, up to its attempts', async () => {
  const conflict = (): ApiException<string> => new ApiException(409, 'm', statusBody(409, 'Conflict', 'the object has been modified'), {});
  let calls = 0;
  assert.equal(await retryOnConflict(async () => (++calls < 3 ? Promise.reject(conflict()) : 'written')), 'written');
  assert.equal(calls, 3);

  calls = 0;
  await assert.rejects(retryOnConflict(async () => { calls++; throw conflict(); }, 4), (err) => isConflict(err));
  assert.equal(calls, 4, 'gives up after the attempts');

  calls = 0;
  const exists = new ApiException(409, 'm', statusBody(409, 'AlreadyExists', 'already exists'), {});
  await assert.rejects(retryOnConflict(async () => { calls++; throw exists; }), (err) => isAlreadyExists(err));
  await assert.rejects(retryOnConflict(async () => { calls++; throw new Error('boom'); }), /boom/);
  assert.equal(calls, 2, 'AlreadyExists and other errors are not retried');
});
