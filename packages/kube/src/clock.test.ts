import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, connect, type Socket } from 'node:net';
import { once } from 'node:events';
import { systemClock } from './clock.js';

void test('systemClock: after a stall, data that arrived before the deadline is read before the timer fires', async (t) => {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => server.close());
  const accepted = once(server, 'connection') as Promise<[Socket]>;
  const client = connect((server.address() as { port: number }).port, '127.0.0.1');
  await once(client, 'connect');
  const [socket] = await accepted;
  t.after(() => {
    client.destroy();
    socket.destroy();
  });

  const order: string[] = [];
  socket.on('data', () => order.push('data'));
  const fired = new Promise<void>((resolve) => {
    systemClock.setTimer(10, () => {
      order.push('timer');
      resolve();
    });
  });
  client.write('ack');
  // The loop stalls past the deadline with the ack already in the socket buffer.
  const until = performance.now() + 60;
  while (performance.now() < until);
  await fired;
  assert.deepEqual(order, ['data', 'timer']);
});

void test('systemClock: a cancelled timer never fires', async () => {
  let fired = false;
  const timer = systemClock.setTimer(5, () => {
    fired = true;
  });
  timer.cancel();
  await new Promise((resolve) => setTimeout(resolve, 30));
  assert.equal(fired, false);
});
