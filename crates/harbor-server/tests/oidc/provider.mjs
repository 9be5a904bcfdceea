// A real OpenID Connect provider for Harbor-rs's tests: node-oidc-provider (npm
// `oidc-provider`, v9) on a loopback port, configured by environment variables.
//
//   OIDC_PROVIDER_PREFIX the npm prefix holding node_modules/oidc-provider
//   OIDC_PORT            port to listen on (127.0.0.1); the issuer is http://127.0.0.1:<port>
//   OIDC_CLIENT_ID       the one client (confidential, client_secret_basic)
//   OIDC_CLIENT_SECRET
//   OIDC_REDIRECT_URIS   comma-separated redirect URIs of the client
//   OIDC_ACCOUNTS        JSON: { "<account id>": { "name": ..., "email": ..., "groups": [...] } }
//   OIDC_KEYS_FILE       private signing keys (JWKS). Created (one RSA and one P-256 key,
//                        random key ids) when missing: delete it and restart to rotate keys.
//   OIDC_ID_TOKEN_ALG    the client's ID-token algorithm: RS256 (default) or ES256
//   OIDC_ACCESS_TTL      access-token lifetime in seconds (default 3600)
//   OIDC_TLS_CERT, OIDC_TLS_KEY  PEM files: serve HTTPS (issuer https://127.0.0.1:<port>)
//
// Signing in: the provider asks for a login at /interaction/<uid>. With a `login_hint`
// naming an account in the authorization request, it signs that account in at once
// (tests without a browser); otherwise it shows a one-field form (#username, #signin).
// Consent is implied for the client (a first-party client). Refresh tokens are issued
// whenever the client may use them. Everything is kept in memory: a restart forgets
// grants, so refresh tokens issued before it are refused.
//
// The process prints "listening <issuer>" once it serves, and logs to stderr.

import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import crypto from 'node:crypto';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

// The npm prefix holding node_modules/oidc-provider (ES modules ignore NODE_PATH).
const prefix = process.env.OIDC_PROVIDER_PREFIX;
if (!prefix) throw new Error('set OIDC_PROVIDER_PREFIX to the npm prefix holding node_modules/oidc-provider');
const { default: Provider } = await import(
  pathToFileURL(path.join(prefix, 'node_modules', 'oidc-provider', 'lib', 'index.js')).href
);

const port = Number(process.env.OIDC_PORT || 0);
const tls = process.env.OIDC_TLS_CERT && process.env.OIDC_TLS_KEY
  ? { cert: fs.readFileSync(process.env.OIDC_TLS_CERT), key: fs.readFileSync(process.env.OIDC_TLS_KEY) }
  : null;
const issuer = `${tls ? 'https' : 'http'}://127.0.0.1:${port}`;
const accounts = JSON.parse(process.env.OIDC_ACCOUNTS || '{}');
const keysFile = process.env.OIDC_KEYS_FILE;
const alg = process.env.OIDC_ID_TOKEN_ALG || 'RS256';
const accessTtl = Number(process.env.OIDC_ACCESS_TTL || 3600);

function generateKeys() {
  const rsa = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' });
  const ec = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' });
  const kid = () => crypto.randomBytes(8).toString('hex');
  return { keys: [{ ...rsa, kid: kid(), use: 'sig', alg: 'RS256' }, { ...ec, kid: kid(), use: 'sig', alg: 'ES256' }] };
}

let jwks;
if (keysFile && fs.existsSync(keysFile)) {
  jwks = JSON.parse(fs.readFileSync(keysFile, 'utf8'));
} else {
  jwks = generateKeys();
  if (keysFile) fs.writeFileSync(keysFile, JSON.stringify(jwks), { mode: 0o600 });
}

