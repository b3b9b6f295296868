// Node-RED settings for the peer run of `cargo xtask bench` (see the README's Performance
// section). xtask starts Node-RED headless with these settings and flows.json beside them:
//
//   node red.js --settings settings.js --userDir DIR --port PORT flows.json
//
// with BENCH_CONSUMER_SECRET in the environment. No editor, no admin API, nothing written to
// disk while it runs; everything the flow keeps (seen event ids, each sender's conversation
// state) lives in memory.

const crypto = require("crypto");

/** The largest webhook body kept (the host's default limit is larger; DMs are ~1 KiB). */
const MAX_BODY_BYTES = 1024 * 1024;

module.exports = {
    uiHost: "127.0.0.1",
    // The editor and the admin API are off: the flow comes from flows.json and stays as it is.
    httpAdminRoot: false,
    disableEditor: true,
    credentialSecret: false,
    flowFilePretty: false,

    // The HTTP-in node would parse JSON before the flow sees it, and the X signature covers the
    // raw bytes. This middleware runs before the body parsers: it keeps the raw body as
    // `req.rawBody` and marks the body as read, so the parsers leave it alone and the flow
    // decodes the JSON itself after checking the signature.
    httpNodeMiddleware: function (req, res, next) {
        if (req.method !== "POST") {
            return next();
        }
        const chunks = [];
        let size = 0;
        req.on("data", (chunk) => {
            size += chunk.length;
            if (size > MAX_BODY_BYTES) {
                res.status(413).end();
                req.destroy();
                return;
            }
            chunks.push(chunk);
        });
        req.on("end", () => {
            if (size > MAX_BODY_BYTES) {
                return;
            }
            req.rawBody = Buffer.concat(chunks);
            req.body = req.rawBody;
            req._body = true;
            next();
        });
        req.on("error", next);
    },

    functionGlobalContext: {
        crypto: crypto,
        consumerSecret: process.env.BENCH_CONSUMER_SECRET || "",
    },

    logging: {
        console: { level: "warn", metrics: false, audit: false },
    },
    diagnostics: { enabled: false, ui: false },
    runtimeState: { enabled: false, ui: false },
    telemetry: { enabled: false },
    editorTheme: { tours: false, projects: { enabled: false } },
};
