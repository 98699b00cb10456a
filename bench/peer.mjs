// The peer of `make bench` (issue 15): node-oidc-provider 9 in one Node process, in-memory
// store, configured like the provider where the benchmark can see it, so that both are driven
// by the same load generator and scenarios in the same run.
//
// - the clients: "portal" (confidential, client_secret_basic, PKCE sent by the walkers) and
//   "mobile" (public, PKCE required), the redirect URI of the benchmark's walkers;
// - routes renamed to the provider's (/authorize, /token, /userinfo, /introspect, /jwks), so
//   the steady scenarios send the very same requests;
// - RS256 ID tokens (the provider's default), opaque access and refresh tokens, a refresh token
//   on every code grant and a new one on every refresh (the provider rotates each time);
// - a login interaction: the NIR + password checked against an argon2id hash with the
//   provider's parameters (argon2, 64 MiB / t=3 / p=4 unless the environment says otherwise),
//   then a "send the code" page, a 6-digit code mailed over SMTP (nodemailer, a connection per
//   mail) to the benchmark's sink and typed back, and a "remember this device" cookie that
//   spares the code on the next login. No lockout, quotas, audit rows or templates: the peer
//   is the cost of the protocol plus one hash and one mail, not a copy of the provider.
//
// Configuration by environment: PEER_PORT, PEER_ISSUER, PEER_ACCOUNTS (how many accounts, NIR
// 18501750 + a 5-digit index, e-mail bench<i>@bench.example), PEER_PASSWORD, PEER_SMTP_PORT,
// PEER_PORTAL_SECRET, PEER_REDIRECT_URI, PEER_ARGON2_MEMORY_KIB/_TIME_COST/_PARALLELISM.

import crypto from 'node:crypto';
import http from 'node:http';

import argon2 from 'argon2';
import nodemailer from 'nodemailer';
import Provider from 'oidc-provider';

const env = process.env;
const port = Number(env.PEER_PORT || 3000);
const issuer = env.PEER_ISSUER || `http://127.0.0.1:${port}`;
const redirectUri = env.PEER_REDIRECT_URI || 'http://127.0.0.1:5001/callback';
const password = env.PEER_PASSWORD || 'Bench-2024!';
const CODE_TTL_MS = 15 * 60 * 1000;                      // the provider's code_ttl
const DEVICE_TTL_S = 30 * 24 * 3600;                     // a remembered device, 30 days

// -- accounts, all with one real argon2id hash (as the benchmark seeds the provider's) ---------

const storedHash = await argon2.hash(password, {
  type: argon2.argon2id,
  memoryCost: Number(env.PEER_ARGON2_MEMORY_KIB || 65536),
  timeCost: Number(env.PEER_ARGON2_TIME_COST || 3),
  parallelism: Number(env.PEER_ARGON2_PARALLELISM || 4),
});
const accounts = new Map();
for (let i = 0; i < Number(env.PEER_ACCOUNTS || 100); i += 1) {
  const nir = `18501750${String(i).padStart(5, '0')}`;
  accounts.set(nir, {
    sub: `peer-${i}`, hash: storedHash, email: `bench${i}@bench.example`,
    given_name: 'Camille', family_name: `BENCH${i}`, birthdate: '1985-01-15', gender: 'female',
  });
}
const bySub = new Map([...accounts.values()].map((a) => [a.sub, a]));

// -- the provider -------------------------------------------------------------------------------

const privateKey = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
const signingKey = { ...privateKey.export({ format: 'jwk' }), kid: 'peer-rs256', use: 'sig', alg: 'RS256' };
const secret = crypto.randomBytes(32);

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: 'portal',
      client_secret: env.PEER_PORTAL_SECRET || 'demo-portal-secret-0123456789abcdef0123',
      token_endpoint_auth_method: 'client_secret_basic',
      grant_types: ['authorization_code', 'refresh_token'],
      redirect_uris: [redirectUri],
    },
    {
      client_id: 'mobile',
      token_endpoint_auth_method: 'none',
      grant_types: ['authorization_code', 'refresh_token'],
      redirect_uris: [redirectUri],
    },
  ],
  jwks: { keys: [signingKey] },
  cookies: { keys: [crypto.randomBytes(32).toString('base64url')] },
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['given_name', 'family_name', 'birthdate', 'gender'],
  },
  features: {
    devInteractions: { enabled: false },
    // The provider answers introspection to its authenticated confidential clients.
    introspection: { enabled: true, allowedPolicy: async (_ctx, client) => client.clientAuthMethod !== 'none' },
    revocation: { enabled: true },
  },
  pkce: { required: () => true },
  routes: {
    authorization: '/authorize', token: '/token', userinfo: '/userinfo',
    introspection: '/introspect', revocation: '/revoke', jwks: '/jwks', end_session: '/logout',
  },
  ttl: {
    AccessToken: 600, AuthorizationCode: 60, IdToken: 600, Interaction: 1800,
    Session: 12 * 3600, Grant: 30 * 24 * 3600, RefreshToken: 30 * 24 * 3600,
  },
  issueRefreshToken: async (_ctx, client) => client.grantTypeAllowed('refresh_token'),
  rotateRefreshToken: () => true,
  interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
  async findAccount(_ctx, sub) {
    const account = bySub.get(sub);
    if (!account) return undefined;
    return {
      accountId: sub,
      async claims() {
        return {
          sub, email: account.email, email_verified: true, given_name: account.given_name,
          family_name: account.family_name, birthdate: account.birthdate, gender: account.gender,
        };
      },
    };
  },
});

