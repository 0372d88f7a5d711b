// This index is the domain's whole public API: other domains import only what is listed here, and the
// option and result types of the functions listed are exported with them, used by name or not.
export type { EventSink, RegistryEvent } from './port.ts';
export { CLOUD_EVENT_TYPES, SIGNATURE_HEADER, signDelivery, toCloudEvent, verifyDelivery } from './format/cloudevent.ts';
export type { CloudEvent } from './format/cloudevent.ts';
export { WebhookSink } from './webhook/webhook-sink.ts';
export type { DeadLetter, WebhookEndpoint, WebhookSinkOptions } from './webhook/webhook-sink.ts';
