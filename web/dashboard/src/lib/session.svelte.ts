import type { components } from '../api/schema';

type Session = components['schemas']['DashboardSessionWire'];

/** The signed-in session (null when signed out); the app shows sign-in then. */
export const session = $state<{ current: Session | null; checked: boolean }>({
  current: null,
  checked: false,
});

/** True for the merchant's owner (keys, connections and payments are theirs). */
export function isOwner(): boolean {
  return session.current?.user.role === 'owner';
}
