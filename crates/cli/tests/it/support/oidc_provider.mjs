// A real OpenID Connect provider for vigil's sign-in tests: panva's `oidc-provider` (an
// OpenID Certified implementation, installed from the npm registry by .ci/run), with its own
// development login and consent pages. Its ID tokens are RS256, signed with a key made here.
//
//   node oidc_provider.mjs PORT CONFIG_JSON
//
// CONFIG_JSON: {"module": path of oidc-provider's lib/index.js, "clientSecret": ...,
//   "redirectUris": [...], "postLogoutRedirectUris": [...], "groups": {"ana": ["pay-eng"], ...}}
// Any login and password sign in (the development pages); the account's groups come from
// `groups`. Prints "ready" once it listens.
import { generateKeyPairSync } from 'node:crypto';
import { pathToFileURL } from 'node:url';

const [port, configText] = process.argv.slice(2);
const config = JSON.parse(configText);
const { default: Provider } = await import(pathToFileURL(config.module).href);

const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const jwk = { ...privateKey.export({ format: 'jwk' }), kid: 'test-rs256', alg: 'RS256', use: 'sig' };

const provider = new Provider(`http://127.0.0.1:${port}`, {
  clients: [{
    client_id: 'vigil',
    client_secret: config.clientSecret,
    redirect_uris: config.redirectUris,
    post_logout_redirect_uris: config.postLogoutRedirectUris,
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
  }],
  jwks: { keys: [jwk] },
  scopes: ['openid', 'profile', 'email', 'groups'],
  claims: { openid: ['sub'], profile: ['name', 'preferred_username'], email: ['email'], groups: ['groups'] },
  findAccount: async (ctx, id) => ({
    accountId: id,
    claims: async () => ({
      sub: id,
      preferred_username: id,
      name: `${id} (test)`,
      email: `${id}@example.com`,
      groups: config.groups[id] ?? [],
    }),
  }),
  pkce: { required: () => true },
  features: { devInteractions: { enabled: true }, rpInitiatedLogout: { enabled: true } },
  cookies: { keys: ['vigil-test-cookie-key'] },
});
provider.on('server_error', (ctx, err) => console.error('server_error', err));
provider.listen(Number(port), '127.0.0.1', () => console.log('ready'));
