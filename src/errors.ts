// Errors that carry a decision rather than a bug.

/**
 * Start-up cannot go on (e.g. the RDB file is corrupt). The reason has already been logged
 * in Redis's words; the process exits 1 without a stack trace.
 */
export class StartupAbort extends Error {}