const configuration = {
  clients: [{
    client_id: process.env.OIDC_CLIENT_ID || 'harbor',
    client_secret: process.env.OIDC_CLIENT_SECRET || 'harbor-secret',
    redirect_uris: (process.env.OIDC_REDIRECT_URIS || '').split(',').filter(Boolean),
    post_logout_redirect_uris: (process.env.OIDC_REDIRECT_URIS || '').split(',').filter(Boolean)
      .map((u) => u.replace(/\/c\/oidc\/callback$/, '/login')),
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
    id_token_signed_response_alg: alg,
  }],
  jwks,
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name', 'preferred_username'],
    groups: ['groups'],
  },
  scopes: ['openid', 'offline_access', 'email', 'profile', 'groups'],
  features: {
    devInteractions: { enabled: false },
    rpInitiatedLogout: { enabled: true },
  },
  pkce: { required: () => true },
  ttl: {
    AccessToken: accessTtl,
    AuthorizationCode: 600,
    IdToken: 3600,
    RefreshToken: 86400,
    Interaction: 600,
    Session: 3600,
    Grant: 86400,
  },
  cookies: { keys: [crypto.randomBytes(16).toString('hex')] },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  issueRefreshToken: async (ctx, client) => client.grantTypeAllowed('refresh_token'),
  // A first-party client: everything it asks for is granted.
  loadExistingGrant: async (ctx) => {
    const grantId = ctx.oidc.result?.consent?.grantId
      || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
    if (grantId) {
      const found = await ctx.oidc.provider.Grant.find(grantId);
      if (found) return found;
    }
    const grant = new ctx.oidc.provider.Grant({
      clientId: ctx.oidc.client.clientId,
      accountId: ctx.oidc.session.accountId,
    });
    grant.addOIDCScope('openid offline_access email profile groups');
    await grant.save();
    return grant;
  },
  findAccount: async (ctx, id) => {
    const claims = accounts[id];
    if (!claims) return undefined;
    return { accountId: id, claims: async () => ({ sub: id, preferred_username: id, ...claims }) };
  },
};

const provider = new Provider(issuer, configuration);
provider.on('server_error', (ctx, err) => console.error('server_error', err));
provider.on('grant.error', (ctx, err) => console.error('grant.error', err.message, err.error_description || ''));

function page(res, status, body) {
  res.writeHead(status, { 'content-type': 'text/html; charset=utf-8' });
  res.end(`<!doctype html><html><head><title>Test provider</title></head><body>${body}</body></html>`);
}

const escape = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

async function interaction(req, res) {
  const details = await provider.interactionDetails(req, res);
  const uid = details.uid;
  let account = details.params.login_hint;
  if (req.method === 'POST') {
    const body = await new Promise((resolve) => {
      let data = '';
      req.on('data', (c) => { data += c; });
      req.on('end', () => resolve(data));
    });
    account = new URLSearchParams(body).get('username');
  }
  if (details.prompt.name === 'login') {
    if (account && accounts[account]) {
      return provider.interactionFinished(req, res, { login: { accountId: account } }, { mergeWithLastSubmission: false });
    }
    const error = account ? `<p id="error">unknown account ${escape(account)}</p>` : '';
    return page(res, account ? 401 : 200, `<h1>Test provider</h1>${error}
      <form method="post" action="/interaction/${escape(uid)}">
        <label>Username <input id="username" name="username" autofocus></label>
        <button id="signin" type="submit">Sign in</button>
      </form>`);
  }
  // Consent is implied (loadExistingGrant); anything else finishes as is.
  return provider.interactionFinished(req, res, {}, { mergeWithLastSubmission: true });
}

const callback = provider.callback();
const handler = (req, res) => {
  if (req.url.startsWith('/interaction/')) {
    interaction(req, res).catch((err) => {
      console.error('interaction', err);
      page(res, 400, `<p id="error">${escape(err.message)}</p>`);
    });
    return;
  }
  callback(req, res);
};
const server = tls ? https.createServer(tls, handler) : http.createServer(handler);
server.listen(port, '127.0.0.1', () => {
  console.log(`listening ${issuer}`);
});
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => server.close(() => process.exit(0)));
