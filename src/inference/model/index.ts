export * from './engine.js';
export * from './manifest.js';
export * from './session.js';
