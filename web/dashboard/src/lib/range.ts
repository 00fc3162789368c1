import { isoDay } from './format';

/** The default range: the last 30 days, through tomorrow (so today is in). */
export function defaultRange(): { from: string; to: string; granularity: 'day' | 'hour' } {
  const end = new Date(Date.now() + 86_400_000);
  return { from: isoDay(new Date(end.getTime() - 30 * 86_400_000)), to: isoDay(end), granularity: 'day' };
}

/** A bucket's label: the day, or the hour for hourly series. */
export function bucketLabel(iso: string, granularity: string): string {
  return granularity === 'hour' ? iso.slice(5, 13).replace('T', ' ') + 'h' : iso.slice(0, 10);
}
