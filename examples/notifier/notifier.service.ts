import { GatewayClient } from 'nest-gateway-worker';
import { Inject, Injectable } from '@nestjs/common';

@Injectable()
export class NotifierService {
  constructor(@Inject(GatewayClient) private readonly gw: GatewayClient) {}

  /** Pushes `text` to every connection of user `uid`; false when the user is offline. */
  async notifyUser(uid: string, text: string): Promise<boolean> {
    if (!(await this.gw.isUidOnline(uid))) return false;
    await this.gw.sendToUid(uid, { type: 'notice', text });
    return true;
  }
}
