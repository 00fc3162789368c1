// Vendure 3.7 as a peer for anycart's checkout benchmark: one process serving
// the Shop API on a scratch PostgreSQL database, seeded with one zone (US), one
// tax rate, one shipping method, a payment method that always settles, and ONE
// product variant with a billion units on hand.
//
// Manual only (see README.md next to this file); run.sh drives it. Environment:
//   VENDURE_DB_URL  postgres://user@host:port/database (must exist, may be empty)
//   VENDURE_PORT    port to serve on (default 3100)
//
// When ready it prints one line: `READY <shop-api-url> <variant-id>`.

import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { bootstrap, dummyPaymentHandler, LanguageCode, Logger, LogLevel, DefaultLogger } from '@vendure/core';
import { populate } from '@vendure/core/cli/index.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const dbUrl = new URL(process.env.VENDURE_DB_URL ?? 'postgres://postgres@127.0.0.1:5432/vendure_bench');
const port = Number(process.env.VENDURE_PORT ?? 3100);

const config = {
    apiOptions: {
        hostname: '127.0.0.1',
        port,
        shopApiPath: 'shop-api',
        adminApiPath: 'admin-api',
        // No GraphQL playground or debug extras: the benchmark measures checkouts.
        shopApiPlayground: false,
        adminApiPlayground: false,
        shopApiDebug: false,
        adminApiDebug: false,
    },
    authOptions: {
        // The session token comes back in the `vendure-auth-token` header and the
        // load generator sends it as `Authorization: Bearer`.
        tokenMethod: 'bearer',
        requireVerification: false,
        superadminCredentials: { identifier: 'superadmin', password: 'superadmin' },
    },
    dbConnectionOptions: {
        type: 'postgres',
        host: dbUrl.hostname,
        port: Number(dbUrl.port || 5432),
        username: decodeURIComponent(dbUrl.username || 'postgres'),
        password: decodeURIComponent(dbUrl.password || ''),
        database: dbUrl.pathname.replace(/^\//, ''),
        // A scratch database: let TypeORM create the schema, no migrations.
        synchronize: true,
        logging: false,
    },
    paymentOptions: { paymentMethodHandlers: [dummyPaymentHandler] },
    // No plugins: no DefaultJobQueuePlugin (the in-memory job queue is the
    // default), no search, asset server or e-mail plugins.
    plugins: [],
    logger: new DefaultLogger({ level: LogLevel.Warn }),
};

const initialData = {
    defaultLanguage: LanguageCode.en,
    defaultZone: 'US',
    countries: [{ name: 'United States', code: 'US', zone: 'US' }],
    // The tax category the product's CSV names (`Standard`), 8.625% in the zone.
    taxRates: [{ name: 'Standard', percentage: 8.625 }],
    // 5.00 USD flat (prices are in minor units).
    shippingMethods: [{ name: 'Standard Shipping', price: 500 }],
    // Code `dummy-payment`: settles at once (automaticSettle).
    paymentMethods: [
        {
            name: 'Dummy Payment',
            handler: {
                code: dummyPaymentHandler.code,
                arguments: [{ name: 'automaticSettle', value: 'true' }],
            },
        },
    ],
    collections: [],
};

const app = await populate(() => bootstrap(config), initialData, path.join(here, 'product.csv'));

const shopApi = `http://127.0.0.1:${port}/shop-api`;
const response = await fetch(shopApi, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query: '{ product(slug: "bench-widget") { variants { id stockLevel } } }' }),
});
const body = await response.json();
const variant = body?.data?.product?.variants?.[0];
if (!variant) {
    Logger.error(`the seeded product is not in the Shop API: ${JSON.stringify(body)}`);
    await app.close();
    process.exit(1);
}
console.log(`READY ${shopApi} ${variant.id}`);

const stop = async () => {
    await app.close();
    process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
