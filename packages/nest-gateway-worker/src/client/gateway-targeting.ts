/**
 * Which gateways a call about uids or groups must reach. Without a backplane that is every listed gateway (the
 * full mesh, {@link FULL_MESH}); the Redis backplane's presence directory narrows it to the gateways that hold
 * the uids or groups, plus every gateway it cannot vouch for.
 */
export interface GatewayTargeting {
  /**
   * Every gateway a multi-gateway call reaches, from the listed ones and those with an open link: without a
   * backplane the listed ones (the registers' list); with one, also every linked gateway that is not listed (a
   * gateway cut off from Redis loses its lease, not its clients), except those that withdrew (a graceful stop).
   */
  universe(listed: readonly string[], linked: readonly string[]): string[];
  /** The gateways, out of `listed` (every gateway the call would otherwise reach), that may hold any of `uids`. */
  forUids(uids: readonly string[], listed: readonly string[]): Promise<string[]>;
  /** The same for groups. */
  forGroups(groups: readonly string[], listed: readonly string[]): Promise<string[]>;
  /**
   * The uids the directory knows to be online, and the gateways that must still be asked about the others
   * (those it cannot vouch for); null when the directory cannot answer (then every gateway is asked).
   */
  onlineUids(
    uids: readonly string[],
    listed: readonly string[],
  ): Promise<{ online: Set<string>; ask: string[] } | null>;
  /** This client bound `uid` to a client of the gateway at `address` (so its next sends include that gateway). */
  uidBound(uid: string, address: string): void;
  /** This client made a client of the gateway at `address` join `group`. */
  groupJoined(group: string, address: string): void;
  /**
   * Whether every sender now reaches the gateway at `address` with calls about the uid or group: the directory
   * names it for that name, or cannot vouch for it (then it gets every call). True without a directory (the mesh
   * reaches every gateway); null when the directory cannot answer now.
   */
  reaches(kind: 'uid' | 'group', name: string, address: string): Promise<boolean | null>;
}

/** No directory: every call about uids or groups goes to every listed gateway. */
export const FULL_MESH: GatewayTargeting = {
  universe: (listed) => [...listed],
  forUids: (_uids, listed) => Promise.resolve([...listed]),
  forGroups: (_groups, listed) => Promise.resolve([...listed]),
  onlineUids: () => Promise.resolve(null),
  uidBound: () => undefined,
  groupJoined: () => undefined,
  reaches: () => Promise.resolve(true),
};
