import { IsOptional, IsString, Length, Matches } from 'class-validator';

/** `{"type":"login","name":"Ann","room":"lobby","uid"?:"u42"}` */
export class LoginMessage {
  @IsString()
  type!: 'login';

  @IsString()
  @Length(1, 32)
  name!: string;

  @IsString()
  @Matches(/^[\w.-]{1,64}$/, { message: 'room must be 1-64 letters, digits, "_", "." or "-"' })
  room!: string;

  /** Binds the connection to this user id, so the HTTP API can notify the user (POST /api/notify). */
  @IsOptional()
  @IsString()
  @Length(1, 64)
  uid?: string;
}

/** `{"type":"say","content":"hi","to"?:"<client_id>"}`: to the room, or privately to one client. */
export class SayMessage {
  @IsString()
  type!: 'say';

  @IsString()
  @Length(1, 4096)
  content!: string;

  @IsOptional()
  @Matches(/^[0-9a-f]{20}$/, { message: 'to must be a client_id (20 hex characters)' })
  to?: string;
}
