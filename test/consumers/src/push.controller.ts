import { Body, Controller, HttpCode, Inject, Post, UsePipes, ValidationPipe } from '@nestjs/common';
import { GatewayClient } from 'nest-gateway-worker';
import { IsNotEmpty, IsObject, IsString } from 'class-validator';

export class PushRequest {
  @IsString()
  @IsNotEmpty()
  uid!: string;

  @IsObject()
  message!: Record<string, unknown>;
}

@Controller()
export class PushController {
  constructor(@Inject(GatewayClient) private readonly gw: GatewayClient) {}

  /** POST /push {"uid": "...", "message": {...}}: to every connection bound to that uid. */
  @Post('push')
  @HttpCode(200)
  @UsePipes(new ValidationPipe())
  async push(@Body() body: PushRequest) {
    const online = await this.gw.isUidOnline(body.uid);
    if (online) await this.gw.sendToUid(body.uid, body.message);
    return { uid: body.uid, delivered: online };
  }
}
