import type { OnModuleDestroy } from '@nestjs/common';
import { GatewayClient } from './gateway-client';
import { clientPartsOf, type ResolvedGatewayClientOptions } from './gateway-client-options';
import { sdkClientHello } from './gateway-hello';
import { GatewayLinkPool } from './gateway-link-pool';

/**
 * The pooled links of a standalone GatewayClient (`GatewayModule.forClient`): opened when the module is
 * created, kept current by the register's pushes, closed when the application shuts down.
 */
export class GatewayClientPool implements OnModuleDestroy {
  readonly links: GatewayLinkPool;
  readonly client: GatewayClient;

  /** `options`: resolved (resolveGatewayClientOptions); GatewayModule.forClient resolves them. */
  constructor(options: ResolvedGatewayClientOptions) {
    const { links, settings } = clientPartsOf(options, { hello: sdkClientHello() });
    this.links = new GatewayLinkPool(links);
    this.client = new GatewayClient(this.links, settings);
    this.links.start();
  }

  onModuleDestroy(): void {
    this.links.stop();
  }
}
