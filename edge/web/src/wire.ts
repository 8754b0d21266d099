/** The only door to the wire contract: the browser imports schema/wire and nothing of the Worker. */
export * from '../../../schema/wire/index.js';
