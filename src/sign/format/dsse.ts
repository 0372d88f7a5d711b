/** DSSE envelope (https://github.com/secure-systems-lab/dsse) as stored by cosign. */
export interface DsseEnvelope {
  payloadType: string;
  /** base64 (standard) of the payload bytes. */
  payload: string;
  signatures: { keyid?: string; sig: string }[];
}

/** Payload type of in-toto statements. */
export const IN_TOTO_PAYLOAD_TYPE = 'application/vnd.in-toto+json';
/** Layer media type of a DSSE envelope in `.att` manifests. */
export const DSSE_ENVELOPE_MEDIA_TYPE = 'application/vnd.dsse.envelope.v1+json';

/** Pre-Authentication Encoding: the exact bytes a DSSE signature covers,
 *  `"DSSEv1" SP len(type) SP type SP len(body) SP body` with byte lengths. */
export function preAuthEncoding(payloadType: string, payload: Uint8Array): Buffer {
  const type = Buffer.from(payloadType, 'utf8');
  return Buffer.concat([Buffer.from(`DSSEv1 ${type.length} `), type, Buffer.from(` ${payload.length} `), payload]);
}

/** Builds an envelope from payload bytes and one signature. */
export function buildEnvelope(payloadType: string, payload: Uint8Array, signature: Uint8Array, keyid = ''): DsseEnvelope {
  return { payloadType, payload: Buffer.from(payload).toString('base64'), signatures: [{ keyid, sig: Buffer.from(signature).toString('base64') }] };
}
