// Build-time helper (scripts/build.mjs rewrites a few `require`s of dependencies to use it):
// a stand-in that loads the real module on first use, so a builtin a command never touches
// (child_process in commander, crypto in dotenv, http2 in undici) costs nothing
// at start-up. Works for modules used as objects (`x.spawn()`) and as functions (`connectH2()`).
'use strict';

module.exports = function lazy(load) {
  let loaded;
  const real = () => (loaded ??= load());
  return new Proxy(function lazyModule() {}, {
    apply: (_target, self, args) => Reflect.apply(real(), self, args),
    construct: (_target, args) => Reflect.construct(real(), args),
    get: (_target, key) => real()[key],
    has: (_target, key) => key in real(),
  });
};
