import path from 'node:path';
import { Router, type NextFunction, type Request, type Response } from 'express';
import { openApiDocument } from './openapi';

/** Swagger UI's prebuilt files, from the swagger-ui-dist package in node_modules: nothing comes from a CDN. */
const SWAGGER_UI_DIR = path.dirname(require.resolve('swagger-ui-dist/package.json'));
const SWAGGER_UI_FILES = new Set(['swagger-ui.css', 'swagger-ui-bundle.js', 'favicon-32x32.png', 'favicon-16x16.png']);
const ASSETS_PATH = '/docs/assets';

/** The page's one script of its own, a file rather than inline so the CSP needs no 'unsafe-inline' for scripts. */
const INIT_JS = `window.addEventListener('load', function () {
  window.ui = SwaggerUIBundle({
    url: '/openapi.json',
    dom_id: '#swagger-ui',
    deepLinking: true,
    validatorUrl: null,
    presets: [SwaggerUIBundle.presets.apis],
    layout: 'BaseLayout',
  });
});
`;

const PAGE = `<!DOCTYPE html>
<html lang="en">
  <head>
    <meta charset="utf-8">
    <title>Payments orchestrator API reference</title>
    <link rel="stylesheet" href="${ASSETS_PATH}/swagger-ui.css">
    <link rel="icon" type="image/png" href="${ASSETS_PATH}/favicon-32x32.png" sizes="32x32">
  </head>
  <body>
    <div id="swagger-ui"></div>
    <script src="${ASSETS_PATH}/swagger-ui-bundle.js"></script>
    <script src="${ASSETS_PATH}/init.js"></script>
  </body>
</html>
`;

/**
 * The app's CSP loads nothing; the docs page may load this origin's scripts and styles (its icons
 * are data: images), call this origin (the document, and "Try it out"), and still nothing else: no
 * inline script or style (checked in headless Chromium: Swagger UI renders without either).
 */
const DOCS_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; connect-src 'self'; " +
  "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

function docsCsp(_req: Request, res: Response, next: NextFunction) {
  res.set('Content-Security-Policy', DOCS_CSP);
  next();
}

/** GET and HEAD of Swagger UI's few files and the page's script; anything else under the prefix falls through (404). */
function docsAssets(req: Request, res: Response, next: NextFunction) {
  if (req.method !== 'GET' && req.method !== 'HEAD') return next();
  const name = req.path.replace(/^\//, '');
  // Versioned with the package, and no data in them: unlike the API's answers, these may be cached.
  if (name === 'init.js') {
    res.set('Cache-Control', 'public, max-age=3600').type('text/javascript').send(INIT_JS);
    return;
  }
  if (!SWAGGER_UI_FILES.has(name)) return next();
  res.set('Cache-Control', 'public, max-age=3600');
  res.sendFile(path.join(SWAGGER_UI_DIR, name), (err) => {
    if (err && !res.headersSent) next();
  });
}

/**
 * The API reference, without a key: GET /openapi.json (src/api/openapi.ts, generated from the zod
 * schemas the routes validate with) and GET /docs, that document rendered by Swagger UI from this process.
 */
export function apiReferenceRoutes(): Router {
  const router = Router();
  router.get('/openapi.json', (_req, res) => {
    res.json(openApiDocument());
  });
  router.get('/docs', docsCsp, (_req, res) => {
    res.type('html').send(PAGE);
  });
  router.use(ASSETS_PATH, docsCsp, docsAssets);
  return router;
}
