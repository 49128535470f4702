import { IsOptional, IsString, Length, Matches } from 'class-validator';

/** Longest `since` accepted: a history position is `<epoch>:<offset>` (12 hex characters, ":" and up to 15 digits). */
export const MAX_SINCE_LENGTH = 64;

/** `{"type":"login","name":"Ann","room":"lobby","uid"?:"u42","since"?:"3f9a1c0b7e2d:42"}` */
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

  /**
   * The page's last position in the room's history (`client.offsets['group:<room>']`, or the welcome's `$offsets`),
   * sent when it rejoins after a reconnect: with the Redis backplane the worker replays what came after it. Any text
   * of the right length is accepted here; one that is not a position is answered by recover as data
   * (`recovered: false, reason: 'no-position'`), never as an error. Ignored without the backplane.
   */
  @IsOptional()
  @IsString()
  @Length(1, MAX_SINCE_LENGTH)
  since?: string;
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
