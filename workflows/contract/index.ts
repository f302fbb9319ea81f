/**
 * The workflow contract: everything the workflows and their callers (the API, the activities, the
 * worker) share, and nothing that does I/O. Both sides import this module; workflows/ imports
 * nothing from src/ or activities/.
 */
export * from './activity-types';
export * from './failures';
export * from './movement';
export * from './outcomes';
export * from './search-attributes';
export * from './webhooks';
