// Types derived from a ts-proto grpc-js service definition, so both the
// plugin's handler interface and the host's client follow the generated code
// with no hand-written per-RPC types.

/** One method of a generated service definition. */
// `any` defaults let every concrete definition match; `unknown` would make
// the serializer parameters contravariant and match none.
/* eslint-disable @typescript-eslint/no-explicit-any */
export interface MethodDefinitionShape<Req = any, Res = any> {
  path: string;
  requestStream: boolean;
  responseStream: boolean;
  requestSerialize: (value: Req) => Buffer;
  requestDeserialize: (bytes: Buffer) => Req;
  responseSerialize: (value: Res) => Buffer;
  responseDeserialize: (bytes: Buffer) => Res;
}

export type ServiceDefinitionShape = Record<string, MethodDefinitionShape>;

export type RequestOf<M> = M extends MethodDefinitionShape<infer Req, any> ? Req : never;
export type ResponseOf<M> = M extends MethodDefinitionShape<any, infer Res> ? Res : never;
/* eslint-enable @typescript-eslint/no-explicit-any */
