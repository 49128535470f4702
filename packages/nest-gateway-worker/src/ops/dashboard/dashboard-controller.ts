import {
  Body,
  Controller,
  Get,
  Header,
  Headers,
  HttpCode,
  Inject,
  Param,
  Post,
  Req,
  UnsupportedMediaTypeException,
  UseGuards,
  UseInterceptors,
  type Type,
} from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type {
  DashboardClient,
  DashboardGroups,
  DashboardKicked,
  DashboardOverview,
  DashboardSent,
  DashboardUid,
} from './dashboard-api';
import { DashboardAuthGuard } from './dashboard-auth.guard';
import { DashboardErrorsInterceptor } from './dashboard-errors.interceptor';
import { DashboardPage } from './dashboard-page';
import { GatewayDashboardService } from './gateway-dashboard.service';

/**
 * The dashboard's routes as a Nest controller mounted at `path` (a class per mount, since a controller's path is
 * fixed when its class is decorated), so they run on whatever HTTP adapter the app uses:
 *
 * - `GET <path>` the page, `GET <path>/assets/dashboard.js|css` its script and stylesheet: no data, no auth;
 * - `GET <path>/api/overview | groups | clients/:clientId | uids/:uid`: JSON, behind DashboardAuthGuard;
 * - `POST <path>/api/clients/:clientId/send | kick`: JSON bodies only (a cross-site form cannot send one without
 *   CORS allowing it), behind DashboardAuthGuard.
 *
 * Every answer says not to cache it (API answers hold sessions) and not to be framed.
 */
export function dashboardController(path: string): Type<unknown> {
  @Controller(path)
  @UseInterceptors(DashboardErrorsInterceptor)
  class GatewayDashboardController {
    constructor(
      @Inject(GatewayDashboardService) private readonly dashboard: GatewayDashboardService,
      @Inject(DashboardPage) private readonly page: DashboardPage,
      @Inject(HttpAdapterHost) private readonly adapterHost: HttpAdapterHost,
    ) {}

    @Get()
    @Header('Content-Type', 'text/html; charset=utf-8')
    @Header('Cache-Control', 'no-cache')
    @Header('X-Frame-Options', 'DENY')
    @Header('X-Content-Type-Options', 'nosniff')
    @Header('Referrer-Policy', 'no-referrer')
    html(@Req() request: unknown): string {
      return this.page.html(this.adapterHost.httpAdapter.getRequestUrl(request));
    }

    @Get('assets/dashboard.js')
    @Header('Content-Type', 'text/javascript; charset=utf-8')
    @Header('Cache-Control', 'no-cache')
    @Header('X-Content-Type-Options', 'nosniff')
    script(): string {
      return this.page.script;
    }

    @Get('assets/dashboard.css')
    @Header('Content-Type', 'text/css; charset=utf-8')
    @Header('Cache-Control', 'no-cache')
    @Header('X-Content-Type-Options', 'nosniff')
    stylesheet(): string {
      return this.page.stylesheet;
    }

    @Get('api/overview')
    @UseGuards(DashboardAuthGuard)
    @Header('Cache-Control', 'no-store')
    overview(): Promise<DashboardOverview> {
      return this.dashboard.overview();
    }

    @Get('api/groups')
    @UseGuards(DashboardAuthGuard)
    @Header('Cache-Control', 'no-store')
    groups(): Promise<DashboardGroups> {
      return this.dashboard.groups();
    }

    @Get('api/clients/:clientId')
    @UseGuards(DashboardAuthGuard)
    @Header('Cache-Control', 'no-store')
    client(@Param('clientId') clientId: string): Promise<DashboardClient> {
      return this.dashboard.client(clientId);
    }

    @Get('api/uids/:uid')
    @UseGuards(DashboardAuthGuard)
    @Header('Cache-Control', 'no-store')
    uid(@Param('uid') uid: string): Promise<DashboardUid> {
      return this.dashboard.uid(uid);
    }

    @Post('api/clients/:clientId/send')
    @UseGuards(DashboardAuthGuard)
    @HttpCode(200)
    @Header('Cache-Control', 'no-store')
    send(
      @Param('clientId') clientId: string,
      @Headers('content-type') contentType: string | undefined,
      @Body() body: unknown,
    ): Promise<DashboardSent> {
      requireJson(contentType);
      return this.dashboard.send(clientId, body);
    }

    @Post('api/clients/:clientId/kick')
    @UseGuards(DashboardAuthGuard)
    @HttpCode(200)
    @Header('Cache-Control', 'no-store')
    kick(
      @Param('clientId') clientId: string,
      @Headers('content-type') contentType: string | undefined,
      @Body() body: unknown,
    ): Promise<DashboardKicked> {
      requireJson(contentType);
      return this.dashboard.kick(clientId, body);
    }
  }
  return GatewayDashboardController;
}

/** Actions take JSON only: a form another site posts (urlencoded, multipart, text/plain) is refused with 415. */
function requireJson(contentType: string | undefined): void {
  if (!/^application\/json\s*(;|$)/i.test(contentType ?? ''))
    throw new UnsupportedMediaTypeException('send a JSON body (Content-Type: application/json)');
}
