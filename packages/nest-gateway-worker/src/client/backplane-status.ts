/**
 * What a GatewayClient knows of the Redis backplane it uses (GatewayClient.getBackplaneStatus), answered locally.
 */
export interface BackplaneStatus {
  /** The Redis, as displayed: scheme, host, port and database, never a password. */
  url: string;
  /** The gateways with a live lease in Redis now (its discovery's latest list; [] before the first one). */
  gateways: string[];
  /** Directory reads, and the calls about uids or groups they narrowed to the gateways holding them. */
  reads: number;
  narrowed: number;
  /** Directory reads that failed or timed out: the call went to every gateway instead (the mesh). */
  fallbacks: number;
}

/** Where a GatewayClient reads its backplane's status from (the ClientBackplane of its worker or pool). */
export interface BackplaneStatusSource {
  /** The Redis as displayed (never a password). */
  readonly display: string;
  /** Its discovery, a gateway-list source of the client's directory (by this name). */
  readonly watch: { readonly name: string };
  readonly stats: { reads: number; narrowed: number; fallbacks: number };
}
