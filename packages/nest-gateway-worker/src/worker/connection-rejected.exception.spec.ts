import { ForbiddenException, HttpException, UnauthorizedException } from '@nestjs/common';
import { ArgumentsHost } from '@nestjs/common';
import { RpcException } from '@nestjs/microservices';
import { lastValueFrom } from 'rxjs';
import { ConnectionRejectedException, connectionRejection } from './connection-rejected.exception';
import { GatewayExceptionFilter } from './gateway-exception.filter';

/** What a connect handler's exception looks like after GatewayExceptionFilter (what the transport sees). */
async function filtered(exception: unknown): Promise<unknown> {
  const filter = new GatewayExceptionFilter();
  jest
    .spyOn((filter as unknown as { logger: { error: () => void } }).logger, 'error')
    .mockImplementation(() => undefined);
  try {
    await lastValueFrom(filter.catch(exception, {} as ArgumentsHost));
  } catch (err) {
    return err;
  }
  throw new Error('the filter did not fail the observable');
}

describe('connection rejection', () => {
  it('ConnectionRejectedException: its code and reason (default 4403 "Forbidden")', async () => {
    expect(connectionRejection(await filtered(new ConnectionRejectedException('bad token', 4001)))).toEqual({
      code: 4001,
      reason: 'bad token',
    });
    expect(connectionRejection(await filtered(new ConnectionRejectedException()))).toEqual({
      code: 4403,
      reason: 'Forbidden',
    });
  });

  it('refuses a code that cannot be sent', () => {
    expect(() => new ConnectionRejectedException('x', 1006)).toThrow(RangeError);
  });

  it('HttpExceptions: 4000 + the status, with their message', async () => {
    expect(connectionRejection(await filtered(new UnauthorizedException('bad token')))).toEqual({
      code: 4401,
      reason: 'bad token',
    });
    expect(connectionRejection(await filtered(new ForbiddenException()))).toEqual({ code: 4403, reason: 'Forbidden' });
    expect(connectionRejection(await filtered(new HttpException('slow down', 429)))).toEqual({
      code: 4429,
      reason: 'slow down',
    });
  });

  it("a guard's refusal (RpcException 'Forbidden resource') and unexpected errors: 4403, never the error's text", async () => {
    expect(connectionRejection(await filtered(new RpcException('Forbidden resource')))).toEqual({
      code: 4403,
      reason: 'Forbidden resource',
    });
    expect(connectionRejection(await filtered(new Error('db password is hunter2')))).toEqual({
      code: 4403,
      reason: 'Internal server error',
    });
  });

  it('validation messages (a list) are joined', () => {
    expect(connectionRejection({ statusCode: 400, message: ['a is bad', 'b is bad'] })).toEqual({
      code: 4400,
      reason: 'a is bad; b is bad',
    });
  });
});
