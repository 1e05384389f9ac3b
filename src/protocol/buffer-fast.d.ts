// Node's Buffer has un-argument-checked latin1/utf8 read and write methods (they back
// toString/write); @types/node does not declare them. The reply and request hot paths use
// them to skip the encoding dispatch of the public methods.
export {};

declare global {
  interface Buffer {
    latin1Slice(start: number, end: number): string;
    latin1Write(text: string, offset: number): number;
    utf8Write(text: string, offset: number): number;
  }
}
