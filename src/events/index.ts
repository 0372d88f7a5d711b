export type { EventSink, RegistryEvent } from './port.ts';
export { CLOUD_EVENT_TYPES, SIGNATURE_HEADER, signDelivery, toCloudEvent, verifyDelivery } from './format/cloudevent.ts';
export type { CloudEvent } from './format/cloudevent.ts';
export { WebhookSink } from './webhook/webhook-sink.ts';
export type { DeadLetter, WebhookEndpoint, WebhookSinkOptions } from './webhook/webhook-sink.ts';
