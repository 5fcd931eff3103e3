// @alicloud/mns ships no types: the part of its Client the change feed uses (mns-feed.ts).
declare module '@alicloud/mns' {
  interface MnsAnswer {
    readonly code: number;
    readonly headers: Record<string, unknown>;
    readonly body?: Record<string, unknown> | undefined;
  }
  class Client {
    constructor(accountId: string, opts: Record<string, unknown>);
    request(method: string, resource: string, type: string, body: string, attentions: string[], opts: Record<string, unknown>): Promise<MnsAnswer>;
  }
  export default Client;
}
