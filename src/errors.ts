// Errors that carry a decision rather than a bug.

/**
 * Start-up cannot go on (e.g. the RDB file is corrupt). The reason has already been logged
 * in Redis's words; the process exits 1 without a stack trace.
 */
export class StartupAbort extends Error {}

/**
 * A configured address could not be bound (Redis's listenToPort failing): the "Could not create
 * server TCP listening socket" warning is logged; at start-up `message` ("Failed listening on
 * port N (TCP), aborting.") is logged too and the server exits.
 */
export class ListenFailure extends Error {}