// -- the login interaction ------------------------------------------------------------------------

const mailer = nodemailer.createTransport({
  host: '127.0.0.1', port: Number(env.PEER_SMTP_PORT || 25), secure: false, ignoreTLS: true,
});
const pending = new Map();      // interaction uid -> {sub, code, expires}

function mac(text) {
  return crypto.createHmac('sha256', secret).update(text).digest('base64url');
}

function page(res, status, title, uid, action, fields) {
  const body = `<!doctype html><html lang="fr"><head><meta charset="utf-8"><title>${title}</title></head>`
    + `<body><main><h1>${title}</h1><form method="post" action="/interaction/${uid}/${action}">`
    + `<input type="hidden" name="csrf_token" value="${mac(`csrf:${uid}`)}">${fields}`
    + '<button type="submit">Continuer</button></form></main></body></html>';
  res.writeHead(status, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' });
  res.end(body);
}

function cookie(req, name) {
  const found = (req.headers.cookie || '').split(/;\s*/).find((c) => c.startsWith(`${name}=`));
  return found ? decodeURIComponent(found.slice(name.length + 1)) : undefined;
}

function trustedDevice(req, sub) {
  const value = cookie(req, 'peer_device');
  if (!value) return false;
  const [who, until, tag] = value.split('.');
  return who === sub && Number(until) > Date.now() / 1000 && tag === mac(`device:${who}.${until}`);
}

async function form(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return new URLSearchParams(Buffer.concat(chunks).toString());
}

async function finish(req, res, sub, clientId, extraCookie) {
  const grant = new provider.Grant({ accountId: sub, clientId });
  grant.addOIDCScope('openid profile email');
  const grantId = await grant.save();
  if (extraCookie) res.setHeader('Set-Cookie', extraCookie);
  await provider.interactionFinished(req, res, { login: { accountId: sub }, consent: { grantId } },
    { mergeWithLastSubmission: false });
}

async function interaction(req, res) {
  const [, , uid, step] = new URL(req.url, issuer).pathname.split('/');
  const details = await provider.interactionDetails(req, res);
  if (details.uid !== uid) throw new Error('interaction mismatch');
  const clientId = details.params.client_id;
  if (req.method === 'GET') {
    return page(res, 200, 'Connexion', uid, 'login',
      '<input name="nir" autocomplete="username"><input name="password" type="password">');
  }
  const data = await form(req);
  if (data.get('csrf_token') !== mac(`csrf:${uid}`)) {
    return page(res, 400, 'Session expirée', uid, 'login', '');
  }
  if (step === 'login') {
    const account = accounts.get(data.get('nir') || '');
    const ok = await argon2.verify(account ? account.hash : storedHash, data.get('password') || '');
    if (!account || !ok) {
      return page(res, 200, 'Identifiants incorrects', uid, 'login',
        '<input name="nir"><input name="password" type="password">');
    }
    if (trustedDevice(req, account.sub)) return finish(req, res, account.sub, clientId);
    pending.set(uid, { sub: account.sub, code: null, expires: 0 });
    return page(res, 200, 'Recevoir un code de sécurité', uid, 'send', '');
  }
  const state = pending.get(uid);
  if (!state) return page(res, 400, 'Session expirée', uid, 'login', '');
  if (step === 'send') {
    state.code = String(crypto.randomInt(0, 1000000)).padStart(6, '0');
    state.expires = Date.now() + CODE_TTL_MS;
    await mailer.sendMail({
      from: 'ne-pas-repondre@peer.example', to: bySub.get(state.sub).email,
      subject: 'Votre code de sécurité',
      text: `Bonjour,\n\nVoici votre code de sécurité :\n\n${state.code}\n\nIl est valable 15 minutes.\n`,
    });
    return page(res, 200, 'Saisir le code', uid, 'code', '<input name="code" inputmode="numeric">');
  }
  if (step === 'code') {
    if (!state.code || Date.now() > state.expires || data.get('code') !== state.code) {
      return page(res, 200, 'Code incorrect', uid, 'code', '<input name="code">');
    }
    pending.delete(uid);
    let device;
    if (data.get('remember_device')) {
      const until = Math.floor(Date.now() / 1000) + DEVICE_TTL_S;
      const value = `${state.sub}.${until}.${mac(`device:${state.sub}.${until}`)}`;
      device = `peer_device=${value}; Path=/; Max-Age=${DEVICE_TTL_S}; HttpOnly; SameSite=Lax`;
    }
    return finish(req, res, state.sub, clientId, device);
  }
  res.writeHead(404).end();
  return undefined;
}

// -- the server ------------------------------------------------------------------------------------

const callback = provider.callback();
http.createServer((req, res) => {
  if (req.url.startsWith('/interaction/')) {
    interaction(req, res).catch((err) => {
      console.error(`interaction error: ${err.name}: ${err.message}`);
      if (!res.headersSent) res.writeHead(400, { 'Content-Type': 'text/plain' });
      res.end('interaction failed');
    });
    return;
  }
  callback(req, res);
}).listen(port, '127.0.0.1', () => {
  console.log(`node-oidc-provider peer on ${issuer} (${accounts.size} accounts)`);
});
