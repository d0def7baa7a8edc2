/**
 * The two parts of undici the gateway uses — `Pool` and `buildConnector` —
 * imported from their own modules rather than from undici's index.
 *
 * The index loads all of undici: fetch, WebSocket, EventSource, caches, mock
 * agents, cookies. Its cookies module also reads `globalThis.Headers`, which
 * makes Node load its own bundled copy of undici (its web globals are lazy).
 * Every gateway paid both at start for two classes, in memory and in start
 * time (README, Architecture, "Only the parts of undici the gateway uses").
 *
 * undici has no `exports` map, so these paths resolve; undici-parts.test.ts
 * checks that they are still the very objects the index exports, which a
 * reshuffle of undici's files would break at the next upgrade.
 */
import type * as Undici from "undici";
import api from "undici/lib/api/index.js";
import buildConnectorModule from "undici/lib/core/connect.js";
import Dispatcher from "undici/lib/dispatcher/dispatcher.js";
import PoolModule from "undici/lib/dispatcher/pool.js";

// What undici's index does first: the request, stream, pipeline, upgrade and connect methods of every dispatcher.
Object.assign(Dispatcher.prototype, api);

export const Pool: typeof Undici.Pool = PoolModule;
export type Pool = Undici.Pool;
export const buildConnector: typeof Undici.buildConnector = buildConnectorModule;
