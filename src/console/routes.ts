import path from 'node:path';
import express, { Router, type NextFunction, type Request, type Response } from 'express';
import { z } from 'zod';
import { json, op, type OpenApiPaths } from '../http/openapi';

/** Where the Temporal Web UI is, so a case can link to its workflow; unknown for an external Temporal without TEMPORAL_UI_URL. */
export type ConsoleOptions = { temporalUiUrl?: string; namespace: string };

/** The page's own files (HTML, CSS, one ES module): served as they are, no build step, nothing from a CDN. */
const ASSETS = path.join(__dirname, 'public');

/**
 * The compliance console: a static page at /console that calls the /v1 API with the officer's
 * key (held in sessionStorage, sent as a bearer header, never in a URL). The app's CSP loads
 * nothing; here it allows this origin's scripts, styles and API calls, and still nothing else.
 */
export function consoleRoutes(opts: ConsoleOptions): Router {
  const router = Router();
  router.use((_req: Request, res: Response, next: NextFunction) => {
    res.set(
      'Content-Security-Policy',
      "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
        "base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    );
    next();
  });
  router.get('/config.json', (_req, res) => {
    res.json({ temporal_ui_url: opts.temporalUiUrl ?? null, namespace: opts.namespace });
  });
  router.use(express.static(ASSETS, { index: 'index.html', redirect: true, dotfiles: 'ignore' }));
  return router;
}

export const consolePaths: OpenApiPaths = {
  '/console/config.json': {
    get: op('Operations', 'consoleConfig', "The compliance console's settings", {
      description: "Read by the compliance console page (/console), a static page that calls this API with the officer's key.",
      security: [],
      responses: { '200': json('Where the Temporal Web UI is (null: no links) and the namespace', z.object({ temporal_ui_url: z.string().nullable(), namespace: z.string() })) },
    }),
  },
};
