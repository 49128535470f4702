import {
  ForbiddenException,
  Inject,
  Injectable,
  Logger,
  UnauthorizedException,
  type CanActivate,
  type ExecutionContext,
  type OnModuleInit,
} from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { isObservable, lastValueFrom } from 'rxjs';
import { RateLimitedWarning } from '../../logging/rate-limited-warning';
import { GATEWAY_DASHBOARD_OPTIONS, type ResolvedGatewayDashboardOptions } from './dashboard-options';
import { DashboardToken } from './dashboard-token';

/** The 403 of a dashboard mounted without `auth`: what to configure. */
export const DASHBOARD_AUTH_MISSING =
  'Gateway dashboard: no authentication configured, so access is refused. Give GatewayDashboardModule.forRoot ' +
  '{ auth: { token } } (a bearer token of 16+ characters) or { auth: { guard } } (a CanActivate class).';
/** The 401 of a request without a bearer token. */
export const DASHBOARD_TOKEN_REQUIRED = 'Gateway dashboard: a token is required (Authorization: Bearer <token>)';
/** The 401 of a request with a wrong token. */
export const DASHBOARD_TOKEN_WRONG = 'Gateway dashboard: wrong token';
/** The 403 of a request the application's guard said no to. */
export const DASHBOARD_GUARD_REFUSED = "Gateway dashboard: access refused by the application's guard";

/** The part of a request read here (express and fastify requests both have it). */
interface RequestHeaders {
  headers?: Record<string, string | string[] | undefined>;
  ip?: string;
}

/**
 * Guards every data and action route of the dashboard (not its static page and assets, which hold no data): refuses
 * when no auth is configured, checks the bearer token when one is, then asks the application's guard when one is
 * given. Wrong tokens are logged (rate-limited, with the remote address, never the token).
 */
@Injectable()
export class DashboardAuthGuard implements CanActivate, OnModuleInit {
  private readonly logger = new Logger('GatewayDashboard');
  private readonly wrongTokens = new RateLimitedWarning(this.logger, (n) => `${n} more since the last warning`);
  private readonly token: DashboardToken | null;
  /** The application's guard, an instance (resolved at start-up when given as a class). */
  private appGuard: CanActivate | null = null;

  constructor(
    @Inject(GATEWAY_DASHBOARD_OPTIONS) private readonly options: ResolvedGatewayDashboardOptions,
    @Inject(ModuleRef) private readonly moduleRef: ModuleRef,
  ) {
    this.token = options.auth.token === null ? null : new DashboardToken(options.auth.token);
  }

  /**
   * A guard class comes from DI: the provider registered anywhere in the app, or else one created here with its
   * dependencies from the dashboard module's `imports` (a missing dependency fails the start-up, not a request).
   */
  async onModuleInit(): Promise<void> {
    const { guard } = this.options.auth;
    if (guard === null) return;
    if (typeof guard !== 'function') {
      this.appGuard = guard;
      return;
    }
    try {
      this.appGuard = this.moduleRef.get(guard, { strict: false });
    } catch {
      this.appGuard = await this.moduleRef.create(guard);
    }
  }

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const guard = this.appGuard;
    if (!this.token && !guard) throw new ForbiddenException(DASHBOARD_AUTH_MISSING);
    if (this.token) {
      const request = context.switchToHttp().getRequest<RequestHeaders>();
      const given = DashboardToken.fromHeader(request.headers?.authorization);
      if (given === null) throw new UnauthorizedException(DASHBOARD_TOKEN_REQUIRED);
      if (!this.token.matches(given)) {
        this.wrongTokens.warn(`dashboard: a request with a wrong token from ${request.ip ?? 'an unknown address'}`);
        throw new UnauthorizedException(DASHBOARD_TOKEN_WRONG);
      }
    }
    if (guard) {
      const answer = guard.canActivate(context);
      const allowed = isObservable(answer) ? await lastValueFrom(answer, { defaultValue: false }) : await answer;
      if (!allowed) throw new ForbiddenException(DASHBOARD_GUARD_REFUSED);
    }
    return true;
  }
}
