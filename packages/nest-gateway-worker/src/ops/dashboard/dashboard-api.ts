/**
 * The JSON the dashboard's API answers with (`<path>/api/...`): what the page shows, usable by scripts too (same
 * authentication).
 */
import type { ClientSession } from '../../client/gateway-client';
import type { ClientInfo, GatewayStats } from '../../protocol/connection-stats';
import type { RegisterStatus } from '../../register/register-client';
import type { GatewayMessageRates } from './message-rates';

/** One gateway: its statistics and its message rates since the previous overview. */
export type DashboardGateway = GatewayStats & GatewayMessageRates;

/** `GET <path>/api/overview`: registers, gateways and totals. */
export interface DashboardOverview {
  /** When it was made (epoch ms). */
  generatedAt: number;
  /** How often the page asks again, in ms. */
  refreshIntervalMs: number;
  registers: RegisterStatus[];
  /** The gateways that answered, by address. */
  gateways: DashboardGateway[];
  /** Gateways a register (or the backplane) lists that did not answer (unreachable or too slow), by address. */
  unreachableGateways: string[];
  /** The Redis backplane as this dashboard's GatewayClient sees it; null without one. */
  backplane: DashboardBackplane | null;
  totals: {
    gateways: number;
    connections: number;
    /** Distinct uids bound now; null when the query failed (see errors). */
    uids: number | null;
    /** Groups with at least one member; null when the query failed. */
    groups: number | null;
    messagesInPerSecond: number | null;
    messagesOutPerSecond: number | null;
  };
  /** Queries that failed as a whole (e.g. no register answered), one line each. */
  errors: string[];
}

/**
 * The dashboard's GatewayClient's Redis backplane (each gateway's own state is in its statistics, `backplane`):
 * the Redis (displayed, never its password), the gateways listed through it and how that compares with the
 * registers' lists, and the directory reads that fell back to every gateway.
 */
export interface DashboardBackplane {
  url: string;
  /** Gateways with a live lease in Redis now. */
  gateways: string[];
  /** Listed through Redis but by no register, and by a register but not through Redis (by address). */
  onlyInRedis: string[];
  onlyInRegisters: string[];
  reads: number;
  narrowed: number;
  fallbacks: number;
}

/** One group: members (connections) and distinct uids among them. */
export interface DashboardGroup {
  group: string;
  clients: number;
  uids: number;
}

/** `GET <path>/api/groups`: the largest groups first. */
export interface DashboardGroups {
  /** Groups with at least one member. */
  total: number;
  /** At most the configured limit, by member count (then name). */
  groups: DashboardGroup[];
}

/** `GET <path>/api/clients/:clientId`: one connection's statistics and session. */
export interface DashboardClient {
  client: ClientInfo;
  session: ClientSession;
}

/** `GET <path>/api/uids/:uid`: the connections bound to a uid. */
export interface DashboardUid {
  uid: string;
  /** Connections bound to it. */
  total: number;
  /** At most the configured limit of them. */
  clients: DashboardClient[];
}

/** `POST <path>/api/clients/:clientId/send`: 1 when the gateway handed the message to the connection. */
export interface DashboardSent {
  clientId: string;
  delivered: number;
}

/** `POST <path>/api/clients/:clientId/kick`: whether the gateway held that connection and closed it. */
export interface DashboardKicked {
  clientId: string;
  closed: boolean;
}
