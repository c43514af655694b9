// Socket activation (sd_listen_fds): the listening socket systemd passed us, if any.

const SD_LISTEN_FDS_START = 3;

/**
 * The first inherited listening descriptor when $LISTEN_PID names this process and $LISTEN_FDS
 * is at least 1, else undefined. The variables are removed so children do not claim the socket.
 */
export function inheritedListener(env: NodeJS.ProcessEnv = process.env): number | undefined {
  const pid = Number(env.LISTEN_PID);
  const count = Number(env.LISTEN_FDS);
  delete env.LISTEN_PID;
  delete env.LISTEN_FDS;
  delete env.LISTEN_FDNAMES;
  return pid === process.pid && count >= 1 ? SD_LISTEN_FDS_START : undefined;
}
