// Build-time stand-in for `undici`'s entry inside the bundle (scripts/build.mjs aliases it
// here): the same `Agent` and `request` from undici's own modules, without the ~60 other
// modules its index loads (fetch, WebSocket, caches, mocks, proxies, interceptors). It cuts
// undici's start-up from ~70 ms to ~25 ms. Tests run the sources against the real package.
'use strict';

const Agent = require('undici/lib/dispatcher/agent');
const Dispatcher = require('undici/lib/dispatcher/dispatcher');
const api = require('undici/lib/api');
const { InvalidArgumentError } = require('undici/lib/core/errors');

Object.assign(Dispatcher.prototype, api);

/** undici's top-level `request(url, options)`, for an explicit `options.dispatcher`. */
function request(url, options = {}) {
  const { dispatcher, ...rest } = options;
  if (!dispatcher || typeof dispatcher.request !== 'function') {
    throw new InvalidArgumentError('muvee-dingtalk passes an explicit dispatcher to every request');
  }
  const target = new URL(url);
  return dispatcher.request({
    ...rest,
    origin: target.origin,
    path: `${target.pathname}${target.search}`,
  });
}

module.exports = { Agent, Dispatcher, request };
