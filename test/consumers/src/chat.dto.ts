import { IsInt, IsString, Length, Min } from 'class-validator';

export class PingMessage {
  @IsInt()
  @Min(0)
  seq!: number;
}

export class LoginMessage {
  @IsString()
  @Length(1, 64)
  uid!: string;
}
