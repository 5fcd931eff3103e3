// The change-feed contract lives in ./provider.ts (Provider.changeFeed); this module names it for readers.
export type { ChangeFeed, ChangeFeedSink, ChangeNotification, ChangeFeedSource } from './provider.ts';
export { CHANGE_FEED_SOURCES } from '../metrics/metrics.ts';
