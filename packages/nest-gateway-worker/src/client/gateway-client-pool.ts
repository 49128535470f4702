import type { OnModuleDestroy } from '@nestjs/common';
import { GatewayClient } from './gateway-client';
import { resolveClientOptions, type GatewayClientModuleOptions } from './gateway-client-options';
import { GatewayLinks } from './gateway-links';

/**
 * The pooled links of a standalone GatewayClient (`GatewayModule.forClient`): opened when the module is
 * created, kept current by the register's pushes, closed when the application shuts down.
 */
export class GatewayClientPool implements OnModuleDestroy {
  readonly links: GatewayLinks;
  readonly client: GatewayClient;

  constructor(options: GatewayClientModuleOptions) {
    const { links, settings } = resolveClientOptions(options);
    this.links = new GatewayLinks(links);
    this.client = new GatewayClient(this.links, settings);
    this.links.start();
  }

  onModuleDestroy(): void {
    this.links.stop();
  }
}
