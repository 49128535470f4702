import { IsDefined, IsOptional, IsString, Length, Matches } from 'class-validator';

/** POST /api/notify: `{"uid":"u42","message":"hello"}`; message may be a string or any JSON value. */
export class NotifyRequest {
  @IsString()
  @Length(1, 64)
  uid!: string;

  @IsDefined()
  message!: unknown;
}

/** POST /api/kick: `{"clientId":"7f00000107d000000001","message"?:"bye"}`. */
export class KickRequest {
  @Matches(/^[0-9a-f]{20}$/, { message: 'clientId must be a client_id (20 hex characters)' })
  clientId!: string;

  @IsOptional()
  @IsString()
  message?: string;
}
