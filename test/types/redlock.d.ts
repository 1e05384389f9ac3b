// The part of redlock 4's API the tests use (the package ships no types).
declare module 'redlock' {
  interface Lock {
    resource: string | string[];
    value: string;
    expiration: number;
    unlock(): Promise<void>;
    extend(ttl: number): Promise<Lock>;
  }
  interface Options {
    driftFactor?: number;
    retryCount?: number;
    retryDelay?: number;
    retryJitter?: number;
  }
  class Redlock {
    constructor(clients: unknown[], options?: Options);
    lock(resource: string | string[], ttl: number): Promise<Lock>;
    static LockError: new (...args: unknown[]) => Error;
  }
  export = Redlock;
}
