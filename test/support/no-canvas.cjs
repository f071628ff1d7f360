// Preloaded (-r) into a child: resolving @napi-rs/canvas fails, as in the production image, which omits it.
// eslint-disable-next-line @typescript-eslint/no-require-imports -- a CommonJS preload for a child process
require('node:module').registerHooks({
  resolve(specifier, context, next) {
    if (specifier.startsWith('@napi-rs/canvas')) throw new Error('Cannot find module @napi-rs/canvas');
    return next(specifier, context);
  },
});
