import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createFrontEnd, type FrontEnd, isSwitchyardError, silentLogger } from '@switchyard/core';
import { createProxyHandler, expressProxy, koaProxy, type ProxyOptions } from '../src/index';

describe('proxy options', () => {
  let frontEnd: FrontEnd;

  before(async () => {
    frontEnd = await createFrontEnd({ store: 'memory://proxy-options-test', logger: silentLogger });
  });

  after(() => frontEnd.close());

  test('a missing front end is refused with a hint, by every front door', () => {
    for (const create of [createProxyHandler, expressProxy, koaProxy]) {
      assert.throws(
        () => create({} as ProxyOptions),
        (error) => isSwitchyardError(error, 'SWITCHYARD_ERR_INVALID_OPTION') && /createFrontEnd/.test(error.message),
      );
    }
  });

  test('timeouts and socket limits must be positive whole numbers', () => {
    for (const bad of [{ timeoutMs: 0 }, { timeoutMs: -5 }, { timeoutMs: 1.5 }, { maxSockets: 0 }, { idleSocketTimeoutMs: Number.NaN }]) {
      assert.throws(
        () => createProxyHandler({ frontEnd, ...bad }),
        (error) => isSwitchyardError(error, 'SWITCHYARD_ERR_INVALID_OPTION') && error.message.startsWith(Object.keys(bad)[0]!),
        JSON.stringify(bad),
      );
    }
    createProxyHandler({ frontEnd, timeoutMs: 5000, maxSockets: Number.POSITIVE_INFINITY, maxFreeSockets: 10 }).close();
  });

  test('upgradeGuard must be a function', () => {
    assert.throws(
      () => createProxyHandler({ frontEnd, upgradeGuard: 'maintenance' as unknown as ProxyOptions['upgradeGuard'] }),
      (error) => isSwitchyardError(error, 'SWITCHYARD_ERR_INVALID_OPTION') && error.message.startsWith('upgradeGuard'),
    );
    createProxyHandler({ frontEnd, upgradeGuard: () => true }).close();
  });

  test('site names are validated up front', () => {
    assert.throws(
      () => createProxyHandler({ frontEnd, site: 'Not A Site' }),
      (error) => isSwitchyardError(error, 'SWITCHYARD_ERR_INVALID_SITE'),
    );
    assert.throws(
      () => createProxyHandler({ frontEnd, sitesByHost: true, fallbackSite: 'bad/site' }),
      (error) => isSwitchyardError(error, 'SWITCHYARD_ERR_INVALID_SITE'),
    );
  });
});
