import type { OnModuleDestroy } from '@nestjs/common';
import { ClientBackplane } from '../backplane/client-backplane';
import { GatewayClient } from './gateway-client';
import { clientPartsOf, withBackplane, type ResolvedGatewayClientOptions } from './gateway-client-options';
import { sdkClientHello } from './gateway-hello';
import { GatewayLinkPool } from './gateway-link-pool';

/**
 * The pooled links of a standalone GatewayClient (`GatewayModule.forClient`): opened when the module is
 * created, kept current by the register's pushes, closed when the application shuts down.
 */
export class GatewayClientPool implements OnModuleDestroy {
  readonly links: GatewayLinkPool;
  readonly client: GatewayClient;
  /** The Redis backplane (discovery and targeted fan-out), when configured. */
  readonly backplane: ClientBackplane | null;

  /** `options`: resolved (resolveGatewayClientOptions); GatewayModule.forClient resolves them. */
  constructor(options: ResolvedGatewayClientOptions) {
    this.backplane = options.backplane ? new ClientBackplane(options.backplane, 'GatewayClient', options.secret) : null;
    const { links, settings } = clientPartsOf(options, {
      hello: sdkClientHello(),
      sources: this.backplane ? [this.backplane.watch] : [],
    });
    this.links = new GatewayLinkPool(links);
    this.backplane?.attach(this.links);
    this.client = new GatewayClient(this.links, withBackplane(settings, this.backplane));
    this.links.start();
  }

  async onModuleDestroy(): Promise<void> {
    this.links.stop();
    await this.backplane?.close();
  }
}
