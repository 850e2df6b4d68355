/**
 * Defaults of settings that lower layers also fall back to when a caller (a test, a bench)
 * gives no value. Config owns them; this module imports nothing, so any layer may use it.
 */

/** ebpf.ioCacheSlots: 304 KiB per CPU (2 halves x 1024 slots of 152 bytes). */
export const DEFAULT_IO_CACHE_SLOTS = 1024;

/** metrics.peerGroups: loopback and the private and link-local ranges; anything else is "external". */
export const DEFAULT_PEER_GROUPS: Readonly<Record<string, readonly string[]>> = {
  loopback: ['127.0.0.0/8', '::1/128'],
  private: ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '100.64.0.0/10', '169.254.0.0/16', 'fc00::/7', 'fe80::/10'],
};
