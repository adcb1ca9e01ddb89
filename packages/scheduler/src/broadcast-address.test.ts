import { test } from 'node:test';
import assert from 'node:assert/strict';
import { broadcastAddress } from './broadcast-address.js';

void test('broadcastAddress: the override wins', { timeout: 5000 }, () => {
  assert.equal(broadcastAddress({ override: 'sched.example:443', listenAddress: '127.0.0.1', hostIp: '10.0.0.1', port: 50006 }), 'sched.example:443');
});

void test('broadcastAddress: a loopback listen address is announced as is, IPv6 bracketed', { timeout: 5000 }, () => {
  for (const listen of ['localhost', '127.0.0.1', '[::1]']) {
    assert.equal(broadcastAddress({ override: undefined, listenAddress: listen, hostIp: '10.0.0.1', port: 50006 }), `${listen}:50006`);
  }
  assert.equal(broadcastAddress({ override: undefined, listenAddress: '::1', hostIp: '10.0.0.1', port: 7 }), '[::1]:7');
});

void test('broadcastAddress: otherwise the host IP (DAPR_HOST_IP), IPv6 bracketed', { timeout: 5000 }, () => {
  assert.equal(broadcastAddress({ override: undefined, listenAddress: '0.0.0.0', hostIp: '10.1.2.3', port: 50006 }), '10.1.2.3:50006');
  assert.equal(broadcastAddress({ override: undefined, listenAddress: '', hostIp: 'fd00::5', port: 50006 }), '[fd00::5]:50006');
  assert.equal(broadcastAddress({ override: undefined, listenAddress: '', hostIp: '[fd00::5]', port: 1 }), '[fd00::5]:1');
});

void test('broadcastAddress: without a host IP, some IPv4 address of this machine', { timeout: 5000 }, () => {
  const address = broadcastAddress({ override: undefined, listenAddress: '', hostIp: '', port: 50006 });
  assert.match(address, /^\d+\.\d+\.\d+\.\d+:50006$/);
});
