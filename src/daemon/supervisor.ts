// Whether a service manager supervises this process (then it must not fork away).

/** True under systemd (or another supervisor that sets these), where -d must not fork away. */
export function supervised(env: NodeJS.ProcessEnv = process.env): boolean {
  return Boolean(env.NOTIFY_SOCKET || env.INVOCATION_ID);
}
